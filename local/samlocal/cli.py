"""The `samlocal` command: a SAM application run whole on this machine, no Docker, no AWS account.

An application's profile (a command of its own, with verbs of its own) builds on the same
pieces: the option types, `start`, `serve`, `invoke_once`, and the commands that talk to a
running stack (`add_running_stack_commands`).
"""

import contextlib
import json
import os
import shutil
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from samlocal.calls import InvalidBodyError, answer_lines, parse_headers, read_body
from samlocal.calls import call as call_api
from samlocal.console.server import WebConsole
from samlocal.console.views import ENGINE_VIEWS, View
from samlocal.dead_letters import failure_reasons, peek, redrive, source_queue_of
from samlocal.errors import StartError
from samlocal.events import event_lines, events_of
from samlocal.intrinsics import UnsupportedConstructError
from samlocal.local_stack import DEFAULT_TEMPLATE, LocalStack, RunnerKind, StackOptions
from samlocal.logs import LOG_STYLES, LogStyle
from samlocal.not_emulated import summary as not_emulated_summary
from samlocal.provision import LOCAL_CREDENTIALS, aws_client
from samlocal.reload import CodeReloader
from samlocal.runtime.debugging import DEBUG_HOST, DebugTarget, launch_configuration, parse_debug_targets
from samlocal.runtime.workers import WorkerRunner
from samlocal.samconfig import SamConfigError, config_file_for, default_stack_name, parameter_overrides
from samlocal.sources.registry import TRIGGERS
from samlocal.state import LOG_FILE, StackState
from samlocal.yaml_loader import line_of, template_lines

# Without a terminal (CI, pipes) Rich would assume 80 columns and truncate the tables.
_WIDTH = shutil.get_terminal_size((120, 40)).columns
console = Console(width=_WIDTH)
errors = Console(stderr=True, soft_wrap=True)
# `samlocal --debug ...`: tracebacks instead of one-line errors.
_SHOW_TRACEBACKS = threading.Event()

TemplateOption = Annotated[Path, typer.Option("--template", "-t", help="The SAM template to run.")]
ParameterOption = Annotated[
    list[str] | None, typer.Option("--parameter", "-p", help="Template parameter override, NAME=VALUE.")
]
RunnerOption = Annotated[
    str, typer.Option("--runner", help="workers (processes over the Lambda Runtime API) or in-process (for tests).")
]
ConfigEnvOption = Annotated[
    str | None,
    typer.Option(
        "--config-env", help="Take the template parameters of this samconfig.toml environment (--parameter wins)."
    ),
]
ConfigFileOption = Annotated[
    Path | None, typer.Option("--config-file", help="The samconfig.toml to read (default: beside the template).")
]
SesSandboxOption = Annotated[
    bool,
    typer.Option(
        "--ses-sandbox",
        help="SES as in a new account's sandbox: it e-mails only verified addresses and domains (the sender, and "
        "what `aws ses verify-email-identity` verifies against the emulator); any other recipient is MessageRejected.",
    ),
]
StackNameOption = Annotated[
    str | None,
    typer.Option(
        "--stack-name", help="The stack's name (default: samconfig.toml's stack_name, else the template's folder)."
    ),
]
PortOption = Annotated[int, typer.Option(help="API port (0 picks a free one).")]
TimeScaleOption = Annotated[float, typer.Option(help="Scale AWS's retry delays (1.0 = AWS timing).")]
LogFormatOption = Annotated[
    str, typer.Option(help="compact (one line per record), pretty (JSON records indented) or raw (as written).")
]
RawLogsOption = Annotated[bool, typer.Option("--raw-logs", help="Same as --log-format raw.")]
VerboseOption = Annotated[
    bool, typer.Option("--verbose", help="List each part of the template that is not emulated, and why.")
]
ReloadOption = Annotated[
    bool, typer.Option("--reload/--no-reload", help="Run saved code and template changes without a restart.")
]
ConsolePortOption = Annotated[
    int, typer.Option(help="Port of the web console on 127.0.0.1 (0 picks a free one, -1 serves none).")
]
DebugOption = Annotated[
    list[str] | None,
    typer.Option(
        "--debug",
        metavar="FUNCTION[:PORT]",
        help="Run the function (a logical id; repeatable) under debugpy on 127.0.0.1:PORT (5678 upward if not "
        "given): one worker, its timeout suspended while a debugger is attached, its invocations held until one "
        "attaches.",
    ),
]
DebugNoWaitOption = Annotated[
    bool, typer.Option("--debug-no-wait", help="Run debugged functions without waiting for a debugger.")
]
EventOption = Annotated[Path, typer.Option("--event", "-e", help="JSON file with the event ('-' for stdin).")]
FunctionArgument = Annotated[str, typer.Argument(help="Logical id of the function in the template.")]

