"""What AWS runs, laid out on this machine: the artifacts of `make package ARCH=x86_64` unzipped
into read-only folders (`task` as /var/task, `opt` as /opt), run by Python 3.13 with awslambdaric
(AWS's runtime interface client, compiled, as the managed runtime ships it) and nothing else.

Beside them, the two baselines as they would be deployed:
- the floor's handler, compiled as our code is, over the same layer;
- the seed article's pattern as its reader ships it: the same libraries installed with
  `pip install --target` (no bytecode for the runtime's Python), the handler not compiled.
"""

import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

from tools.package import PLATFORMS, PYTHON_VERSION, ROOT, build, compile_bytecode, runtime_python

HERE = Path(__file__).parent
BASELINES = HERE / "baselines"
ARCHITECTURE = "x86_64"
# AWS's runtime interface client and what it needs, at the versions the project is tested with.
_UV_INSTALL = [sys.executable, "-m", "uv", "pip", "install", "--quiet"]
RUNTIME_PACKAGES = [f"{name}=={version(name)}" for name in ("awslambdaric", "simplejson", "snapshot-restore-py")]


@dataclass(frozen=True)
class Deployed:
    """The folders and interpreter of an as-deployed run."""

    python: str
    task: Path  # our code, as /var/task
    layer: Path  # our layer's python/ folder, as /opt/python
    floor_task: Path
    seed_task: Path
    seed_packages: Path
    bytecode_free_task: Path  # the same artifacts, every .pyc removed
    bytecode_free_layer: Path

    def pythonpath(self, packages: Path) -> dict[str, str]:
        # Lambda's python3.13 sys.path: /var/task (the working folder), then /opt/python.
        return {"PYTHONPATH": str(packages), "PYTHONDONTWRITEBYTECODE": "1"}


def _read_only(folder: Path) -> None:
    writable = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
    for path in [*folder.rglob("*"), folder]:
        path.chmod(path.stat().st_mode & ~writable)


def _writable(folder: Path) -> None:
    if folder.exists():
        for path in [folder, *folder.rglob("*")]:
            path.chmod(path.stat().st_mode | stat.S_IWUSR)


def _runtime(root: Path, python313: str) -> str:
    environment = root / "runtime"
    subprocess.run([python313, "-m", "venv", "--without-pip", str(environment)], check=True)
    python = environment / "bin" / "python"
    subprocess.run([*_UV_INSTALL, "--compile-bytecode", "--python", str(python), *RUNTIME_PACKAGES], check=True)
    return str(python)


def _seed_as_shipped(root: Path) -> tuple[Path, Path]:
    task, packages = root / "seed" / "task", root / "seed" / "packages"
    task.mkdir(parents=True)
    shutil.copy(BASELINES / "seed_pattern.py", task)
    subprocess.run(
        [
            *_UV_INSTALL,
            "--no-deps",
            "--only-binary",
            ":all:",
            "--python-platform",
            PLATFORMS[ARCHITECTURE],
            "--python-version",
            PYTHON_VERSION,
            "--target",
            str(packages),
            "--requirement",
            str(ROOT / "src" / "requirements.txt"),
        ],
        check=True,
    )
    return task, packages


def prepare(root: Path = ROOT / "build" / "bench") -> Deployed:
    """Build and lay out everything afresh under `root`."""
    python313 = runtime_python()
    _writable(root)
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as scratch:
        built = build(Path(scratch), requirements=Path(scratch) / "requirements.txt", architecture=ARCHITECTURE)
        with zipfile.ZipFile(built["function"]) as code:
            code.extractall(root / "task")
        with zipfile.ZipFile(built["layer"]) as layer:
            layer.extractall(root / "opt")
        for artifact, unzipped in (("function", "task"), ("layer", "opt")):
            with zipfile.ZipFile(built[artifact]) as bundle:
                sources = [name for name in bundle.namelist() if not name.endswith(".pyc")]
                bundle.extractall(root / "without-bytecode" / unzipped, members=sources)
    floor_task = root / "floor"
    floor_task.mkdir()
    shutil.copy(BASELINES / "floor.py", floor_task)
    compile_bytecode(python313, floor_task, "/var/task")
    seed_task, seed_packages = _seed_as_shipped(root)
    deployed = Deployed(
        python=_runtime(root, python313),
        task=root / "task",
        layer=root / "opt" / "python",
        floor_task=floor_task,
        seed_task=seed_task,
        seed_packages=seed_packages,
        bytecode_free_task=root / "without-bytecode" / "task",
        bytecode_free_layer=root / "without-bytecode" / "opt" / "python",
    )
    for folder in (root / "task", root / "opt", floor_task, root / "seed", root / "without-bytecode"):
        _read_only(folder)
    return deployed
