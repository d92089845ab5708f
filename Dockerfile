# Hand-written Airbyte connector image for source-orderdesk.
# The base image must stay identical (tag and digest) to metadata.yaml's
# connectorBuildOptions.baseImage; integration_tests/test_packaging.py checks it.
FROM docker.io/airbyte/python-connector-base:4.0.0@sha256:d9894b6895923b379f3006fa251147806919c62b7d9021b5cd125bb67d7bbe22

WORKDIR /airbyte/integration_code

# Only what the package needs at runtime (see .dockerignore): the build recipe, the entrypoint
# and the package itself, with its spec.yaml and schemas/*.json as package data.
COPY setup.py main.py ./
COPY source_orderdesk ./source_orderdesk
RUN pip install --no-cache-dir . && rm -rf build *.egg-info

# The platform reads AIRBYTE_ENTRYPOINT; it must be the same command as ENTRYPOINT.
ENV AIRBYTE_ENTRYPOINT="python /airbyte/integration_code/main.py"
ENTRYPOINT ["python", "/airbyte/integration_code/main.py"]

LABEL io.airbyte.name=airbyte/source-orderdesk
LABEL io.airbyte.version=0.1.0

USER airbyte
