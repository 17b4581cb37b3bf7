"""pytest fixtures for samlocal: installing it registers them (entry point `pytest11`).

A test asks for `samlocal_stack` (or any fixture built on it) and gets one stack for the whole
session, started from the template the `samlocal_*` options name and stopped at the end:

    def test_a_message_is_handled(samlocal_queues: StackQueues, samlocal_wait: StackWait) -> None:
        samlocal_queues.send("Jobs", '{"id": 1}')
        samlocal_wait.idle()

Options (command line first, then the ini file; `pytest --help` lists them): `--samlocal-template`,
`--samlocal-runner`, `--samlocal-parameter NAME=VALUE`, `--samlocal-time-scale`,
`--samlocal-ses-sandbox`. A conftest.py may override `samlocal_stack_options` for anything else.
An application's own plugin can offer the same options under its own prefix
(`add_stack_options`, `stack_settings`).

The stack is imported only when a test uses it, so that every other pytest run of a project
that installs samlocal starts as fast as before.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

if TYPE_CHECKING:
    from samlocal.dead_letters import DeadLetter
    from samlocal.emulator import EmulatorMiddleware, SentEmail
    from samlocal.http_client import JsonClient
    from samlocal.local_stack import LocalStack, RunnerKind, StackOptions

T = TypeVar("T")

RUNNERS: tuple[RunnerKind, ...] = ("workers", "in-process")
DEFAULT_TIMEOUT = 60.0
PREFIX = "samlocal"


# --- options ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StackSettings:
    """What a plugin's stack options chose; `template` None: the plugin's own default."""

    template: Path | None = None
    runner: RunnerKind = "workers"
    parameters: Mapping[str, str] = field(default_factory=dict)
    time_scale: float = 1.0
    ses_sandbox: bool = False

    def stack_options(self) -> StackOptions:
        from samlocal.local_stack import StackOptions

        options = StackOptions(
            runner=self.runner,
            parameters=dict(self.parameters),
            time_scale=self.time_scale,
            ses_sandbox=self.ses_sandbox,
        )
        if self.template is not None:
            options.template = self.template
        return options


_SETTINGS = pytest.StashKey[StackSettings]()


def add_stack_options(parser: pytest.Parser, prefix: str, group: pytest.OptionGroup, fixture: str) -> None:
    """The options that choose what `fixture` starts, as --PREFIX-* on the command line and
    PREFIX_* in the ini file."""
    flag = prefix.replace("_", "-")
    group.addoption(
        f"--{flag}-template",
        dest=f"{prefix}_template",
        metavar="PATH",
        help=f"SAM template the {fixture} fixture runs (ini: {prefix}_template). "
        "Default: template.yaml in the rootdir.",
    )
    group.addoption(
        f"--{flag}-runner",
        dest=f"{prefix}_runner",
        choices=RUNNERS,
        help=f"run the functions in worker processes or in-process (ini: {prefix}_runner)",
    )
    group.addoption(
        f"--{flag}-parameter",
        dest=f"{prefix}_parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help=f"override a template parameter; repeatable, wins over the ini's (ini: {prefix}_parameters, one a line)",
    )
    group.addoption(
        f"--{flag}-time-scale",
        dest=f"{prefix}_time_scale",
        metavar="FACTOR",
        help=f"multiply AWS's retry and visibility delays, e.g. 0.02 (ini: {prefix}_time_scale; default 1)",
    )
    group.addoption(
        f"--{flag}-ses-sandbox",
        dest=f"{prefix}_ses_sandbox",
        action="store_true",
        default=None,
        help=f"SES as in a new account's sandbox: it e-mails only verified identities (ini: {prefix}_ses_sandbox)",
    )
    parser.addini(
        f"{prefix}_template", f"SAM template the {fixture} fixture runs, relative to the ini file", default=""
    )
    parser.addini(f"{prefix}_runner", f"how the functions run: {' or '.join(RUNNERS)}", default="")
    parser.addini(f"{prefix}_parameters", "template parameter overrides, NAME=VALUE one a line", type="linelist")
    parser.addini(f"{prefix}_time_scale", "factor for AWS's retry and visibility delays", default="")
    parser.addini(
        f"{prefix}_ses_sandbox", "SES e-mails only verified identities (true or false)", type="bool", default=False
    )


def setting(config: pytest.Config, name: str) -> str:
    """The command line's value, else the ini file's ('' when neither gives one)."""
    value = config.getoption(name)
    return str(value) if value is not None else str(config.getini(name)).strip()


def _template(config: pytest.Config, prefix: str) -> Path | None:
    given = config.getoption(f"{prefix}_template")
    if given is not None:
        return (config.invocation_params.dir / str(given)).resolve()
    ini = str(config.getini(f"{prefix}_template")).strip()
    if ini:
        base = config.inipath.parent if config.inipath is not None else config.rootpath
        return (base / ini).resolve()
    beside = (config.rootpath / "template.yaml").resolve()
    return beside if beside.is_file() else None


def _parameters(config: pytest.Config, prefix: str) -> dict[str, str]:
    parameters: dict[str, str] = {}
    for entry in [*config.getini(f"{prefix}_parameters"), *config.getoption(f"{prefix}_parameter")]:
        name, equals, value = str(entry).partition("=")
        if not equals or not name.strip():
            raise pytest.UsageError(f"{prefix} parameter {entry!r}: expected NAME=VALUE")
        parameters[name.strip()] = value
    return parameters


def stack_settings(config: pytest.Config, prefix: str) -> StackSettings:
    """The --PREFIX-* options, checked: a bad value stops the run before any test."""
    runner = setting(config, f"{prefix}_runner") or "workers"
    if runner not in RUNNERS:
        raise pytest.UsageError(f"{prefix}_runner = {runner!r}: expected one of {', '.join(RUNNERS)}")
    scale = setting(config, f"{prefix}_time_scale") or "1"
    try:
        time_scale = float(scale)
    except ValueError:
        time_scale = 0.0
    if not time_scale > 0:
        raise pytest.UsageError(f"{prefix}_time_scale = {scale!r}: expected a positive number")
    return StackSettings(
        template=_template(config, prefix),
        runner=runner,
        parameters=_parameters(config, prefix),
        time_scale=time_scale,
        ses_sandbox=bool(config.getoption(f"{prefix}_ses_sandbox") or config.getini(f"{prefix}_ses_sandbox")),
    )


def describe(settings: StackSettings, default_template: str, *, also: str = "") -> str:
    """One line of the report header: what the stack fixture starts (`also`: after the runner)."""
    return (
        f"{settings.template or default_template}, runner {settings.runner}{also}, "
        f"time scale {settings.time_scale:g}{', SES in its sandbox' if settings.ses_sandbox else ''}"
    )


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup(PREFIX, "samlocal: a SAM template run on this machine")
    add_stack_options(parser, PREFIX, group, "samlocal_stack")


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_SETTINGS] = stack_settings(config, PREFIX)


def pytest_report_header(config: pytest.Config) -> str:
    return f"samlocal: {describe(config.stash[_SETTINGS], 'template.yaml')}"


# --- the functions' log lines in a failed test's report -----------------------------------------

# Stack fixtures whose functions' log lines a failed test's report shows, with the section's
# title; an application's plugin adds its own.
STACK_FIXTURES: dict[str, str] = {"samlocal_stack": "samlocal log"}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """Attach what the functions logged during the test to its report, shown when it fails, as
    pytest shows captured output: a failed request usually says why only in a function's log."""
    arguments = getattr(item, "funcargs", {})
    stacks = [(title, arguments[name]) for name, title in STACK_FIXTURES.items() if name in arguments]
    starts = [len(stack.logs.lines) for _, stack in stacks]
    try:
        return (yield)
    finally:
        for (title, stack), start in zip(stacks, starts, strict=True):
            written = stack.logs.lines[start:]
            if written:
                item.add_report_section("call", title, "\n".join(f"{w.function} | {w.text}" for w in written))


