"""API versioning end to end: several specs compiled into one gateway, run on loopback
against a real upstream.

``specs/versioning/paths_v*.yaml`` mount v1 at /v1 and v2 at /v2 (v1 deprecated as a
whole); ``specs/versioning/select_v*.yaml`` share /api and are chosen by the
``Api-Version`` header or the ``api-version`` query parameter, 2024-06 by default.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer, unused_port
from gatewright.compiler.ir.build import BuildOptions
from gatewright.compiler.pipeline import compile_versions_to_tree

SPECS = Path(__file__).parent / "specs" / "versioning"
CASES = Path(__file__).parents[1] / "diagnostics" / "cases"
REPO = Path(__file__).parents[2]

Client = TestClient[web.Request, web.Application]


def _write_gateway(specs: list[Path], root: Path, *, name: str | None = None) -> str:
    result = compile_versions_to_tree(specs, options=BuildOptions(name=name), format_code=False)
    assert result.versions is not None and result.api is not None, [d.message for d in result.diags]
    for rel, text in result.tree.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return f"{result.api.package}_gateway"


@contextmanager
def _imported(package: str, root: Path) -> Iterator[ModuleType]:
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module(f"{package}.app")
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
            del sys.modules[name]


@pytest.fixture(scope="module")
def paths_module(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    root = tmp_path_factory.mktemp("paths")
    package = _write_gateway([SPECS / "paths_v1.yaml", SPECS / "paths_v2.yaml"], root)
    with _imported(package, root) as module:
        yield module


@pytest.fixture(scope="module")
def select_module(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    root = tmp_path_factory.mktemp("select")
    package = _write_gateway([SPECS / "select_v1.yaml", SPECS / "select_v2.yaml"], root)
    with _imported(package, root) as module:
        yield module


@pytest.fixture
async def upstream() -> AsyncIterator[str]:
    """Echoes the path and query it receives, so a test sees which version forwarded."""

    async def echo(request: web.Request) -> web.Response:
        return web.json_response({"path": request.path, "query": dict(request.query)})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", echo)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


async def _client(module: ModuleType, upstream: str) -> Client:
    client = TestClient(TestServer(module.build_app("dev", env={"UPSTREAM_URL": upstream}), host="127.0.0.1"))
    await client.start_server()
    return client


@pytest.fixture
async def paths(paths_module: ModuleType, upstream: str) -> AsyncIterator[Client]:
    client = await _client(paths_module, upstream)
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
async def select(select_module: ModuleType, upstream: str) -> AsyncIterator[Client]:
    client = await _client(select_module, upstream)
    try:
        yield client
    finally:
        await client.close()


async def _upstream_path(client: Client, path: str, **kwargs: object) -> str:
    response = await client.get(path, **kwargs)  # type: ignore[arg-type]
    assert response.status == 200, await response.text()
    body = await response.json()
    return str(body["path"])


# --------------------------------------------------------------------------- selection by path


async def test_each_base_path_reaches_its_own_version(paths: Client) -> None:
    assert await _upstream_path(paths, "/v1/pets") == "/one/pets"
    assert await _upstream_path(paths, "/v2/pets") == "/two/pets"
    assert await _upstream_path(paths, "/v1/pets/7") == "/one/pets/7"


async def test_each_version_validates_and_answers_errors_its_own_way(paths: Client) -> None:
    # v1 declares an integer id; v2 a lower-case string id and problem+json errors
    assert (await paths.get("/v1/pets/12")).status == 200
    assert (await paths.get("/v1/pets/abc")).status == 400
    rejected = await paths.get("/v2/pets/12")
    assert rejected.status == 400
    assert rejected.content_type == "application/problem+json"
    assert (await paths.get("/v2/pets/abc")).status == 200


async def test_a_path_under_no_version_is_404_listing_the_versions(paths: Client) -> None:
    response = await paths.get("/pets")
    assert response.status == 404
    assert response.headers["X-Gateway-Error-Type"] == "RESOURCE_NOT_FOUND"
    # the default version (v2) answers gateway-level errors in its format
    assert response.content_type == "application/problem+json"
    body = await response.json()
    assert "v1 (/v1)" in body["detail"] and "v2 (/v2)" in body["detail"]
    assert response.headers["X-Request-Id"]


async def test_health_endpoints_answer_once_for_the_whole_gateway(paths: Client) -> None:
    for path in ("/healthz", "/readyz"):
        response = await paths.get(path)
        assert response.status == 200
        assert await response.json() == {"status": "ok"}
    assert (await paths.get("/v1/healthz")).status == 404


async def test_each_version_serves_its_own_openapi_document(paths: Client) -> None:
    documents = {}
    for label in ("v1", "v2"):
        response = await paths.get(f"/{label}/openapi.json")
        assert response.status == 200
        documents[label] = await response.json()
    assert documents["v1"]["info"]["version"] == "1.4.0"
    assert documents["v2"]["info"]["version"] == "2.0.0"
    assert "/legacy" in documents["v2"]["paths"] and "/legacy" not in documents["v1"]["paths"]
    assert documents["v1"]["servers"][0]["url"].endswith("/v1")
    assert not any("x-gateway" in json.dumps(d) for d in documents.values())


async def test_a_deprecated_version_announces_deprecation_and_sunset(paths: Client) -> None:
    for path in ("/v1/pets", "/v1/pets/3"):
        response = await paths.get(path)
        assert response.headers["Deprecation"] == "true"
        assert response.headers["Sunset"] == "Sun, 30 Jun 2030 00:00:00 GMT"
    # the gateway's own errors for a deprecated operation carry the headers too
    rejected = await paths.get("/v1/pets/abc")
    assert rejected.status == 400 and rejected.headers["Deprecation"] == "true"


async def test_the_current_version_deprecates_only_its_marked_operations(paths: Client) -> None:
    current = await paths.get("/v2/pets")
    assert "Deprecation" not in current.headers and "Sunset" not in current.headers
    legacy = await paths.get("/v2/legacy")
    assert legacy.status == 200
    assert legacy.headers["Deprecation"] == "true"
    assert "Sunset" not in legacy.headers


# --------------------------------------------------------------------------- header and query


async def test_the_version_header_selects_the_version(select: Client) -> None:
    assert await _upstream_path(select, "/api/orders", headers={"Api-Version": "2023-01"}) == "/one/orders"
    assert await _upstream_path(select, "/api/orders", headers={"api-version": "2024-06"}) == "/two/orders"


async def test_the_version_query_parameter_selects_the_version(select: Client) -> None:
    assert await _upstream_path(select, "/api/orders?api-version=2023-01") == "/one/orders"
    assert await _upstream_path(select, "/api/orders?api-version=2024-06") == "/two/orders"


async def test_the_header_wins_over_the_query_parameter(select: Client) -> None:
    path = await _upstream_path(select, "/api/orders?api-version=2023-01", headers={"Api-Version": "2024-06"})
    assert path == "/two/orders"


async def test_a_request_that_selects_no_version_gets_the_default(select: Client) -> None:
    assert await _upstream_path(select, "/api/orders") == "/two/orders"


async def test_an_unknown_version_is_400_listing_the_versions(select: Client) -> None:
    for kwargs in ({"headers": {"Api-Version": "1999-01"}}, {"params": {"api-version": "1999-01"}}):
        response = await select.get("/api/orders", **kwargs)  # type: ignore[arg-type]
        assert response.status == 400
        assert response.headers["X-Gateway-Error-Type"] == "BAD_REQUEST_PARAMETERS"
        message = (await response.json())["message"]
        assert "'1999-01'" in message and "2023-01, 2024-06" in message


async def test_operations_exist_only_in_their_version(select: Client) -> None:
    assert (await select.get("/api/reports", headers={"Api-Version": "2023-01"})).status == 404
    assert (await select.get("/api/reports")).status == 200


async def test_throttles_apply_per_version(select: Client) -> None:
    assert (await select.get("/api/reports")).status == 200
    assert (await select.get("/api/reports")).status == 429
    # the older version has no such limit
    for _ in range(3):
        assert (await select.get("/api/orders", headers={"Api-Version": "2023-01"})).status == 200


async def test_fallback_to_default_sends_unknown_versions_to_the_default(tmp_path: Path, upstream: str) -> None:
    first = tmp_path / "select_v1.yaml"
    first.write_text((SPECS / "select_v1.yaml").read_text().replace("fallbackToDefault: false", "fallbackToDefault: true"))
    # its own package name: the module-scoped gateway of the same specs stays imported
    package = _write_gateway([first, SPECS / "select_v2.yaml"], tmp_path / "out", name="orders-fallback")
    with _imported(package, tmp_path / "out") as module:
        client = await _client(module, upstream)
        try:
            assert await _upstream_path(client, "/api/orders", headers={"Api-Version": "1999-01"}) == "/two/orders"
            assert await _upstream_path(client, "/api/orders", headers={"Api-Version": "2023-01"}) == "/one/orders"
        finally:
            await client.close()


# --------------------------------------------------------------------------- the command line


def _compile(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gatewright.compiler", "compile", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    ("case", "code", "pointer"),
    [
        ("versions_gw326_same_version", "GW326", "/x-gateway/versioning/version"),
        ("versions_gw327_same_base_path", "GW327", "/x-gateway/basePath"),
        ("versions_gw328_route_under_other_base_path", "GW328", "/paths/~1v2~1pets~1{id}/get"),
        ("versions_gw329_selectors_disagree", "GW329", "/x-gateway/versioning/select/header"),
    ],
)
def test_routing_conflicts_are_located_compile_errors(tmp_path: Path, case: str, code: str, pointer: str) -> None:
    specs = sorted(str((CASES / case / name).relative_to(REPO)) for name in os.listdir(CASES / case))
    proc = _compile(*specs, "-o", str(tmp_path / "out"), "--format", "json")
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    (item,) = json.loads(proc.stdout)["diagnostics"]
    assert (item["code"], item["pointer"]) == (code, pointer)
    assert item["line"] > 1 and item["file"].startswith("tests/diagnostics/cases/")
    assert item["relatedInformation"], "the conflicting spec is named"
    assert not (tmp_path / "out").exists()


def test_conflict_text_names_file_line_and_pointer(tmp_path: Path) -> None:
    case = CASES / "versions_gw327_same_base_path"
    second = (case / "b_v2.yaml").relative_to(REPO)
    proc = _compile(str(case.relative_to(REPO) / "a_v1.yaml"), str(second), "-o", str(tmp_path / "out"))
    assert proc.returncode == 1
    assert f"{second}:5:3: error:" in proc.stderr
    assert "[GW327]" in proc.stderr and "at #/x-gateway/basePath" in proc.stderr
    assert "(nothing was written)" in proc.stderr


def test_an_sdk_from_several_specs_is_a_usage_error(tmp_path: Path) -> None:
    proc = _compile(str(SPECS / "paths_v1.yaml"), str(SPECS / "paths_v2.yaml"), "-o", str(tmp_path / "out"), "--target", "all")
    assert proc.returncode == 2
    assert "generate the SDK of each version from its own spec" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_compiled_versions_run_as_one_process_and_type_check(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = _compile(str(SPECS / "paths_v1.yaml"), str(SPECS / "paths_v2.yaml"), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "2 versions" in proc.stderr
    typed = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir", os.devnull, "-p", "pets_gateway"],
        cwd=out,
        capture_output=True,
        text=True,
        timeout=120,
        # gatewright.* resolves through the folder-mapping tree `make typecheck` uses
        env={**os.environ, "MYPYPATH": str(REPO / ".typecheck")},
    )
    assert typed.returncode == 0, typed.stdout + typed.stderr
    port = unused_port()
    gateway = subprocess.Popen(
        [sys.executable, "-m", "pets_gateway", "--port", str(port), "--host", "127.0.0.1"],
        cwd=out,
        env={**os.environ, "PYTHONPATH": str(out), "UPSTREAM_URL": "http://127.0.0.1:9"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert gateway.poll() is None, gateway.stderr.read() if gateway.stderr else ""
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
                    assert answer.status == 200
                    break
            except (urllib.error.URLError, ConnectionError):
                assert time.monotonic() < deadline, "the gateway never answered /healthz"
                time.sleep(0.1)
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v3/pets", timeout=5)
        assert missing.value.code == 404
        missing.value.close()
    finally:
        gateway.send_signal(signal.SIGTERM)
        assert gateway.wait(timeout=30) == 0
        if gateway.stderr is not None:
            gateway.stderr.close()
