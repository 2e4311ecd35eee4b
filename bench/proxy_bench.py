"""The generated gateway against a minimal hand-written aiohttp proxy.

In one run: compile ``bench/specs/petstore-bench.yaml`` (http_proxy, validation on)
twice into a temporary folder, once as written and once with CORS and a request
header transform added (``edge``), start the upstream (``upstream.py``), the bare
proxy (``bare_proxy.py``) and both gateways, then run ``wrk -t1 -c32`` for GET and
POST against each, and print req/s, CPU µs per request and the ratios
gateway/bare (target >= 0.9) and edge/gateway (target: at most 3% lower).

Machines running this are shared, so the targets are measured in rounds: each round
runs every target back to back (in an order that rotates between rounds, so that a
drifting background load does not always favour the same one), each ratio is taken
within a round, and the median ratio over the rounds is reported.

Servers are pinned to CPU 0 and wrk to CPU 1, as in the pinned cases of
``../shared/reference/BASELINE.md``.

Back-to-back runs still see other tenants come and go between them, so the same
ratios are then measured side by side as well: the three proxies loaded at once, each
by its own wrk, alone on CPU 0 (the upstream moves beside wrk on CPU 1). The CPU is
shared equally between them, so each req/s ratio is the inverse ratio of CPU cost per
request, taken in one window that any outside load slows alike. Each side-by-side
round starts the three proxies afresh.

Knobs (environment): ``BENCH_SECONDS`` (default 10), ``BENCH_ROUNDS`` (default 3),
``BENCH_CONNECTIONS`` (default 32), ``BENCH_PIN`` (default 1; 0 runs unpinned).
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

__all__ = [
    "bare_command",
    "main",
    "run_wrk",
    "run_wrk_together",
    "side_by_side",
    "stop",
    "upstream_command",
]

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
SPEC = BENCH / "specs" / "petstore-bench.yaml"
WRK = "/usr/bin/wrk"
POST_BODY = (
    '{"name":"rex","tag":"dog","status":"available","category":{"id":1,"name":"dogs"},'
    '"photoUrls":["https://img.example/p/rex.jpg"],"owner":{"id":42,"name":"alice"},'
    '"vaccinated":true,"weightKg":12.5,"notes":"good boy"}'
)
# a browser's cross-origin call: the edge gateway answers it with CORS headers
GET_LUA = (
    'wrk.method = "GET"\nwrk.headers["X-API-Key"] = "key-0001"\n'
    'wrk.headers["Origin"] = "http://app.example"\n'
)
POST_LUA = (
    'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
    'wrk.headers["X-API-Key"] = "key-0001"\n'
    'wrk.headers["Origin"] = "http://app.example"\n'
    f"wrk.body = '{POST_BODY}'\n"
)
# what the edge gateway adds to the bench spec: CORS for the page's origin and one
# header set on every upstream request
EDGE_SETTINGS = """
  cors:
    allowOrigins: ["http://app.example"]
    allowHeaders: [Content-Type, X-API-Key]
    exposeHeaders: [X-Request-Id]
    allowCredentials: true
    maxAgeSeconds: 600
  defaults:
    transform:
      request:
        headers: {set: {X-Gateway-Stage: "{stage.upstreamUrl}"}}
"""
TARGETS = ("bare", "gateway", "edge")


@dataclass
class Result:
    requests_per_second: float
    cpu_us_per_request: float
    errors: int


def upstream_command(port: int) -> list[str]:
    """The aiohttp upstream every proxy benchmark forwards to."""
    return [sys.executable, str(BENCH / "upstream.py"), "--port", str(port)]


def bare_command(port: int, upstream_url: str) -> list[str]:
    """The reference: the minimal hand-written aiohttp proxy (``bare_proxy.py``)."""
    return [sys.executable, str(BENCH / "bare_proxy.py"), "--port", str(port), "--upstream", upstream_url]


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM each server, the last started first (proxies drain before their
    upstream goes), and kill any that has not exited within 15 s."""
    for process in reversed(processes):
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


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


