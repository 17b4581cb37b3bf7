"""`make bench`: every figure, each as a ratio to its baseline measured in the same run.

Writes benchmarks/results.json and benchmarks/results.md (the table the README quotes).
"""

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from orders_local.stack import OrderStack, OrderStackOptions

from benchmarks import cold_start, deployed, import_profile, memory, reload, throughput, warm
from benchmarks.cold_start import FUNCTIONS, WITHOUT_BYTECODE, Layout
from benchmarks.runtime_env import lambda_like_python
from tools.package import build

HERE = Path(__file__).parent
GOALS = {
    "cold_start_ratio_to_floor": 1.25,
    "cold_start_ratio_to_seed_as_shipped": 0.5,
    "peak_memory_mb": 100.0,
    "warm_cpu_ratio": 1.0,
    "runner_efficiency": 0.8,
}


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "architecture": platform.machine(),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
    }


def artifacts() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch:
        built = build(Path(scratch) / "build", requirements=Path(scratch) / "requirements.txt")
        sizes = {}
        for name in ("function", "layer"):
            with zipfile.ZipFile(built[name]) as bundle:
                unzipped = sum(entry.file_size for entry in bundle.infolist())
            sizes[name] = {"zip_bytes": built[name].stat().st_size, "unzipped_bytes": unzipped}
    return sizes


def _cold_starts(stack: OrderStack, layout: Layout, samples: int, invocations: int) -> dict[str, Any]:
    starts = cold_start.measure(stack, layout, samples)
    results: dict[str, Any] = {
        name: {
            "median_ms": result.median_ms,
            "samples_ms": result.samples_ms,
            "peak_memory_mb": statistics.median(result.peak_memory_mb),
        }
        for name, result in starts.items()
    }
    seed = starts["seed pattern"].median_ms
    for name in FUNCTIONS:
        entry = results[name]
        entry["ratio_to_floor"] = entry["median_ms"] / starts[f"floor:{name}"].median_ms
        entry["ratio_to_seed"] = entry["median_ms"] / seed
    if WITHOUT_BYTECODE in results:
        results[WITHOUT_BYTECODE]["ratio_to_with_bytecode"] = (
            results[WITHOUT_BYTECODE]["median_ms"] / results["ApiFunction"]["median_ms"]
        )
    profiles = memory.measure(stack, layout, invocations)
    return {
        "python": layout.python,
        "cold_start": results,
        "memory": {
            name: {
                "rss_after_100_mb": p.rss_after_100_mb,
                "rss_after_all_mb": p.rss_after_all_mb,
                "growth_mb": p.growth_mb,
                "peak_mb": p.peak_mb,
                "invocations": p.invocations,
            }
            for name, p in profiles.items()
        },
    }


def run(samples: int, invocations: int, warm_events: int, orders: int) -> dict[str, Any]:
    built = deployed.prepare()
    as_deployed = Layout(
        "as deployed",
        built.python,
        function_code=built.task,
        function_packages=built.layer,
        floor_code=built.floor_task,
        floor_packages=built.layer,
        seed_code=built.seed_task,
        seed_packages=built.seed_packages,
        bytecode_free_code=built.bytecode_free_task,
        bytecode_free_packages=built.bytecode_free_layer,
    )
    development = Layout("development", lambda_like_python())
    results: dict[str, Any] = {"machine": machine(), "date": datetime.now(UTC).isoformat(timespec="seconds")}
    with OrderStack(OrderStackOptions(stack_name="bench", start_sources=False)) as stack:
        results["first_invocation_calls"] = cold_start.check_floors(stack, as_deployed)
        started = time.monotonic()
        results["as_deployed"] = _cold_starts(stack, as_deployed, samples, invocations)
        results["as_deployed"]["import_ms_by_package"] = import_profile.measure(stack, as_deployed)
        results["development"] = _cold_starts(stack, development, samples, invocations)
        results["cold_start_seconds"] = time.monotonic() - started
    results["warm_overhead"] = warm.measure(development.python, warm_events)
    through = {runner: throughput.measure(runner, orders) for runner in ("in-process", "workers")}
    through["workers, console open"] = throughput.measure("workers", orders, console=True)
    results["local_stack"] = {
        runner: {
            "orders_per_second": t.orders_per_second,
            "p50_ms": t.percentile(0.5),
            "p99_ms": t.percentile(0.99),
            "orders": t.orders,
        }
        for runner, t in through.items()
    }
    results["local_stack"]["runner_efficiency"] = (
        through["workers"].orders_per_second / through["in-process"].orders_per_second
    )
    results["local_stack"]["console_cost"] = (
        through["workers, console open"].orders_per_second / through["workers"].orders_per_second
    )
    latency = reload.measure()
    results["reload_on_save"] = {
        "save_to_new_answer_ms": latency.save_to_new_answer_ms,
        "median_ms": latency.median_ms,
        "api_cold_start_median_ms": latency.cold_start_median_ms,
        "beyond_cold_start_ms": latency.beyond_cold_start_ms,
    }
    results["artifacts"] = artifacts()
    results["goals"] = GOALS
    return results


