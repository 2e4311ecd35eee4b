"""Property-based API testing of generated gateways with schemathesis.

Each gateway under test is compiled from its spec, started as a process on 127.0.0.1,
and exercised with cases generated from its *exported* document (``export_document``:
the public contract, gateway responses included). For every case:

- a 5xx is a failure unless it is a deliberate 502/504 with an integration or
  authorizer error type;
- the response must conform to the exported document (status code, content type,
  headers and body schema);
- a request the gateway rejected as invalid (400 with ``BAD_REQUEST_*``, 413, 415)
  must not have reached the backend: the petstore backend counts every request it
  receives.

The petstore sample runs in front of its own backend (``samples/petstore/backend.py``,
served from a background thread with a counting middleware), twice: as written (API
key, usage plan throttles and quota, a cached operation) and ``secured``, where every
operation also needs a JWT (RS256, keys from a JWKS endpoint beside the backend).
Corpus specs are compiled as they are and answer with mocks.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
import schemathesis
import yaml
from aiohttp import web
from aiohttp.typedefs import Handler
from cryptography.hazmat.primitives.asymmetric import rsa
from gatewright.compiler.diagnostics import Diagnostics
from gatewright.compiler.export import export_document
from gatewright.compiler.ir.build import build_api
from gatewright.compiler.pipeline import load_and_validate
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.errors import Unsatisfiable
from jwt.algorithms import RSAAlgorithm
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Ok

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "hardening"))

from hardening_support import GatewayProcess, compile_gateway, free_port

__all__ = [
    "CORPUS_GATEWAYS",
    "KNOWN_CAUSES",
    "CountingBackend",
    "FuzzStats",
    "GatewayUnderTest",
    "create_api_key",
    "fuzz_gateway",
    "generous_plan_limits",
    "petstore_spec",
    "running_gateways",
    "with_jwt",
]

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / "shared" / "corpus"
PETSTORE = REPO / "samples" / "petstore"

# Corpus specs compiled as they are (mock integrations answer from their examples).
CORPUS_GATEWAYS = (
    "oai-examples/v3.0/petstore.yaml",
    "oai-examples/v3.0/petstore-expanded.yaml",
    "oai-examples/v3.0/uspto.yaml",
    "oai-examples/v3.0/api-with-examples.yaml",
    "oai-examples/v3.0/link-example.yaml",
    "aws-http-api-petstore/openapi.spec.json",
    "oai-examples/v3.0/callback-example.yaml",
    "oai-examples/v3.1/webhook-example.yaml",
)
JWT_ISSUER = "https://idp.fuzz.test"
JWT_AUDIENCE = "petstore"
DELIBERATE_5XX = frozenset({"INTEGRATION_FAILURE", "INTEGRATION_TIMEOUT", "AUTHORIZER_FAILURE"})
CONFORMANCE_CHECKS = [
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


# --------------------------------------------------------------------------- the backend


class CountingBackend:
    """The petstore sample backend in a background thread, counting every request."""

    def __init__(self) -> None:
        self.requests = 0
        self.port = 0
        self.jwks_port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="backend", daemon=True)
        self._runners: list[web.AppRunner] = []
        self.signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def jwks_url(self) -> str:
        """The identity provider's key set: served beside the backend, not counted."""
        return f"http://127.0.0.1:{self.jwks_port}/jwks.json"

    def token(self) -> str:
        """A valid bearer token for the ``secured`` gateway, good for a day."""
        now = int(time.time())
        claims = {"iss": JWT_ISSUER, "aud": JWT_AUDIENCE, "sub": "schemathesis", "iat": now, "exp": now + 86400}
        return jwt.encode(claims, self.signing_key, algorithm="RS256", headers={"kid": "fuzz"})

    def start(self) -> None:
        self._thread.start()
        future: Future[None] = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        future.result(30)

    def stop(self) -> None:
        future: Future[None] = asyncio.run_coroutine_threadsafe(self._stop(), self._loop)
        future.result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _start(self) -> None:
        spec = importlib.util.spec_from_file_location("petstore_backend", PETSTORE / "backend.py")
        if spec is None or spec.loader is None:
            raise AssertionError("cannot load the petstore backend")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        app: web.Application = module.make_app()

        @web.middleware
        async def count(request: web.Request, handler: Handler) -> web.StreamResponse:
            self.requests += 1
            return await handler(request)

        app.middlewares.append(count)
        self.port = await self._serve(app)

        jwk: dict[str, Any] = RSAAlgorithm.to_jwk(self.signing_key.public_key(), as_dict=True)
        jwk.update(kid="fuzz", alg="RS256", use="sig")

        async def jwks(request: web.Request) -> web.Response:
            return web.json_response({"keys": [jwk]})

        jwks_app = web.Application()
        jwks_app.router.add_get("/jwks.json", jwks)
        self.jwks_port = await self._serve(jwks_app)

    async def _serve(self, app: web.Application) -> int:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        self._runners.append(runner)
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        return port

    async def _stop(self) -> None:
        for runner in self._runners:
            await runner.cleanup()


