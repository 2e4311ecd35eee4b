"""openapi-spec-validator made cheaper in the process that validates a big spec.

That process swaps two of the validator's data structures for faster equivalents
(see ``pipeline._quicken_validator``); the findings must be exactly those of the
validator as shipped, on valid specs and on every kind of invalid one.
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from gatewright.compiler import pipeline
from gatewright.compiler.diagnostics import Diagnostics
from gatewright.compiler.source.loading import LoadFailed, load
from gatewright.compiler.validate.openapi import validate_openapi

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / "shared" / "corpus"

Finding = tuple[str, str, str, str, str | None]

# Schemas reached many times over (the validator's id bookkeeping), schemas the
# meta-schema refuses, required properties no allOf branch declares, defaults
# that do not match, and parameters and responses out of shape.
SCHEMA_TROUBLE = """\
openapi: 3.0.3
info: {title: Trouble, version: "1"}
paths:
  /things/{id}:
    parameters:
      - {name: id, in: path, required: true, schema: {type: string}}
    get:
      parameters:
        - {name: limit, in: query, schema: {type: integer, default: many}}
        - {name: bad, in: nowhere}
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Thing"}
        "404": {content: {}}
    put:
      requestBody:
        content:
          application/json:
            schema:
              allOf:
                - {$ref: "#/components/schemas/Thing"}
                - {type: object, properties: {extra: {type: string}}}
              required: [extra, undeclared]
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Thing"}}}}
components:
  schemas:
    Thing:
      type: object
      required: [name]
      properties:
        name: {type: string, default: 3}
        tags: {type: array, items: {$ref: "#/components/schemas/Tag"}}
        size: {type: integer, minimum: "small"}
        parent: {$ref: "#/components/schemas/Thing"}
    Tag:
      type: object
      properties:
        label: {type: string, nullable: true, default: null}
        kind: {type: strange}
"""


def _specs() -> list[Path]:
    found = sorted((REPO / "tests" / "diagnostics" / "cases").glob("*.yaml"))
    found += sorted((REPO / "tests" / "diagnostics" / "cases").glob("*.json"))
    found += [REPO / "samples" / "petstore" / "openapi.yaml", REPO / "tests" / "golden" / "hostile" / "openapi.yaml"]
    found += [CORPUS / "swagger-petstore31" / "petstore.yaml", CORPUS / "oai-examples" / "v3.0" / "uspto.yaml"]
    return [p for p in found if p.exists()]


def _findings(paths: list[Path]) -> list[list[Finding]]:
    out: list[list[Finding]] = []
    for path in paths:
        try:
            spec = load(path, Diagnostics())
        except LoadFailed:
            out.append([])
            continue
        diags = Diagnostics()
        validate_openapi(spec, diags)
        out.append([(d.code, d.severity.value, str(d.origin), d.message, d.hint) for d in diags])
    return out


def _quick_findings(paths: list[Path], conn: multiprocessing.connection.Connection) -> None:
    pipeline._quicken_validator()
    conn.send(_findings(paths))
    conn.close()


def test_the_quickened_validator_finds_what_the_shipped_one_finds(tmp_path: Path) -> None:
    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("needs fork")
    trouble = tmp_path / "trouble.yaml"
    trouble.write_text(SCHEMA_TROUBLE, encoding="utf-8")
    paths = [trouble, *_specs()]
    shipped = _findings(paths)
    ctx = multiprocessing.get_context("fork")
    receiver, sender = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_quick_findings, args=(paths, sender))
    process.start()
    sender.close()
    quick = receiver.recv()
    process.join()
    assert process.exitcode == 0
    assert quick == shipped
    assert len(shipped[0]) >= 3 and sum(len(f) for f in shipped) >= 12, "the cases no longer exercise the validator"


def test_the_id_list_answers_membership_as_a_list() -> None:
    ids = pipeline._IdList()
    for value in (3, 9, 3):
        ids.append(value)
    assert ids == [3, 9, 3] and 9 in ids and 4 not in ids
    ids.clear()
    assert ids == [] and 3 not in ids


def test_the_subscriptable_check_answers_as_the_protocol() -> None:
    from pathable.protocols import Subscriptable

    pipeline._SubscriptableType.protocol = Subscriptable
    pipeline._SubscriptableType.answers = {dict: True, list: True, int: False}
    for value in ({}, [1], 0, "text", 1.5, None, b"x", (1,), object()):
        assert isinstance(value, pipeline._Subscriptable) == isinstance(value, Subscriptable), value
