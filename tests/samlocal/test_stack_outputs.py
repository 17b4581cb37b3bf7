"""The local stack's outputs: the template's, resolved to what the local stack created."""

from pathlib import Path

from samlocal.stack_outputs import resolved_outputs
from samlocal.template import Stack

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = {"SenderEmail": "shop@example.org", "ApiCallerPrincipals": "arn:aws:iam::123456789012:role/storefront"}
LOCAL_API = "http://127.0.0.1:3000/v1"


def test_every_output_of_the_service_template_gets_its_local_value_and_the_api_url_its_local_one() -> None:
    stack = Stack.from_file(
        ROOT / "template.yaml", stack_name="t", parameter_overrides=REQUIRED, endpoint_url="http://127.0.0.1:5000"
    )

    outputs, skipped = resolved_outputs(stack, LOCAL_API)

    assert skipped == []
    assert outputs["ApiUrl"]["Value"] == LOCAL_API
    assert outputs["NotificationQueueUrl"]["Value"] == "http://127.0.0.1:5000/123456789012/t-NotificationQueue"
    assert outputs["IdempotencyTableName"]["Value"] == "t-IdempotencyTable"
    assert outputs["SendNotificationFunctionName"]["Value"] == "t-SendNotificationFunction"


def test_an_output_the_local_stack_cannot_give_is_left_out_and_named() -> None:
    document = {
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
        "Conditions": {"Never": {"Fn::Equals": ["a", "b"]}},
        "Outputs": {
            "QueueUrl": {"Value": {"Ref": "Queue"}, "Description": "the queue"},
            "Elsewhere": {"Value": {"Fn::ImportValue": "another-stack-output"}},
            "OnlySometimes": {"Condition": "Never", "Value": "x"},
            "ApiUrl": {"Value": "https://Api.execute-api.us-east-1.amazonaws.com/v1"},
        },
    }

    outputs, skipped = resolved_outputs(Stack(document, stack_name="s"), api_url=None)

    assert outputs == {"QueueUrl": {"Value": "http://127.0.0.1:0/123456789012/s-Queue", "Description": "the queue"}}
    assert skipped == ["Elsewhere", "ApiUrl"]
