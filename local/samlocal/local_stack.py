"""Starts the whole stack from a SAM template: emulator, resources, functions, event sources."""

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, TypeVar

from samlocal.addons import StackAddon
from samlocal.dead_letters import queue_depth
from samlocal.emulator import Emulator
from samlocal.http_client import JsonClient
from samlocal.logs import LogBook
from samlocal.provision import LOCAL_CREDENTIALS, Provisioned, aws_client, provision
from samlocal.runtime.debugging import DebugTarget
from samlocal.runtime.in_process import InProcessRunner
from samlocal.runtime.invocation import Invocation, Runner
from samlocal.runtime.workers import WorkerRunner, xray_daemon_environment
from samlocal.sources import EventSource
from samlocal.sources.api_gateway import ApiGateway
from samlocal.sources.pacing import Pacing
from samlocal.sources.registry import trigger_of
from samlocal.sources.rules import RuleInvoker
from samlocal.sources.schedules import Scheduler
from samlocal.sources.sqs import SqsPoller
from samlocal.sources.streams import StreamPoller
from samlocal.stack_outputs import publish_stack_outputs
from samlocal.template import REGION, FunctionSpec, Stack
from samlocal.traces import TraceCollector

RunnerKind = Literal["workers", "in-process"]
T = TypeVar("T")
DEFAULT_TEMPLATE = Path("template.yaml")  # in the current folder, as for `sam local`


def _same_binding(new: Any, old: Any) -> bool:
    return type(new) is type(old) and all(
        getattr(new, key, None) == getattr(old, key, None) for key in ("queue_arn", "table_logical_id", "name")
    )


@dataclass
class StackOptions:
    template: Path = DEFAULT_TEMPLATE
    parameters: Mapping[str, str] = field(default_factory=dict)
    runner: RunnerKind = "workers"
    time_scale: float = 1.0
    api_port: int = 0
    stack_name: str = "samlocal"
    # Values for parameters a deploy must be given (no default in the template) that stand in
    # for them on this machine, where nothing leaves it; `parameters` override them.
    parameter_stand_ins: Mapping[str, str] = field(default_factory=dict)
    start_sources: bool = True
    echo_logs: bool = False
    pretty_logs: bool = True
    log_file: Path | None = None
    # Functions run under debugpy for a debugger client to attach (workers runner only).
    debug: Sequence[DebugTarget] = ()
    # SES as in a new account's sandbox: it sends only to verified addresses and domains (the
    # sender's identity, and what `aws ses verify-email-identity` verifies), MessageRejected otherwise.
    ses_sandbox: bool = False
    # Started once the emulator runs, before the template is read; stopped after it.
    addons: Sequence[StackAddon] = ()


def function_base_environment(endpoint_url: str) -> dict[str, str]:
    """What every function sees besides its template environment: region, fake keys, the emulator."""
    return {
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": LOCAL_CREDENTIALS["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": LOCAL_CREDENTIALS["aws_secret_access_key"],
        "AWS_ENDPOINT_URL": endpoint_url,
    }


