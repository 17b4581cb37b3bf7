"""send_notification's permission to send, as SES authorises a send: against the sender's identity
and, while the account is in the SES sandbox, against each recipient's identity too (AWS's IAM
page for SES: the sandbox's restrictions can defeat a policy; SES then answers AccessDenied
naming the recipient's identity ARN). The function calls SES v2's SendEmail, whose one IAM
action is ses:SendEmail, whatever the content (simple, raw or templated)."""

import re
from fnmatch import fnmatchcase
from typing import Any

import pytest

from tests.template.conftest import REQUIRED_PARAMETERS, Deploy
from tests.template.test_template import SECRET_ARN, as_list, functions, role_of, statements

STORES = [{"OrderStore": "dynamodb"}, {"OrderStore": "postgres", "DatabaseSecretArn": SECRET_ARN}]
PSEUDO_PARAMETERS = {"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": "123456789012"}
SENDER = REQUIRED_PARAMETERS["SenderEmail"]
IDENTITY = "arn:aws:ses:us-east-1:123456789012:identity/{}"
_SUBSTITUTION = re.compile(r"\$\{([^}]+)\}")


def resolved(value: Any) -> str | None:
    """A string the policy names, with the deploy's parameters; None for another resource's attribute."""
    if isinstance(value, str):
        return value
    if set(value) == {"Ref"}:
        return {**PSEUDO_PARAMETERS, **REQUIRED_PARAMETERS}.get(value["Ref"])
    if set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
        names = {**PSEUDO_PARAMETERS, **REQUIRED_PARAMETERS}
        if not all(name in names for name in _SUBSTITUTION.findall(value["Fn::Sub"])):
            return None
        return _SUBSTITUTION.sub(lambda match: names[match.group(1)], value["Fn::Sub"])
    return None


def condition_holds(condition: dict[str, Any], context: dict[str, list[str]]) -> bool:
    for operator, keys in condition.items():
        for key, expected in keys.items():
            wanted = [resolved(value) for value in as_list(expected)]
            given = context.get(key, [])
            if operator == "StringEquals":
                matches = any(value in wanted for value in given)
            elif operator == "StringLike":
                matches = any(fnmatchcase(value, pattern or "") for value in given for pattern in wanted)
            else:
                raise AssertionError(f"condition operator {operator} is not modelled here")
            if not matches:
                return False
    return True


def allowed(role: dict[str, Any], action: str, resource: str, context: dict[str, list[str]]) -> bool:
    """IAM's answer for one request on the role's own policies: an Allow that matches and no Deny."""

    def matches(statement: dict[str, Any]) -> bool:
        actions = [name.lower() for name in as_list(statement["Action"])]
        resources = [resolved(target) for target in as_list(statement["Resource"])]
        return (
            any(fnmatchcase(action.lower(), pattern) for pattern in actions)
            and any(target is not None and fnmatchcase(resource, target) for target in resources)
            and condition_holds(statement.get("Condition", {}), context)
        )

    matching = [statement for statement in statements(role) if matches(statement)]
    return any(s["Effect"] == "Allow" for s in matching) and not any(s["Effect"] == "Deny" for s in matching)


def send_from(sender: str, recipient: str) -> dict[str, list[str]]:
    """The condition keys SES sets on a SendEmail request."""
    return {"ses:FromAddress": [sender], "ses:Recipients": [recipient]}


@pytest.mark.parametrize("parameters", STORES, ids=["dynamodb", "postgres"])
def test_send_notification_may_send_in_the_sandbox_to_a_recipient_verified_by_address_or_domain(
    deploy: Deploy, parameters: dict[str, str]
) -> None:
    # Given send_notification's role as deployed
    deployed = deploy(**parameters)
    role = role_of(deployed["SendNotificationFunction"], deployed)
    recipient = "customer@shopper.example"

    # When SES authorises an e-mail from the sender against each identity a sandbox send involves
    identities = [SENDER, recipient, "shopper.example"]

    # Then every one of them allows it
    for identity in identities:
        assert allowed(role, "ses:SendEmail", IDENTITY.format(identity), send_from(SENDER, recipient)), identity


@pytest.mark.parametrize("parameters", STORES, ids=["dynamodb", "postgres"])
def test_send_notification_may_send_from_no_address_but_the_sender(deploy: Deploy, parameters: dict[str, str]) -> None:
    # Given send_notification's role as deployed
    deployed = deploy(**parameters)
    role = role_of(deployed["SendNotificationFunction"], deployed)

    # When an e-mail claims another From address, on any identity of the account (a verified domain's included)
    for identity in ["someone@yourshop.example", "yourshop.example", SENDER]:
        # Then IAM refuses it
        assert not allowed(
            role, "ses:SendEmail", IDENTITY.format(identity), send_from("someone@yourshop.example", "c@shopper.example")
        ), identity


def test_the_ses_grant_is_send_email_on_the_accounts_identities_for_mail_from_the_sender(
    resources: dict[str, Any],
) -> None:
    # Given every function's role
    grants = {
        name: [
            statement
            for statement in statements(role_of(function, resources))
            if any(str(action).lower().startswith("ses:") for action in as_list(statement["Action"]))
        ]
        for name, function in functions(resources).items()
    }

    # Then only send_notification may use SES, with one statement: ses:SendEmail (SES v2's one
    # sending action) on identity/* of this account and region, limited to SenderEmail as From
    assert {name for name, found in grants.items() if found} == {"SendNotificationFunction"}
    (statement,) = grants["SendNotificationFunction"]
    assert statement["Effect"] == "Allow"
    assert as_list(statement["Action"]) == ["ses:SendEmail"]
    assert statement["Resource"] == {"Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/*"}
    assert statement["Condition"] == {"StringEquals": {"ses:FromAddress": {"Ref": "SenderEmail"}}}
