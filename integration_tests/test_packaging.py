"""The image recipe, the registry metadata and the Python package agree with one another.

No Docker engine runs here, so the Dockerfile is checked as text, and the slow test rebuilds what
its `RUN pip install .` step builds: a clean virtual environment installed from a copy of exactly
the files the Dockerfile copies, which must then answer `spec` through both entry points.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import shutil
import subprocess
import venv
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DIGEST = re.compile(r"^(?P<image>[a-z0-9./-]+):(?P<tag>[0-9A-Za-z._-]+)@sha256:(?P<digest>[0-9a-f]{64})$")


def _dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) pairs, comments dropped and continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, arguments = line.partition(" ")
            instructions.append((keyword.upper(), arguments.strip()))
    return instructions


def _one(instruction: str) -> str:
    values = [arguments for keyword, arguments in _dockerfile() if keyword == instruction]
    assert len(values) == 1, f"expected exactly one {instruction} in the Dockerfile, found {values}"
    return values[0]


def _env(name: str) -> str:
    for keyword, arguments in _dockerfile():
        if keyword != "ENV":
            continue
        if arguments.startswith(f"{name}="):
            return shlex.split(arguments[len(name) + 1 :])[0]
        if arguments.startswith(f"{name} "):  # the legacy `ENV NAME value` form
            return shlex.split(arguments[len(name) + 1 :])[0]
    raise AssertionError(f"the Dockerfile sets no ENV {name}")


def _labels() -> dict[str, str]:
    labels = {}
    for keyword, arguments in _dockerfile():
        if keyword == "LABEL":
            for pair in shlex.split(arguments):
                key, _, value = pair.partition("=")
                labels[key] = value
    return labels


def _copied_sources() -> list[str]:
    """Every source path of the Dockerfile's COPY instructions, relative to the build context."""
    sources = []
    for keyword, arguments in _dockerfile():
        if keyword == "COPY":
            parts = [part for part in shlex.split(arguments) if not part.startswith("--")]
            sources.extend(parts[:-1])
    return sources


def _metadata() -> dict:
    return yaml.safe_load((ROOT / "metadata.yaml").read_text())["data"]


