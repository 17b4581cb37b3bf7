"""Every call fits its function's timeout: the worst case of one AWS call (every attempt
connecting and reading up to its timeout, with botocore's backoff between attempts) and of one
unit of work on the database, under each function's own settings as template.yaml sets them."""

import ast
import dataclasses
import importlib.util
from collections.abc import Callable
from pathlib import Path

import pytest
from samlocal.template import FunctionSpec, Stack

from order_service import settings as settings_module
from order_service.settings import DatabaseSettings, _FunctionSettings, worst_case_aws_call_seconds
from tests.template.conftest import REQUIRED_PARAMETERS

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:orders-db"


def functions_of_the_template(store: str) -> list[FunctionSpec]:
    stack = Stack.from_file(
        TEMPLATE, parameter_overrides={**REQUIRED_PARAMETERS, "OrderStore": store, "DatabaseSecretArn": SECRET_ARN}
    )
    for table in stack.tables():
        stack.set_stream_arn(table.logical_id, f"arn:aws:dynamodb:us-east-1:123456789012:table/{table.name}/stream/x")
    return stack.functions()


def settings_model(handler: str) -> type[_FunctionSettings]:
    """The settings model the handler's module loads (`load_settings(Model)`), read from its source."""
    module = handler.rpartition(".")[0]
    spec = importlib.util.find_spec(module)
    assert spec is not None, handler
    assert spec.origin is not None, handler
    for node in ast.walk(ast.parse(Path(spec.origin).read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "load_settings":
            argument = node.args[0]
            assert isinstance(argument, ast.Name), handler
            model: type[_FunctionSettings] = getattr(settings_module, argument.id)
            return model
    raise AssertionError(f"{module} loads no settings")


SettingsOf = Callable[[FunctionSpec], _FunctionSettings]


@pytest.fixture
def settings_of(monkeypatch: pytest.MonkeyPatch) -> SettingsOf:
    """Builds a function's settings from exactly its template environment."""

    def build(function: FunctionSpec) -> _FunctionSettings:
        model = settings_model(function.handler)
        for field in model.model_fields:
            monkeypatch.delenv(field.upper(), raising=False)
        for name, value in function.environment.items():
            monkeypatch.setenv(name, value)
        return model()

    return build


def required_margin(timeout_seconds: float) -> float:
    """Room left to answer after the slowest call: 20% of the timeout, and at least 2 s."""
    return max(2.0, 0.2 * timeout_seconds)


def test_the_worst_case_of_one_aws_call_adds_every_attempts_timeouts_and_the_backoff_between() -> None:
    # 3 attempts of 0.5 s connect + 1 s read, and at most 1 s then 2 s of backoff.
    assert worst_case_aws_call_seconds(3, 0.5, 1.0) == pytest.approx(7.5)
    assert worst_case_aws_call_seconds(1, 2.0, 5.0) == pytest.approx(7.0)


@pytest.mark.parametrize("store", ["dynamodb", "postgres"])
def test_the_slowest_call_of_every_function_leaves_it_time_to_answer(store: str, settings_of: SettingsOf) -> None:
    over_budget = []
    for function in functions_of_the_template(store):
        settings = settings_of(function)
        worst = settings.worst_case_call_seconds()
        allowed = function.timeout_seconds - required_margin(function.timeout_seconds)
        if worst > allowed:
            over_budget.append(f"{function.logical_id}: one call may take {worst:.1f} s, {allowed:.1f} s allowed")

    assert over_budget == []


def test_on_the_postgres_store_a_unit_of_work_on_the_database_counts_as_one_call(settings_of: SettingsOf) -> None:
    api = next(f for f in functions_of_the_template("postgres") if f.logical_id == "ApiFunction")
    slow_statements = dataclasses.replace(api, environment={**api.environment, "DATABASE_STATEMENT_TIMEOUT_MS": "9000"})

    settings = settings_of(slow_statements)

    # Connecting (2 s), the statement timeout (9 s), then the watchdog's margin (1 s).
    assert isinstance(settings, DatabaseSettings)
    assert settings.worst_case_call_seconds() == settings.database_worst_case_seconds() == pytest.approx(12.0)
