"""One configuration: samconfig.toml's parameter_overrides, read locally as `sam deploy` reads them."""

import tomllib
from pathlib import Path
from typing import Any

import pytest
import typer
from orders_local.stack import ORDERS_TEMPLATE, OrderStack, OrderStackOptions
from samcli.cli.types import CfnParameterOverridesType
from samcli.lib.config.samconfig import SamConfig
from samlocal.cli import template_parameters
from samlocal.samconfig import SamConfigError, config_file_for, parameter_overrides
from samlocal.yaml_loader import load_template

SHIPPED = config_file_for(ORDERS_TEMPLATE)


def sam_reads(path: Path, environment: str) -> dict[str, str]:
    """What SAM CLI itself makes of the file's deploy parameter_overrides."""
    value: Any = SamConfig(str(path.parent), path.name).get_all(["deploy"], "parameters", env=environment)[
        "parameter_overrides"
    ]
    parsed: dict[str, str] = CfnParameterOverridesType().convert(
        (value,) if isinstance(value, str) else tuple(value), None, None
    )
    return parsed


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "samconfig.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("environment", ["default", "prod"])
def test_the_shipped_samconfig_is_read_locally_as_sam_reads_it(environment: str) -> None:
    assert parameter_overrides(SHIPPED, environment) == sam_reads(SHIPPED, environment)


@pytest.mark.parametrize("environment", ["default", "prod"])
def test_every_shipped_environment_deploys_the_template_with_its_required_parameters(environment: str) -> None:
    declared = load_template(ORDERS_TEMPLATE)["Parameters"]
    required = {name for name, spec in declared.items() if "Default" not in spec}
    deploy = tomllib.loads(SHIPPED.read_text())[environment]["deploy"]["parameters"]

    overrides = parameter_overrides(SHIPPED, environment)

    assert set(overrides) <= set(declared)
    assert required <= set(overrides)
    assert deploy["capabilities"] == "CAPABILITY_IAM"
    assert deploy["template_file"] == "build/template.yaml"


def test_a_string_of_pairs_is_split_as_sam_splits_it_and_deploy_wins_over_global(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """version = 0.1
[staging.global.parameters]
parameter_overrides = "LogLevel=INFO SenderEmail=old@example.com"
[staging.deploy.parameters]
parameter_overrides = 'SenderEmail=orders@example.com Greeting="hello there"'
""",
    )

    assert parameter_overrides(path, "staging") == {
        "LogLevel": "INFO",
        "SenderEmail": "orders@example.com",
        "Greeting": "hello there",
    }


def test_an_unknown_environment_is_refused_with_the_ones_there_are(tmp_path: Path) -> None:
    path = write(tmp_path, 'version = 0.1\n[default.deploy.parameters]\nparameter_overrides = "A=1"\n')

    with pytest.raises(SamConfigError, match=r"no environment 'prod' \(it has: default\)"):
        parameter_overrides(path, "prod")


def test_a_malformed_override_is_refused_naming_where_it_is(tmp_path: Path) -> None:
    path = write(tmp_path, 'version = 0.1\n[default.deploy.parameters]\nparameter_overrides = ["A=1", "oops"]\n')

    with pytest.raises(SamConfigError, match=r"\[default.deploy.parameters\] parameter_overrides: 'oops'"):
        parameter_overrides(path, "default")


def test_a_parameter_given_on_the_command_line_wins_over_the_config(tmp_path: Path) -> None:
    path = write(tmp_path, 'version = 0.1\n[default.deploy.parameters]\nparameter_overrides = "A=1 B=2"\n')

    assert template_parameters(ORDERS_TEMPLATE, "default", path, ["B=3"]) == {"A": "1", "B": "3"}
    with pytest.raises(typer.BadParameter, match="no environment 'qa'"):
        template_parameters(ORDERS_TEMPLATE, "qa", path, None)


def test_the_local_stack_runs_with_the_config_environments_parameters() -> None:
    parameters = template_parameters(ORDERS_TEMPLATE, "prod", None, None)

    with OrderStack(OrderStackOptions(parameters=parameters, start_sources=False, stack_name="samconfig")) as stack:
        environment = stack.functions["SendNotificationFunction"].environment
        reserved = stack.functions["ProcessOrderFunction"].reserved_concurrency

    assert environment["SENDER_EMAIL"] == "orders@yourshop.example"
    assert reserved == 20
    assert not stack.stack.stand_ins_used
