"""Acceptance 5b: the generated gateway against a minimal hand-written aiohttp proxy.

In one run: compile ``bench/specs/petstore-bench.yaml`` (http_proxy, validation on)
into a temporary folder, start the upstream (``upstream.py``), the bare proxy
(``bare_proxy.py``) and the generated gateway, then run ``wrk -t1 -c32`` for GET and
POST against both, alternating, and print req/s, CPU µs per request and the ratio
gateway/bare (target >= 0.9).

Knobs (environment): ``BENCH_SECONDS`` (default 10), ``BENCH_ROUNDS`` (default 1;
with more rounds the median is reported), ``BENCH_CONNECTIONS`` (default 32).
Usage: ``.venv/bin/python bench/proxy_bench.py``.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["main"]

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
SPEC = BENCH / "specs" / "petstore-bench.yaml"
WRK = "/usr/bin/wrk"
POST_BODY = (
    '{"name":"rex","tag":"dog","status":"available","category":{"id":1,"name":"dogs"},'
    '"photoUrls":["https://img.example/p/rex.jpg"],"owner":{"id":42,"name":"alice"},'
    '"vaccinated":true,"weightKg":12.5,"notes":"good boy"}'
)
GET_LUA = 'wrk.method = "GET"\nwrk.headers["X-API-Key"] = "key-0001"\n'
POST_LUA = (
    'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
    'wrk.headers["X-API-Key"] = "key-0001"\n'
    f"wrk.body = '{POST_BODY}'\n"
)


@dataclass
class Result:
    requests_per_second: float
    cpu_us_per_request: float
    errors: int


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(port: int, process: subprocess.Popen[bytes], name: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{name} exited with {process.returncode} before listening")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise SystemExit(f"{name} did not listen on {port}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process, from /proc (no third-party dependency)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def compile_gateway(out: Path) -> str:
    from gatewright.compiler.pipeline import compile_to_tree

    result = compile_to_tree(SPEC, ["gateway"])
    if not result.tree:
        for diagnostic in result.diags:
            print(diagnostic, file=sys.stderr)
        raise SystemExit("the bench spec did not compile")
    for rel, text in result.tree.items():
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    packages = [p.name for p in out.iterdir() if p.name.endswith("_gateway")]
    return packages[0]


def run_wrk(url: str, script: Path, seconds: int, connections: int, pid: int) -> Result:
    before = cpu_seconds(pid)
    output = subprocess.run(
        [WRK, "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(script), url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    used = cpu_seconds(pid) - before
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    errors = int(non_2xx.group(1)) if non_2xx else 0
    if socket_errors:
        errors += sum(int(n) for n in re.findall(r"\d+", socket_errors.group(1)))
    return Result(rate, used / max(total, 1) * 1e6, errors)


def main() -> int:
    seconds = int(os.environ.get("BENCH_SECONDS", "10"))
    rounds = int(os.environ.get("BENCH_ROUNDS", "1"))
    connections = int(os.environ.get("BENCH_CONNECTIONS", "32"))
    if not Path(WRK).exists():
        raise SystemExit(f"wrk is not installed at {WRK}")
    processes: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory(prefix="gatewright-bench-") as tmp:
        work = Path(tmp)
        package = compile_gateway(work / "gateway")
        (work / "get.lua").write_text(GET_LUA)
        (work / "post.lua").write_text(POST_LUA)
        up_port, bare_port, gw_port = free_port(), free_port(), free_port()
        upstream_url = f"http://127.0.0.1:{up_port}"
        env = dict(os.environ, BENCH_UPSTREAM_URL=upstream_url)
        env["PYTHONPATH"] = os.pathsep.join([str(work / "gateway"), env.get("PYTHONPATH", "")])
        try:
            servers = {
                "upstream": (
                    [sys.executable, str(BENCH / "upstream.py"), "--port", str(up_port)],
                    up_port,
                ),
                "bare": (
                    [
                        sys.executable,
                        str(BENCH / "bare_proxy.py"),
                        "--port",
                        str(bare_port),
                        "--upstream",
                        upstream_url,
                    ],
                    bare_port,
                ),
                "gateway": (
                    [
                        sys.executable,
                        "-m",
                        package,
                        "--stage",
                        "bench",
                        "--port",
                        str(gw_port),
                        "--log-level",
                        "warning",
                    ],
                    gw_port,
                ),
            }
            pids: dict[str, int] = {}
            for name, (command, port) in servers.items():
                process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
                processes.append(process)
                wait_for(port, process, name)
                pids[name] = process.pid
            cases = [
                ("GET", "/pets/123", work / "get.lua"),
                ("POST", "/pets", work / "post.lua"),
            ]
            results: dict[tuple[str, str], list[Result]] = {}
            for _method, path, script in cases:
                for target, port in (("bare", bare_port), ("gateway", gw_port)):
                    # warm-up: connection pools, code paths
                    run_wrk(f"http://127.0.0.1:{port}{path}", script, 1, connections, pids[target])
            for _ in range(rounds):
                for method, path, script in cases:
                    for target, port in (("bare", bare_port), ("gateway", gw_port)):
                        result = run_wrk(
                            f"http://127.0.0.1:{port}{path}",
                            script,
                            seconds,
                            connections,
                            pids[target],
                        )
                        results.setdefault((method, target), []).append(result)
        finally:
            # proxies first (and let them drain), then the upstream
            for process in reversed(processes):
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()

    print(f"wrk -t1 -c{connections} -d{seconds}s, {rounds} round(s), median shown")
    print(f"{'case':<14}{'req/s':>10}{'cpu us/req':>12}{'errors':>8}")
    ratios: list[float] = []
    for method, _, _ in cases:
        rates: dict[str, float] = {}
        cpus: dict[str, float] = {}
        for target in ("bare", "gateway"):
            runs = results[(method, target)]
            rates[target] = statistics.median(r.requests_per_second for r in runs)
            cpus[target] = statistics.median(r.cpu_us_per_request for r in runs)
            errors = sum(r.errors for r in runs)
            print(
                f"{method + ' ' + target:<14}{rates[target]:>10.0f}{cpus[target]:>12.0f}{errors:>8}"
            )
        ratio = rates["gateway"] / rates["bare"]
        ratios.append(ratio)
        print(f"{method + ' ratio':<14}{ratio:>10.3f}   req/s gateway / bare proxy (target >= 0.9)")
        # CPU per request is steadier than req/s when other processes share the CPUs
        print(
            f"{method + ' cpu ratio':<14}{cpus['bare'] / cpus['gateway']:>10.3f}   bare / gateway CPU per request"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
