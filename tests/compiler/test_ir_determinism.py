"""The IR does not depend on hash randomisation: ``gatewright inspect`` prints the
same bytes under different ``PYTHONHASHSEED`` values."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "samples" / "petstore" / "openapi.yaml"
CASE_SPEC = """\
openapi: 3.1.0
info: {title: Determinism, version: "1"}
x-gateway:
  version: 1
  stages:
    dev: {variables: {host: "127.0.0.1:9000", zone: a}}
    prod: {variables: {zone: b, host: "pets.internal"}}
  backends:
    pets: {url: "http://${stage.host}/v1"}
    zoo: {url: "http://${stage.host}/zoo"}
  defaults:
    integration: {type: http_proxy, backend: pets}
paths:
  /pets/{id}:
    get:
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
        - {name: tags, in: query, schema: {type: array, items: {type: string}, uniqueItems: true}}
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Pet'}
  /zoo/{animal}:
    x-gateway:
      integration: {type: http_proxy, backend: zoo}
    put:
      requestBody:
        content:
          application/json:
            schema:
              type: object
              required: [b, a, c]
              properties: {c: {type: string}, a: {type: integer}, b: {type: [string, "null"]}}
      responses:
        "204": {description: stored}
components:
  schemas:
    Pet:
      type: object
      required: [name]
      properties:
        name: {type: string}
        class: {type: string}
        Class: {type: string}
        friends: {type: array, items: {$ref: '#/components/schemas/Pet'}}
    pet: {type: string, enum: [x, y, z]}
"""


def _inspect(spec: Path, seed: str) -> bytes:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    proc = subprocess.run([sys.executable, "-m", "gatewright.compiler", "inspect", str(spec)], cwd=REPO, env=env, capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout


def test_inspect_output_is_byte_identical_across_hash_seeds(tmp_path: Path) -> None:
    spec = tmp_path / "openapi.yaml"
    spec.write_text(CASE_SPEC, encoding="utf-8")
    specs = [spec] + ([SAMPLE] if SAMPLE.exists() else [])
    for path in specs:
        outputs = {_inspect(path, seed) for seed in ("0", "4242")}
        assert len(outputs) == 1, f"{path}: inspect output differs between hash seeds"
        assert b'"node": "Api"' in next(iter(outputs))
