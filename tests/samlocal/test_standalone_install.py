"""samlocal installs alone, into a fresh virtual environment, and runs a template there: it
needs nothing of the order service."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UV = Path(sys.executable).parent / "uv"

TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  Doubler:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.13
      CodeUri: functions/
      Handler: double.handler
"""
# Every module but the pytest plugin, which pytest itself imports (pytest is not a dependency).
IMPORT_EVERY_MODULE = """
import importlib, pkgutil, samlocal
names = [m.name for m in pkgutil.walk_packages(samlocal.__path__, "samlocal.")]
for name in names:
    if name not in ("samlocal.pytest_plugin", "samlocal.__main__", "samlocal.runtime.debuggee"):
        importlib.import_module(name)
print(len(names))
"""


def run(*command: str | Path, cwd: Path = ROOT, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command], input=stdin, capture_output=True, text=True, timeout=600, cwd=cwd, check=False
    )


@pytest.fixture(scope="module")
def fresh_environment(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtual environment with `pip install ./local/samlocal` done in it (by uv, with the
    versions this repository locks)."""
    folder = tmp_path_factory.mktemp("samlocal-alone")
    locked = folder / "constraints.txt"
    exported = run(UV, "export", "--frozen", "--no-hashes", "--no-emit-project", "--format", "requirements-txt")
    assert exported.returncode == 0, exported.stderr
    locked.write_text(exported.stdout)
    venv = folder / "venv"
    created = run(UV, "venv", "--quiet", "--python", sys.executable, venv)
    assert created.returncode == 0, created.stderr
    python = venv / "bin" / "python"
    installed = run(UV, "pip", "install", "--quiet", "--python", python, "--constraint", locked, "./local/samlocal")
    assert installed.returncode == 0, installed.stderr
    return venv


def test_the_engine_installs_without_the_order_service_and_imports_whole(fresh_environment: Path) -> None:
    python = fresh_environment / "bin" / "python"

    # When every module of the installed engine is imported there
    imported = run(python, "-c", IMPORT_EVERY_MODULE, cwd=fresh_environment)

    # Then all import, and neither the service nor its profile is anywhere to be found
    assert imported.returncode == 0, imported.stderr
    assert int(imported.stdout) > 30
    for package in ("order_service", "orders_local"):
        missing = run(python, "-c", f"import {package}", cwd=fresh_environment)
        assert "ModuleNotFoundError" in missing.stderr


def test_the_installed_command_invokes_a_function_of_a_template_of_its_own(
    fresh_environment: Path, tmp_path: Path
) -> None:
    # Given a one-function template
    (tmp_path / "functions").mkdir()
    (tmp_path / "template.yaml").write_text(TEMPLATE)
    (tmp_path / "functions" / "double.py").write_text("def handler(event, context):\n    return event['n'] * 2\n")

    # When the installed `samlocal` invokes it, on a worker of that environment's Lambda runtime client
    samlocal = fresh_environment / "bin" / "samlocal"
    done = run(samlocal, "invoke", "Doubler", "--event", "-", cwd=tmp_path, stdin='{"n": 21}')

    # Then the function's answer comes back
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == 42
