"""Triggers are a registry: a kind added to it is read from the template and started with the
stack, with no other change to the engine."""

from dataclasses import dataclass
from pathlib import Path

import pytest
from samlocal.local_stack import LocalStack, StackOptions
from samlocal.sources import Declared, Trigger, registry
from samlocal.template import FunctionSpec

TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  Clock:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.13
      CodeUri: functions/
      Handler: clock.handler
      Events:
        EverySecond:
          Type: Tick
          Properties:
            Seconds: 1
"""


@dataclass(frozen=True)
class TickSource:
    name: str
    seconds: int


class Ticker:
    """A running source that records what the stack does with it."""

    def __init__(self, function: FunctionSpec, source: TickSource) -> None:
        self.function = function
        self.source = source
        self.started = self.joined = False

    @property
    def busy(self) -> bool:
        return False

    def start(self) -> None:
        self.started = True

    def join(self, timeout: float) -> None:
        self.joined = True


def read_tick(declared: Declared) -> TickSource:
    return TickSource(declared.name, int(declared.properties["Seconds"]))


def start_tick(_stack: LocalStack, function: FunctionSpec, source: TickSource) -> Ticker:
    return Ticker(function, source)


TICK = Trigger(("Tick",), TickSource, "Ticks", read_tick, start_tick, lambda tick: f"every {tick.seconds} s")


@pytest.fixture
def with_ticks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "TRIGGERS", (*registry.TRIGGERS, TICK))


def test_a_trigger_added_to_the_registry_is_read_from_the_template_and_started(
    with_ticks: None, tmp_path: Path
) -> None:
    # Given a template whose function has an event of a kind the registry just gained
    (tmp_path / "functions").mkdir()
    (tmp_path / "functions" / "clock.py").write_text("def handler(event, context):\n    return None\n")
    (tmp_path / "template.yaml").write_text(TEMPLATE)

    # When the stack starts from it, and stops
    with LocalStack(StackOptions(template=tmp_path / "template.yaml", runner="in-process")) as stack:
        (ticker,) = stack.event_sources
        declared = stack.functions["Clock"].sources

    # Then the event was read by that kind, started with the stack and stopped with it
    assert declared == (TickSource("EverySecond", 1),)
    assert isinstance(ticker, Ticker)
    assert ticker.started
    assert ticker.joined


def test_every_sam_event_type_is_served_by_one_trigger() -> None:
    # When the event Types of every trigger are listed
    types = [event_type for trigger in registry.TRIGGERS for event_type in trigger.event_types]

    # Then none is served twice, and each resolves to its trigger
    assert len(types) == len(set(types))
    assert {registry.trigger_for_event(event_type) for event_type in types} == set(registry.TRIGGERS)