def _cold_start_table(figures: dict[str, Any]) -> list[str]:
    lines = [
        "| Function | Cold start (ms, median) | × floor | × seed pattern "
        "| Peak RSS after 1,000 warm (MiB) | RSS growth after the first 100 (MiB) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name in FUNCTIONS:
        start, mem = figures["cold_start"][name], figures["memory"][name]
        lines.append(
            f"| {name} | {start['median_ms']:.0f} | {start['ratio_to_floor']:.2f} | {start['ratio_to_seed']:.2f} "
            f"| {mem['peak_mb']:.0f} | {mem['growth_mb']:+.1f} |"
        )
    floors = ", ".join(
        f"{name.removeprefix('floor:')} {entry['median_ms']:.0f} ms"
        for name, entry in figures["cold_start"].items()
        if name.startswith("floor:")
    )
    lines += ["", f"Floors: {floors}; seed pattern: {figures['cold_start']['seed pattern']['median_ms']:.0f} ms."]
    if WITHOUT_BYTECODE in figures["cold_start"]:
        bare = figures["cold_start"][WITHOUT_BYTECODE]
        lines[-1] += (
            f" The same artifacts with their bytecode removed: ApiFunction {bare['median_ms']:.0f} ms, "
            f"{bare['ratio_to_with_bytecode']:.2f}× its cold start with it."
        )
    return lines


def markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [
        f"Measured {results['date'][:10]} on the project's build machine: {m['cpus']} vCPUs {m['cpu_model']} "
        f"({m['architecture']}), {m['system']}; shared and noisy, so every figure is a ratio "
        "to a baseline measured in the same run.",
        "",
        "**As deployed**: the x86_64 artifacts of `make package` unzipped into read-only folders, Python 3.13 "
        "with awslambdaric, no bytecode written, the variables Lambda sets; cold start = process start to the "
        "end of the first invocation, doing its real I/O against the emulator. The floor is boto3 from the same "
        "layer creating the function's clients and making its first invocation's AWS calls; the seed pattern is "
        "the article's handler as its reader ships it (`pip install --target`, no bytecode).",
        "",
        *_cold_start_table(results["as_deployed"]),
        "",
        f"**Development environment** (the sources and a virtual environment of the layer's packages, Python "
        f"{m['python']}, bytecode cached):",
        "",
        *_cold_start_table(results["development"]),
        "",
        "Import time as deployed, by package (ms, median self time; the largest):",
        "",
        "| Function | Packages |",
        "|---|---|",
    ]
    for name, packages in results["as_deployed"]["import_ms_by_package"].items():
        shown = ", ".join(f"{package} {ms:.0f}" for package, ms in packages.items() if package != "(all modules)")
        lines.append(f"| {name} ({packages['(all modules)']:.0f} ms in all) | {shown} |")
    lines += [
        "",
        "| Warm overhead, ports faked | CPU per unit (µs) | Seed pattern (µs) | Ratio |",
        "|---|---:|---:|---:|",
    ]
    for name, unit in (("process_order", "event"), ("send_notification", "record")):
        w = results["warm_overhead"][name]
        lines.append(f"| {name} (per {unit}) | {w['cpu_us']:.0f} | {w['baseline_cpu_us']:.0f} | {w['ratio']:.2f} |")
    local = results["local_stack"]
    lines += [
        "",
        "| Local stack, POST /orders to e-mail | Orders/s | p50 (ms) | p99 (ms) |",
        "|---|---:|---:|---:|",
    ]
    for runner in ("workers", "workers, console open", "in-process"):
        r = local[runner]
        lines.append(
            f"| {runner} ({r['orders']} orders, 8 clients) | {r['orders_per_second']:.1f} "
            f"| {r['p50_ms']:.0f} | {r['p99_ms']:.0f} |"
        )
    reloaded = results["reload_on_save"]
    lines += [
        "",
        f"Runner efficiency (worker processes over the Runtime API ÷ handlers called in-process): "
        f"**{local['runner_efficiency']:.2f}**.",
        "",
        f"With the console open (two pages following the event stream and refreshing their view on every "
        f"change): **{local['console_cost']:.2f}×** the orders a second of the same stack without it.",
        "",
        f"Reload on save (`orders up`): from saving a file to the API answering with the new code "
        f"**{reloaded['median_ms']:.0f} ms** (median of {len(reloaded['save_to_new_answer_ms'])}), of which the "
        f"API's cold start is {reloaded['api_cold_start_median_ms']:.0f} ms: "
        f"{reloaded['beyond_cold_start_ms']:.0f} ms beyond it (goal: 1,000 ms).",
        "",
        f"Artifacts (`make package`, with bytecode): code zip "
        f"{results['artifacts']['function']['zip_bytes'] / 1024:.1f} KiB; "
        f"layer {results['artifacts']['layer']['zip_bytes'] / 2**20:.1f} MiB zipped, "
        f"{results['artifacts']['layer']['unzipped_bytes'] / 2**20:.1f} MiB unzipped (Lambda's limit: 250 MiB).",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=11, help="fresh processes per cold-start subject")
    parser.add_argument("--invocations", type=int, default=1000, help="warm invocations for the memory profile")
    parser.add_argument("--warm-events", type=int, default=2000, help="events per warm-overhead run")
    parser.add_argument("--orders", type=int, default=200, help="orders for the local stack's throughput")
    arguments = parser.parse_args()
    results = run(arguments.samples, arguments.invocations, arguments.warm_events, arguments.orders)
    (HERE / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (HERE / "results.md").write_text(markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    main()