Options = TypeVar("Options", bound=StackOptions)
Stack = TypeVar("Stack", bound=LocalStack)


def progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    )


def parse_parameters(values: list[str] | None) -> dict[str, str]:
    parsed = {}
    for value in values or []:
        name, separator, setting = value.partition("=")
        if not separator:
            raise typer.BadParameter(f"expected NAME=VALUE, got {value!r}", param_hint="--parameter")
        parsed[name] = setting
    return parsed


def template_parameters(
    template: Path, config_env: str | None, config_file: Path | None, given: list[str] | None
) -> dict[str, str]:
    """The samconfig.toml environment's parameter_overrides, then --parameter values over them."""
    configured: dict[str, str] = {}
    if config_env is not None:
        try:
            configured = parameter_overrides(config_file or config_file_for(template), config_env)
        except SamConfigError as error:
            raise typer.BadParameter(str(error), param_hint="--config-env") from None
    return {**configured, **parse_parameters(given)}


def runner_kind(value: str) -> RunnerKind:
    if value == "workers":
        return "workers"
    if value == "in-process":
        return "in-process"
    raise typer.BadParameter("choose workers or in-process", param_hint="--runner")


def log_style(value: str) -> LogStyle:
    for style in LOG_STYLES:
        if value == style:
            return style
    raise typer.BadParameter(f"choose {', '.join(LOG_STYLES)}", param_hint="--log-format")


def debug_targets(values: list[str] | None, *, wait: bool) -> list[DebugTarget]:
    try:
        return parse_debug_targets(values or [], wait=wait)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--debug") from None


def start(factory: Callable[[Options], Stack], options: Options) -> Stack:
    """The started stack; or, for what the engine cannot run or find, one line and exit 2."""
    if not options.template.is_file():
        errors.print(
            f"[red]No template at {options.template.resolve()}[/red]: run in the application's folder, or pass "
            "--template PATH."
        )
        raise typer.Exit(2)
    try:
        return factory(options)
    except UnsupportedConstructError as error:
        _fail(error, f"[red]{_where(options.template, error.resource)}cannot run this template:[/red] {error}")
    except (ValueError, StartError, FileNotFoundError) as error:
        _fail(error, f"[red]{error}[/red]")


def _where(template: Path, element: str) -> str:
    """`template.yaml:12: ` where the loader can tell the line of `element`, else the file."""
    try:
        line = line_of(template_lines(template), element)
    except (OSError, ValueError):
        line = None
    return f"{template}:{line}: " if line is not None else f"{template}: "


def _fail(error: Exception, line: str) -> NoReturn:
    if _SHOW_TRACEBACKS.is_set():
        traceback.print_exception(error, file=sys.stderr)
    errors.print(line)
    raise typer.Exit(2) from None


