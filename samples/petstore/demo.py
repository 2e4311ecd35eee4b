"""`make demo`: compile the petstore sample, run it, and call it through the generated SDK.

What it does, in order:

1. ``gatewright compile samples/petstore/openapi.yaml -o .demo/petstore --target all``
2. creates an API key on the ``demo`` usage plan in the embedded SQLite key store
   (``.demo/keys.db``, handed to the gateway through ``GATEWRIGHT_KEY_STORE``);
3. starts the sample backend (``samples/petstore/backend.py``) and the generated gateway
   (``python -m petstore_gateway --stage prod``) on free loopback ports;
4. calls the gateway with the generated SDK, which takes the key as ``api_key``: a
   proxied call, a cache hit, a mock, a function route, a validation error, a call
   without a key (401), the usage plan's throttle (429), and a request for a path the
   API does not have (404);
5. stops both processes.

Everything runs on embedded defaults: no other server is needed.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
OUT = REPO / ".demo" / "petstore"
KEYS_DB = REPO / ".demo" / "keys.db"
PY = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def step(title: str) -> None:
    print(f"\n== {title}")


def show(label: str, value: object) -> None:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    print(f"   {label}: {text}")


def wait_healthy(url: str, proc: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited early with status {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    raise SystemExit(f"{what} did not become ready at {url}")


def compile_sample() -> None:
    step("compile: gatewright compile samples/petstore/openapi.yaml -o .demo/petstore --target all")
    cmd = [PY, "-m", "gatewright.compiler", "compile", "samples/petstore/openapi.yaml", "-o", str(OUT.relative_to(REPO)), "--target", "all"]
    result = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    sys.stderr.write(result.stderr)
    if result.returncode != 0:
        raise SystemExit(result.returncode)
    for sub in ("gateway", "sdk"):
        files = sorted(p.relative_to(OUT).as_posix() for p in (OUT / sub).rglob("*.py"))
        show(f"{sub} modules", ", ".join(files))


def start(cmd: list[str], cwd: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def stop(proc: subprocess.Popen[bytes], name: str) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    show(f"{name} stopped", f"exit status {proc.returncode}")


def raw_get(url: str) -> tuple[int, dict[str, str], Any]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, dict(resp.headers), json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), json.loads(err.read() or b"null")


def create_api_key() -> str:
    """A fresh key on the ``demo`` plan, through the runtime's key store API."""
    from gatewright.runtime import key_store_from_url

    step(f"API key: created in the key store {KEYS_DB.relative_to(REPO)} on usage plan 'demo'")
    KEYS_DB.unlink(missing_ok=True)

    async def create() -> str:
        store = key_store_from_url(f"sqlite:///{KEYS_DB}")
        try:
            secret, record = await store.create(plan="demo", name="demo")
        finally:
            await store.close()
        show("key id", record.id)
        return secret

    return asyncio.run(create())