# --------------------------------------------------------------------------- gateways


@dataclass(slots=True)
class GatewayUnderTest:
    name: str
    process: GatewayProcess
    document: dict[str, Any]  # the exported document
    counter: Callable[[], int] | None = None  # requests the backend has received
    headers: dict[str, str] = field(default_factory=dict)  # sent with every case (an API key)

    @property
    def base_url(self) -> str:
        servers = self.document.get("servers") or [{"url": self.process.url}]
        return str(servers[0]["url"])


def _exported(spec_path: Path, stage: str | None, server_url: str) -> tuple[dict[str, Any], str]:
    diags = Diagnostics()
    spec = load_and_validate(spec_path, diags)
    if spec is None:
        raise AssertionError(f"{spec_path} does not load: {[d.message for d in diags.errors()]}")
    api = build_api(spec, diags)
    if api is None:
        raise AssertionError(f"{spec_path} does not build: {[d.message for d in diags.errors()]}")
    return export_document(spec, api, stage=stage, server_url=server_url + api.base_path), api.base_path


def _start(
    name: str, spec_path: Path, out: Path, *, stage: str | None, env: dict[str, str], log_dir: Path
) -> tuple[GatewayProcess, dict[str, Any]]:
    """``stage`` None: the package's default stage."""
    package = compile_gateway(spec_path, out)
    port = free_port()
    argv = [sys.executable, "-m", package, "--host", "127.0.0.1", "--port", str(port)]
    argv += ["--stage", stage] if stage is not None else []
    process = GatewayProcess(argv, port=port, cwd=out, env=env, log_path=log_dir / f"{package}.log")
    document, _ = _exported(spec_path, stage, process.url)
    return process, document


def create_api_key(store_url: str) -> str:
    """A key on the sample's ``demo`` usage plan, made through the runtime's key store."""
    from gatewright.runtime import key_store_from_url

    async def create() -> str:
        store = key_store_from_url(store_url)
        try:
            secret, _ = await store.create(plan="demo", name="schemathesis")
        finally:
            await store.close()
        return str(secret)

    return asyncio.run(create())


def generous_plan_limits(document: dict[str, Any]) -> None:
    """Raise the sample's usage plan limits so that generated traffic exercises the
    operations rather than the plan's 20 requests a second; the ``getInventory``
    method throttle (0.2/s) stays, so 429 answers are still produced and checked."""
    plan = document["x-gateway"]["usagePlans"]["demo"]
    plan["throttle"] = {"rate": 100000, "burst": 100000}
    plan["quota"] = {"limit": 1000000000, "period": "day"}


def with_jwt(document: dict[str, Any]) -> None:
    """Every operation of the sample also needs a JWT: the API key AND a bearer token."""
    generous_plan_limits(document)
    document["components"]["securitySchemes"]["bearer"] = {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "x-gateway": {
            "kind": "jwt",
            "issuer": JWT_ISSUER,
            "audiences": [JWT_AUDIENCE],
            "algorithms": ["RS256"],
            "jwksUri": "${env.FUZZ_JWKS_URL}",
        },
    }
    document["security"] = [{**requirement, "bearer": []} for requirement in document["security"]]


