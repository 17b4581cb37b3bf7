"""Where a function's import time goes, as deployed: `python -X importtime` of its handler
module from the artifacts, each module's own (self) time summed by package (two levels deep,
e.g. `aws_lambda_powertools.event_handler`), medians over a few runs."""

import os
import statistics
import subprocess
from collections import defaultdict

from samlocal.local_stack import LocalStack, function_base_environment

from benchmarks.cold_start import Layout, Subject, subjects


def _self_times_us(layout: Layout, subject: Subject, base: dict[str, str]) -> dict[str, int]:
    function = subject.function
    module = function.handler.rpartition(".")[0]
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_LAMBDA_FUNCTION_NAME": function.name,
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "LAMBDA_TASK_ROOT": str(function.code_path),
        **base,
        **function.environment,
    }
    done = subprocess.run(
        [layout.python, "-X", "importtime", "-c", f"import {module}"],
        cwd=function.code_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    totals: dict[str, int] = defaultdict(int)
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, _cumulative, name = line.removeprefix("import time:").split("|")
        package = ".".join(name.strip().split(".")[:2])
        totals[package] += int(own)
    return dict(totals)


def measure(stack: LocalStack, layout: Layout, runs: int = 5, top: int = 12) -> dict[str, dict[str, float]]:
    """Per function: the `top` packages by median self time, in milliseconds, and the total."""
    base = function_base_environment(stack.endpoint_url)
    profiles = {}
    for subject in subjects(stack, layout):
        if subject.kind != "function":
            continue
        samples = [_self_times_us(layout, subject, base) for _ in range(runs)]
        packages = {name for sample in samples for name in sample}
        medians = {name: statistics.median(sample.get(name, 0) for sample in samples) / 1000 for name in packages}
        ranked = dict(sorted(medians.items(), key=lambda item: -item[1])[:top])
        ranked["(all modules)"] = statistics.median(sum(sample.values()) for sample in samples) / 1000
        profiles[subject.name] = ranked
    return profiles
