"""EventBridge buses: named by their `Name`; the account's default bus already exists."""

from samlocal.provision import Provisioned, aws_client
from samlocal.resources import Declaration, Names, Resource
from samlocal.template import ACCOUNT_ID, REGION, Stack

TYPE = "AWS::Events::EventBus"


def names(declared: Declaration) -> Names:
    stack = declared.stack
    bus = str(stack.intrinsics.resolve(declared.properties.get("Name", declared.name), declared.logical_id))
    return Names(bus, {"Name": bus, "Arn": f"arn:aws:events:{REGION}:{ACCOUNT_ID}:event-bus/{bus}"})


def event_buses(stack: Stack) -> list[str]:
    return [stack.intrinsics.refs[logical_id] for logical_id in stack.of_type(TYPE)]


def provision(stack: Stack, endpoint_url: str, done: Provisioned) -> None:
    events = aws_client("events", endpoint_url)
    for bus in event_buses(stack):
        if bus != "default":
            events.create_event_bus(Name=bus)
        done.event_buses.append(bus)


RESOURCE = Resource((TYPE,), names, provision)