# --- helpers the fixtures hand out -------------------------------------------------------------


class StackResources:
    """Physical names of the stack's resources, by their logical id in the template."""

    def __init__(self, stack: LocalStack) -> None:
        self._stack = stack

    def _lookup(self, kind: str, names: Mapping[str, str], logical_id: str) -> str:
        if logical_id not in names:
            declared = ", ".join(sorted(names)) or "none"
            raise LookupError(f"no {kind} {logical_id!r} in {self._stack.options.template}; its {kind}s: {declared}")
        return names[logical_id]

    def table(self, logical_id: str) -> str:
        return self._lookup("table", self._stack.resources.tables, logical_id)

    def queue_url(self, logical_id: str) -> str:
        return self._lookup("queue", self._stack.resources.queue_urls, logical_id)

    def function(self, logical_id: str) -> str:
        names = {function_id: spec.name for function_id, spec in self._stack.functions.items()}
        return self._lookup("function", names, logical_id)


class SentEmails:
    """The e-mails SES accepted since the stack started, oldest first."""

    def __init__(self, middleware: EmulatorMiddleware) -> None:
        self._middleware = middleware

    def all(self) -> list[SentEmail]:
        return list(self._middleware.sent_emails)

    def to(self, address: str) -> list[SentEmail]:
        return [email for email in self.all() if address in email.recipient.split(",")]


