"""Compile speed: the GitHub spec (771 operations) with --target gateway.

Prints wall time and peak RSS of a cold compile (empty format cache) and of a
recompile (warm cache), each run as a separate `gatewright compile` process.
Target (issue 2, acceptance 5c): a cold compile in 15 s or less on 2 cores.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SPEC = REPO.parent / "shared" / "corpus" / "github-rest-api" / "api.github.com.json"


def run(out: Path, cache: Path, target: str) -> tuple[float, float, int]:
    env = {**os.environ, "GATEWRIGHT_CACHE_DIR": str(cache)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "gatewright.compiler", "compile", str(SPEC), "-o", str(out), "--target", target],
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0,):
        sys.stderr.write(proc.stderr[-3000:])
        raise SystemExit(f"compile failed with exit status {proc.returncode}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, after.ru_maxrss  # ru_maxrss: KiB, largest child so far


def main() -> None:
    if not SPEC.exists():
        print(f"compile_bench: skipped, {SPEC} not found")
        return
    target = sys.argv[1] if len(sys.argv) > 1 else "gateway"
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "cache"
        cold = run(Path(tmp) / "out1", cache, target)
        warm = run(Path(tmp) / "out2", cache, target)
        shutil.rmtree(cache, ignore_errors=True)
    print(f"compile GitHub spec (771 operations) --target {target}")
    print(f"  cold (empty format cache): {cold[0]:6.2f} s wall, {cold[1]:6.2f} s CPU, peak RSS {cold[2] / 1024:.0f} MiB   target <= 15 s: {'PASS' if cold[0] <= 15 else 'FAIL'}")
    print(f"  warm (recompile)         : {warm[0]:6.2f} s wall, {warm[1]:6.2f} s CPU")


if __name__ == "__main__":
    main()