def edge_spec(folder: Path) -> Path:
    """The bench spec with :data:`EDGE_SETTINGS` added to its ``x-gateway`` block."""
    text = SPEC.read_text()
    marker = "  defaults:\n"
    if marker not in text:
        raise SystemExit(f"{SPEC} has no x-gateway defaults block to extend")
    path = folder / "petstore-bench-edge.yaml"
    path.write_text(text.replace(marker, EDGE_SETTINGS.lstrip("\n"), 1))
    return path


def compile_gateway(out: Path, spec: Path = SPEC) -> str:
    from gatewright.compiler.pipeline import compile_to_tree

    result = compile_to_tree(spec, ["gateway"])
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


# As in BASELINE.md's pinned cases: servers (the proxy and its upstream) share CPU 0
# and wrk runs alone on CPU 1, so that a server's req/s reflects its own CPU cost
# rather than how the scheduler happened to share two CPUs among three processes.
# BENCH_PIN=0 leaves everything unpinned.
SERVER_CPUS = {0}
LOAD_CPUS = {1}


def pinning() -> bool:
    available = os.sched_getaffinity(0)
    return os.environ.get("BENCH_PIN", "1") != "0" and available >= SERVER_CPUS | LOAD_CPUS


def pin_server(pid: int, cpus: set[int] = SERVER_CPUS) -> None:
    """Pin every thread of a started server to ``cpus`` (when pinning)."""
    if not pinning():
        return
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            os.sched_setaffinity(int(task.name), cpus)
        except ProcessLookupError:  # a thread that has just ended
            continue


def _pin_load() -> None:  # runs in the child, before exec
    os.sched_setaffinity(0, LOAD_CPUS)