class LocalStack:
    def __init__(self, options: StackOptions | None = None) -> None:
        self.options = options or StackOptions()
        self.pacing = Pacing(scale=self.options.time_scale)
        self.logs = LogBook(echo=self.options.echo_logs, pretty=self.options.pretty_logs, file=self.options.log_file)
        self.emulator = Emulator().start()
        self.emulator.middleware.ses_sandbox = self.options.ses_sandbox
        self.endpoint_url = self.emulator.endpoint_url
        # The X-Ray daemon the worker processes send their segments to (in-process runs trace nothing).
        self.traces = TraceCollector()
        self.notices: list[str] = []
        if self.options.ses_sandbox:
            self.notices.append(
                "SES is in its sandbox: it e-mails only verified identities (verify one with "
                f"`aws ses verify-email-identity --email-address ADDRESS --endpoint-url {self.endpoint_url}`)."
            )
        parameters: dict[str, str] = {}
        for addon in self.options.addons:
            parameters.update(addon.start(self))
        self._parameters = {**parameters, **self.options.parameters}
        self.stack = self._parse_template()
        if self.stack.stand_ins_used:
            listed = ", ".join(f"{name}={value}" for name, value in self.stack.stand_ins_used.items())
            self.notices.append(f"Required template parameters use local stand-ins: {listed}.")
        self.resources: Provisioned = provision(self.stack, self.endpoint_url)
        self.functions: dict[str, FunctionSpec] = {function.logical_id: function for function in self.stack.functions()}
        self.runner: Runner = self._runner()
        # Every trigger's running sources but the API gateway's, in the template's order.
        self.event_sources: list[EventSource] = []
        self.api: ApiGateway | None = None
        if self.options.start_sources:
            self._start_sources()
        # As a deploy's: what tools that read a deployed stack's outputs find.
        self.notices.append(
            publish_stack_outputs(self.client("cloudformation"), self.stack, None if self.api is None else self.api_url)
        )

    def _runner(self) -> Runner:
        base = function_base_environment(self.endpoint_url)
        if self.options.runner == "in-process":
            if self.options.debug:
                raise ValueError("A debugger attaches to worker processes: --debug needs the workers runner")
            return InProcessRunner(list(self.functions.values()), base, self.logs)
        return WorkerRunner(
            list(self.functions.values()),
            {**base, **xray_daemon_environment(self.traces.address)},
            self.logs,
            debug=self.options.debug,
        )

    def client(self, service: str) -> Any:
        return aws_client(service, self.endpoint_url)

    def _parse_template(self) -> Stack:
        return Stack.from_file(
            self.options.template,
            stack_name=self.options.stack_name,
            parameter_overrides=self._parameters,
            parameter_stand_ins=self.options.parameter_stand_ins,
            endpoint_url=self.endpoint_url,
        )

    def load_template(self) -> Stack:
        """The template as it is on disk now, with this stack's parameters and streams."""
        stack = self._parse_template()
        for table_logical_id, stream_arn in self.resources.stream_arns.items():
            stack.set_stream_arn(table_logical_id, stream_arn)
        return stack

    def update_function(self, function: FunctionSpec) -> None:
        """Run `function`'s new settings from its next invocation on: new workers get them,
        its event sources take their new batch settings."""
        self.functions[function.logical_id] = function
        if isinstance(self.runner, WorkerRunner):
            self.runner.reload(function.logical_id, function)
        for source in self.event_sources:
            if source.function.logical_id != function.logical_id:
                continue
            source.function = function
            binding = getattr(source, "source", None)
            if binding is not None:
                # Its new batch settings, if the template still declares it.
                source.source = next(  # type: ignore[attr-defined]
                    (new for new in function.sources if _same_binding(new, binding)), binding
                )

    @cached_property
    def sqs(self) -> Any:
        """The SQS client the event sources share."""
        return self.client("sqs")

    def _start_sources(self) -> None:
        for function in self.functions.values():
            for binding in function.sources:
                start = trigger_of(binding).start
                if start is not None:
                    self.event_sources.append(start(self, function, binding))
        api_functions = [function for function in self.functions.values() if function.api_routes]
        if api_functions:
            self.api = ApiGateway(self.runner, api_functions, port=self.options.api_port)
            self.api.start()
            if self.api.iam_protected:
                self.notices.append(
                    "The API's AWS_IAM authorizer is enforced: sign requests with SigV4 for execute-api in "
                    f"{REGION} with access key 'local' and secret 'local' (curl --aws-sigv4 "
                    f"'aws:amz:{REGION}:execute-api' --user local:local). IAM policies are not evaluated."
                )
        for event_source in self.event_sources:
            event_source.start()

    @property
    def api_signed(self) -> bool:
        """Whether callers of the API must sign their requests."""
        return self.api is not None and self.api.iam_protected

    def api_client(self) -> JsonClient:
        return JsonClient(self.api_url, sign=self.api_signed)

    @property
    def api_url(self) -> str:
        if self.api is None:
            raise RuntimeError("the template declares no API")
        return self.api.url

    def invoke(self, logical_id: str, event: Mapping[str, Any]) -> Invocation:
        return self.runner.invoke(self.functions[logical_id], event)

    def queue_depth(self, queue_url: str) -> int:
        return queue_depth(self._queue_reader, queue_url)

    @cached_property
    def _queue_reader(self) -> Any:
        """One client for every reading: making a client costs a tenth of a second of CPU, and
        `drain` reads every queue five times a second."""
        return self.client("sqs")

    @property
    def sources(self) -> list[EventSource]:
        return list(self.event_sources)

    def _running(self, kind: type[T]) -> list[T]:
        return [source for source in self.event_sources if isinstance(source, kind)]

    @property
    def sqs_pollers(self) -> list[SqsPoller]:
        return self._running(SqsPoller)

    @property
    def stream_pollers(self) -> list[StreamPoller]:
        return self._running(StreamPoller)

    @property
    def rule_invokers(self) -> list[RuleInvoker]:
        return self._running(RuleInvoker)

    @property
    def schedulers(self) -> list[Scheduler]:
        return self._running(Scheduler)

    def in_flight(self) -> list[str]:
        """What is still on its way: busy event sources, messages in queues, unrelayed changes."""
        waiting = [
            f"{type(source).__name__} of {source.function.logical_id} is busy" for source in self.sources if source.busy
        ]
        queues = [poller.queue_url for poller in self.sqs_pollers] + [
            invoker.queue_url for invoker in self.rule_invokers
        ]
        for url in queues:
            depth = self.queue_depth(url)
            if depth:
                waiting.append(f"{url.rsplit('/', 1)[-1]} holds {depth} message(s)")
        for addon in self.options.addons:
            waiting += addon.in_flight()
        return waiting

    def idle(self) -> bool:
        """Nothing in flight: every source queue empty and every stream caught up."""
        return not self.in_flight()

    def _progress(self, waiting: list[str]) -> tuple[object, ...]:
        """Changes when work moves on: a queue's depth or a busy source changes, an e-mail goes
        out. A record retried again and again changes none of it."""
        return len(self.emulator.middleware.sent_emails), tuple(waiting)

    def drain(self, *, patience: float, settle: float = 1.0, limit: float = 3600.0) -> list[str]:
        """Wait until the stack stays idle for `settle` seconds and return []; or, once nothing
        has progressed for `patience` seconds (or after `limit`), return what is still in flight.

        A busy machine makes the pipeline slow, not stuck: only a pipeline that stopped moving
        is given up on."""
        started = last_change = time.monotonic()
        idle_since: float | None = None
        progress: tuple[object, ...] = ()
        while True:
            now = time.monotonic()
            waiting = self.in_flight()
            if not waiting:
                idle_since = idle_since or now
                if now - idle_since >= settle:
                    return []
            else:
                idle_since = None
            current = self._progress(waiting)
            if current != progress:
                progress, last_change = current, now
            if now - last_change > patience or now - started > limit:
                return waiting or ["the pipeline was never idle for long enough"]
            time.sleep(0.2)

    def wait_until_idle(self, timeout: float, *, settle: float = 1.0) -> bool:
        """True once the stack stayed idle for `settle` seconds, False at the timeout."""
        return not self.drain(patience=timeout, settle=settle, limit=timeout)

    def close(self) -> None:
        self.pacing.stopping.set()
        if self.api is not None:
            self.api.stop()
        for source in self.sources:
            source.join(timeout=5)
        self.runner.close()
        self.traces.close()
        self.emulator.stop()
        for addon in self.options.addons:
            addon.close()

    def __enter__(self) -> "LocalStack":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
