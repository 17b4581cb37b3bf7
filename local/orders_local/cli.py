"""The `orders` command: run the order service on this machine, from template.yaml."""

import contextlib
import json
import os
import shutil
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from orders_local.calls import InvalidBodyError, answer_lines, parse_headers, read_body
from orders_local.calls import call as call_api
from orders_local.console.server import WebConsole
from orders_local.dead_letters import failure_reasons, peek, redrive, source_queue_of
from orders_local.demo import DemoReport, run_demo
from orders_local.events import event_lines, events_of
from orders_local.intrinsics import UnsupportedConstructError
from orders_local.local_stack import DEFAULT_TEMPLATE, LocalStack, RunnerKind, StackOptions, StoreKind
from orders_local.logs import LOG_STYLES, LogStyle
from orders_local.not_emulated import summary as not_emulated_summary
from orders_local.postgres import ServerUnavailableError
from orders_local.provision import aws_client
from orders_local.reload import CodeReloader
from orders_local.remote import RefusedError, connect
from orders_local.remote_soak import as_json, report_tables, run_remote_soak
from orders_local.runtime.debugging import DEBUG_HOST, DebugTarget, launch_configuration, parse_debug_targets
from orders_local.runtime.workers import WorkerRunner
from orders_local.samconfig import SamConfigError, config_file_for, parameter_overrides
from orders_local.soak import SoakReport, run_soak
from orders_local.state import LOG_FILE, StackState

