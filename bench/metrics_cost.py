"""What the worker's metrics cost: `bench/load.py` run in pairs, without and with the metrics page
(scraped as Prometheus would), the order alternating (plain first, then metrics first, ...) so a
machine growing busier or quieter during the run favours neither side.

Prints each run's worker CPU per complaint, then the mean of the pairs' relative differences with
its standard error: one pair on a shared machine varies by about 10%, so a 5% bound needs the mean
of several.

    .venv/bin/python bench/metrics_cost.py                 # 4 pairs of 150 complaints
    .venv/bin/python bench/metrics_cost.py --pairs 6 --n 100
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from complaints.devstack import free_port  # noqa: E402


def scrape(address: str, stop: threading.Event, every: float) -> None:
    """Read the metrics page as Prometheus would, until stopped (the page is down between runs)."""
    while not stop.wait(every):
        try:
            urllib.request.urlopen(f"http://{address}/metrics", timeout=5).read()
        except OSError:
            continue


def worker_cpu(n: int, metrics: bool, scrape_every: float) -> float:
    """One `bench/load.py` run's worker CPU per complaint (ms)."""
    env = dict(os.environ)
    env.pop("COMPLAINTS_METRICS_ADDRESS", None)
    stop = threading.Event()
    if metrics:
        env["COMPLAINTS_METRICS_ADDRESS"] = address = f"127.0.0.1:{free_port()}"
        threading.Thread(target=scrape, args=(address, stop, scrape_every), daemon=True).start()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run.json"
        try:
            subprocess.run([sys.executable, "bench/load.py", "--n", str(n), "--skip-reference", "--sample", "10",
                            "--out", str(out)], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
        finally:
            stop.set()
        return json.loads(out.read_text())["complaintflow"]["cpu_ms_per_complaint"]["worker"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=4, help="pairs of runs (default 4)")
    parser.add_argument("--n", type=int, default=150, help="complaints per run (default 150)")
    parser.add_argument("--scrape-every", type=float, default=5.0,
                        help="seconds between scrapes of the metrics page (default 5; Prometheus: 15)")
    args = parser.parse_args()
    differences = []
    for pair in range(args.pairs):
        order = (False, True) if pair % 2 == 0 else (True, False)
        cpu = {}
        for metrics in order:
            cpu[metrics] = worker_cpu(args.n, metrics, args.scrape_every)
            print(f"pair {pair + 1}: {'metrics' if metrics else 'plain  '} {cpu[metrics]:7.1f} ms worker CPU "
                  "per complaint", flush=True)
        differences.append(cpu[True] / cpu[False] - 1)
        print(f"pair {pair + 1}: metrics {differences[-1]:+.1%}", flush=True)
    mean = statistics.mean(differences)
    error = statistics.stdev(differences) / len(differences) ** 0.5 if len(differences) > 1 else float("nan")
    print(f"\nmetrics' cost: {mean:+.1%} worker CPU per complaint (standard error {error:.1%}, "
          f"{args.pairs} pairs of {args.n} complaints)")


if __name__ == "__main__":
    main()
