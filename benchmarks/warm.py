"""Warm overhead: CPU per event (process_order) and per record (send_notification), ports faked,
against the article's handler on the same event, each in its own Lambda-like process."""

import json
import subprocess
from pathlib import Path

PROBE = Path(__file__).with_name("warm_probe.py")
PAIRS = {"process_order": "seed", "send_notification": "seed_batch"}


def cpu_us(python: str, subject: str, count: int) -> float:
    done = subprocess.run([python, str(PROBE), subject, str(count)], capture_output=True, text=True, check=True)
    return float(json.loads(done.stdout.strip().splitlines()[-1])["cpu_us_per_unit"])


def measure(python: str, count: int, rounds: int = 3) -> dict[str, dict[str, float]]:
    """Medians over `rounds` alternating runs of each function and its baseline."""
    samples: dict[str, list[float]] = {name: [] for pair in PAIRS.items() for name in pair}
    for _ in range(rounds):
        for function, baseline in PAIRS.items():
            samples[function].append(cpu_us(python, function, count))
            samples[baseline].append(cpu_us(python, baseline, count))
    results = {}
    for function, baseline in PAIRS.items():
        ours, theirs = sorted(samples[function])[rounds // 2], sorted(samples[baseline])[rounds // 2]
        results[function] = {"cpu_us": ours, "baseline_cpu_us": theirs, "ratio": ours / theirs}
    return results
