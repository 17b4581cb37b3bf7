"""The kinds of resource the engine creates, in the order it creates them (queues, then tables,
event buses, email identities, topics). A new kind is a module of `resources/` with a
`RESOURCE` (see `Resource`), its tests, and one line here."""

from samlocal.resources import Resource, dynamodb_table, email_identity, event_bus, sns_topic, sqs_queue

RESOURCES: tuple[Resource, ...] = (
    sqs_queue.RESOURCE,
    dynamodb_table.RESOURCE,
    event_bus.RESOURCE,
    email_identity.RESOURCE,
    sns_topic.RESOURCE,
)


def resource_for_type(resource_type: str) -> Resource | None:
    return next((kind for kind in RESOURCES if resource_type in kind.types), None)