def started_lines(stack: LocalStack) -> list[str]:
    """What the stack started, one line a kind, then where SDKs and the AWS CLI reach it."""
    kinds: dict[str, list[str]] = {
        "Functions": [f"{f.logical_id} ({f.handler})" for f in stack.functions.values()],
        "Tables": [f"{logical_id} ({name})" for logical_id, name in stack.resources.tables.items()],
        "Queues": list(stack.resources.queue_urls),
        "Event buses": list(stack.resources.event_buses),
    }
    for trigger in TRIGGERS:
        kinds[trigger.label] = [
            f"{function.logical_id} <- {trigger.describe(binding)}"
            for function in stack.functions.values()
            for binding in function.sources
            if isinstance(binding, trigger.binding)
        ]
    lines = [f"[bold]{'API':<12}[/bold] {stack.api_url}"] if stack.api is not None else []
    for kind, names in kinds.items():
        if names:
            lines.append(f"[bold]{kind:<12}[/bold] {len(names)}: {', '.join(names)}")
    key, secret = LOCAL_CREDENTIALS["aws_access_key_id"], LOCAL_CREDENTIALS["aws_secret_access_key"]
    lines.append(
        f"[bold]{'Endpoint':<12}[/bold] {stack.endpoint_url}  (AWS_ENDPOINT_URL for SDKs and the AWS CLI, with "
        f"AWS_ACCESS_KEY_ID={key} AWS_SECRET_ACCESS_KEY={secret} AWS_REGION={LOCAL_CREDENTIALS['region_name']})"
    )
    return lines


def announce(stack: LocalStack, *, verbose: bool = False) -> None:
    for line in started_lines(stack):
        console.print(line, soft_wrap=True)
    for notice in stack.notices:
        console.print(f"[cyan]Note:[/cyan] {notice}")
    types = {logical_id: str(resource["Type"]) for logical_id, resource in stack.stack.resources.items()}
    for summary_line in not_emulated_summary(stack.stack.not_emulated, types, verbose=verbose):
        console.print(summary_line)


def announce_debuggers(stack: LocalStack) -> None:
    """Per debugged function: where a debugger attaches, and the VS Code launch.json entry that does."""
    debuggers = stack.runner.debuggers if isinstance(stack.runner, WorkerRunner) else {}
    for logical_id, debugger in debuggers.items():
        waits = "its invocations wait for one" if debugger.target.wait else "it runs without waiting for one"
        address = f"{DEBUG_HOST}:{debugger.port}"
        console.print(f"[bold]Debug[/bold]     {logical_id}: attach a debugger to {address} ({waits})")
        console.print(f'VS Code launch.json entry for {logical_id} (one of its "configurations"):')
        entry = json.dumps(launch_configuration(debugger.function, debugger.port), indent=2)
        # As is and never wrapped: it is there to be copied.
        console.print(entry, markup=False, highlight=False, soft_wrap=True)


def serve(
    stack: LocalStack,
    *,
    log_format: str,
    verbose: bool,
    reload: bool,
    console_port: int,
    views: Sequence[View] = ENGINE_VIEWS,
    title: str = "samlocal",
) -> None:
    """Announce the started stack, run it until Ctrl-C or SIGTERM, then stop it; its console
    shows `views`."""
    stack.logs.style = log_style(log_format)
    api_url = stack.api_url if stack.api is not None else None
    StackState(stack.endpoint_url, api_url, stack.resources.queue_urls, os.getpid()).save()
    announce(stack, verbose=verbose)
    announce_debuggers(stack)
    reloader = CodeReloader(stack, say=lambda line: console.print(f"[cyan]{line}[/cyan]")) if reload else None
    if reloader is not None:
        reloader.start()
        console.print(f"Reloading on save: {', '.join(str(path) for path in reloader.watched)}")
    web = None
    if console_port >= 0:
        try:
            web = WebConsole(stack, port=console_port, views=views, title=title).start()
            console.print(f"[bold]{'Console':<12}[/bold] {web.url}")
        except OSError as error:
            console.print(
                f"[yellow]No console: port {console_port} is taken ({error.strerror}); "
                "--console-port 0 picks a free one.[/yellow]"
            )
    console.print("[green]Ready.[/green] Ctrl-C to stop.")
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    with contextlib.suppress(KeyboardInterrupt):
        stopped.wait()
    console.print("Stopping ...")
    if web is not None:
        web.stop()
    if reloader is not None:
        reloader.stop()
    stack.close()


def read_event(event: Path) -> Any:
    try:
        return json.loads(sys.stdin.read() if str(event) == "-" else event.read_text())
    except (OSError, ValueError) as error:
        errors.print(f"[red]No event to send:[/red] {event}: {error}")
        raise typer.Exit(2) from None