def petstore_spec(
    workdir: Path, patch: Callable[[dict[str, Any]], None] | None = None, *, name: str = "petstore-spec"
) -> Path:
    """The sample with ``Pet`` spelled out: in the sample, ``Pet`` is ``allOf: [NewPet,
    {id}]`` while ``NewPet`` says ``additionalProperties: false``, so no pet with an
    ``id`` can satisfy ``Pet``; the backend's answers are right and the schema is not."""
    document = yaml.safe_load((PETSTORE / "openapi.yaml").read_text())
    schemas = document["components"]["schemas"]
    new_pet = schemas["NewPet"]
    schemas["Pet"] = {
        **new_pet,
        "required": [*new_pet["required"], "id"],
        "properties": {**new_pet["properties"], "id": {"type": "integer", "format": "int64", "readOnly": True}},
    }
    if patch is not None:
        patch(document)
    target = workdir / name / "openapi.yaml"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump(document, sort_keys=False))
    return target


@contextlib.contextmanager
def running_gateways(
    workdir: Path, *, corpus: tuple[str, ...] = CORPUS_GATEWAYS, petstore: bool = True
) -> Iterator[list[GatewayUnderTest]]:
    """Compile and start the petstore sample (with its counting backend) and ``corpus``
    specs that exist under ``../shared/corpus``; stop everything afterwards."""
    backend = CountingBackend() if petstore else None
    gateways: list[GatewayUnderTest] = []
    log_dir = workdir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    try:
        base_env = dict(os.environ)
        if backend is not None:
            backend.start()
            key_store = f"sqlite:///{workdir / 'keys.db'}"
            env = dict(base_env, PETS_URL=backend.url, GATEWRIGHT_KEY_STORE=key_store)
            env["PYTHONPATH"] = os.pathsep.join([str(PETSTORE), env.get("PYTHONPATH", "")])
            process, document = _start(
                "samples/petstore", petstore_spec(workdir, generous_plan_limits), workdir / "petstore",
                stage="prod", env=env, log_dir=log_dir,
            )
            api_key = create_api_key(key_store)
            gateways.append(
                GatewayUnderTest(
                    "samples/petstore", process, document, lambda: backend.requests, headers={"X-API-Key": api_key}
                )
            )
            secured_env = dict(env, FUZZ_JWKS_URL=backend.jwks_url)
            process, document = _start(
                "samples/petstore (secured)", petstore_spec(workdir, with_jwt, name="secured-spec"),
                workdir / "secured", stage="prod", env=secured_env, log_dir=log_dir,
            )
            gateways.append(
                GatewayUnderTest(
                    "samples/petstore (secured)",
                    process,
                    document,
                    lambda: backend.requests,
                    headers={"X-API-Key": api_key, "Authorization": f"Bearer {backend.token()}"},
                )
            )
        for index, rel in enumerate(corpus):
            if not (CORPUS / rel).exists():
                continue
            process, document = _start(
                rel, CORPUS / rel, workdir / f"corpus{index}", stage=None, env=base_env, log_dir=log_dir
            )
            gateways.append(GatewayUnderTest(rel, process, document))
        for gateway in gateways:
            gateway.process.wait_ready()
        yield gateways
    finally:
        for gateway in gateways:
            gateway.process.stop()
        if backend is not None:
            backend.stop()


# --------------------------------------------------------------------------- fuzzing


@dataclass(slots=True)
class FuzzStats:
    cases: int = 0
    server_errors: int = 0  # 5xx that are not a deliberate 502/504
    conformance_failures: int = 0
    # conformance failures by cause: the open defects (KNOWN_CAUSES) or "unexplained"
    conformance_causes: Counter[str] = field(default_factory=Counter)
    reached_backend: int = 0  # rejected as invalid, yet the backend saw it
    transport_errors: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)  # one example per distinct failure

    def add(self, other: FuzzStats) -> None:
        self.cases += other.cases
        self.server_errors += other.server_errors
        self.conformance_failures += other.conformance_failures
        self.conformance_causes.update(other.conformance_causes)
        self.reached_backend += other.reached_backend
        self.transport_errors += other.transport_errors
        self.statuses.update(other.statuses)
        for key, value in other.examples.items():
            self.examples.setdefault(key, value)

    @property
    def failures(self) -> int:
        return self.server_errors + self.conformance_failures + self.reached_backend + self.transport_errors