app = typer.Typer(help="Run the order service locally: no Docker, no AWS account, no network.", no_args_is_help=True)
dlq_app = typer.Typer(help="Inspect and redrive dead-letter queues of a running `orders up`.", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")
# Without a terminal (CI, pipes) Rich would assume 80 columns and truncate the tables.
_WIDTH = shutil.get_terminal_size((120, 40)).columns
console = Console(width=_WIDTH)
errors = Console(stderr=True, soft_wrap=True)

TemplateOption = Annotated[Path, typer.Option("--template", help="The SAM template to run.")]
ParameterOption = Annotated[
    list[str] | None, typer.Option("--parameter", "-p", help="Template parameter override, NAME=VALUE.")
]
StoreOption = Annotated[
    str, typer.Option("--store", help="dynamodb, or postgres (a fresh database on ORDERS_DATABASE_URL's server).")
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


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    )


def _parameters(values: list[str] | None) -> dict[str, str]:
    parsed = {}
    for value in values or []:
        name, separator, setting = value.partition("=")
        if not separator:
            raise typer.BadParameter(f"expected NAME=VALUE, got {value!r}", param_hint="--parameter")
        parsed[name] = setting
    return parsed


def _template_parameters(
    template: Path, config_env: str | None, config_file: Path | None, given: list[str] | None
) -> dict[str, str]:
    """The samconfig.toml environment's parameter_overrides, then --parameter values over them."""
    configured: dict[str, str] = {}
    if config_env is not None:
        try:
            configured = parameter_overrides(config_file or config_file_for(template), config_env)
        except SamConfigError as error:
            raise typer.BadParameter(str(error), param_hint="--config-env") from None
    return {**configured, **_parameters(given)}


def _start(options: StackOptions) -> LocalStack:
    try:
        return LocalStack(options)
    except UnsupportedConstructError as error:
        errors.print(f"[red]The local stack cannot run this template:[/red] {error}")
        raise typer.Exit(2) from None
    except (ValueError, ServerUnavailableError) as error:
        errors.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None


def _announce(stack: LocalStack, *, verbose: bool = False) -> None:
    console.print(f"[bold]API[/bold]       {stack.api_url}")
    console.print(f"[bold]Emulator[/bold]  {stack.endpoint_url}  (AWS_ENDPOINT_URL for the AWS CLI or boto3)")
    resources = Table(title="Resources", show_header=True, header_style="bold")
    resources.add_column("Logical id")
    resources.add_column("Name / URL")
    for logical_id, name in stack.resources.tables.items():
        resources.add_row(logical_id, name)
    for logical_id, url in stack.resources.queue_urls.items():
        resources.add_row(logical_id, url)
    for bus in stack.resources.event_buses:
        resources.add_row("event bus", bus)
    for function in stack.functions.values():
        resources.add_row(function.logical_id, f"{function.handler}  (timeout {function.timeout_seconds}s)")
    console.print(resources)
    for notice in stack.notices:
        console.print(f"[cyan]Note:[/cyan] {notice}")
    types = {logical_id: str(resource["Type"]) for logical_id, resource in stack.stack.resources.items()}
    for line in not_emulated_summary(stack.stack.not_emulated, types, verbose=verbose):
        console.print(line)


@app.command()
def up(
    template: TemplateOption = DEFAULT_TEMPLATE,
    parameter: ParameterOption = None,
    config_env: ConfigEnvOption = None,
    config_file: ConfigFileOption = None,
    port: Annotated[int, typer.Option(help="API port (0 picks a free one).")] = 3000,
    time_scale: Annotated[float, typer.Option(help="Scale AWS's retry delays (1.0 = AWS timing).")] = 1.0,
    log_format: Annotated[
        str,
        typer.Option(help="compact (one line per record), pretty (JSON records indented) or raw (as written)."),
    ] = "compact",
    raw_logs: Annotated[bool, typer.Option("--raw-logs", help="Same as --log-format raw.")] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", help="List each part of the template that is not emulated, and why.")
    ] = False,
    runner: RunnerOption = "workers",
    store: StoreOption = "dynamodb",
    reload: Annotated[
        bool, typer.Option("--reload/--no-reload", help="Run saved code and template changes without a restart.")
    ] = True,
    console_port: Annotated[
        int, typer.Option(help="Port of the web console on 127.0.0.1 (0 picks a free one, -1 serves none).")
    ] = 3001,
    debug: Annotated[
        list[str] | None,
        typer.Option(
            "--debug",
            metavar="FUNCTION[:PORT]",
            help="Run the function (a logical id; repeatable) under debugpy on 127.0.0.1:PORT (5678 upward if not "
            "given): one worker, its timeout suspended while a debugger is attached, its invocations held until one "
            "attaches.",
        ),
    ] = None,
    debug_no_wait: Annotated[
        bool, typer.Option("--debug-no-wait", help="Run debugged functions without waiting for a debugger.")
    ] = False,
    ses_sandbox: SesSandboxOption = False,
) -> None:
    """Start everything and keep it running until Ctrl-C."""
    options = StackOptions(
        store=_store(store),
        template=template,
        parameters=_template_parameters(template, config_env, config_file, parameter),
        runner=_runner(runner),
        time_scale=time_scale,
        api_port=port,
        echo_logs=True,
        pretty_logs=not raw_logs and _log_style(log_format) != "raw",
        log_file=LOG_FILE,
        debug=_debug_targets(debug, wait=not debug_no_wait),
        ses_sandbox=ses_sandbox,
    )
    stack = _start(options)
    stack.logs.style = _log_style(log_format)
    StackState(stack.endpoint_url, stack.api_url, stack.resources.queue_urls, os.getpid()).save()
    _announce(stack, verbose=verbose)
    announce_debuggers(stack)
    reloader = CodeReloader(stack, say=lambda line: console.print(f"[cyan]{line}[/cyan]")) if reload else None
    if reloader is not None:
        reloader.start()
        console.print(f"Reloading on save: {', '.join(str(path) for path in reloader.watched)}")
    web = None
    if console_port >= 0:
        try:
            web = WebConsole(stack, port=console_port).start()
            console.print(f"[bold]Console[/bold]   {web.url}")
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


def _debug_targets(values: list[str] | None, *, wait: bool) -> list[DebugTarget]:
    try:
        return parse_debug_targets(values or [], wait=wait)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--debug") from None


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


