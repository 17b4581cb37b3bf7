"""What send_notification's promises need of the deployed template: a sent notification is
remembered as long as its message can come back, and the function reads the orders it mails
about, and nothing more of them."""

from typing import Any

import pytest

from order_service.settings import NotificationSettings
from tests.template.conftest import Deploy
from tests.template.test_template import SECRET_ARN, as_list, role_of, statements

# SQS's MessageRetentionPeriod when a queue sets none (CreateQueue's documented default).
SQS_DEFAULT_RETENTION_SECONDS = 345_600
STORES = [{"OrderStore": "dynamodb"}, {"OrderStore": "postgres", "DatabaseSecretArn": SECRET_ARN}]


def retention(queue: dict[str, Any]) -> int:
    return int(queue["Properties"].get("MessageRetentionPeriod", SQS_DEFAULT_RETENTION_SECONDS))


def notification_queue_of(deployed: dict[str, Any]) -> str:
    (queue,) = [
        mapping["Properties"]["EventSourceArn"]["Fn::GetAtt"][0]
        for mapping in deployed.values()
        if mapping["Type"] == "AWS::Lambda::EventSourceMapping"
        and mapping["Properties"]["FunctionName"] == {"Ref": "SendNotificationFunction"}
    ]
    return str(queue)


@pytest.mark.parametrize("parameters", STORES, ids=["dynamodb", "postgres"])
def test_a_sent_notification_is_remembered_until_its_message_can_no_longer_come_back(
    deploy: Deploy, parameters: dict[str, str]
) -> None:
    # Given the deployed notification queue, its dead-letter queue, and the function's settings
    deployed = deploy(**parameters)
    queue = deployed[notification_queue_of(deployed)]
    dead_letters = deployed[queue["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]]
    variables = deployed["SendNotificationFunction"]["Properties"]["Environment"]["Variables"]
    default = NotificationSettings.model_fields["idempotency_ttl_seconds"].default
    ttl = int(variables.get("IDEMPOTENCY_TTL_SECONDS", default))

    # When a dead letter is redriven at the end of its retention (counted from when it was first
    # queued: a standard queue's dead letter keeps its enqueue time), and its redriven copy (a
    # new message) is delivered at the end of the queue's own retention
    longest_return = retention(dead_letters) + retention(queue)

    # Then the idempotency record of its e-mail is still there
    assert ttl >= longest_return, (
        f"idempotency records expire after {ttl} s, a message may come back {longest_return} s"
    )


@pytest.mark.parametrize("parameters", STORES, ids=["dynamodb", "postgres"])
def test_send_notification_may_read_orders_and_change_none(deploy: Deploy, parameters: dict[str, str]) -> None:
    deployed = deploy(**parameters)
    function = deployed["SendNotificationFunction"]
    role = role_of(function, deployed)

    on_orders = {
        action
        for statement in statements(role)
        for target in as_list(statement["Resource"])
        if isinstance(target, dict) and target.get("Fn::GetAtt", [""])[0] == "OrdersTable"
        for action in as_list(statement["Action"])
    }

    assert on_orders == {"dynamodb:GetItem"}
    assert function["Properties"]["Environment"]["Variables"]["ORDERS_TABLE_NAME"] == {"Ref": "OrdersTable"}


def test_on_the_postgres_store_send_notification_reaches_the_database_as_the_other_readers_do(
    deploy: Deploy,
) -> None:
    deployed = deploy(OrderStore="postgres", DatabaseSecretArn=SECRET_ARN)
    notify, process = deployed["SendNotificationFunction"], deployed["ProcessOrderFunction"]

    assert notify["Properties"]["VpcConfig"] == process["Properties"]["VpcConfig"]
    sids = {statement.get("Sid") for statement in statements(role_of(notify, deployed))}
    assert {"ReadDatabaseCredentials", "AttachToTheDatabaseVpc"} <= sids