def story(gateway_url: str, api_key: str) -> None:
    sys.path.insert(0, str(OUT / "sdk"))
    import petstore_client as sdk

    with sdk.Client(base_url=f"{gateway_url}/v1", api_key=api_key) as client:
        step("proxied: client.pets.list_pets(limit=10) -> gateway -> backend")
        raw = client.pets.list_pets.raw(limit=10)  # the raw response, then the model
        show("status", raw.status)
        show("request id", raw.request_id or "-")
        show("pets", [f"{p.id} {p.name} ({getattr(p.species, 'value', p.species)})" for p in raw.parse()])

        step("proxied: client.pets.create_pet(body={...}) -> validated by the gateway, then forwarded")
        pet = client.pets.create_pet(body={"name": "Mia", "species": "cat", "tags": ["indoor"]})
        show("created", {"id": pet.id, "name": pet.name, "species": pet.species})

        step("cache: client.pets.get_pet(pet_id=...) twice -> the second answer comes from the gateway's cache")
        first = client.pets.get_pet.raw(pet_id=pet.id)
        second = client.pets.get_pet.raw(pet_id=pet.id)
        show("first", f"{first.parse().name} (id {first.parse().id}), X-Cache: {first.headers.get('X-Cache', '-')}")
        show("second", f"{second.parse().name} (id {second.parse().id}), X-Cache: {second.headers.get('X-Cache', '-')}")
        if second.headers.get("X-Cache") != "Hit":
            raise SystemExit("the second get_pet was not a cache hit")

        step("mock: client.store.get_inventory() -> answered by the gateway from the spec's example")
        inventory = client.store.get_inventory()
        show("inventory", inventory)

        step("function: client.adoptions.adopt_pet(pet_id=1, ...) -> a Python handler in the gateway")
        result = client.adoptions.adopt_pet(pet_id=1, body={"adopter": "Ada"})
        show("certificate", {"petId": result.pet_id, "adopter": result.adopter, "certificate": result.certificate})

        step("validation error: create_pet with an empty name and an unknown species")
        try:
            client.pets.create_pet(body={"name": "", "species": "unicorn"})  # type: ignore[typeddict-item]
        except sdk.BadRequestError as err:
            show("raised", f"{type(err).__name__} (status {err.status})")
            show("error type", err.headers.get("X-Gateway-Error-Type", "-"))
            show("body", err.body if not hasattr(err.body, "message") else {"message": err.body.message})
            show("backend reached", "no: the gateway rejected it")
        else:
            raise SystemExit("the gateway accepted an invalid pet")

    step("no key: client without api_key -> 401 from the gateway")
    with sdk.Client(base_url=f"{gateway_url}/v1") as anonymous:
        try:
            anonymous.pets.list_pets()
        except sdk.AuthenticationError as err:
            show("raised", f"{type(err).__name__} (status {err.status})")
            show("error type", err.headers.get("X-Gateway-Error-Type", "-"))
        else:
            raise SystemExit("the gateway answered without an API key")

    step("throttle: get_inventory until the usage plan answers 429 (plan 'demo' allows it a burst of 2)")
    # no retries, so the 429 reaches us instead of being waited out
    with sdk.Client(base_url=f"{gateway_url}/v1", api_key=api_key, max_retries=0) as eager:
        try:
            for n in range(1, 4):
                eager.store.get_inventory()
                show(f"call {n}", "200")
        except sdk.RateLimitError as err:
            show(f"call {n}", f"{type(err).__name__} (status {err.status})")
            show("error type", err.headers.get("X-Gateway-Error-Type", "-"))
            show("Retry-After", err.headers.get("Retry-After", "-"))
        else:
            raise SystemExit("the usage plan's throttle did not answer 429")

    step("not found: GET /v1/unicorns (a path the API does not have)")
    status, headers, body = raw_get(f"{gateway_url}/v1/unicorns")
    show("status", status)
    show("error type", headers.get("X-Gateway-Error-Type", "-"))
    show("body", body)

    step("public document: GET /v1/openapi.json (the exported spec, served by the gateway)")
    status, headers, document = raw_get(f"{gateway_url}/v1/openapi.json")
    show("status", status)
    show("servers", [s["url"] for s in document["servers"]])
    show("security schemes", sorted(document["components"]["securitySchemes"]))


def main() -> None:
    os.chdir(REPO)
    compile_sample()
    api_key = create_api_key()
    backend_port, gateway_port = free_port(), free_port()
    env = dict(os.environ)
    env["GATEWRIGHT_KEY_STORE"] = f"sqlite:///{KEYS_DB}"
    # the gateway's dev stage points at the backend; the function handler lives in samples/
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), str(OUT / "gateway"), env.get("PYTHONPATH", "")])
    backend = start([PY, str(HERE / "backend.py"), "--port", str(backend_port)], REPO, env)
    spec_url = f"http://127.0.0.1:{backend_port}"
    # stage 'prod' reads its backend URL from ${env.PETS_URL} when the gateway starts
    gateway = start(
        [PY, "-m", "petstore_gateway", "--stage", "prod", "--host", "127.0.0.1", "--port", str(gateway_port)],
        OUT / "gateway",
        {**env, "PETS_URL": spec_url},
    )
    try:
        step(f"start: backend on :{backend_port}; gateway on :{gateway_port} with --stage prod and PETS_URL={spec_url}")
        wait_healthy(f"{spec_url}/pets", backend, "backend")
        wait_healthy(f"http://127.0.0.1:{gateway_port}/healthz", gateway, "gateway")
        show("gateway", f"http://127.0.0.1:{gateway_port}/healthz is ready")
        story(f"http://127.0.0.1:{gateway_port}", api_key)
    finally:
        step("stop")
        stop(gateway, "gateway")
        stop(backend, "backend")
        if gateway.returncode not in (0, -signal.SIGTERM) and gateway.stderr is not None:
            sys.stderr.write(gateway.stderr.read().decode(errors="replace"))
    print(
        "\ndemo finished: proxied calls, a cache hit, a mock, a function route, a validation error,"
        " a 401 without a key, a 429 from the usage plan, a 404 and the public document"
    )


if __name__ == "__main__":
    main()
