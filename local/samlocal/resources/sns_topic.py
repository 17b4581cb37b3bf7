"""SNS topics (their subscriptions are not emulated)."""

from samlocal.provision import Provisioned, aws_client
from samlocal.resources import Declaration, Names, Resource
from samlocal.template import ACCOUNT_ID, REGION, Stack

TYPE = "AWS::SNS::Topic"


def names(declared: Declaration) -> Names:
    arn = f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:{declared.name}"
    return Names(arn, {"TopicArn": arn, "TopicName": declared.name})


def topics(stack: Stack) -> list[str]:
    return [str(stack.intrinsics.attributes[(logical_id, "TopicName")]) for logical_id in stack.of_type(TYPE)]


def provision(stack: Stack, endpoint_url: str, done: Provisioned) -> None:
    sns = aws_client("sns", endpoint_url)
    for topic in topics(stack):
        sns.create_topic(Name=topic)


RESOURCE = Resource((TYPE,), names, provision)
