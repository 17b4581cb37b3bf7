"""The Lambda artifacts, built once per test run: for the default architecture (arm64) and for
this machine's, whose layer can be imported here."""

import platform
from pathlib import Path

import pytest

from tools.package import build

NATIVE_ARCHITECTURE = {"x86_64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}[platform.machine()]


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    scratch = tmp_path_factory.mktemp("artifacts")
    return build(scratch / "build", requirements=scratch / "requirements.txt")


@pytest.fixture(scope="session")
def x86_64_artifacts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    scratch = tmp_path_factory.mktemp("x86_64")
    return build(scratch / "build", requirements=scratch / "requirements.txt", architecture="x86_64")


@pytest.fixture(scope="session")
def native_artifacts(
    request: pytest.FixtureRequest,
) -> dict[str, Path]:
    """The artifacts this machine can import: the x86_64 ones here, the default ones on arm64."""
    name = "x86_64_artifacts" if NATIVE_ARCHITECTURE == "x86_64" else "artifacts"
    built: dict[str, Path] = request.getfixturevalue(name)
    return built
