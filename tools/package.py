"""Builds the Lambda artifacts from the lock file, reproducibly, on any machine.

    python -m tools.package [--out build] [--arch arm64|x86_64] [--python PYTHON3.13]

- `src/requirements.txt`: the runtime dependencies, pinned with hashes, exported from uv.lock
  (`--check` fails if the committed file differs);
- `build/layer.zip`: those dependencies for Lambda's Python 3.13 on the chosen architecture
  (manylinux wheels for glibc 2.34 or older, whatever this machine is), under `python/`;
- `build/function.zip`: the `order_service` package and nothing else;
- `build/template.yaml`: template.yaml pointing at both, for that architecture, ready for
  `sam deploy`, with its YAML merge keys and aliases resolved (CloudFormation reads neither).

Both zips carry bytecode compiled by a Python 3.13 interpreter. Lambda's `/var/task` and `/opt`
are read-only, so a module without a valid `.pyc` there is compiled from source at every cold
start and the result thrown away. The `.pyc` are hash-based and unchecked: a zip's fixed
timestamps cannot invalidate them, and they name the paths the code has on Lambda
(`/var/task/...`, `/opt/python/...`) rather than this machine's.

Zip entries are sorted and carry a fixed timestamp and mode, so the same lock and sources give
byte-identical artifacts.
"""

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import yaml
from samlocal.yaml_loader import CloudFormationLoader

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = ROOT / "src" / "requirements.txt"
# Lambda's python3.13 runtime is Amazon Linux 2023: glibc 2.34 on both architectures.
PLATFORMS = {"arm64": "aarch64-manylinux_2_34", "x86_64": "x86_64-manylinux_2_34"}
DEFAULT_ARCHITECTURE = "arm64"
PYTHON_VERSION = "3.13"
# Where Lambda puts each artifact: the paths the bytecode names, as tracebacks show them there.
FUNCTION_ROOT = "/var/task"
LAYER_ROOT = "/opt"
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
_UV = [sys.executable, "-m", "uv"]


