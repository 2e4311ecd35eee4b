"""Run schemathesis against the generated gateways for a time budget and print counts.

    FUZZ_SECONDS=300 .venv/bin/python tests/fuzz/run_schemathesis.py [--min-cases 5000]

Rounds go over every gateway (the petstore sample with its counting backend, and the
corpus specs compiled as they are), each round with a new seed and more examples per
operation, until the budget is spent and at least ``--min-cases`` cases ran. Prints
cases, statuses, gateway 5xx, conformance failures (by cause), invalid requests that
reached the backend, and one example of each finding. Exits 1 on any 5xx, transport
error, backend leak or unexplained conformance failure; ``--strict`` also on the
known open causes.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from schemathesis_support import KNOWN_CAUSES, FuzzStats, fuzz_gateway, running_gateways


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--min-cases", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("FUZZ_SECONDS", "300")))
    parser.add_argument("--strict", action="store_true", help="fail on the known open causes too")
    args = parser.parse_args(argv)

    started = time.monotonic()
    total = FuzzStats()
    per_gateway: dict[str, FuzzStats] = {}
    with tempfile.TemporaryDirectory(prefix="gw-schemathesis-") as tmp, running_gateways(Path(tmp)) as gateways:
        print(f"{len(gateways)} gateways: {', '.join(g.name for g in gateways)}", flush=True)
        round_ = 0
        while time.monotonic() - started < args.seconds or total.cases < args.min_cases:
            round_ += 1
            examples = 10 + 5 * round_
            for gateway in gateways:
                stats = fuzz_gateway(gateway, examples_per_operation=examples, seed=round_)
                per_gateway.setdefault(gateway.name, FuzzStats()).add(stats)
                total.add(stats)
            print(f"  round {round_}: {total.cases} cases, {time.monotonic() - started:.0f} s", flush=True)
        unhealthy = [g.name for g in gateways if not g.process.healthy()]

    print(f"\nschemathesis: {total.cases} cases in {time.monotonic() - started:.0f} s")
    for name, stats in per_gateway.items():
        print(f"  {name}: {stats.cases} cases, statuses {dict(sorted(stats.statuses.items()))}")
    print(f"  gateway 5xx (not a deliberate 502/504): {total.server_errors}")
    print(f"  transport errors: {total.transport_errors}")
    print(f"  invalid requests that reached the backend: {total.reached_backend}")
    print(f"  conformance failures: {total.conformance_failures}")
    for cause, count in total.conformance_causes.most_common():
        print(f"    {count:>6}  {cause}: {KNOWN_CAUSES.get(cause, 'not explained by a known open defect')}")
    print(f"  gateways that stopped answering: {unhealthy or 'none'}")
    for key, example in total.examples.items():
        print(f"\n--- {key}\n{example[:1200]}")
    unexplained = total.conformance_causes.get("unexplained", 0)
    bad = total.server_errors + total.transport_errors + total.reached_backend + unexplained + len(unhealthy)
    if args.strict:
        bad += total.conformance_failures
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