def _wrk_command(url: str, script: Path, seconds: int, connections: int) -> list[str]:
    return [WRK, "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(script), url]


def _result(output: str, cpu_used: float) -> Result:
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    errors = int(non_2xx.group(1)) if non_2xx else 0
    if socket_errors:
        errors += sum(int(n) for n in re.findall(r"\d+", socket_errors.group(1)))
    return Result(rate, cpu_used / max(total, 1) * 1e6, errors)


def run_wrk(url: str, script: Path, seconds: int, connections: int, pid: int) -> Result:
    before = cpu_seconds(pid)
    output = subprocess.run(
        _wrk_command(url, script, seconds, connections),
        check=True,
        capture_output=True,
        text=True,
        preexec_fn=_pin_load if pinning() else None,
    ).stdout
    return _result(output, cpu_seconds(pid) - before)


Load = tuple[str, Path, int]
"""One server's load for :func:`run_wrk_together`: URL, wrk script, server pid."""


def run_wrk_together(loads: list[Load], seconds: int, connections: int) -> list[Result]:
    """One wrk per server, all started at once, so every server is measured in one window.

    With the servers alone on :data:`SERVER_CPUS` (see :func:`side_by_side`), each
    kept busy by its own wrk, the scheduler gives each the same share of the CPU,
    so their req/s ratio is the inverse ratio of their CPU cost per request. Other
    tenants of the machine slow every server in the window alike, which back-to-back
    runs cannot promise.
    """
    before = [cpu_seconds(pid) for _, _, pid in loads]
    runs = [
        subprocess.Popen(
            _wrk_command(url, script, seconds, connections),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=_pin_load if pinning() else None,
        )
        for url, script, _ in loads
    ]
    outputs = [run.communicate()[0] for run in runs]
    for run in runs:
        if run.returncode != 0:
            raise SystemExit(f"wrk exited {run.returncode}: {run.args}")
    return [
        _result(output, cpu_seconds(pid) - start)
        for output, start, (_, _, pid) in zip(outputs, before, loads, strict=True)
    ]


def side_by_side(helpers: list[int]) -> bool:
    """Move ``helpers`` (upstream, stores) to :data:`LOAD_CPUS`, beside wrk.

    The servers under test then have :data:`SERVER_CPUS` to themselves, each gets an
    equal share, and none waits on a helper starved by the others. False when not
    pinning: unpinned, the shares are up to the scheduler and the ratio means little.
    """
    if not pinning():
        return False
    for pid in helpers:
        pin_server(pid, LOAD_CPUS)
    return True


Results = dict[tuple[str, str], list[Result]]


def paired(results: Results, method: str, top: str, bottom: str) -> float:
    """The median over rounds of req/s ``top`` / ``bottom``, each ratio within one round."""
    pairs = zip(results[(method, top)], results[(method, bottom)], strict=True)
    return statistics.median(a.requests_per_second / b.requests_per_second for a, b in pairs)


def rounds_of(results: Results, method: str, top: str, bottom: str) -> str:
    """Each round's req/s ratio ``top`` / ``bottom``, for the spread behind a median."""
    pairs = zip(results[(method, top)], results[(method, bottom)], strict=True)
    return " ".join(f"{a.requests_per_second / b.requests_per_second:.3f}" for a, b in pairs)


def paired_cpu(results: Results, method: str, top: str, bottom: str) -> float:
    """Like :func:`paired` for CPU per request, as ``bottom`` / ``top`` (higher is better)."""
    pairs = zip(results[(method, top)], results[(method, bottom)], strict=True)
    return statistics.median(b.cpu_us_per_request / a.cpu_us_per_request for a, b in pairs)


def print_targets(results: Results, method: str, *, with_share: bool = False) -> None:
    """One line per target: median req/s, CPU per request (and CPU share), errors."""
    for target in TARGETS:
        runs = results[(method, target)]
        share = statistics.median(r.cpu_us_per_request * r.requests_per_second / 1e4 for r in runs)
        print(
            f"{method + ' ' + target:<16}"
            f"{statistics.median(r.requests_per_second for r in runs):>10.0f}"
            f"{statistics.median(r.cpu_us_per_request for r in runs):>12.0f}"
            + (f"{share:>8.1f}" if with_share else "")
            + f"{sum(r.errors for r in runs):>8}"
        )


def main() -> int:
    seconds = int(os.environ.get("BENCH_SECONDS", "10"))
    rounds = int(os.environ.get("BENCH_ROUNDS", "3"))
    connections = int(os.environ.get("BENCH_CONNECTIONS", "32"))
    if not Path(WRK).exists():
        raise SystemExit(f"wrk is not installed at {WRK}")
    processes: list[subprocess.Popen[bytes]] = []
    cases = [("GET", "/pets/123", "get.lua"), ("POST", "/pets", "post.lua")]
    results: Results = {}
    at_once: Results = {}  # the side-by-side rounds
    with tempfile.TemporaryDirectory(prefix="gatewright-bench-") as tmp:
        work = Path(tmp)
        plain_package = compile_gateway(work / "gateway")
        edge_package = compile_gateway(work / "edge", edge_spec(work))
        (work / "get.lua").write_text(GET_LUA)
        (work / "post.lua").write_text(POST_LUA)
        ports = {"upstream": free_port(), **{target: free_port() for target in TARGETS}}
        upstream_url = f"http://127.0.0.1:{ports['upstream']}"
        env = dict(os.environ, BENCH_UPSTREAM_URL=upstream_url)

        def gateway(package: str, folder: Path, port: int) -> tuple[list[str], dict[str, str]]:
            command = [sys.executable, "-m", package, "--stage", "bench", "--port", str(port)]
            path = os.pathsep.join([str(folder), env.get("PYTHONPATH", "")])
            return [*command, "--log-level", "warning"], dict(env, PYTHONPATH=path)

        servers = {
            "upstream": (upstream_command(ports["upstream"]), env),
            "bare": (bare_command(ports["bare"], upstream_url), env),
            "gateway": gateway(plain_package, work / "gateway", ports["gateway"]),
            "edge": gateway(edge_package, work / "edge", ports["edge"]),
        }
        pids: dict[str, int] = {}

        def start(name: str) -> subprocess.Popen[bytes]:
            command, server_env = servers[name]
            process = subprocess.Popen(command, env=server_env, stdout=subprocess.DEVNULL)
            processes.append(process)
            wait_for(ports[name], process, name)
            pids[name] = process.pid
            pin_server(process.pid)
            return process

        try:
            started = {name: start(name) for name in servers}
            for _method, path, script in cases:
                for target in TARGETS:  # warm-up: connection pools, code paths
                    run_wrk(
                        f"http://127.0.0.1:{ports[target]}{path}",
                        work / script,
                        1,
                        connections,
                        pids[target],
                    )
            for round_number in range(rounds):
                shift = round_number % len(TARGETS)
                order = TARGETS[shift:] + TARGETS[:shift]
                for method, path, script in cases:
                    for target in order:
                        result = run_wrk(
                            f"http://127.0.0.1:{ports[target]}{path}",
                            work / script,
                            seconds,
                            connections,
                            pids[target],
                        )
                        results.setdefault((method, target), []).append(result)
            if side_by_side([pids["upstream"]]):
                stop([started[target] for target in TARGETS])
                for _round in range(rounds):
                    # Fresh processes each round: the same code runs a few percent
                    # faster or slower from one process to the next (hash seeds,
                    # address layout), and the median should not rest on one draw.
                    fresh = [start(target) for target in TARGETS]
                    for method, path, script in cases:
                        loads = [
                            (f"http://127.0.0.1:{ports[t]}{path}", work / script, pids[t])
                            for t in TARGETS
                        ]
                        run_wrk_together(loads, 1, connections)  # warm-up
                        together = run_wrk_together(loads, seconds, connections)
                        for target, result in zip(TARGETS, together, strict=True):
                            at_once.setdefault((method, target), []).append(result)
                    stop(fresh)
        finally:
            stop(processes)

    placement = "servers on CPU 0, wrk on CPU 1" if pinning() else "unpinned"
    print(
        f"wrk -t1 -c{connections} -d{seconds}s, {rounds} round(s), {placement}; "
        "medians, ratios paired per round"
    )
    print(f"{'case':<16}{'req/s':>10}{'cpu us/req':>12}{'errors':>8}")
    for method, _, _ in cases:
        print_targets(results, method)
        print(
            f"{method + ' ratio':<16}{paired(results, method, 'gateway', 'bare'):>10.3f}   req/s gateway / bare proxy (target >= 0.9)"
        )
        # CPU per request is steadier than req/s when other processes share the CPUs
        print(
            f"{method + ' cpu ratio':<16}{paired_cpu(results, method, 'gateway', 'bare'):>10.3f}   bare / gateway CPU per request"
        )
        print(
            f"{method + ' edge':<16}{paired(results, method, 'edge', 'gateway'):>10.3f}   req/s edge / gateway "
            "(CORS + header transform; target >= 0.97)"
        )
        print(
            f"{method + ' edge cpu':<16}{paired_cpu(results, method, 'edge', 'gateway'):>10.3f}   gateway / edge CPU per request"
        )
    if at_once:
        print(
            f"\nside by side: bare, gateway and edge loaded at once for {seconds}s, {rounds} "
            "round(s); the three alone on CPU 0 (upstream and wrk on CPU 1); medians"
        )
        # cpu %: the share of a CPU each server got; equal shares are what make the
        # req/s ratio a CPU cost ratio
        print(f"{'case':<16}{'req/s':>10}{'cpu us/req':>12}{'cpu %':>8}{'errors':>8}")
        for method, _, _ in cases:
            print_targets(at_once, method, with_share=True)
            print(
                f"{method + ' ratio':<16}{paired(at_once, method, 'gateway', 'bare'):>10.3f}   "
                "req/s gateway / bare proxy, same window (target >= 0.9); rounds "
                + rounds_of(at_once, method, "gateway", "bare")
            )
            print(
                f"{method + ' edge':<16}{paired(at_once, method, 'edge', 'gateway'):>10.3f}   "
                "req/s edge / gateway, same window (target >= 0.97); rounds "
                + rounds_of(at_once, method, "edge", "gateway")
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
