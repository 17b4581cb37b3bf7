"""The scaling knobs are template parameters with safe defaults, applied to the event source
mappings SAM generates and bounded as Lambda bounds each setting (docs/capacity.md says what each
one trades).

- `ParallelizationFactor` 1 to 10, `BatchSize` up to 10,000 for a DynamoDB stream:
  https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-params.html
- `ScalingConfig.MaximumConcurrency` 2 to 1,000 for an SQS queue:
  https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html#events-sqs-max-concurrency
"""

from decimal import Decimal, InvalidOperation
from typing import Any

import pytest

from tests.template.conftest import REQUIRED_PARAMETERS, Deploy, of_type

ANNOUNCER = "AnnounceOrderChangesFunction"
NOTIFIER = "SendNotificationFunction"
# name: (default, least, most)
KNOBS = {
    "AnnouncerParallelizationFactor": (1, 1, 10),
    "AnnouncerBatchSize": (25, 1, 10_000),
    "NotificationMaxConcurrency": (2, 2, 1_000),
    "ApiThrottleRateLimit": (100, 1, 10_000),
    "ApiThrottleBurstLimit": (200, 1, 5_000),
}


def mapping_of(resources: dict[str, Any], function: str) -> dict[str, Any]:
    (properties,) = [
        mapping["Properties"]
        for mapping in of_type(resources, "AWS::Lambda::EventSourceMapping").values()
        if mapping["Properties"]["FunctionName"] == {"Ref": function}
    ]
    found: dict[str, Any] = properties
    return found


def as_deployed(value: Any, sam_template: dict[str, Any], given: dict[str, str]) -> Any:
    """`value` as CloudFormation hands it to Lambda: a Ref to a Number parameter becomes the
    number given, or the parameter's default (SAM leaves the Ref in place)."""
    if not (isinstance(value, dict) and set(value) == {"Ref"}):
        return value
    declaration = sam_template["Parameters"][value["Ref"]]
    assert declaration["Type"] == "Number", value
    return int({**REQUIRED_PARAMETERS, **given}.get(value["Ref"], declaration["Default"]))


def allowed(declaration: dict[str, Any], value: str) -> bool:
    """What CloudFormation checks of a Number parameter's value: a number, within MinValue and MaxValue."""
    try:
        number = Decimal(value)
    except InvalidOperation:
        return False
    return Decimal(declaration["MinValue"]) <= number <= Decimal(declaration["MaxValue"])


def test_given_no_knob_when_deployed_then_the_mappings_get_the_safe_defaults(
    deploy: Deploy, sam_template: dict[str, Any]
) -> None:
    resources = deploy()

    announcer, notifier = mapping_of(resources, ANNOUNCER), mapping_of(resources, NOTIFIER)

    assert as_deployed(announcer["ParallelizationFactor"], sam_template, {}) == 1
    assert as_deployed(announcer["BatchSize"], sam_template, {}) == 25
    assert as_deployed(notifier["ScalingConfig"]["MaximumConcurrency"], sam_template, {}) == 2
    # What the knobs leave alone stays as it was.
    assert notifier["BatchSize"] == 10
    assert announcer["BisectBatchOnFunctionError"] is True
    assert announcer["FunctionResponseTypes"] == notifier["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_given_each_knob_when_deployed_then_its_value_reaches_its_mapping(
    deploy: Deploy, sam_template: dict[str, Any]
) -> None:
    given = {"AnnouncerParallelizationFactor": "4", "AnnouncerBatchSize": "100", "NotificationMaxConcurrency": "10"}

    resources = deploy(**given)

    announcer, notifier = mapping_of(resources, ANNOUNCER), mapping_of(resources, NOTIFIER)
    assert as_deployed(announcer["ParallelizationFactor"], sam_template, given) == 4
    assert as_deployed(announcer["BatchSize"], sam_template, given) == 100
    assert as_deployed(notifier["ScalingConfig"]["MaximumConcurrency"], sam_template, given) == 10


@pytest.mark.parametrize("name", sorted(KNOBS))
def test_each_knob_is_a_number_bounded_as_lambda_bounds_its_setting_with_a_safe_default(
    name: str, sam_template: dict[str, Any]
) -> None:
    declaration = sam_template["Parameters"][name]
    default, least, most = KNOBS[name]

    assert declaration["Type"] == "Number"
    assert (declaration["Default"], declaration["MinValue"], declaration["MaxValue"]) == (default, least, most)
    assert "docs/capacity.md" in declaration["Description"]
    assert declaration["ConstraintDescription"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("AnnouncerParallelizationFactor", "0"),
        ("AnnouncerParallelizationFactor", "11"),
        ("AnnouncerBatchSize", "0"),
        ("AnnouncerBatchSize", "10001"),
        ("NotificationMaxConcurrency", "1"),
        ("NotificationMaxConcurrency", "1001"),
        ("NotificationMaxConcurrency", "five"),
    ],
)
def test_given_a_value_out_of_range_then_the_parameter_constraints_refuse_it(
    name: str, value: str, sam_template: dict[str, Any]
) -> None:
    assert not allowed(sam_template["Parameters"][name], value)


@pytest.mark.parametrize("name", sorted(KNOBS))
def test_given_a_value_at_either_bound_then_the_parameter_constraints_accept_it(
    name: str, sam_template: dict[str, Any]
) -> None:
    _, least, most = KNOBS[name]

    assert allowed(sam_template["Parameters"][name], str(least))
    assert allowed(sam_template["Parameters"][name], str(most))
