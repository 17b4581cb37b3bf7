"""Builds the Lambda artifacts from the lock file, reproducibly, on any machine.

    python -m tools.package [--out build]

- `src/requirements.txt`: the runtime dependencies, pinned with hashes, exported from uv.lock
  (`--check` fails if the committed file differs);
- `build/layer.zip`: those dependencies for Lambda's arm64 Python 3.13 (manylinux aarch64
  wheels for glibc 2.34 or older, whatever this machine is), under `python/`;
- `build/function.zip`: the `order_service` package and nothing else;
- `build/template.yaml`: template.yaml pointing at both, ready for `sam deploy`, with its YAML
  merge keys and aliases resolved (CloudFormation reads neither).

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
from orders_local.yaml_loader import CloudFormationLoader

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = ROOT / "src" / "requirements.txt"
# Lambda's python3.13 runtime is Amazon Linux 2023: glibc 2.34 on arm64.
PLATFORM = "aarch64-manylinux_2_34"
PYTHON_VERSION = "3.13"
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


def install_layer(requirements: Path, target: Path) -> None:
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
            PLATFORM,
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
    """Zip `source` under `prefix`, sorted, with fixed timestamps and modes, without bytecode."""
    files = sorted(
        path
        for path in source.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    )
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


_LAYER = {
    "Type": "AWS::Serverless::LayerVersion",
    "Properties": {
        "Description": "Runtime dependencies of the order service, from uv.lock.",
        "ContentUri": "layer.zip",
        "CompatibleRuntimes": ["python3.13"],
        "CompatibleArchitectures": ["arm64"],
        "RetentionPolicy": "Delete",
    },
}


def packaged_template(template: str) -> str:
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
    function_globals["CodeUri"] = "function.zip"
    function_globals["Layers"] = [{"Ref": "DependenciesLayer"}]
    document["Resources"] = {"DependenciesLayer": _LAYER, **document["Resources"]}
    return yaml.dump(document, Dumper=_ExpandedDumper, sort_keys=False, width=120, allow_unicode=True)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build(out: Path, requirements: Path = REQUIREMENTS) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    requirements.write_text(exported_requirements())
    with tempfile.TemporaryDirectory() as scratch:
        layer_root = Path(scratch) / "layer"
        install_layer(requirements, layer_root / "python")
        _drop_console_scripts(layer_root / "python")
        deterministic_zip(layer_root, out / "layer.zip")
    deterministic_zip(ROOT / "src" / "order_service", out / "function.zip", prefix="order_service/")
    (out / "template.yaml").write_text(packaged_template((ROOT / "template.yaml").read_text()))
    return {"function": out / "function.zip", "layer": out / "layer.zip", "template": out / "template.yaml"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "build")
    parser.add_argument("--check", action="store_true", help="only check src/requirements.txt against uv.lock")
    arguments = parser.parse_args()
    if arguments.check:
        if REQUIREMENTS.read_text() != exported_requirements():
            print("src/requirements.txt does not match uv.lock: run `make package`", file=sys.stderr)
            return 1
        print("src/requirements.txt matches uv.lock")
        return 0
    artifacts = build(arguments.out)
    for name, path in artifacts.items():
        shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        print(f"{name:9} {shown}  {path.stat().st_size:>10,} bytes  sha256 {sha256(path)[:16]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
