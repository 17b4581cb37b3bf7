"""E9003: a `rate(...)`, `cron(...)` or `at(...)` schedule that EventBridge refuses.

AWS, EventBridge's "Rate expressions reference"
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rate-expressions.html): `rate(value
unit)`, value a positive number, unit minute | minutes | hour | hours | day | days; "If the value is
equal to 1, then the unit must be singular. If the value is greater than 1, the unit must be
plural. For example, rate(1 hours) and rate(5 hour) aren't valid".

"Cron expressions reference"
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html): six
required fields, Minutes 0-59, Hours 0-23, Day-of-month 1-31, Month 1-12 or JAN-DEC, Day-of-week
1-7 or SUN-SAT, Year 1970-2199, with the wildcards each field lists (`, - * /` everywhere, `? L W`
in Day-of-month, `? L #` in Day-of-week); "You can't specify the Day-of-month and Day-of-week
fields in the same cron expression. If you specify a value or a * (asterisk) in one of the fields,
you must use a ? (question mark) in the other"; a `#` expression stands alone in Day-of-week.

EventBridge Scheduler (https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html)
takes the same rate and cron expressions, and `at(yyyy-mm-ddThh:mm:ss)` for a one-time schedule.

Read in SAM `Schedule` (Schedule) and `ScheduleV2` (ScheduleExpression) events,
AWS::Events::Rule and AWS::Scheduler::Schedule (ScheduleExpression). cfn-lint's E3027 reads
AWS::Events::Rule alone, and checks neither the fields' values nor their wildcards.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cfnlint.rules._rule import CloudFormationLintRule, RuleMatch
from cfnlint.template.template import Template

from tools.cfn_rules._template import DefaultDeploy, Path, properties

_RATE = re.compile(r"rate\(\s*(\S+)\s+(\S+)\s*\)")
_CRON = re.compile(r"cron\((.*)\)")
_AT = re.compile(r"at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)")
_UNITS = {"minute", "hour", "day"}
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...]
    name_range: str = ""
    question_mark: bool = False


_FIELDS = (
    _Field("Minutes", 0, 59, ()),
    _Field("Hours", 0, 23, ()),
    _Field("Day-of-month", 1, 31, (), question_mark=True),
    _Field("Month", 1, 12, _MONTHS, "JAN-DEC"),
    _Field("Day-of-week", 1, 7, _WEEKDAYS, "SUN-SAT", question_mark=True),
    _Field("Year", 1970, 2199, ()),
)
DAY_OF_MONTH, DAY_OF_WEEK = _FIELDS[2], _FIELDS[4]


def schedule_error(expression: str, one_time_allowed: bool = False) -> str | None:
    """Why EventBridge refuses `expression`, or None if it is valid."""
    if expression.startswith("rate("):
        return _rate_error(expression)
    if expression.startswith("cron("):
        return _cron_error(expression)
    if one_time_allowed and expression.startswith("at("):
        return _at_error(expression)
    kinds = "rate(...), cron(...) or at(...)" if one_time_allowed else "rate(...) or cron(...)"
    return f"{expression!r} is not a schedule expression: it must be {kinds}"


def _rate_error(expression: str) -> str | None:
    match = _RATE.fullmatch(expression)
    if match is None:
        return f"{expression!r} is not rate(value unit)"
    value, unit = match.groups()
    if not value.isdigit() or int(value) < 1:
        return f"{expression!r}: the value must be a positive whole number"
    singular = unit[:-1] if unit.endswith("s") else unit
    if singular not in _UNITS:
        return f"{expression!r}: the unit must be minute(s), hour(s) or day(s)"
    if int(value) == 1 and unit != singular:
        return f"{expression!r}: with a value of 1 the unit is singular (rate(1 {singular}))"
    if int(value) > 1 and unit == singular:
        return f"{expression!r}: with a value above 1 the unit is plural (rate({value} {singular}s))"
    return None


def _cron_error(expression: str) -> str | None:
    match = _CRON.fullmatch(expression)
    fields = match.group(1).split() if match else []
    if len(fields) != len(_FIELDS):
        return (
            f"{expression!r} has {len(fields)} fields: EventBridge's cron has six "
            "(Minutes Hours Day-of-month Month Day-of-week Year)"
        )
    for text, field in zip(fields, _FIELDS, strict=True):
        error = _field_error(text, field)
        if error is not None:
            return f"{expression!r}: {error}"
    day_of_month, day_of_week = fields[2], fields[4]
    if (day_of_month == "?") == (day_of_week == "?"):
        return (
            f"{expression!r}: exactly one of Day-of-month ({day_of_month}) and Day-of-week "
            f"({day_of_week}) must be ?, the other a value or *"
        )
    return None


def _field_error(text: str, field: _Field) -> str | None:
    if text == "?":
        return None if field.question_mark else f"{field.name} cannot be ?"
    items = text.split(",")
    if field is DAY_OF_WEEK and "#" in text and len(items) > 1:
        return f"{field.name} {text!r}: a # expression must stand alone"
    for item in items:
        error = _item_error(item, field)
        if error is not None:
            return f"{field.name} {text!r}: {error}"
    return None


def _item_error(item: str, field: _Field) -> str | None:
    if item == "":
        return "an empty value"
    if field is DAY_OF_MONTH and (item in ("L", "LW") or (item.endswith("W") and _value(item[:-1], field))):
        return None
    if field is DAY_OF_WEEK:
        if item == "L" or (item.endswith("L") and _value(item[:-1], field)):
            return None
        if "#" in item:
            day, _, nth = item.partition("#")
            valid = _value(day, field) and nth.isdigit() and 1 <= int(nth) <= 5
            return None if valid else f"{item!r} is not day#n (n from 1 to 5)"
    base, slash, step = item.partition("/")
    if slash and not (step.isdigit() and int(step) >= 1):
        return f"{item!r}: the increment must be a positive whole number"
    if base == "*":
        return None
    start, dash, end = base.partition("-")
    if not _value(start, field) or (dash and not _value(end, field)):
        names = f" or {field.name_range}" if field.name_range else ""
        return f"{item!r} is not a value ({field.low}-{field.high}{names}) or one of its wildcards"
    return None


def _value(text: str, field: _Field) -> bool:
    if text.upper() in field.names:
        return True
    return text.isdigit() and field.low <= int(text) <= field.high


def _at_error(expression: str) -> str | None:
    match = _AT.fullmatch(expression)
    if match is None:
        return f"{expression!r} is not at(yyyy-mm-ddThh:mm:ss)"
    try:
        datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return f"{expression!r} is not a date and time"
    return None


@dataclass(frozen=True)
class _Schedule:
    path: Path
    value: Any
    one_time_allowed: bool


def _schedules(deploy: DefaultDeploy) -> Iterator[_Schedule]:
    for event in deploy.sam_events("Schedule", "ScheduleV2"):
        key = "Schedule" if event.type == "Schedule" else "ScheduleExpression"
        if key in event.properties:
            yield _Schedule([*event.path, "Properties", key], event.properties[key], event.type == "ScheduleV2")
    for kind, one_time_allowed in (("AWS::Events::Rule", False), ("AWS::Scheduler::Schedule", True)):
        for name, resource in deploy.of_type(kind):
            if "ScheduleExpression" in properties(resource):
                path: Path = ["Resources", name, "Properties", "ScheduleExpression"]
                yield _Schedule(path, properties(resource)["ScheduleExpression"], one_time_allowed)


class InvalidScheduleExpression(CloudFormationLintRule):
    """A schedule expression outside EventBridge's documented syntax (this module's docstring
    quotes AWS): the rule or schedule is refused at deploy."""

    id = "E9003"
    shortdesc = "Schedule expression EventBridge refuses"
    description = (
        "rate(value unit) with a singular unit for 1 and a plural one above; cron with six fields, "
        "each in range, and exactly one of Day-of-month and Day-of-week a ?; at(...) for Scheduler."
    )
    source_url = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html"
    tags = ["resources", "events", "scheduler"]  # noqa: RUF012 - cfn-lint declares it a plain list

    def match(self, cfn: Template) -> list[RuleMatch]:
        deploy = DefaultDeploy(cfn.template)
        matches = []
        for schedule in _schedules(deploy):
            expression = deploy.string(schedule.value)
            if expression is None:
                continue
            error = schedule_error(expression.strip(), schedule.one_time_allowed)
            if error is not None:
                matches.append(RuleMatch(schedule.path, error))
        return matches
