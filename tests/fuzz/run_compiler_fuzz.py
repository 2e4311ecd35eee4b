"""Run the compiler fuzzer at scale and print what happened.

    .venv/bin/python tests/fuzz/run_compiler_fuzz.py [--mutations 2000] [--seed 1] [--load-every 10]

Every mutation is checked as in ``test_compiler_fuzz.py``: errors with no files, or
modules that all parse; every ``--load-every``-th one is also imported and its app
built. Prints the counts per verdict and per seed document, and one example of each
distinct failure; exits 1 when there is a traceback, an unparseable module, an
import failure or an injected payload.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from compiler_fuzz import (
    WEIGHTED_MUTATIONS,
    Mutation,
    Verdict,
    apply_mutations,
    check_mutation,
    hostile_strings,
    seed_documents,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--mutations", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--load-every", type=int, default=10)
    parser.add_argument("--keep", type=Path, help="copy the folder of each failing mutation here")
    args = parser.parse_args(argv)

    seeds = seed_documents()
    names = sorted(seeds)
    rng = random.Random(args.seed)
    verdicts: Counter[str] = Counter()
    per_seed: Counter[tuple[str, str]] = Counter()
    imported = 0
    failures: dict[str, str] = {}
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="gw-fuzz-") as tmp:
        root = Path(tmp)
        for index in range(args.mutations):
            seed = rng.choice(names)
            steps: list[tuple[Mutation, int, int]] = [
                (rng.choice(WEIGHTED_MUTATIONS), rng.randrange(2**20), rng.randrange(2**20))
                for _ in range(rng.randint(1, 4))
            ]
            workdir = root / str(index)
            workdir.mkdir()
            marker = workdir / "pwned"
            doc = apply_mutations(seeds[seed], steps, hostile_strings(marker))
            outcome = check_mutation(
                doc,
                workdir,
                marker,
                load=args.load_every > 0 and index % args.load_every == 0,
                fmt=rng.choice(("json", "yaml")),
            )
            verdicts[outcome.verdict.value] += 1
            per_seed[(seed, outcome.verdict.value)] += 1
            imported += outcome.imported
            if not outcome.ok:
                last_line = outcome.detail.strip().splitlines()[-1] if outcome.detail.strip() else ""
                key = f"{outcome.verdict.value}: {last_line}"
                failures.setdefault(key, f"#{index} {seed} {[(m.value, a, b) for m, a, b in steps]}\n{outcome.detail}")
                if args.keep is not None:
                    shutil.copytree(workdir, args.keep / str(index), dirs_exist_ok=True)
            if (index + 1) % 250 == 0:
                print(f"  {index + 1} mutations, {time.monotonic() - started:.0f} s", flush=True)

    print(f"\ncompiler fuzz: {args.mutations} mutations (seed {args.seed}) in {time.monotonic() - started:.0f} s")
    for verdict in Verdict:
        print(f"  {verdict.value:>12}: {verdicts[verdict.value]}")
    print(f"  imported and built: {imported}")
    print(f"  tracebacks: {verdicts[Verdict.TRACEBACK.value]}")
    print(f"  unparseable outputs: {verdicts[Verdict.UNPARSEABLE.value]}")
    print("\nper seed document (compiled / rejected):")
    for name in names:
        print(f"  {name}: {per_seed[(name, 'compiled')]} / {per_seed[(name, 'rejected')]}")
    for key, example in failures.items():
        print(f"\n--- {key}\n{example}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