def exported_requirements() -> str:
    """The runtime dependencies of the lock file, pinned with hashes."""
    result = subprocess.run(  # noqa: S603 - our own uv, fixed arguments
        [*_UV, "export", "--frozen", "--no-dev", "--no-emit-project", "--format", "requirements.txt", "--no-header"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return "# Exported from uv.lock by `make package`; do not edit.\n" + result.stdout


class RuntimePythonMissingError(RuntimeError):
    """No Python 3.13 interpreter to compile the artifacts' bytecode with."""


def _version_of(python: str) -> str | None:
    try:
        found = subprocess.run(  # noqa: S603 - an interpreter we were pointed at
            [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except OSError:
        return None
    return found.stdout.strip() if found.returncode == 0 else None


def runtime_python(given: str | None = None) -> str:
    """A Python 3.13 interpreter: `given`, else $PYTHON_RUNTIME, else `python3.13` on the PATH,
    else one installed by pyenv."""
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates = (
        [given]
        if given
        else [
            os.environ.get("PYTHON_RUNTIME", ""),
            shutil.which(f"python{PYTHON_VERSION}") or "",
            *sorted(str(path) for path in pyenv_root.glob(f"versions/{PYTHON_VERSION}*/bin/python{PYTHON_VERSION}")),
        ]
    )
    for candidate in filter(None, candidates):
        if _version_of(candidate) == PYTHON_VERSION:
            return candidate
    raise RuntimePythonMissingError(
        f"the Lambda artifacts need bytecode compiled by Python {PYTHON_VERSION}, the runtime's version, "
        f"and none was found (tried {', '.join(filter(None, candidates)) or 'nothing'}): install Python "
        f"{PYTHON_VERSION} or point PYTHON_RUNTIME (make package PYTHON_RUNTIME=...) at one"
    )


def compile_bytecode(python: str, root: Path, deployed_at: str) -> None:
    """Compile every module under `root` for Lambda: unchecked-hash `.pyc` naming `deployed_at`.

    A fixed hash seed keeps the bytecode of set constants in one order, so builds are identical."""
    for stale in root.rglob("*.pyc"):
        stale.unlink()
    result = subprocess.run(  # noqa: S603 - the runtime interpreter, fixed arguments
        [
            python,
            "-m",
            "compileall",
            "-q",
            "-j0",
            "--invalidation-mode",
            "unchecked-hash",
            "-s",
            str(root),
            "-p",
            deployed_at,
            str(root),
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    if result.returncode != 0:
        raise RuntimeError(f"compiling {root} for Python {PYTHON_VERSION} failed:\n{result.stdout}{result.stderr}")


def install_layer(requirements: Path, target: Path, architecture: str = DEFAULT_ARCHITECTURE) -> None:
    subprocess.run(  # noqa: S603 - our own uv, fixed arguments
        [
            *_UV,
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--require-hashes",
            "--only-binary",
            ":all:",
            "--python-platform",
            PLATFORMS[architecture],
            "--python-version",
            PYTHON_VERSION,
            "--target",
            str(target),
            "--requirement",
            str(requirements),
        ],
        cwd=ROOT,
        check=True,
        env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"},
    )


def _drop_console_scripts(site: Path) -> None:
    """Console scripts carry this machine's interpreter path (and their RECORD lines its hash);
    Lambda never runs them."""
    shutil.rmtree(site / "bin", ignore_errors=True)
    for record in site.glob("*.dist-info/RECORD"):
        lines = record.read_text().splitlines(keepends=True)
        record.write_text("".join(line for line in lines if not line.startswith("bin/")))


def deterministic_zip(source: Path, archive: Path, prefix: str = "") -> None:
    """Zip `source` under `prefix`, sorted, with fixed timestamps and modes."""
    files = sorted(path for path in source.rglob("*") if path.is_file())
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as bundle:
        for path in files:
            info = zipfile.ZipInfo(prefix + path.relative_to(source).as_posix(), date_time=_FIXED_TIME)
            info.external_attr = (0o755 if os.access(path, os.X_OK) else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            bundle.writestr(info, path.read_bytes(), compresslevel=9)


class _ExpandedDumper(yaml.SafeDumper):
    """Writes every shared node out in full: no anchors, no aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _layer(architecture: str) -> dict[str, Any]:
    return {
        "Type": "AWS::Serverless::LayerVersion",
        "Properties": {
            "Description": "Runtime dependencies of the order service, from uv.lock.",
            "ContentUri": "layer.zip",
            "CompatibleRuntimes": ["python3.13"],
            "CompatibleArchitectures": [architecture],
            "RetentionPolicy": "Delete",
        },
    }


def packaged_template(template: str, architecture: str = DEFAULT_ARCHITECTURE) -> str:
    """template.yaml with the code and the dependency layer as built artifacts.

    The template is loaded and written out again, as `sam package` does: its merge keys
    (`<<: *AlarmDefaults`) and aliases (`*SendTraces`) come out resolved, since CloudFormation
    reads neither, and its short-form intrinsics in their long form (`!Ref X` as `Ref: X`)."""
    document = yaml.load(template, Loader=CloudFormationLoader)  # noqa: S506 - a SafeLoader subclass
    functions = [
        resource for resource in document["Resources"].values() if resource["Type"] == "AWS::Serverless::Function"
    ]
    function_globals = document["Globals"]["Function"]
    if function_globals.get("CodeUri") != "src/" or any("CodeUri" in f.get("Properties", {}) for f in functions):
        raise ValueError("template.yaml must set CodeUri: src/ once, in Globals.Function")
    if any("Architectures" in f.get("Properties", {}) for f in functions):
        raise ValueError("template.yaml must set Architectures once, in Globals.Function")
    function_globals["CodeUri"] = "function.zip"
    function_globals["Layers"] = [{"Ref": "DependenciesLayer"}]
    function_globals["Architectures"] = [architecture]
    document["Resources"] = {"DependenciesLayer": _layer(architecture), **document["Resources"]}
    return yaml.dump(document, Dumper=_ExpandedDumper, sort_keys=False, width=120, allow_unicode=True)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build(
    out: Path,
    requirements: Path = REQUIREMENTS,
    architecture: str = DEFAULT_ARCHITECTURE,
    python: str | None = None,
) -> dict[str, Path]:
    """The artifacts in `out`. Without a Python 3.13 to compile with, nothing is built."""
    if architecture not in PLATFORMS:
        raise ValueError(f"architecture must be one of {', '.join(PLATFORMS)}, not {architecture!r}")
    compiler = runtime_python(python)
    out.mkdir(parents=True, exist_ok=True)
    requirements.write_text(exported_requirements())
    with tempfile.TemporaryDirectory() as scratch:
        layer_root = Path(scratch) / "layer"
        install_layer(requirements, layer_root / "python", architecture)
        _drop_console_scripts(layer_root / "python")
        compile_bytecode(compiler, layer_root, LAYER_ROOT)
        deterministic_zip(layer_root, out / "layer.zip")
        code_root = Path(scratch) / "code"
        shutil.copytree(
            ROOT / "src" / "order_service",
            code_root / "order_service",
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )
        compile_bytecode(compiler, code_root, FUNCTION_ROOT)
        deterministic_zip(code_root, out / "function.zip")
    (out / "template.yaml").write_text(packaged_template((ROOT / "template.yaml").read_text(), architecture))
    return {"function": out / "function.zip", "layer": out / "layer.zip", "template": out / "template.yaml"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "build")
    parser.add_argument("--arch", choices=sorted(PLATFORMS), default=DEFAULT_ARCHITECTURE, help="Lambda architecture")
    parser.add_argument("--python", help="the Python 3.13 interpreter that compiles the bytecode")
    parser.add_argument("--check", action="store_true", help="only check src/requirements.txt against uv.lock")
    arguments = parser.parse_args()
    if arguments.check:
        if REQUIREMENTS.read_text() != exported_requirements():
            print("src/requirements.txt does not match uv.lock: run `make package`", file=sys.stderr)
            return 1
        print("src/requirements.txt matches uv.lock")
        return 0
    try:
        artifacts = build(arguments.out, architecture=arguments.arch, python=arguments.python)
    except RuntimePythonMissingError as missing:
        print(f"make package: {missing}", file=sys.stderr)
        return 1
    for name, path in artifacts.items():
        shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        print(f"{name:9} {shown}  {path.stat().st_size:>10,} bytes  sha256 {sha256(path)[:16]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