class StackQueues:
    """Queues by logical id: their depth and contents, read without being consumed."""

    def __init__(self, stack: LocalStack, resources: StackResources) -> None:
        self._stack = stack
        self._resources = resources
        self._sqs = stack.client("sqs")

    def depth(self, logical_id: str) -> int:
        """Messages in the queue, visible or being processed."""
        return self._stack.queue_depth(self._resources.queue_url(logical_id))

    def messages(self, logical_id: str, limit: int = 100) -> list[DeadLetter]:
        """What the queue holds: each message received and made visible again at once."""
        from samlocal.dead_letters import peek

        return peek(self._sqs, self._resources.queue_url(logical_id), limit)

    def dead_letter_queue(self, logical_id: str) -> str:
        """The logical id of the queue the queue's RedrivePolicy sends its failures to."""
        attributes = self._sqs.get_queue_attributes(
            QueueUrl=self._resources.queue_url(logical_id), AttributeNames=["RedrivePolicy"]
        )["Attributes"]
        if "RedrivePolicy" not in attributes:
            raise LookupError(f"queue {logical_id!r} has no RedrivePolicy, hence no dead-letter queue")
        arn = json.loads(attributes["RedrivePolicy"])["deadLetterTargetArn"]
        return next(queue for queue, queue_arn in self._stack.resources.queue_arns.items() if queue_arn == arn)

    def dead_letters(self, logical_id: str, limit: int = 100) -> list[DeadLetter]:
        """What the dead-letter queue of queue `logical_id` holds, read without being consumed."""
        return self.messages(self.dead_letter_queue(logical_id), limit)

    def send(self, logical_id: str, *bodies: str) -> None:
        """Send the bodies in this order, ten a batch (SQS's limit)."""
        url = self._resources.queue_url(logical_id)
        for first in range(0, len(bodies), 10):
            entries = [{"Id": str(index), "MessageBody": body} for index, body in enumerate(bodies[first : first + 10])]
            failed = self._sqs.send_message_batch(QueueUrl=url, Entries=entries).get("Failed", [])
            if failed:
                raise RuntimeError(f"SQS refused messages for {logical_id}: {failed}")

    def redrive(self, logical_id: str) -> int:
        """Move the messages of queue `logical_id`'s dead-letter queue back to it; how many moved."""
        from samlocal.dead_letters import redrive

        dead = self._resources.queue_url(self.dead_letter_queue(logical_id))
        return redrive(self._sqs, dead, self._resources.queue_url(logical_id))


class Fault:
    """One injected fault, in force until `end()`, the end of its `with` block, or of the test."""

    def __init__(self, description: str, undo: Callable[[], None]) -> None:
        self.description = description
        self._undo: Callable[[], None] | None = undo

    @property
    def active(self) -> bool:
        return self._undo is not None

    def end(self) -> None:
        undo, self._undo = self._undo, None
        if undo is not None:
            undo()

    def __enter__(self) -> Fault:
        return self

    def __exit__(self, *exc: object) -> None:
        self.end()

    def __repr__(self) -> str:
        return f"Fault({self.description!r}, active={self.active})"