def _setup_version() -> str:
    tree = ast.parse((ROOT / "setup.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "setup":
            for keyword in node.keywords:
                if keyword.arg == "version":
                    return ast.literal_eval(keyword.value)
    raise AssertionError("setup.py passes no literal version to setup()")


def _package_version() -> str:
    tree = ast.parse((ROOT / "source_orderdesk" / "__init__.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(target, "id", None) == "__version__" for target in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError("source_orderdesk/__init__.py defines no __version__")


def test_base_image_is_pinned_and_identical_in_dockerfile_and_metadata():
    base = _one("FROM")
    assert base == _metadata()["connectorBuildOptions"]["baseImage"]
    match = DIGEST.match(base)
    assert match, f"the base image {base!r} is not pinned as <image>:<tag>@sha256:<64 hex digits>"
    assert match["image"] == "docker.io/airbyte/python-connector-base"


def test_image_name_and_version_agree_everywhere():
    metadata = _metadata()
    labels = _labels()
    version = metadata["dockerImageTag"]
    assert labels["io.airbyte.name"] == metadata["dockerRepository"] == "airbyte/source-orderdesk"
    assert labels["io.airbyte.version"] == version
    assert _setup_version() == version
    assert _package_version() == version
    config = yaml.safe_load((ROOT / "acceptance-test-config.yml").read_text())
    assert config["connector_image"] == f"{metadata['dockerRepository']}:dev"


def test_entrypoint_matches_airbyte_entrypoint_and_exists():
    entrypoint = json.loads(_one("ENTRYPOINT"))
    assert entrypoint == shlex.split(_env("AIRBYTE_ENTRYPOINT"))
    interpreter, script = entrypoint
    assert interpreter == "python"
    workdir = Path(_one("WORKDIR"))
    script_in_image = Path(script)
    assert script_in_image.parent == workdir, "the entrypoint script must sit in WORKDIR, where COPY puts it"
    assert script_in_image.name in _copied_sources(), "the Dockerfile does not copy the entrypoint script"
    assert (ROOT / script_in_image.name).is_file()
    assert "run()" in (ROOT / script_in_image.name).read_text()


def test_dockerfile_copies_exactly_what_pip_install_needs():
    sources = _copied_sources()
    assert sorted(sources) == ["main.py", "setup.py", "source_orderdesk"]
    for source in sources:
        assert (ROOT / source).exists(), source
    assert any(keyword == "RUN" and "pip install" in arguments and " ." in arguments for keyword, arguments in _dockerfile())
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    ignored = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    for excluded in (".venv", "unit_tests", "integration_tests", "orderdesk_sandbox", "bench"):
        assert excluded in ignored, f".dockerignore should exclude {excluded}"
    for needed in sources:
        assert needed not in ignored, f".dockerignore must not exclude {needed}, which the Dockerfile copies"


def test_metadata_carries_the_fields_of_a_community_python_source():
    metadata = _metadata()
    expected = {
        "connectorType": "source",
        "connectorSubtype": "api",
        "dockerRepository": "airbyte/source-orderdesk",
        "githubIssueLabel": "source-orderdesk",
        "license": "MIT",
        "name": "Order Desk",
        "releaseStage": "alpha",
        "supportLevel": "community",
        "icon": "icon.svg",
    }
    assert {key: metadata.get(key) for key in expected} == expected
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", metadata["definitionId"])
    assert set(metadata["tags"]) >= {"language:python", "cdk:python"}
    assert metadata["remoteRegistries"]["pypi"] == {"enabled": True, "packageName": "airbyte-source-orderdesk"}
    assert metadata["allowedHosts"]["hosts"] == ["app.orderdesk.me"]
    assert metadata["documentationUrl"].endswith("/orderdesk")
    assert yaml.safe_load((ROOT / "metadata.yaml").read_text())["metadataSpecVersion"] == "1.0"
    spec = yaml.safe_load((ROOT / "source_orderdesk" / "spec.yaml").read_text())
    assert spec["documentationUrl"] == metadata["documentationUrl"]
    root = ElementTree.parse(ROOT / metadata["icon"]).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"


def test_docs_changelog_lists_the_current_version():
    docs = (ROOT / "docs" / "orderdesk.md").read_text()
    assert re.search(rf"^\|\s*{re.escape(_metadata()['dockerImageTag'])}\s*\|", docs, re.MULTILINE)


def _spec_messages(output: str) -> list[dict]:
    messages = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    return [message for message in messages if message.get("type") == "SPEC"]


@pytest.mark.slow
def test_clean_install_answers_spec_like_the_image(tmp_path):
    """Build the package the way the Dockerfile does and run both entry points."""
    context = tmp_path / "integration_code"
    context.mkdir()
    for source in _copied_sources():
        origin = ROOT / source
        if origin.is_dir():
            shutil.copytree(origin, context / source, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(origin, context / source)

    environment = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(environment)
    bin_dir = environment / ("Scripts" if os.name == "nt" else "bin")
    python = bin_dir / "python"
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "."], cwd=context, env=env, capture_output=True, text=True, timeout=900
    )
    assert installed.returncode == 0, installed.stderr[-4000:]

    expected = yaml.safe_load((ROOT / "source_orderdesk" / "spec.yaml").read_text())
    entry_points = {
        "python main.py spec": [str(python), str(context / "main.py"), "spec"],
        "source-orderdesk spec": [str(bin_dir / "source-orderdesk"), "spec"],
    }
    for label, command in entry_points.items():
        # Run from an unrelated directory, as the platform does, so nothing resolves from the repo.
        result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, f"{label} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
        specs = _spec_messages(result.stdout)
        assert len(specs) == 1, f"{label} printed {len(specs)} SPEC messages:\n{result.stdout[-2000:]}"
        spec = specs[0]["spec"]
        assert spec["connectionSpecification"] == expected["connectionSpecification"], label
        assert spec["documentationUrl"] == expected["documentationUrl"], label

    # The console script must run the installed package, not the copied tree.
    located = subprocess.run(
        [str(python), "-c", "import source_orderdesk; print(source_orderdesk.__file__, source_orderdesk.__version__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert located.returncode == 0, located.stderr
    location, version = located.stdout.split()
    assert Path(location).is_relative_to(environment), location
    assert version == _metadata()["dockerImageTag"]
    assert (Path(location).parent / "spec.yaml").is_file()
    assert list((Path(location).parent / "schemas").glob("*.json")), "the schemas were not installed as package data"
