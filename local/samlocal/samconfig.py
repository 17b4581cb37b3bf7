"""Template parameters from samconfig.toml, as `sam deploy --config-env NAME` reads them.

SAM reads `parameter_overrides` from the `[NAME.global.parameters]` table and, for a deploy,
from `[NAME.deploy.parameters]`, the latter winning; a value is either one string of
space-separated `Key=Value` pairs (values may be quoted) or a list of `Key=Value` strings
(https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/serverless-sam-cli-config.html).
The local stack reads the same tables, so one file configures a deploy and a local run alike.
"""

import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

FILE_NAME = "samconfig.toml"
_SECTIONS = ("global", "deploy")


class SamConfigError(ValueError):
    """samconfig.toml is missing, has no such environment, or a malformed override."""


def _pairs(value: Any, where: str) -> list[str]:
    if isinstance(value, str):
        try:
            return shlex.split(value)
        except ValueError as error:
            raise SamConfigError(f"{where}: {error}") from None
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    raise SamConfigError(f"{where}: expected a string of Key=Value pairs or a list of them")


def _overrides(value: Any, where: str) -> dict[str, str]:
    overrides = {}
    for pair in _pairs(value, where):
        name, separator, setting = pair.partition("=")
        if not separator or not name:
            raise SamConfigError(f"{where}: {pair!r} is not Key=Value")
        overrides[name] = setting
    return overrides


def parameter_overrides(path: Path, environment: str) -> dict[str, str]:
    """The template parameters `sam deploy --config-env environment` would deploy with."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SamConfigError(f"no {path}: --config-env reads parameter_overrides from it") from None
    except tomllib.TOMLDecodeError as error:
        raise SamConfigError(f"{path} is not valid TOML: {error}") from None
    environments = {name for name, table in document.items() if isinstance(table, dict)}
    if environment not in environments:
        known = ", ".join(sorted(environments)) or "none"
        raise SamConfigError(f"{path} has no environment {environment!r} (it has: {known})")
    found: dict[str, str] = {}
    for section in _SECTIONS:
        parameters = document[environment].get(section, {}).get("parameters", {})
        if "parameter_overrides" in parameters:
            where = f"{path.name} [{environment}.{section}.parameters] parameter_overrides"
            found.update(_overrides(parameters["parameter_overrides"], where))
    return found


def config_file_for(template: Path) -> Path:
    """Where SAM looks: samconfig.toml beside the template."""
    return template.resolve().parent / FILE_NAME


def default_stack_name(template: Path, environment: str = "default") -> str:
    """The stack's name as `sam deploy` would take it (samconfig.toml's stack_name), else the
    template's folder, made a valid CloudFormation stack name."""
    path = config_file_for(template)
    if path.is_file():
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError:
            document = {}
        for section in ("deploy", "global"):
            name = document.get(environment, {}).get(section, {}).get("parameters", {}).get("stack_name")
            if isinstance(name, str) and name:
                return name
    folder = re.sub(r"[^A-Za-z0-9-]+", "-", template.resolve().parent.name).strip("-")
    return folder if folder[:1].isalpha() else f"stack-{folder}".rstrip("-")