def _header(response: Any, name: str) -> str | None:
    value = response.headers.get(name.lower(), response.headers.get(name))
    if isinstance(value, list):
        return str(value[0]) if value else None
    return None if value is None else str(value)


# Conformance failures whose root cause is known and still open, by cause name, with
# a classifier in ``_cause``. Empty: every cause found so far is fixed at its root
# (mock bodies built from the response schema, 429 documented wherever a usage plan
# applies, decoded newlines routed by the gateway).
KNOWN_CAUSES: dict[str, str] = {}


def _cause(response: Any, failure: str) -> str:
    """The open cause a conformance failure belongs to; "unexplained" when none."""
    return "unexplained"


def _check_case(gateway: GatewayUnderTest, case: Any, stats: FuzzStats) -> None:
    before = gateway.counter() if gateway.counter is not None else 0
    where = f"{gateway.name} {case.method} {case.path}"
    try:
        response = case.call(base_url=gateway.base_url, headers=gateway.headers, timeout=15)
    except Exception as exc:  # the gateway did not answer at all
        stats.transport_errors += 1
        stats.examples.setdefault(f"transport: {type(exc).__name__}", f"{where}: {exc}")
        return
    stats.cases += 1
    status = response.status_code
    stats.statuses[status] += 1
    error_type = _header(response, "X-Gateway-Error-Type")
    if status >= 500 and not (status in (502, 504) and error_type in DELIBERATE_5XX):
        stats.server_errors += 1
        stats.examples.setdefault(f"5xx: {status} {error_type}", f"{where}: {response.text[:300]}")
    try:
        case.validate_response(response, checks=CONFORMANCE_CHECKS)
    except (Exception, BaseExceptionGroup) as exc:  # a FailureGroup describes the mismatches
        stats.conformance_failures += 1
        stats.conformance_causes[_cause(response, str(exc))] += 1
        text = str(exc)
        kinds = ", ".join(re.findall(r"^- (ST\d+ [^\n]*)$", text, re.MULTILINE)) or type(exc).__name__
        stats.examples.setdefault(
            f"conformance: {gateway.name} {case.method} {case.path} -> {status}: {kinds}",
            f"{where} -> {status} {error_type}\n{text[:1500]}",
        )
    if gateway.counter is not None:
        rejected = status in (413, 415) or (status == 400 and (error_type or "").startswith("BAD_REQUEST"))
        if rejected and gateway.counter() != before:
            stats.reached_backend += 1
            stats.examples.setdefault("reached the backend", f"{where} -> {status} {error_type}")


def fuzz_gateway(
    gateway: GatewayUnderTest,
    *,
    examples_per_operation: int,
    seed: int,
    modes: tuple[GenerationMode, ...] = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE),
) -> FuzzStats:
    """Run ``examples_per_operation`` cases per operation and mode; never raises on a
    finding (failures are counted, with one example each)."""
    stats = FuzzStats()
    schema = schemathesis.openapi.from_dict(gateway.document)
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):  # an operation schemathesis cannot read: reported
            stats.examples.setdefault(f"unreadable operation in {gateway.name}", str(result.err()))
            stats.transport_errors += 1
            continue
        operation = result.ok()
        for mode in modes:
            strategy = operation.as_strategy(generation_mode=mode)

            @hypothesis_seed(seed)
            @settings(
                max_examples=examples_per_operation,
                deadline=None,
                database=None,
                derandomize=False,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(strategy)
            def run(case: Any) -> None:
                _check_case(gateway, case, stats)

            try:
                run()
            except Unsatisfiable:  # nothing to negate: an operation without inputs
                continue
    return stats