def invoke_once(stack: LocalStack, function: str, payload: Any) -> None:
    """Invoke `function` once: its result on stdout, its logs on stderr; exit 1 if it failed."""
    try:
        if function not in stack.functions:
            errors.print(
                f"[red]No function {function!r} in the template.[/red] Functions: {', '.join(stack.functions)}"
            )
            raise typer.Exit(2)
        invocation = stack.invoke(function, payload)
    finally:
        stack.close()
    if invocation.ok:
        print(json.dumps(invocation.payload, indent=2, default=str))
        return
    print(json.dumps(dict(invocation.error or {}), indent=2))
    raise typer.Exit(1)


def add_running_stack_commands(app: typer.Typer, command: str) -> None:
    """`call`, `events` and `dlq list|redrive`: what talks to a stack `COMMAND up` runs."""
    dlq_app = typer.Typer(help=f"Inspect and redrive dead-letter queues of a running `{command} up`.")
    dlq_app.info.no_args_is_help = True
    app.add_typer(dlq_app, name="dlq")

    @app.command()
    def call(
        method: Annotated[str, typer.Argument(help="GET, POST, ...")],
        path: Annotated[str, typer.Argument(help="Path under the API's stage, with its query string: /items?limit=5.")],
        body: Annotated[
            str | None, typer.Argument(help="JSON body, inline or @path/to/file.json (@- for standard input).")
        ] = None,
        header: Annotated[
            list[str] | None, typer.Option("--header", "-H", help="Extra header, 'Name: value' (repeatable).")
        ] = None,
        redact: Annotated[
            bool, typer.Option(help="Show e-mail addresses in the answer as the logs do: <email redacted>.")
        ] = True,
    ) -> None:
        """Call the API of the running stack, SigV4-signed with the local credentials; exit 1 on a non-2xx."""
        try:
            payload = read_body(body)
            headers = parse_headers(header)
        except (InvalidBodyError, ValueError) as error:
            errors.print(f"[red]Nothing sent:[/red] {error}")
            raise typer.Exit(2) from None
        api_url = _running_stack(command).api_url
        if api_url is None:
            errors.print(f"[red]The running `{command} up` serves no API[/red]: its template declares none.")
            raise typer.Exit(2)
        try:
            answer = call_api(api_url, method.upper(), path, payload, headers)
        except OSError as error:
            errors.print(f"[red]Cannot reach the API at {api_url}[/red] ({error}): is `{command} up` running?")
            raise typer.Exit(2) from None
        for line in answer_lines(answer, redacted=redact):
            console.print(line, soft_wrap=True)
        if not answer.ok:
            raise typer.Exit(1)

    @app.command()
    def events(
        correlation_id: Annotated[
            str, typer.Argument(help="An id the functions log (an order id), or the x-amzn-RequestId of an API answer.")
        ],
        log_file: Annotated[Path, typer.Option(help=f"The log file `{command} up` appends to.")] = LOG_FILE,
    ) -> None:
        """The functions' log records about one id, across functions, in time order."""
        if not log_file.exists():
            errors.print(f"[red]No log file at {log_file}[/red]: `{command} up` writes it.")
            raise typer.Exit(2)
        with log_file.open(encoding="utf-8") as lines:
            found = events_of(lines, correlation_id)
        if not found:
            errors.print(f"No log record mentions {correlation_id} in {log_file}.")
            raise typer.Exit(1)
        for line in event_lines(found):
            console.print(line, soft_wrap=True)

    @dlq_app.command("list")
    def dlq_list(queue: Annotated[str, typer.Argument(help="Logical id of the dead-letter queue.")]) -> None:
        """Show what sits in a dead-letter queue, without consuming it."""
        state = _running_stack(command)
        sqs = aws_client("sqs", state.endpoint_url)
        letters = peek(sqs, _queue_url(state, queue))
        reasons = failure_reasons(LOG_FILE.read_text(encoding="utf-8").split("\n")) if LOG_FILE.exists() else {}
        table = Table(title=f"{queue}: {len(letters)} message(s)", header_style="bold")
        for column in ("Message id", "Receives", "About", "Last failure"):
            table.add_column(column)
        for letter in letters:
            table.add_row(
                letter.message_id, str(letter.receive_count), letter.summary, reasons.get(letter.message_id, "?")
            )
        console.print(table)

    @dlq_app.command("redrive")
    def dlq_redrive(queue: Annotated[str, typer.Argument(help="Logical id of the dead-letter queue.")]) -> None:
        """Move every message of a dead-letter queue back to the queue it came from."""
        state = _running_stack(command)
        sqs = aws_client("sqs", state.endpoint_url)
        dead_letter_url = _queue_url(state, queue)
        source = source_queue_of(sqs, dead_letter_url, state.queue_urls)
        moved = redrive(sqs, dead_letter_url, source)
        console.print(f"Moved {moved} message(s) from {queue} back to {source.rsplit('/', 1)[-1]}.")


