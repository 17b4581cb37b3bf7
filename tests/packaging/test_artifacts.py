"""The Lambda artifacts: what the layer and the code zip hold, and that they are reproducible."""

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest

from tools.package import REQUIREMENTS, ROOT, build, exported_requirements

# Installed only for development, tests or the local stack: none may reach Lambda.
NOT_FOR_LAMBDA = (
    "moto",
    "pytest",
    "hypothesis",
    "awslambdaric",
    "orders_local",
    "samlocal",
    "samcli",
    "cfnlint",
    "mypy",
    "ruff",
    "typer",
    "rich",
    "flask",
    "werkzeug",
    "yaml",
)


def top_level(archive: Path, prefix: str = "") -> set[str]:
    with zipfile.ZipFile(archive) as bundle:
        return {name[len(prefix) :].split("/", 1)[0] for name in bundle.namelist() if name.startswith(prefix)}


def test_the_committed_requirements_match_the_lock_file() -> None:
    assert REQUIREMENTS.read_text() == exported_requirements()


def test_the_layer_holds_the_arm64_python_3_13_runtime_dependencies(artifacts: dict[str, Path]) -> None:
    with zipfile.ZipFile(artifacts["layer"]) as layer:
        names = layer.namelist()
    assert any(name.startswith("python/pydantic_core/_pydantic_core.cpython-313-aarch64-linux-gnu") for name in names)
    packages = top_level(artifacts["layer"], "python/")
    assert {
        "aws_lambda_powertools",
        "pydantic",
        "pydantic_settings",
        "boto3",
        "botocore",
        "aws_xray_sdk",
        "snapshot_restore_py.py",
        "psycopg",
        "psycopg_binary",
    } <= packages
    assert not any(name.endswith("x86_64-linux-gnu.so") for name in names)


def test_the_layer_holds_no_development_test_or_local_stack_package(artifacts: dict[str, Path]) -> None:
    packages = top_level(artifacts["layer"], "python/")

    assert not [package for package in packages if package.lower().startswith(NOT_FOR_LAMBDA)]


def test_the_code_zip_holds_the_service_package_only(artifacts: dict[str, Path]) -> None:
    assert top_level(artifacts["function"]) == {"order_service"}
    with zipfile.ZipFile(artifacts["function"]) as code:
        assert "order_service/handlers/api.py" in code.namelist()


@pytest.mark.parametrize("artifact", ["layer", "function"])
def test_nothing_in_the_artifacts_depends_on_the_machine_that_built_them(
    artifacts: dict[str, Path], artifact: str
) -> None:
    # The build's scratch folders are tempfile's: /tmp/tmpXXXXXXXX.
    scratch = (Path(tempfile.gettempdir()) / "tmp").as_posix().encode()
    machine_paths = (sys.prefix.encode(), str(ROOT).encode(), scratch)
    with zipfile.ZipFile(artifacts[artifact]) as bundle:
        tainted = [name for name in bundle.namelist() if any(path in bundle.read(name) for path in machine_paths)]

    assert tainted == []


def test_nothing_in_the_layer_runs_console_scripts_from_the_build_machine(artifacts: dict[str, Path]) -> None:
    with zipfile.ZipFile(artifacts["layer"]) as layer:
        records = [layer.read(name).decode() for name in layer.namelist() if name.endswith("RECORD")]
    assert not [line for record in records for line in record.splitlines() if line.startswith("bin/")]


def test_building_twice_gives_byte_identical_artifacts(artifacts: dict[str, Path], tmp_path: Path) -> None:
    again = build(tmp_path / "build", requirements=tmp_path / "requirements.txt")

    for name in ("function", "layer"):
        assert (
            hashlib.sha256(again[name].read_bytes()).digest() == hashlib.sha256(artifacts[name].read_bytes()).digest()
        ), name


def test_the_packaged_template_points_at_the_artifacts_and_lints_clean(artifacts: dict[str, Path]) -> None:
    text = artifacts["template"].read_text()
    assert "CodeUri: function.zip" in text
    assert "ContentUri: layer.zip" in text

    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    linted = subprocess.run(
        [str(cfn_lint), str(artifacts["template"])],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )

    assert linted.returncode == 0, linted.stdout + linted.stderr
