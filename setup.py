from setuptools import find_packages, setup

MAIN_REQUIREMENTS = [
    "airbyte-cdk>=7.39.1,<8",
    "requests>=2.31",
    "pendulum>=3.0",
]

TEST_REQUIREMENTS = [
    "pytest>=8",
    "requests-mock>=1.11",
    "hypothesis>=6.100",
    "ruff>=0.6",
]

DEMO_REQUIREMENTS = [
    "airbyte>=0.30",  # PyAirbyte, for the DuckDB demo and the end-to-end test; never a runtime dependency
]

BENCH_REQUIREMENTS = [
    "py-spy>=0.3",  # samples the profiled read in `make bench` (cProfile's per-call cost distorts small functions)
]

setup(
    name="airbyte-source-orderdesk",
    version="0.1.0",
    description="Airbyte source connector for Order Desk (API v2).",
    author="source-orderdesk contributors",
    license="MIT",
    python_requires=">=3.10,<3.15",
    packages=find_packages(include=["source_orderdesk", "source_orderdesk.*"]),
    install_requires=MAIN_REQUIREMENTS,
    package_data={"source_orderdesk": ["spec.yaml", "schemas/*.json"]},
    extras_require={"tests": TEST_REQUIREMENTS, "demo": DEMO_REQUIREMENTS, "bench": BENCH_REQUIREMENTS},
    entry_points={"console_scripts": ["source-orderdesk=source_orderdesk.run:run"]},
)
