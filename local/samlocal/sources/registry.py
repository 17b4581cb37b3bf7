"""The kinds of trigger the engine runs. A new kind is a module of `sources/` with a `TRIGGER`
(see `Trigger`), its tests, and one line here."""

from samlocal.sources import Trigger, api_gateway, rules, schedules, sqs, streams

TRIGGERS: tuple[Trigger, ...] = (
    api_gateway.TRIGGER,
    sqs.TRIGGER,
    streams.TRIGGER,
    rules.TRIGGER,
    schedules.TRIGGER,
)


def trigger_for_event(event_type: str) -> Trigger | None:
    return next((trigger for trigger in TRIGGERS if event_type in trigger.event_types), None)


def trigger_of(binding: object) -> Trigger:
    return next(trigger for trigger in TRIGGERS if isinstance(binding, trigger.binding))
