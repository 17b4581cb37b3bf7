"""The `orders` command: samlocal with the order service's template, its store, and its own
verbs (`demo`, `soak`)."""

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from samlocal.cli import (
    ConfigEnvOption,
    ConfigFileOption,
    ConsolePortOption,
    DebugNoWaitOption,
    DebugOption,
    EventOption,
    FunctionArgument,
    LogFormatOption,
    ParameterOption,
    PortOption,
    RawLogsOption,
    ReloadOption,
    RunnerOption,
    SesSandboxOption,
    TemplateOption,
    TimeScaleOption,
    VerboseOption,
    add_running_stack_commands,
    console,
    debug_targets,
    errors,
    invoke_once,
    log_style,
    parse_parameters,
    progress,
    read_event,
    runner_kind,
    serve,
    show_tracebacks,
    start,
    template_parameters,
)
from samlocal.state import LOG_FILE

from orders_local.console_views import CONSOLE_VIEWS
from orders_local.demo import DemoReport, run_demo
from orders_local.remote import RefusedError, connect
from orders_local.remote_soak import as_json, report_tables, run_remote_soak
from orders_local.soak import SoakReport, run_soak
from orders_local.stack import ORDERS_TEMPLATE, OrderStack, OrderStackOptions, StoreKind

app = typer.Typer(
    help="Run the order service locally: no Docker, no AWS account, no network.",
    no_args_is_help=True,
    callback=show_tracebacks,
)

StoreOption = Annotated[
    str, typer.Option("--store", help="dynamodb, or postgres (a fresh database on ORDERS_DATABASE_URL's server).")
]


@app.command()
def up(
    template: TemplateOption = ORDERS_TEMPLATE,
    parameter: ParameterOption = None,
    config_env: ConfigEnvOption = None,
    config_file: ConfigFileOption = None,
    port: PortOption = 3000,
    time_scale: TimeScaleOption = 1.0,
    log_format: LogFormatOption = "compact",
    raw_logs: RawLogsOption = False,
    verbose: VerboseOption = False,
    runner: RunnerOption = "workers",
    store: StoreOption = "dynamodb",
    reload: ReloadOption = True,
    console_port: ConsolePortOption = 3001,
    debug: DebugOption = None,
    debug_no_wait: DebugNoWaitOption = False,
    ses_sandbox: SesSandboxOption = False,
) -> None:
    """Start everything and keep it running until Ctrl-C."""
    log_format = "raw" if raw_logs else log_format
    options = OrderStackOptions(
        store=_store(store),
        template=template,
        parameters=template_parameters(template, config_env, config_file, parameter),
        runner=runner_kind(runner),
        time_scale=time_scale,
        api_port=port,
        echo_logs=True,
        pretty_logs=log_style(log_format) != "raw",
        log_file=LOG_FILE,
        debug=debug_targets(debug, wait=not debug_no_wait),
        ses_sandbox=ses_sandbox,
    )
    serve(
        start(OrderStack, options),
        log_format=log_format,
        verbose=verbose,
        reload=reload,
        console_port=console_port,
        views=CONSOLE_VIEWS,
        title="orders",
    )


@app.command()
def invoke(
    function: FunctionArgument,
    event: EventOption,
    template: TemplateOption = ORDERS_TEMPLATE,
    parameter: ParameterOption = None,
    config_env: ConfigEnvOption = None,
    config_file: ConfigFileOption = None,
    runner: RunnerOption = "workers",
    store: StoreOption = "dynamodb",
) -> None:
    """Invoke one function once, in a fresh stack: its result on stdout, its logs on stderr."""
    payload = read_event(event)
    options = OrderStackOptions(
        store=_store(store),
        template=template,
        parameters=template_parameters(template, config_env, config_file, parameter),
        runner=runner_kind(runner),
        start_sources=False,
        echo_logs=True,
    )
    invoke_once(start(OrderStack, options), function, payload)


@app.command()
def demo(
    orders: Annotated[int, typer.Option(help="Orders to place.")] = 300,
    clients: Annotated[int, typer.Option(help="Concurrent HTTP clients.")] = 8,
    time_scale: Annotated[
        float, typer.Option(help="Scale AWS's retry delays so the dead-letter path runs in seconds.")
    ] = 0.02,
    show_logs: Annotated[bool, typer.Option("--show-logs", help="Print the functions' logs too.")] = False,
    template: TemplateOption = ORDERS_TEMPLATE,
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
    options = OrderStackOptions(
        store=_store(store),
        template=template,
        parameters=template_parameters(template, config_env, config_file, parameter),
        runner=runner_kind(runner),
        time_scale=time_scale,
        echo_logs=show_logs,
        stack_name="orders-demo",
        ses_sandbox=ses_sandbox,
    )
    console.print(
        f"Starting the local stack from {template.name} ({runner} runner, {store} store, AWS delays x{time_scale}) ..."
    )
    stack = start(OrderStack, options)
    try:
        console.print(f"API at {stack.api_url}")
        for notice in stack.notices:
            console.print(f"[cyan]Note:[/cyan] {notice}")
        plan_size = orders + orders // 20 + orders // 5  # about: orders, invalid bodies, retries and cancels
        with progress() as bar:
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


def _print_report(stack: OrderStack, report: DemoReport) -> None:
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
    template: TemplateOption = ORDERS_TEMPLATE,
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
                ("--template", template != ORDERS_TEMPLATE),
                ("--parameter", bool(parameter)),
                ("--ses-sandbox", ses_sandbox),
            )
            if changed
        ]
        orders = 200 if orders is None else orders
        _soak_deployed(api_url, stack_name, region, orders, clients, timeout, report_json, local_only=local_only)
        return
    orders = 2000 if orders is None else orders
    options = OrderStackOptions(
        template=template,
        parameters=parse_parameters(parameter),
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
    stack = start(OrderStack, options)
    try:
        with progress() as bar:
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
    with progress() as bar:
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


add_running_stack_commands(app, "orders")


def _store(value: str) -> StoreKind:
    if value == "dynamodb":
        return "dynamodb"
    if value == "postgres":
        return "postgres"
    raise typer.BadParameter("choose dynamodb or postgres", param_hint="--store")


def main() -> None:
    app()