class StackFaults:
    """Faults injected into what the functions call (the emulator middleware).

    The stack's own calls (pollers, provisioning, these helpers) are never faulted, and every
    fault a test injects is ended when the test ends, so none leaks into the next test."""

    def __init__(self, stack: LocalStack) -> None:
        self._stack = stack
        self._middleware = stack.emulator.middleware
        self.injected: list[Fault] = []

    def _fault(self, description: str, undo: Callable[[], None]) -> Fault:
        fault = Fault(description, undo)
        self.injected.append(fault)
        return fault

    def outage(self, operation: str) -> Fault:
        """`"service:Operation"` is down: a 503, or for `"events:PutEvents"` every entry failed."""
        self._middleware.outages.add(operation)
        return self._fault(f"outage of {operation}", lambda: self._middleware.outages.discard(operation))

    def hang(self, target: str, seconds: float = 3600.0, *, from_next_call: bool = False) -> Fault:
        """Calls to `target` (`"dynamodb"`, `"ses:SendEmail"`, ...) are accepted and never answered:
        the caller's read timeout ends its wait; when the fault ends, their connections drop."""
        self._middleware.hang(target, seconds, from_next_call=from_next_call)
        return self._fault(f"hang of {target}", lambda: self._middleware.end_hang(target))

    def stall(
        self, operation: str, seconds: float, *, matches: Callable[[dict[str, Any]], bool] | None = None
    ) -> Fault:
        """Hold the calls to `"service:Operation"` whose JSON body `matches`, for `seconds` from the
        first one, then answer them 503 without forwarding them."""
        from samlocal.emulator import Stall

        stall = Stall(operation, matches or (lambda _body: True), seconds)
        self._middleware.stalls.append(stall)
        return self._fault(f"stall of {operation}", lambda: self._middleware.stalls.remove(stall))

    def refuse_emails(self, *, to: str | None = None, domain: str | None = None) -> Fault:
        """SES refuses (MessageRejected) e-mail to the address `to`, or to any address at `domain`."""
        if to is not None and domain is None:
            refused, value = self._middleware.rejected_recipients, to
        elif domain is not None and to is None:
            refused, value = self._middleware.rejected_domains, domain
        else:
            raise ValueError("refuse_emails: give either `to` or `domain`")
        if value in refused:  # refused before this test: leave it so
            return self._fault(f"e-mail to {value} refused", lambda: None)
        refused.add(value)
        return self._fault(f"e-mail to {value} refused", lambda: refused.discard(value))

    def error_rate(self, rate: float, *, services: frozenset[str] | None = None, seed: int | None = None) -> Fault:
        """Answer a share `rate` of the calls to `services` with a throttle or a 5xx, half each:
        what the SDK's retries absorb."""
        from samlocal.emulator import FaultPlan

        before = self._middleware.faults
        plan = FaultPlan(rate=rate, seed=seed)
        if services is not None:
            plan.services = services
        self._middleware.faults = plan

        def restore() -> None:
            self._middleware.faults = before

        return self._fault(f"{rate:.0%} of calls failed", restore)

    def end_all(self) -> None:
        """End every fault still in force, the latest first."""
        for fault in reversed(self.injected):
            fault.end()


