"""`make demo`: compile the petstore sample, run it, and call it through the generated SDK.

What it does, in order:

1. ``gatewright compile samples/petstore/openapi.yaml -o .demo/petstore --target all``
2. starts the sample backend (``samples/petstore/backend.py``) and the generated gateway
   (``python -m petstore_gateway --stage dev``) on free loopback ports;
3. calls the gateway with the generated SDK: a proxied call, a mock, a function route,
   a validation error, and a request for a path the API does not have (404);
4. stops both processes.

Everything runs on embedded defaults: no other server is needed.
"""

from __future__ import annotations

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


def story(gateway_url: str) -> None:
    sys.path.insert(0, str(OUT / "sdk"))
    import petstore_client as sdk

    with sdk.Client(base_url=f"{gateway_url}/v1") as client:
        step("proxied: client.pets.list_pets(limit=10) -> gateway -> backend")
        raw = client.pets.with_raw_response.list_pets(limit=10)  # the raw response, then the model
        show("status", raw.status)
        show("request id", raw.request_id or "-")
        show("pets", [f"{p.id} {p.name} ({getattr(p.species, 'value', p.species)})" for p in raw.parse()])

        step("proxied: client.pets.create_pet(body={...}) -> validated by the gateway, then forwarded")
        pet = client.pets.create_pet(body={"name": "Mia", "species": "cat", "tags": ["indoor"]})
        show("created", {"id": pet.id, "name": pet.name, "species": pet.species})
        fetched = client.pets.get_pet(pet_id=pet.id)
        show("fetched again", f"{fetched.name} (id {fetched.id})")

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

    step("not found: GET /v1/unicorns (a path the API does not have)")
    status, headers, body = raw_get(f"{gateway_url}/v1/unicorns")
    show("status", status)
    show("error type", headers.get("X-Gateway-Error-Type", "-"))
    show("body", body)


def main() -> None:
    os.chdir(REPO)
    compile_sample()
    backend_port, gateway_port = free_port(), free_port()
    env = dict(os.environ)
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
        story(f"http://127.0.0.1:{gateway_port}")
    finally:
        step("stop")
        stop(gateway, "gateway")
        stop(backend, "backend")
        if gateway.returncode not in (0, -signal.SIGTERM) and gateway.stderr is not None:
            sys.stderr.write(gateway.stderr.read().decode(errors="replace"))
    print("\ndemo finished: proxied calls, a mock, a function route, a validation error and a 404")


if __name__ == "__main__":
    main()
