"""SDK generation on the GitHub spec: gatewright against openapi-python-client 0.29.1.

One run measures, each in its own child process: wall time and peak RSS of
gatewright's SDK generation (the full pipeline: load, validate, IR, emit, format,
write) and of openapi-python-client (``literal_enums: true``, since its default
config crashes on this spec), then the import time of the generated GitHub SDK
(``import`` plus one namespace, byte-code compiled as an installed package is).

The machine is shared and noisy, so the tools take turns: each round runs
gatewright (cold, then warm) and then openapi-python-client, and the ratio is
the median of the rounds' ratios, each measured under the same load.

openapi-python-client is installed once into ``bench/.venv-opc``.

    .venv/bin/python bench/sdk_bench.py [--runs 3] [--skip-opc]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["main", "measure"]

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SPEC = REPO.parent / "shared" / "corpus" / "github-rest-api" / "api.github.com.json"
OPC_VENV = HERE / ".venv-opc"
OPC_VERSION = "0.29.1"
NAMESPACE = "repos"

_IMPORT = """
import importlib, sys, time
started = time.perf_counter()
pkg = importlib.import_module(sys.argv[1])
client = pkg.AsyncClient()
getattr(client, sys.argv[2])
print(time.perf_counter() - started)
"""


def measure(
    cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None
) -> tuple[float, float, int, float]:
    """(wall seconds, peak RSS MiB, exit code, CPU seconds) of one child process.

    CPU is user plus system time of the process and every process it waited for:
    on a shared machine it moves less than wall time, and on two cores wall time
    cannot drop below half of it.
    """
    started = time.perf_counter()
    # output goes nowhere: a pipe nobody reads would block a chatty child
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss / 1024, proc.returncode, usage.ru_utime + usage.ru_stime


def _ensure_opc() -> Path:
    exe = OPC_VENV / "bin" / "openapi-python-client"
    if exe.exists():
        return exe
    subprocess.run([sys.executable, "-m", "venv", str(OPC_VENV)], check=True)
    subprocess.run(
        [
            str(OPC_VENV / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            f"openapi-python-client=={OPC_VERSION}",
        ],
        check=True,
    )
    return exe


def _median(rows: list[tuple[float, float, int, float]]) -> tuple[float, float, int, float]:
    """Median wall, max RSS, last exit code, median CPU."""
    return (
        statistics.median(r[0] for r in rows),
        max(r[1] for r in rows),
        rows[-1][2],
        statistics.median(r[3] for r in rows),
    )


def _opc_command(exe: Path, config: Path, out: Path) -> list[str]:
    return [str(exe), "generate", "--path", str(SPEC), "--output-path", str(out), "--config", str(config), "--overwrite"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3, help="rounds (median wall and ratio, max RSS)")
    parser.add_argument("--skip-opc", action="store_true", help="only measure gatewright")
    args = parser.parse_args(argv)
    if not SPEC.is_file():
        print(f"GitHub spec not found at {SPEC}; skipping")
        return 0
    with tempfile.TemporaryDirectory(prefix="sdk-bench-") as tmp:
        work = Path(tmp)
        exe = None if args.skip_opc else _ensure_opc()
        config = work / "opc.yaml"
        config.write_text("literal_enums: true\n", encoding="utf-8")
        # its ruff post-hooks come from its own venv
        opc_env = {**os.environ, "PATH": f"{OPC_VENV / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"}
        gw_rows, warm_rows, opc_rows = [], [], []
        for i in range(args.runs):
            # a fresh formatting cache per round: the comparison is a first compile
            env = {**os.environ, "GATEWRIGHT_CACHE_DIR": str(work / f"cache{i}")}
            # the command users run, output written as it writes it (atomically)
            cmd = [sys.executable, "-m", "gatewright.compiler", "compile", str(SPEC)]
            cmd += ["-o", str(work / f"gw{i}"), "--target", "sdk"]
            gw_rows.append(measure(cmd, env=env))
            warm_rows.append(measure(cmd, env=env))
            if exe is not None:
                opc_rows.append(measure(_opc_command(exe, config, work / f"opc{i}"), env=opc_env))
                print(
                    f"  round {i + 1}: gatewright {gw_rows[-1][0]:.2f} s (CPU {gw_rows[-1][3]:.2f} s), "
                    f"openapi-python-client {opc_rows[-1][0]:.2f} s (CPU {opc_rows[-1][3]:.2f} s)"
                )
        gw, warm = _median(gw_rows), _median(warm_rows)
        print(
            f"gatewright SDK generation (cold cache): {gw[0]:.2f} s (CPU {gw[3]:.2f} s), "
            f"peak RSS {gw[1]:.0f} MiB, exit {gw[2]}"
        )
        print(
            f"gatewright SDK regeneration (warm formatting cache): {warm[0]:.2f} s, peak RSS {warm[1]:.0f} MiB"
        )
        if opc_rows:
            opc = _median(opc_rows)
            print(
                f"openapi-python-client {OPC_VERSION}: {opc[0]:.2f} s (CPU {opc[3]:.2f} s), "
                f"peak RSS {opc[1]:.0f} MiB, exit {opc[2]}"
            )
            if opc[2] != 0:
                # 0.29.1 writes the client, then its ruff post-hook fails on code it generated
                print("  (openapi-python-client exited non-zero: its output is incomplete)")
            ratio = statistics.median(g[0] / o[0] for g, o in zip(gw_rows, opc_rows, strict=True))
            verdict = "meets" if ratio <= 0.5 else "misses"
            print(
                f"wall-time ratio gatewright/opc (cold, median of {len(opc_rows)} rounds): {ratio:.2f}x "
                f"({verdict} the 0.5x target); peak RSS {gw[1]:.0f} MiB vs {opc[1]:.0f} MiB"
            )
        package_root = work / "gw0"
        package = next(p.parent.name for p in package_root.rglob("py.typed"))
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", package],
            cwd=package_root,
            check=True,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": ""},
            stdout=subprocess.DEVNULL,
        )
        times = []
        for _ in range(3):
            probe = subprocess.run(
                [sys.executable, "-c", _IMPORT, package, NAMESPACE],
                cwd=package_root,
                capture_output=True,
                text=True,
                check=True,
                env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
            )
            times.append(float(probe.stdout))
        best = min(times)
        verdict = "meets" if best <= 0.3 else "misses"
        print(
            f"import {package} + client.{NAMESPACE}: {best:.3f} s (min of 3; {verdict} the 0.3 s target)"
        )
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
