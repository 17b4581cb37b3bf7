"""Bytecode in the artifacts: Lambda's code directories are read-only, so a module shipped
without a valid `.pyc` is compiled from source at every cold start.

Both zips carry, beside each module, bytecode for the runtime's Python (3.13), hash-based and
unchecked, so that the zips' fixed timestamps cannot invalidate it. Unzipped into read-only
folders laid out as Lambda lays them out, every handler of the template imports under Python
3.13 without compiling a single module.
"""

import json
import os
import stat
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from samlocal.yaml_loader import load_template

from tools.package import PYTHON_VERSION, ROOT, runtime_python

CACHE_TAG = "cpython-" + PYTHON_VERSION.replace(".", "")
UNCHECKED_HASH = 0b01  # PEP 552: hash-based (bit 0), source not checked (bit 1 clear)

# Run by Python 3.13 in the unzipped function folder: imports one handler, counting each module
# compiled from source on the way (the `compile` audit event names the file it compiles).
IMPORT_PROBE = """
import importlib, json, sys
compiled = []
def count(event, arguments):
    if event == "compile" and isinstance(arguments[1], str) and arguments[1].endswith(".py"):
        compiled.append(arguments[1])
sys.addaudithook(count)
module_name, _, attribute = sys.argv[1].rpartition(".")
handler = getattr(importlib.import_module(module_name), attribute)
print(json.dumps({"compiled": compiled, "callable": callable(handler), "file": sys.modules[module_name].__file__}))
"""

# What the handlers' settings need at init; nothing is called at import.
HANDLER_ENVIRONMENT = {
    "ORDERS_TABLE_NAME": "orders",
    "IDEMPOTENCY_TABLE_NAME": "idempotency",
    "EVENT_BUS_NAME": "orders",
    "NOTIFICATION_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/notifications",
    "UNANNOUNCED_CHANGES_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/unannounced",
    "MAX_ORDER_TOTALS": '{"EUR": "10000.00"}',
    "SENDER_EMAIL": "orders@yourshop.example",
    "DATABASE_URL": "postgresql://127.0.0.1:5432/test",
    "POWERTOOLS_SERVICE_NAME": "order-service",
    "AWS_LAMBDA_FUNCTION_NAME": "bytecode-probe",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "PYTHONDONTWRITEBYTECODE": "1",
}


def template_handlers() -> list[str]:
    template = load_template(ROOT / "template.yaml")
    return sorted(
        {
            resource["Properties"]["Handler"]
            for resource in template["Resources"].values()
            if resource["Type"] == "AWS::Serverless::Function"
        }
    )


@pytest.fixture(scope="session")
def python313() -> str:
    return runtime_python()


@pytest.fixture(scope="session")
def magic_number(python313: str) -> bytes:
    shown = subprocess.run(
        [python313, "-c", "import importlib.util; print(importlib.util.MAGIC_NUMBER.hex())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return bytes.fromhex(shown.stdout.strip())


def modules_and_bytecode(archive: Path) -> tuple[list[str], dict[str, bytes]]:
    with zipfile.ZipFile(archive) as bundle:
        names = bundle.namelist()
        return [name for name in names if name.endswith(".py")], {
            name: bundle.read(name)[:8] for name in names if name.endswith(".pyc")
        }


def bytecode_of(module: str) -> str:
    folder, _, file = module.rpartition("/")
    return f"{folder}/__pycache__/{file.removesuffix('.py')}.{CACHE_TAG}.pyc".lstrip("/")


@pytest.mark.parametrize("artifact", ["function", "layer"])
def test_every_module_in_the_artifacts_has_unchecked_hash_bytecode_for_python_3_13(
    artifacts: dict[str, Path], magic_number: bytes, artifact: str
) -> None:
    modules, bytecode = modules_and_bytecode(artifacts[artifact])

    without = [module for module in modules if bytecode_of(module) not in bytecode]
    wrong_magic = [name for name, header in bytecode.items() if header[:4] != magic_number]
    checked = [name for name, header in bytecode.items() if int.from_bytes(header[4:8], "little") != UNCHECKED_HASH]

    assert len(modules) > (1 if artifact == "function" else 500)
    assert (without, wrong_magic, checked) == ([], [], [])


def test_the_code_bytecode_names_the_paths_the_code_has_on_lambda(artifacts: dict[str, Path]) -> None:
    with zipfile.ZipFile(artifacts["function"]) as code:
        api = code.read(bytecode_of("order_service/handlers/api.py"))
    with zipfile.ZipFile(artifacts["layer"]) as layer:
        pydantic = layer.read(bytecode_of("python/pydantic/main.py"))

    assert b"/var/task/order_service/handlers/api.py" in api
    assert b"/opt/python/pydantic/main.py" in pydantic


@pytest.fixture(scope="session")
def lambda_folders(native_artifacts: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """`task` (as /var/task) and `opt` (as /opt), unzipped and read-only."""
    root = tmp_path_factory.mktemp("lambda")
    with zipfile.ZipFile(native_artifacts["function"]) as code:
        code.extractall(root / "task")
    with zipfile.ZipFile(native_artifacts["layer"]) as layer:
        layer.extractall(root / "opt")
    writable = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
    for path in [*root.rglob("*"), root / "task", root / "opt"]:
        path.chmod(path.stat().st_mode & ~writable)
    yield root
    for path in [root / "task", root / "opt", *root.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IWUSR)


def snapshot(folder: Path) -> dict[str, float]:
    return {str(path): path.stat().st_mtime for path in folder.rglob("*")}


def import_as_deployed(python: str, folders: Path, handler: str) -> dict[str, object]:
    task = folders / "task"
    imported = subprocess.run(
        [python, "-c", IMPORT_PROBE, handler],
        cwd=task,
        env={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LAMBDA_TASK_ROOT": str(task),
            # Lambda's order: the function's code, then the layer's.
            "PYTHONPATH": f"{task}{os.pathsep}{folders / 'opt' / 'python'}",
            **HANDLER_ENVIRONMENT,
        },
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert imported.returncode == 0, imported.stderr
    result: dict[str, object] = json.loads(imported.stdout.splitlines()[-1])
    return result


@pytest.mark.parametrize("handler", template_handlers())
def test_every_handler_imports_from_read_only_artifacts_without_compiling_a_module(
    python313: str, lambda_folders: Path, handler: str
) -> None:
    before = snapshot(lambda_folders)

    imported = import_as_deployed(python313, lambda_folders, handler)

    assert imported["callable"] is True
    assert str(imported["file"]).startswith(str(lambda_folders / "task"))
    assert imported["compiled"] == []
    assert snapshot(lambda_folders) == before


def test_the_probe_sees_a_module_compiled_when_its_bytecode_is_missing(
    python313: str, native_artifacts: dict[str, Path], tmp_path: Path
) -> None:
    with zipfile.ZipFile(native_artifacts["function"]) as code:
        code.extractall(tmp_path / "task")
    with zipfile.ZipFile(native_artifacts["layer"]) as layer:
        layer.extractall(tmp_path / "opt")
    (tmp_path / "task" / bytecode_of("order_service/handlers/api.py")).unlink()

    imported = import_as_deployed(python313, tmp_path, "order_service.handlers.api.handler")

    assert imported["compiled"] == [str(tmp_path / "task" / "order_service" / "handlers" / "api.py")]