@app.command()
def demo(
    orders: Annotated[int, typer.Option(help="Orders to place.")] = 300,
    clients: Annotated[int, typer.Option(help="Concurrent HTTP clients.")] = 8,
    time_scale: Annotated[
        float, typer.Option(help="Scale AWS's retry delays so the dead-letter path runs in seconds.")
    ] = 0.02,
    show_logs: Annotated[bool, typer.Option("--show-logs", help="Print the functions' logs too.")] = False,
    template: TemplateOption = DEFAULT_TEMPLATE,
    parameter: ParameterOption = None,
    config_env: ConfigEnvOption = None,
    config_file: ConfigFileOption = None,
    runner: RunnerOption = "workers",
    store: StoreOption = "dynamodb",
    ses_sandbox: SesSandboxOption = False,
) -> None:
    """Start the stack, drive a mixed workload through the API, and check every outcome.

    With --ses-sandbox the customers' addresses are verified first, all but the always-failing
    ones, whose notifications SES refuses and which must wait in the dead-letter queue."""
    options = StackOptions(
        store=_store(store),
        template=template,
        parameters=_template_parameters(template, config_env, config_file, parameter),
        runner=_runner(runner),
        time_scale=time_scale,
        echo_logs=show_logs,
        stack_name="orders-demo",
        ses_sandbox=ses_sandbox,
    )
    console.print(
        f"Starting the local stack from {template.name} ({runner} runner, {store} store, AWS delays x{time_scale}) ..."
    )
    stack = _start(options)
    try:
        console.print(f"API at {stack.api_url}")
        for notice in stack.notices:
            console.print(f"[cyan]Note:[/cyan] {notice}")
        plan_size = orders + orders // 20 + orders // 5  # about: orders, invalid bodies, retries and cancels
        with _progress() as bar:
            task = bar.add_task("HTTP requests", total=plan_size)
            report = run_demo(
                stack, orders=orders, clients=clients, drain_patience=60, progress=lambda n: bar.advance(task, n)
            )
            bar.update(task, total=bar.tasks[0].completed)
        _print_report(stack, report)
    finally:
        stack.close()
    if not report.ok:
        for problem in report.problems[:20]:
            errors.print(f"[red]x[/red] {problem}")
        if not report.drained:
            errors.print("[red]x[/red] the pipeline stopped making progress for 60 s; still in flight:")
            for waiting in report.stuck:
                errors.print(f"    {waiting}")
        raise typer.Exit(1)
    console.print("[bold green]Every order, e-mail and dead letter is accounted for.[/bold green]")


def _print_report(stack: LocalStack, report: DemoReport) -> None:
    result = report.result
    summary = Table(title="Demo summary", show_header=True, header_style="bold")
    summary.add_column("What")
    summary.add_column("Count", justify="right")
    summary.add_row("Orders accepted (201)", str(len(result.accepted)))
    for status in ("completed", "rejected", "cancelled", "pending"):
        summary.add_row(f"  {status}", str(report.final_statuses.get(status, 0)))
    summary.add_row("Idempotent retries answered with the first order", str(result.replays_matched))
    summary.add_row("Invalid payloads refused with 400", str(result.invalid_refused))
    summary.add_row("E-mails sent", str(report.emails_sent))
    summary.add_row("Orders whose notification is in the dead-letter queue", str(report.dead_letters))
    if report.duplicate_dead_letters:
        summary.add_row("  duplicate deliveries among them (absorbed)", str(report.duplicate_dead_letters))
    summary.add_row("5xx answers", str(sum(c for s, c in result.statuses.items() if s >= 500)))
    summary.add_row("API latency p50 / p95 (ms)", f"{result.percentile(0.50):.1f} / {result.percentile(0.95):.1f}")
    summary.add_row("Duration (s)", f"{report.duration_seconds:.1f}")
    console.print(summary)
    functions = Table(title="Functions", show_header=True, header_style="bold")
    for column in ("Function", "Cold starts", "Warm invocations", "Errors", "Timeouts"):
        functions.add_column(column, justify="left" if column == "Function" else "right")
    for logical_id, stats in stack.runner.stats().items():
        functions.add_row(
            logical_id, str(stats.cold_starts), str(stats.warm_invocations), str(stats.errors), str(stats.timeouts)
        )
    console.print(functions)