def _running_stack(command: str) -> StackState:
    try:
        return StackState.load()
    except FileNotFoundError as error:
        errors.print(f"[red]{error}[/red]: start one with `{command} up`")
        raise typer.Exit(2) from None


def _queue_url(state: StackState, logical_id: str) -> str:
    if logical_id not in state.queue_urls:
        errors.print(f"[red]No queue {logical_id!r}.[/red] Queues: {', '.join(state.queue_urls)}")
        raise typer.Exit(2)
    return state.queue_urls[logical_id]


def show_tracebacks(
    debug: Annotated[bool, typer.Option("--debug", help="Show the traceback behind an error.")] = False,
) -> None:
    """The callback of a command group: its --debug option."""
    if debug:
        _SHOW_TRACEBACKS.set()


app = typer.Typer(
    help="Run a SAM application on this machine: no Docker, no AWS account, no network.",
    no_args_is_help=True,
    callback=show_tracebacks,
)


def _options(
    template: Path,
    stack_name: str | None,
    parameters: dict[str, str],
    runner: str,
    **settings: object,
) -> StackOptions:
    return StackOptions(
        template=template,
        stack_name=stack_name or default_stack_name(template),
        parameters=parameters,
        runner=runner_kind(runner),
        **settings,  # type: ignore[arg-type]
    )


@app.command()
def up(
    template: TemplateOption = DEFAULT_TEMPLATE,
    parameter: ParameterOption = None,
    config_env: ConfigEnvOption = None,
    config_file: ConfigFileOption = None,
    stack_name: StackNameOption = None,
    port: PortOption = 3000,
    time_scale: TimeScaleOption = 1.0,
    log_format: LogFormatOption = "compact",
    raw_logs: RawLogsOption = False,
    verbose: VerboseOption = False,
    runner: RunnerOption = "workers",
    reload: ReloadOption = True,
    console_port: ConsolePortOption = 3001,
    debug: DebugOption = None,
    debug_no_wait: DebugNoWaitOption = False,
    ses_sandbox: SesSandboxOption = False,
) -> None:
    """Start everything the template declares and keep it running until Ctrl-C."""
    log_format = "raw" if raw_logs else log_format
    options = _options(
        template,
        stack_name,
        template_parameters(template, config_env, config_file, parameter),
        runner,
        time_scale=time_scale,
        api_port=port,
        echo_logs=True,
        pretty_logs=log_style(log_format) != "raw",
        log_file=LOG_FILE,
        debug=debug_targets(debug, wait=not debug_no_wait),
        ses_sandbox=ses_sandbox,
    )
    serve(start(LocalStack, options), log_format=log_format, verbose=verbose, reload=reload, console_port=console_port)


@app.command()
def invoke(
    function: FunctionArgument,
    event: EventOption,
    template: TemplateOption = DEFAULT_TEMPLATE,
    parameter: ParameterOption = None,
    config_env: ConfigEnvOption = None,
    config_file: ConfigFileOption = None,
    stack_name: StackNameOption = None,
    runner: RunnerOption = "workers",
) -> None:
    """Invoke one function once, in a fresh stack: its result on stdout, its logs on stderr."""
    payload = read_event(event)
    options = _options(
        template,
        stack_name,
        template_parameters(template, config_env, config_file, parameter),
        runner,
        start_sources=False,
        echo_logs=True,
    )
    invoke_once(start(LocalStack, options), function, payload)


add_running_stack_commands(app, "samlocal")


def main() -> None:
    app()
