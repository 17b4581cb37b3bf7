"""`make package ARCH=x86_64`: the same artifacts for Lambda's other architecture, and a
template that says which one it was built for. arm64 stays the default."""

import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from samlocal.yaml_loader import CloudFormationLoader

from tools.package import ROOT, RuntimePythonMissingError, build


def packaged(template: Path) -> dict[str, Any]:
    document: dict[str, Any] = yaml.load(template.read_text(), Loader=CloudFormationLoader)
    return document


def native_libraries(layer: Path) -> set[str]:
    with zipfile.ZipFile(layer) as bundle:
        return {
            name.rsplit("-linux-gnu", 1)[0].rsplit("-", 1)[-1] for name in bundle.namelist() if name.endswith(".so")
        }


@pytest.mark.parametrize(
    ("fixture", "architecture", "machine"),
    [("artifacts", "arm64", "aarch64"), ("x86_64_artifacts", "x86_64", "x86_64")],
)
def test_the_layer_and_the_template_are_for_the_architecture_asked_for(
    request: pytest.FixtureRequest, fixture: str, architecture: str, machine: str
) -> None:
    built: dict[str, Path] = request.getfixturevalue(fixture)

    template = packaged(built["template"])

    assert template["Globals"]["Function"]["Architectures"] == [architecture]
    assert template["Resources"]["DependenciesLayer"]["Properties"]["CompatibleArchitectures"] == [architecture]
    assert native_libraries(built["layer"]) == {machine}


def test_the_code_zip_is_the_same_for_both_architectures(
    artifacts: dict[str, Path], x86_64_artifacts: dict[str, Path]
) -> None:
    assert artifacts["function"].read_bytes() == x86_64_artifacts["function"].read_bytes()


@pytest.mark.parametrize(("given", "expected"), [("", "--arch arm64"), ("ARCH=x86_64", "--arch x86_64")])
def test_make_package_passes_the_architecture_on(given: str, expected: str) -> None:
    planned = subprocess.run(
        ["make", "--dry-run", "--always-make", "package", *filter(None, [given])],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )

    (command,) = [line for line in planned.stdout.splitlines() if "tools.package" in line]
    assert expected in command


def test_without_python_3_13_nothing_is_built_and_the_message_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(RuntimePythonMissingError) as missing:
        build(tmp_path / "build", requirements=tmp_path / "requirements.txt", python="/nonexistent/python3.13")

    assert "PYTHON_RUNTIME" in str(missing.value)
    assert "/nonexistent/python3.13" in str(missing.value)
    assert not (tmp_path / "build").exists()


def test_an_interpreter_of_another_version_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RuntimePythonMissingError):
        build(tmp_path / "build", requirements=tmp_path / "requirements.txt", python="python3.11")