@app.command()
def soak(
    orders: Annotated[
        int | None, typer.Option(help="Orders to place (2,000, or 200 with --api-url).", show_default=False)
    ] = None,
    clients: Annotated[int, typer.Option(help="Concurrent HTTP clients.")] = 8,
    fault_rate: Annotated[float, typer.Option(help="Share of AWS calls throttled or failed with a 5xx.")] = 0.10,
    time_scale: Annotated[float, typer.Option(help="Scale AWS's retry delays.")] = 0.1,
    store: StoreOption = "dynamodb",
    template: TemplateOption = DEFAULT_TEMPLATE,
    parameter: ParameterOption = None,
    api_url: Annotated[
        str | None,
        typer.Option(
            help="Soak a deployed stack's API instead, injecting no fault: every request SigV4-signed with your AWS "
            "credentials (boto3's default chain). Needs --stack-name."
        ),
    ] = None,
    stack_name: Annotated[
        str | None,
        typer.Option(help="With --api-url: the CloudFormation stack whose outputs name what the accounting reads."),
    ] = None,
    region: Annotated[
        str | None, typer.Option(help="With --api-url: the stack's region (default: your AWS configuration's).")
    ] = None,
    timeout: Annotated[
        float,
        typer.Option(help="With --api-url: seconds after the last request for every order to be final and notified."),
    ] = 600.0,
    report_json: Annotated[
        Path | None, typer.Option(help="With --api-url: also write the report to this file as JSON.")
    ] = None,
    ses_sandbox: SesSandboxOption = False,
) -> None:
    """Drive the pipeline under faults and hostile input; exit 1 on any discrepancy.

    With --api-url and --stack-name: the same against a deployed stack, with no fault injected.
    """
    if api_url is not None or stack_name is not None:
        # Options of the local soak, changed from their defaults: nothing to inject into a deployed stack.
        local_only = [
            flag
            for flag, changed in (
                ("--fault-rate", fault_rate != 0.10),
                ("--time-scale", time_scale != 0.1),
                ("--store", store != "dynamodb"),
                ("--template", template != DEFAULT_TEMPLATE),
                ("--parameter", bool(parameter)),
                ("--ses-sandbox", ses_sandbox),
            )
            if changed
        ]
        orders = 200 if orders is None else orders
        _soak_deployed(api_url, stack_name, region, orders, clients, timeout, report_json, local_only=local_only)
        return
    orders = 2000 if orders is None else orders
    options = StackOptions(
        template=template,
        parameters=_parameters(parameter),
        time_scale=time_scale,
        store=_store(store),
        stack_name="orders-soak",
        echo_logs=False,
        ses_sandbox=ses_sandbox,
    )
    sandbox = ", SES in its sandbox" if ses_sandbox else ""
    console.print(
        f"Soak: {orders} orders, {clients} clients, {fault_rate:.0%} of AWS calls failing, {store} store{sandbox}"
    )
    stack = _start(options)
    try:
        with _progress() as bar:
            task = bar.add_task("HTTP requests", total=None)
            report = run_soak(
                stack, orders=orders, clients=clients, fault_rate=fault_rate, progress=lambda n: bar.advance(task, n)
            )
        _print_report(stack, report.demo)
        _print_soak(report)
    finally:
        stack.close()
    if not report.ok:
        for problem in [*report.problems, *report.demo.problems][:30]:
            errors.print(f"[red]x[/red] {problem}")
        raise typer.Exit(1)
    console.print("[bold green]Nothing lost, nothing doubled, no 5xx, no address in the logs.[/bold green]")


