"""`make bench`: every benchmark in one run, each printing ratios measured side by side.

Benchmarks run one after another (never concurrently: they would disturb each other).
Set BENCH_ONLY=name,name to run a subset and BENCH_SECONDS to shorten load tests.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent

# (name, script, what it measures)
BENCHMARKS = [
    ("validation", "validation_bench.py", "compiled request validation vs openapi-core (target >= 100x)"),
    ("proxy", "proxy_bench.py", "generated gateway vs a bare aiohttp proxy with wrk (target >= 0.9x)"),
    ("instructions", "proxy_instructions.py", "instructions per request under valgrind: bare proxy, gateway, edge"),
    ("compile", "compile_bench.py", "compiling the GitHub spec --target gateway (target <= 15 s)"),
    ("sdk", "sdk_bench.py", "SDK generation vs openapi-python-client, and SDK import time"),
    ("features", "features_bench.py", "keys+throttle+quota, Redis, cache hits and JWT vs the bare proxy"),
    ("throttle", "throttle_accuracy.py", "throttle accuracy: rate 50/s burst 100 for 10 s, memory and Redis"),
    ("jwt", "jwt_bench.py", "JWT verification with a warm token cache vs cold"),
    ("soak", "soak.py", "5 minutes of mixed traffic: RSS growth, descriptors, errors"),
]


def main() -> int:
    only = {n for n in os.environ.get("BENCH_ONLY", "").split(",") if n}
    failures = 0
    for name, script, what in BENCHMARKS:
        if only and name not in only:
            continue
        path = BENCH / script
        print(f"\n### {name}: {what}", flush=True)
        if not path.exists():
            print(f"(not available: {script} is missing)")
            continue
        started = time.perf_counter()
        result = subprocess.run([sys.executable, str(path)], cwd=BENCH.parent)
        print(f"({name} took {time.perf_counter() - started:.0f} s, exit status {result.returncode})", flush=True)
        failures += result.returncode != 0
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
