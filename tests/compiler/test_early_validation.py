"""openapi-spec-validator in a process started before a big spec is loaded.

The process imports the validator while this one loads the spec, then validates
the spec it is sent. Its diagnostics must be exactly those of validating in this
process, and a spec that does not load must not leave the process behind.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path
from typing import Any

import pytest
from gatewright.compiler import pipeline
from gatewright.compiler.diagnostics import Diagnostics
from gatewright.compiler.pipeline import build_ir, compile_to_tree
from gatewright.compiler.source.loading import LoadedSpec


def _big_spec(valid: bool) -> dict[str, Any]:
    """A JSON spec over the size threshold (long descriptions), with one OpenAPI
    mistake when not ``valid``."""
    paths: dict[str, Any] = {}
    for i in range(150):
        operation: dict[str, Any] = {
            "operationId": f"getThing{i}",
            "description": f"Thing {i}. " + "Lorem ipsum dolor sit amet. " * 70,
            "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "string"}}}}},
        }
        paths[f"/things{i}"] = {"get": operation}
    if not valid:
        paths["/things7"]["get"]["responses"]["200"]["bogus"] = 1
        del paths["/things9"]["get"]["responses"]["200"]["description"]
    return {"openapi": "3.0.3", "info": {"title": "Big", "version": "1.0"}, "paths": paths}


def _write(tmp_path: Path, valid: bool) -> Path:
    spec = tmp_path / "big.json"
    spec.write_text(json.dumps(_big_spec(valid), indent=1), encoding="utf-8")
    assert spec.stat().st_size >= pipeline._EARLY_VALIDATION_MIN_BYTES
    return spec


def _reported(path: Path) -> list[tuple[str, str, str, str]]:
    _, diags = build_ir(path)
    return [(d.code, d.origin.file, d.origin.pointer, d.message) for d in diags]


@pytest.mark.parametrize("valid", [True, False])
def test_early_process_reports_what_this_process_would(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, valid: bool) -> None:
    spec = _write(tmp_path, valid)
    started: list[object] = []
    real_start = pipeline._ValidatorProcess.start

    def spy(path: Path) -> pipeline._ValidatorProcess | None:
        early = real_start(path)
        started.append(early)
        return early

    parent = os.getpid()
    real_validate = pipeline.validate_openapi

    def only_in_a_child(loaded: LoadedSpec, diags: Diagnostics) -> None:
        assert os.getpid() != parent, "validated in this process instead"
        real_validate(loaded, diags)

    monkeypatch.setattr(pipeline._ValidatorProcess, "start", spy)
    monkeypatch.setattr(pipeline, "validate_openapi", only_in_a_child)
    early = _reported(spec)
    assert started and started[0] is not None, "the big spec was not validated in an early process"
    monkeypatch.setattr(pipeline, "validate_openapi", real_validate)
    monkeypatch.setattr(pipeline, "_EARLY_VALIDATION_MIN_BYTES", 1 << 40)
    monkeypatch.setattr(pipeline, "_BACKGROUND_VALIDATION_MIN_PATHS", 1 << 40)
    here = _reported(spec)
    assert early == here
    if not valid:
        assert [c for c, *_ in early].count("GW200") >= 2, early
    assert not multiprocessing.active_children()


def test_a_big_spec_that_does_not_load_stops_the_process(tmp_path: Path) -> None:
    spec = _write(tmp_path, True)
    spec.write_text(spec.read_text("utf-8")[:-50], encoding="utf-8")  # cut off: not JSON any more
    result = compile_to_tree(spec, ["sdk"])
    assert not result.tree and result.diags.has_errors
    assert not multiprocessing.active_children()


def test_a_spec_that_cannot_be_sent_is_validated_all_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = _write(tmp_path, False)
    expected = _reported(spec)

    def refuse(self: pipeline._ValidatorProcess, loaded: object) -> None:
        self.cancel()  # as when pickling fails

    monkeypatch.setattr(pipeline._ValidatorProcess, "send", refuse)
    assert _reported(spec) == expected
    assert not multiprocessing.active_children()