def _soak_deployed(
    api_url: str | None,
    stack_name: str | None,
    region: str | None,
    orders: int,
    clients: int,
    timeout: float,
    report_json: Path | None,
    *,
    local_only: list[str],
) -> None:
    """`orders soak --api-url URL --stack-name NAME`: see remote_soak.py for what it checks."""
    if local_only:
        errors.print(f"[red]{', '.join(local_only)}: for the local soak only.[/red] A deployed stack gets no fault.")
        raise typer.Exit(2)
    if api_url is None or stack_name is None:
        errors.print("[red]--api-url and --stack-name go together:[/red] the API to drive, and its stack.")
        raise typer.Exit(2)
    try:
        deployed = connect(api_url, stack_name, region)
    except RefusedError as error:
        errors.print(f"[red]Cannot soak {stack_name}:[/red] {error}")
        raise typer.Exit(2) from None
    console.print(
        f"Soak of stack {stack_name} ({deployed.region}) at {deployed.api_url}: {orders} orders, {clients} clients, "
        f"no fault injected, signed as {deployed.caller}"
    )
    for note in deployed.notes:
        console.print(f"[cyan]Note:[/cyan] {note}")
    with _progress() as bar:
        task = bar.add_task("HTTP requests", total=None)
        report = run_remote_soak(
            deployed, orders=orders, clients=clients, timeout=timeout, progress=lambda n: bar.advance(task, n)
        )
    for table in report_tables(report):
        console.print(table)
    if report_json is not None:
        report_json.write_text(json.dumps(as_json(report), indent=2) + "\n", encoding="utf-8")
    if not report.ok:
        for problem in report.problems[:30]:
            errors.print(f"[red]x[/red] {problem}")
        raise typer.Exit(1)
    console.print(
        "[bold green]Every accepted order final as expected, every notification delivered once, nothing "
        "dead-lettered, no 5xx.[/bold green]"
    )


def _print_soak(report: SoakReport) -> None:
    faults = Table(title="Faults injected", header_style="bold")
    faults.add_column("Kind")
    faults.add_column("Count", justify="right")
    for kind, count in sorted(report.faults.items()):
        faults.add_row(kind, str(count))
    console.print(faults)
    retries = Table(title="Retries absorbed", header_style="bold")
    retries.add_column("Where")
    retries.add_column("Count", justify="right")
    for where, count in sorted(report.retries.items()):
        retries.add_row(where, str(count))
    retries.add_row("dead letters redriven, each e-mailed once", str(report.redriven))
    console.print(retries)
    console.print(f"Soak duration: {report.duration_seconds:.1f} s")


@app.command()
def invoke(
    function: Annotated[str, typer.Argument(help="Logical id of the function in the template.")],
    event: Annotated[Path, typer.Option("--event", "-e", help="JSON file with the event ('-' for stdin).")],
    template: TemplateOption = DEFAULT_TEMPLATE,
    parameter: ParameterOption = None,
    config_env: ConfigEnvOption = None,
    config_file: ConfigFileOption = None,
    runner: RunnerOption = "workers",
    store: StoreOption = "dynamodb",
) -> None:
    """Invoke one function once, in a fresh stack: its result on stdout, its logs on stderr."""
    payload = json.loads(sys.stdin.read() if str(event) == "-" else event.read_text())
    options = StackOptions(
        store=_store(store),
        template=template,
        parameters=_template_parameters(template, config_env, config_file, parameter),
        runner=_runner(runner),
        start_sources=False,
        echo_logs=True,
    )
    stack = _start(options)
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


