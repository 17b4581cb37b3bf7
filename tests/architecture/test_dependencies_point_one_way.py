"""The layers and the one direction their imports go: the service knows nothing of the local
tooling, the engine (samlocal) knows nothing of the service or of its profile (orders_local),
and the profile sits on both."""

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYERS = {
    "order_service": ROOT / "src" / "order_service",
    "samlocal": ROOT / "local" / "samlocal",
    "orders_local": ROOT / "local" / "orders_local",
}
# What each layer may not import, at any depth, at run time or for type checking.
FORBIDDEN = {
    "order_service": ("samlocal", "orders_local"),
    "samlocal": ("order_service", "orders_local"),
    "orders_local": (),
}


def imported_modules(source: Path) -> Iterator[tuple[int, str]]:
    """Every absolute module a file imports (inside functions and TYPE_CHECKING blocks too)."""
    for node in ast.walk(ast.parse(source.read_text(), filename=str(source))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module is not None:
            yield node.lineno, node.module
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.lineno, node.args[0].value


def violations(layer: str) -> list[str]:
    found = []
    for source in sorted(LAYERS[layer].rglob("*.py")):
        for line, module in imported_modules(source):
            if module.split(".", 1)[0] in FORBIDDEN[layer]:
                found.append(f"{source.relative_to(ROOT)}:{line} imports {module}")
    return found


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_no_layer_imports_one_above_it(layer: str) -> None:
    # Given the sources of a layer
    # When their imports are read
    found = violations(layer)

    # Then none reaches a layer it must not know
    assert found == []


def test_the_reader_of_imports_sees_every_kind_of_import(tmp_path: Path) -> None:
    # Given a file that imports in each way Python allows
    source = tmp_path / "mixed.py"
    source.write_text(
        "import order_service.models\n"
        "from orders_local import stack\n"
        "from . import sibling\n"
        "def later():\n"
        "    from order_service.services import rules\n"
        "    importlib.import_module('orders_local.demo')\n"
    )

    # When its imports are read
    modules = {module for _, module in imported_modules(source)}

    # Then the absolute ones are all seen, wherever they are, and the relative one is not
    assert modules == {"order_service.models", "orders_local", "order_service.services", "orders_local.demo"}