class StackWait:
    """Waits for a condition, and on timeout fails saying what it waited for and what was in flight."""

    def __init__(self, stack: LocalStack, emails: SentEmails) -> None:
        self._stack = stack
        self._emails = emails
        self._client: JsonClient | None = None

    def until(
        self,
        condition: Callable[[], T],
        *,
        what: str,
        timeout: float = DEFAULT_TIMEOUT,
        interval: float = 0.1,
        detail: Callable[[], str] | None = None,
    ) -> T:
        """The first truthy value `condition` returns; an AssertionError after `timeout` seconds,
        naming `what` was awaited, `detail()` (the last state seen) and the work still in flight."""
        __tracebackhide__ = True
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise AssertionError(self._timed_out(what, timeout, detail))
            time.sleep(interval)

    def _timed_out(self, what: str, timeout: float, detail: Callable[[], str] | None) -> str:
        in_flight = self._stack.in_flight()
        message = f"Timed out after {timeout:g} s waiting for {what}"
        if detail is not None:
            message += f": {detail()}"
        if in_flight:
            return f"{message}. Still in flight: {'; '.join(in_flight)}."
        return f"{message}. Nothing was in flight."

    def email_to(self, address: str, *, timeout: float = DEFAULT_TIMEOUT) -> SentEmail:
        """The first e-mail SES accepted for `address`."""
        __tracebackhide__ = True
        emails = self.until(
            lambda: self._emails.to(address),
            what=f"an e-mail to {address}",
            timeout=timeout,
            interval=0.05,
            detail=lambda: f"SES accepted {len(self._emails.all())} e-mail(s), none to that address",
        )
        return emails[0]

    def idle(self, *, timeout: float = DEFAULT_TIMEOUT, settle: float = 1.0) -> None:
        """Until the stack stays idle for `settle` seconds: every source queue empty, every stream
        caught up. Fails, naming what is still in flight, once nothing has moved for `timeout`."""
        __tracebackhide__ = True
        in_flight = self._stack.drain(patience=timeout, settle=settle, limit=timeout)
        if in_flight:
            raise AssertionError(
                f"The stack was not idle within {timeout:g} s. Still in flight: {'; '.join(in_flight)}."
            )

    def _api(self) -> JsonClient:
        if self._client is None:
            self._client = self._stack.api_client()
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def samlocal_stack_options(pytestconfig: pytest.Config) -> StackOptions:
    """What samlocal_stack starts, from the samlocal_* options; override it in a conftest.py to
    set anything they do not (stack_name, api_port, log_file, echo_logs, ...)."""
    return pytestconfig.stash[_SETTINGS].stack_options()


@pytest.fixture(scope="session")
def samlocal_stack(samlocal_stack_options: StackOptions) -> Iterator[LocalStack]:
    """The local stack (samlocal.local_stack.LocalStack), one for the session, stopped at its end."""
    from samlocal.local_stack import LocalStack

    with LocalStack(samlocal_stack_options) as stack:
        yield stack


@pytest.fixture
def samlocal_api(samlocal_stack: LocalStack) -> Iterator[JsonClient]:
    """A JSON client of the stack's API, signing its requests when the API requires it."""
    client = samlocal_stack.api_client()
    yield client
    client.close()


@pytest.fixture(scope="session")
def samlocal_resources(samlocal_stack: LocalStack) -> StackResources:
    """Tables, queues and functions by logical id: .table(id), .queue_url(id), .function(id)."""
    return StackResources(samlocal_stack)


@pytest.fixture(scope="session")
def samlocal_emails(samlocal_stack: LocalStack) -> SentEmails:
    """The e-mails SES accepted: .all(), .to(address)."""
    return SentEmails(samlocal_stack.emulator.middleware)


@pytest.fixture(scope="session")
def samlocal_queues(samlocal_stack: LocalStack, samlocal_resources: StackResources) -> StackQueues:
    """Queues by logical id: .depth, .messages, .dead_letters, .send, .redrive."""
    return StackQueues(samlocal_stack, samlocal_resources)


@pytest.fixture
def samlocal_faults(samlocal_stack: LocalStack) -> Iterator[StackFaults]:
    """Fault injection (.outage, .hang, .stall, .refuse_emails, .error_rate), every fault ended
    when the test ends."""
    faults = StackFaults(samlocal_stack)
    yield faults
    faults.end_all()


@pytest.fixture
def samlocal_wait(samlocal_stack: LocalStack, samlocal_emails: SentEmails) -> Iterator[StackWait]:
    """Waits with a timeout and a failure that says why: .email_to, .idle, .until."""
    wait = StackWait(samlocal_stack, samlocal_emails)
    yield wait
    wait.close()