@app.command()
def call(
    method: Annotated[str, typer.Argument(help="GET, POST, ...")],
    path: Annotated[str, typer.Argument(help="Path under the API's stage, with its query string: /orders?limit=5.")],
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
    """Call the API of a running `orders up`, SigV4-signed with the local credentials; exit 1 on a non-2xx."""
    try:
        payload = read_body(body)
        headers = parse_headers(header)
    except (InvalidBodyError, ValueError) as error:
        errors.print(f"[red]Nothing sent:[/red] {error}")
        raise typer.Exit(2) from None
    api_url = _running_stack().api_url
    try:
        answer = call_api(api_url, method.upper(), path, payload, headers)
    except OSError as error:
        errors.print(f"[red]Cannot reach the API at {api_url}[/red] ({error}): is `orders up` running?")
        raise typer.Exit(2) from None
    for line in answer_lines(answer, redacted=redact):
        console.print(line, soft_wrap=True)
    if not answer.ok:
        raise typer.Exit(1)


@app.command()
def events(
    correlation_id: Annotated[
        str, typer.Argument(help="An order id, or a correlation id (the x-amzn-RequestId of an API answer).")
    ],
    log_file: Annotated[Path, typer.Option(help="The log file `orders up` appends to.")] = LOG_FILE,
) -> None:
    """The functions' log records of one order, across functions, in time order."""
    if not log_file.exists():
        errors.print(f"[red]No log file at {log_file}[/red]: `orders up` writes it.")
        raise typer.Exit(2)
    with log_file.open(encoding="utf-8") as lines:
        found = events_of(lines, correlation_id)
    if not found:
        errors.print(f"No log record mentions {correlation_id} in {log_file}.")
        raise typer.Exit(1)
    for line in event_lines(found):
        console.print(line, soft_wrap=True)


def _running_stack() -> StackState:
    try:
        return StackState.load()
    except FileNotFoundError as error:
        errors.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None


@dlq_app.command("list")
def dlq_list(queue: Annotated[str, typer.Argument(help="Logical id of the dead-letter queue.")]) -> None:
    """Show what sits in a dead-letter queue, without consuming it."""
    state = StackState.load()
    sqs = aws_client("sqs", state.endpoint_url)
    letters = peek(sqs, _queue_url(state, queue))
    reasons = failure_reasons(LOG_FILE.read_text(encoding="utf-8").split("\n")) if LOG_FILE.exists() else {}
    table = Table(title=f"{queue}: {len(letters)} message(s)", header_style="bold")
    for column in ("Message id", "Receives", "About", "Last failure"):
        table.add_column(column)
    for letter in letters:
        table.add_row(letter.message_id, str(letter.receive_count), letter.summary, reasons.get(letter.message_id, "?"))
    console.print(table)


@dlq_app.command("redrive")
def dlq_redrive(queue: Annotated[str, typer.Argument(help="Logical id of the dead-letter queue.")]) -> None:
    """Move every message of a dead-letter queue back to the queue it came from."""
    state = StackState.load()
    sqs = aws_client("sqs", state.endpoint_url)
    dead_letter_url = _queue_url(state, queue)
    source = source_queue_of(sqs, dead_letter_url, state.queue_urls)
    moved = redrive(sqs, dead_letter_url, source)
    console.print(f"Moved {moved} message(s) from {queue} back to {source.rsplit('/', 1)[-1]}.")


def _queue_url(state: StackState, logical_id: str) -> str:
    if logical_id not in state.queue_urls:
        errors.print(f"[red]No queue {logical_id!r}.[/red] Queues: {', '.join(state.queue_urls)}")
        raise typer.Exit(2)
    return state.queue_urls[logical_id]


def _runner(value: str) -> RunnerKind:
    if value == "workers":
        return "workers"
    if value == "in-process":
        return "in-process"
    raise typer.BadParameter("choose workers or in-process", param_hint="--runner")


def _log_style(value: str) -> LogStyle:
    for style in LOG_STYLES:
        if value == style:
            return style
    raise typer.BadParameter(f"choose {', '.join(LOG_STYLES)}", param_hint="--log-format")


def _store(value: str) -> StoreKind:
    if value == "dynamodb":
        return "dynamodb"
    if value == "postgres":
        return "postgres"
    raise typer.BadParameter("choose dynamodb or postgres", param_hint="--store")


def main() -> None:
    app()
