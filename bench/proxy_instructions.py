"""CPU instructions per proxied request, counted by valgrind: a measure noise cannot move.

``proxy_bench.py`` measures requests per second, which on a shared machine moves by
10-20% between runs as other tenants come and go. This script counts what each
server itself executes instead: each server runs under ``valgrind --tool=callgrind``,
its counters are zeroed after a warm-up, ``wrk`` sends GET and then POST load, and
the user-space instructions executed per request are read back. Reruns agree to
about 2%. Kernel work (the socket calls) is not counted; it is the same for every
server here, so the ratios below overstate the differences in total CPU.

Targets: the bare aiohttp proxy, the generated gateway, and the gateway with CORS
and a header transform (``edge``), all as in ``proxy_bench.py``, against one
upstream that is not instrumented. A fourth target, ``fixed``, is the edge gateway
with its CORS decision replaced by the four headers it sends, added with no logic
(``fixed_cors_headers.py``): what the headers alone cost. Ratios: bare/gateway
(above 1: the gateway executes less than the bare proxy), gateway/edge and
gateway/fixed.

Needs valgrind (``apt-get install valgrind``); skips with a message when it is
missing. Knobs: ``BENCH_SECONDS`` (default 10; valgrind runs servers about 50x
slower, so this is some hundreds of requests). Usage:
``.venv/bin/python bench/proxy_instructions.py``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from proxy_bench import (
    GET_LUA,
    POST_LUA,
    SPEC,
    WRK,
    bare_command,
    compile_gateway,
    edge_spec,
    free_port,
    stop,
    upstream_command,
    wait_for,
)

__all__ = ["main"]

BENCH = Path(__file__).resolve().parent
CASES = (("GET", "/pets/123", "get.lua"), ("POST", "/pets", "post.lua"))


def _requests(output: str) -> int:
    found = re.search(r"(\d+) requests in", output)
    if found is None:
        raise SystemExit(f"unexpected wrk output:\n{output}")
    return int(found.group(1))


def _instructions(dump: Path) -> int:
    text = dump.read_text(errors="replace")
    found = re.search(r"^(?:summary|totals): (\d+)", text, re.MULTILINE)
    if found is None:
        raise SystemExit(f"no instruction total in {dump}")
    return int(found.group(1))


def measure(
    name: str, command: list[str], env: dict[str, str], port: int, work: Path, seconds: int
) -> dict[str, float]:
    """Instructions per request of one server, for each case."""
    prefix = work / f"callgrind.{name}"
    process = subprocess.Popen(
        [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={prefix}.%p",
            "--dump-instr=no",
            *command,
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(port, process, name)
        per_request: dict[str, float] = {}
        for method, path, script in CASES:
            url = f"http://127.0.0.1:{port}{path}"
            lua = str(work / script)
            # warm-up: connection pools, caches and code paths
            subprocess.run([WRK, "-t1", "-c8", "-d3s", "-s", lua, url], check=True, capture_output=True)
            subprocess.run(["callgrind_control", "-z", str(process.pid)], check=True, capture_output=True)
            output = subprocess.run(
                [WRK, "-t1", "-c32", f"-d{seconds}s", "-s", lua, url],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            before = set(work.glob(f"callgrind.{name}.*"))
            subprocess.run(["callgrind_control", "-d", str(process.pid)], check=True, capture_output=True)
            deadline = time.monotonic() + 30
            while not (new := set(work.glob(f"callgrind.{name}.*")) - before):
                if time.monotonic() > deadline:
                    raise SystemExit(f"callgrind wrote no dump for {name}")
                time.sleep(0.2)
            time.sleep(0.5)  # let the dump finish writing
            dump = max(new, key=lambda p: p.stat().st_mtime)
            per_request[method] = _instructions(dump) / max(_requests(output), 1)
        return per_request
    finally:
        stop([process])


def main() -> int:
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        print("valgrind is not installed (apt-get install valgrind); skipping")
        return 0
    if not Path(WRK).exists():
        raise SystemExit(f"wrk is not installed at {WRK}")
    seconds = int(os.environ.get("BENCH_SECONDS", "10"))
    with tempfile.TemporaryDirectory(prefix="gatewright-instructions-") as tmp:
        work = Path(tmp)
        plain = compile_gateway(work / "gateway", SPEC)
        edge = compile_gateway(work / "edge", edge_spec(work))
        (work / "get.lua").write_text(GET_LUA)
        (work / "post.lua").write_text(POST_LUA)
        upstream_port = free_port()
        upstream_url = f"http://127.0.0.1:{upstream_port}"
        env = dict(os.environ, BENCH_UPSTREAM_URL=upstream_url)
        upstream = subprocess.Popen(upstream_command(upstream_port), env=env, stdout=subprocess.DEVNULL)
        try:
            wait_for(upstream_port, upstream, "upstream")
            results: dict[str, dict[str, float]] = {}
            fixed = [sys.executable, str(BENCH / "fixed_cors_headers.py"), edge]
            for name, start, folder in (
                ("gateway", [sys.executable, "-m", plain], "gateway"),
                ("edge", [sys.executable, "-m", edge], "edge"),
                ("fixed", fixed, "edge"),
            ):
                port = free_port()
                path = os.pathsep.join([str(work / folder), env.get("PYTHONPATH", "")])
                command = [*start, "--stage", "bench", "--port", str(port), "--log-level", "warning"]
                results[name] = measure(name, command, dict(env, PYTHONPATH=path), port, work, seconds)
            port = free_port()
            results["bare"] = measure("bare", bare_command(port, upstream_url), env, port, work, seconds)
        finally:
            stop([upstream])

    print(f"user-space instructions per request (valgrind callgrind), wrk -c32 -d{seconds}s")
    print(
        f"{'case':<10}{'bare':>12}{'gateway':>12}{'edge':>12}{'fixed':>12}"
        f"{'bare/gw':>10}{'gw/edge':>10}{'gw/fixed':>10}"
    )
    for method, _, _ in CASES:
        bare, gateway, edge_cost, fixed_cost = (
            results[t][method] for t in ("bare", "gateway", "edge", "fixed")
        )
        print(
            f"{method:<10}{bare:>12,.0f}{gateway:>12,.0f}{edge_cost:>12,.0f}{fixed_cost:>12,.0f}"
            f"{bare / gateway:>10.3f}{gateway / edge_cost:>10.3f}{gateway / fixed_cost:>10.3f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
