"""Retries of POSTs: only for operations the spec marks with ``x-gateway.idempotencyKey``.

The spec ``specs/idempotency.yaml`` has two POSTs behind a real gateway process; the
upstream is an aiohttp server in this process that records every request it gets and
answers 503 until told otherwise. The marked POST must be retried with one
``Idempotency-Key`` on every attempt; the unmarked one must reach the upstream once.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from aiohttp import web
from gatewright.compiler.pipeline import build_ir

from .petstore_scenario import ClientKind, drive
from .support import REPO, compile_all, compile_spec, free_port, gateway, imported_sdk

SPEC = REPO / "tests" / "e2e" / "specs" / "idempotency.yaml"
OPERATIONS = {"createCharge": ("charges", "create_charge"), "createNote": ("notes", "create_note")}
FAILURES_BEFORE_SUCCESS = 2


@dataclass
class Seen:
    path: str
    idempotency_key: str | None


@dataclass
class RecordingUpstream:
    """Answers each path 503 ``failures`` times, then 201; records every request."""

    failures: dict[str, int] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.seen.append(Seen(request.path, request.headers.get("Idempotency-Key")))
        left = self.failures.get(request.path, 0)
        if left > 0:
            self.failures[request.path] = left - 1
            return web.json_response({"message": "try again"}, status=503)
        body = await request.json()
        return web.json_response({"id": f"e{len(self.seen)}", "amount": body["amount"]}, status=201)


@pytest.fixture(scope="module")
def upstream() -> Iterator[tuple[RecordingUpstream, str]]:
    """The upstream on its own event loop thread, so sync and async clients can both run."""
    recorder = RecordingUpstream()
    app = web.Application()
    app.router.add_post("/{tail:.*}", recorder.handle)
    runner = web.AppRunner(app, access_log=None)
    loop = asyncio.new_event_loop()
    port = free_port()
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
    thread = threading.Thread(target=loop.run_forever, name="recording-upstream", daemon=True)
    thread.start()
    try:
        yield recorder, f"http://127.0.0.1:{port}"
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.run_until_complete(runner.cleanup())
        loop.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, upstream: tuple[RecordingUpstream, str]) -> Iterator[tuple[str, ModuleType]]:
    out = tmp_path_factory.mktemp("ledger")
    compile_all(SPEC, out)
    with imported_sdk(out / "sdk", "ledger_client") as sdk, gateway(out, "ledger", "dev", {"LEDGER_URL": upstream[1]}) as url:
        yield url, sdk


@pytest.fixture
def recorder(upstream: tuple[RecordingUpstream, str]) -> RecordingUpstream:
    recorder = upstream[0]
    recorder.seen.clear()
    recorder.failures.clear()
    return recorder


def test_idempotency_key_setting_marks_the_operation_in_the_ir() -> None:
    api, diags = build_ir(SPEC)
    assert api is not None, [d.message for d in diags]
    assert {op.id: op.idempotent for op in api.operations} == {"createCharge": True, "createNote": False}


@pytest.mark.parametrize("kind", ["async", "sync"])
def test_marked_post_is_retried_with_one_idempotency_key(
    kind: ClientKind, served: tuple[str, ModuleType], recorder: RecordingUpstream
) -> None:
    url, sdk = served
    recorder.failures["/charges"] = FAILURES_BEFORE_SUCCESS
    with drive(sdk, kind, OPERATIONS, base_url=url, max_retries=3, retry_backoff=0.01) as call:
        answer = call.raw("createCharge", body={"amount": 42})
    assert answer.status == 201 and answer.retries == FAILURES_BEFORE_SUCCESS
    assert answer.parse().amount == 42
    assert [s.path for s in recorder.seen] == ["/charges"] * (FAILURES_BEFORE_SUCCESS + 1)
    keys = {s.idempotency_key for s in recorder.seen}
    assert len(keys) == 1 and None not in keys, f"attempts carried different keys: {keys}"


def test_each_call_of_a_marked_post_gets_its_own_key(served: tuple[str, ModuleType], recorder: RecordingUpstream) -> None:
    url, sdk = served
    with drive(sdk, "async", OPERATIONS, base_url=url) as call:
        call("createCharge", body={"amount": 1})
        call("createCharge", body={"amount": 2})
    first, second = (s.idempotency_key for s in recorder.seen)
    assert first and second and first != second


def test_callers_own_idempotency_key_is_kept_across_retries(served: tuple[str, ModuleType], recorder: RecordingUpstream) -> None:
    url, sdk = served
    recorder.failures["/charges"] = 1
    with drive(sdk, "sync", OPERATIONS, base_url=url, max_retries=2, retry_backoff=0.01) as call:
        call("createCharge", body={"amount": 3}, extra_headers={"Idempotency-Key": "order-1234"})
    assert [s.idempotency_key for s in recorder.seen] == ["order-1234", "order-1234"]


@pytest.mark.parametrize("kind", ["async", "sync"])
def test_unmarked_post_is_not_retried(kind: ClientKind, served: tuple[str, ModuleType], recorder: RecordingUpstream) -> None:
    url, sdk = served
    recorder.failures["/notes"] = FAILURES_BEFORE_SUCCESS
    with drive(sdk, kind, OPERATIONS, base_url=url, max_retries=3, retry_backoff=0.01) as call, pytest.raises(sdk.ServerStatusError) as failed:
        call("createNote", body={"amount": 7})
    assert failed.value.status == 503
    assert recorder.seen == [Seen("/notes", None)], "the SDK retried a POST the spec does not mark idempotent"


def test_exported_document_documents_the_idempotency_key_header(tmp_path: Path) -> None:
    document = _export(tmp_path)
    charge = [p["name"] for p in document["paths"]["/charges"]["post"].get("parameters", [])]
    note = [p["name"] for p in document["paths"]["/notes"]["post"].get("parameters", [])]
    assert charge == ["Idempotency-Key"] and note == []


@pytest.mark.parametrize("kind", ["async", "sync"])
def test_sdk_from_the_exported_document_retries_the_marked_post_with_one_key(
    kind: ClientKind, tmp_path: Path, served: tuple[str, ModuleType], recorder: RecordingUpstream
) -> None:
    """No x-gateway in the export: the documented Idempotency-Key header carries the mark."""
    url, _ = served
    _export(tmp_path)
    compile_spec(tmp_path / "exported.json", tmp_path / "sdk", "--target", "sdk", "--name", "ledger_public")
    recorder.failures["/charges"] = FAILURES_BEFORE_SUCCESS
    with imported_sdk(tmp_path / "sdk", "ledger_public_client") as sdk:
        with drive(sdk, kind, OPERATIONS, base_url=url, max_retries=3, retry_backoff=0.01) as call:
            answer = call.raw("createCharge", body={"amount": 7})
        assert answer.status == 201 and answer.retries == FAILURES_BEFORE_SUCCESS
        keys = {s.idempotency_key for s in recorder.seen}
        assert len(keys) == 1 and None not in keys, f"attempts carried different keys: {keys}"
        recorder.seen.clear()
        recorder.failures["/notes"] = 1
        with drive(sdk, kind, OPERATIONS, base_url=url, max_retries=3, retry_backoff=0.01) as call, pytest.raises(
            sdk.ServerStatusError
        ) as failed:
            call("createNote", body={"amount": 1})
        assert failed.value.status == 503
        assert [s.path for s in recorder.seen] == ["/notes"], "the SDK retried a POST the export does not mark"


def _export(tmp_path: Path) -> dict[str, Any]:
    target = tmp_path / "exported.json"
    result = subprocess.run(
        [sys.executable, "-m", "gatewright.compiler", "export", str(SPEC), "--stage", "dev", "-o", str(target)],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    loaded: dict[str, Any] = json.loads(target.read_text("utf-8"))
    return loaded
