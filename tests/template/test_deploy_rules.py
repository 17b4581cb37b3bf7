"""The project's cfn-lint rules (tools/cfn_rules), as `make check-template` runs them: each example
template in deploy_rules/ that AWS refuses at deploy (or that breaks once deployed) is reported
under its rule's id, where it goes wrong; each one AWS accepts, and template.yaml, are not."""

import json
import os
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = Path(__file__).with_name("deploy_rules")
RULES = ROOT / "tools" / "cfn_rules"
CFN_LINT = Path(sys.executable).with_name("cfn-lint")

# What each failing example must report: (rule id, where), and nothing else of the project's rules.
EXPECTED = {
    "sqs_visibility_timeout.fails.yaml": {
        ("E9001", "Resources/GlobalTimeoutFunction/Properties/Events/Orders"),
        ("E9001", "Resources/WorkerMapping"),
        ("W9001", "Resources/TightFunction/Properties/Events/Orders"),
    },
    "reserved_concurrency.fails.yaml": {
        ("E9002", "Resources/ApiFunction/Properties/ReservedConcurrentExecutions"),
    },
    "schedule_expression.fails.yaml": {
        ("E9003", "Resources/SweepFunction/Properties/Events/EveryMinute/Properties/Schedule"),
        ("E9003", "Resources/SweepFunction/Properties/Events/Daily/Properties/ScheduleExpression"),
        ("E9003", "Resources/FourFields/Properties/ScheduleExpression"),
        ("E9003", "Resources/SingularUnit/Properties/ScheduleExpression"),
        ("E9003", "Resources/FromParameter/Properties/ScheduleExpression"),
        ("E9003", "Resources/OutOfRange/Properties/ScheduleExpression"),
    },
    "event_pattern.fails.yaml": {
        ("E9004", "Resources/ProcessFunction/Properties/Events/NotAnArray/Properties/Pattern"),
        ("E9004", "Resources/ProcessFunction/Properties/Events/EmptyArray/Properties/Pattern"),
        ("E9004", "Resources/NumericString/Properties/EventPattern"),
        ("E9004", "Resources/UnknownOperator/Properties/EventPattern"),
        ("E9004", "Resources/LonelyOr/Properties/EventPattern"),
        ("E9004", "Resources/TwoOperators/Properties/EventPattern"),
    },
    "allowed_pattern.fails.yaml": {
        ("E9005", "Parameters/Stage/AllowedPattern"),
        ("E9005", "Parameters/Prefix/Default"),
        ("E9005", "Parameters/SubnetIds/Default"),
    },
    "sqs_batch_window.fails.yaml": {
        ("E9006", "Resources/SendFunction/Properties/Events/Notifications/Properties/BatchSize"),
        ("E9006", "Resources/WorkerMapping/Properties/BatchSize"),
    },
    "environment_size.fails.yaml": {
        ("E9007", "Resources/SettingsFunction/Properties/Environment/Variables"),
    },
}
PASSING = sorted(name.replace(".fails.", ".passes.") for name in EXPECTED)
PROJECT_RULES = ("E90", "W90")

Finding = tuple[str, str]


def cfn_lint_environment() -> dict[str, str]:
    # As the Makefile runs it: the rules import tools.cfn_rules._template from the project's root.
    return {**os.environ, "PYTHONPATH": str(ROOT)}


@cache
def findings() -> dict[str, list[Finding]]:
    """Every example and template.yaml, linted in one cfn-lint run (a run costs seconds):
    file name -> (rule id, path) of each match, cfn-lint's own rules included."""
    templates = [*(EXAMPLES / name for name in [*EXPECTED, *PASSING]), ROOT / "template.yaml"]
    run = subprocess.run(
        [str(CFN_LINT), "--format", "json", "--append-rules", str(RULES), "--", *map(str, templates)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env=cfn_lint_environment(),
    )
    assert run.stdout.strip(), f"cfn-lint printed nothing: {run.stderr}"
    found: dict[str, list[Finding]] = {template.name: [] for template in templates}
    for match in json.loads(run.stdout):
        path = "/".join(str(step) for step in match["Location"]["Path"])
        found[Path(match["Filename"]).name].append((match["Rule"]["Id"], path))
    return found


@pytest.mark.parametrize("example", sorted(EXPECTED))
def test_each_template_aws_refuses_is_reported_under_its_rule_where_it_goes_wrong(example: str) -> None:
    # Given an example template that deploys wrongly in each of the ways its comments say
    # When cfn-lint runs with the project's rules
    reported = {finding for finding in findings()[example] if finding[0].startswith(PROJECT_RULES)}

    # Then each of those ways is reported, under the rule's id, and nothing else of the project's
    assert reported == EXPECTED[example]


@pytest.mark.parametrize("example", PASSING)
def test_a_template_aws_accepts_is_not_reported(example: str) -> None:
    # Given an example template AWS accepts, at the edges of what each rule allows
    # When cfn-lint runs with the project's rules
    # Then nothing at all is reported (neither the project's rules nor cfn-lint's own)
    assert findings()[example] == []


def test_the_projects_own_template_passes_every_deploy_rule() -> None:
    # Given template.yaml, When cfn-lint runs with the project's rules, Then none of them reports
    assert [finding for finding in findings()["template.yaml"] if finding[0].startswith(PROJECT_RULES)] == []


def test_check_template_fails_on_a_template_only_the_deploy_rules_refuse() -> None:
    # Given an example that `sam validate --lint` and cfn-lint's own rules accept, but that
    # Lambda refuses (an SQS batch of 11 without a batching window)
    example = EXAMPLES / "sqs_batch_window.fails.yaml"

    # When `make check-template` checks it (the environment already bootstrapped: -o keeps make
    # from syncing it again while other tests use it)
    run = subprocess.run(
        ["make", "--no-print-directory", "-o", ".venv/.bootstrapped", "check-template", f"TEMPLATE={example}"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )

    # Then it fails, on the deploy rule
    assert run.returncode != 0, run.stdout + run.stderr
    assert "E9006" in run.stdout + run.stderr
    assert "is a valid SAM Template" in run.stdout + run.stderr


def test_reserved_concurrency_is_judged_against_the_account_quota_it_is_told() -> None:
    # Given the example reserving 900 of the default quota's 1,000 (which leaves the 100 Lambda keeps)
    example = EXAMPLES / "reserved_concurrency.passes.yaml"

    # When cfn-lint is told the account's quota is 1,000 no more, but a new account's 10
    run = subprocess.run(
        [
            str(CFN_LINT),
            "--format",
            "json",
            "--append-rules",
            str(RULES),
            "--configure-rule",
            "E9002:account_concurrency=10",
            "--",
            str(example),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env=cfn_lint_environment(),
    )

    # Then the same reservation is reported: all 10 must stay unreserved
    reported = [match for match in json.loads(run.stdout) if match["Rule"]["Id"] == "E9002"]
    assert len(reported) == 1
    assert "at most 0 can be reserved" in reported[0]["Message"]
