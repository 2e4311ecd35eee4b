"""``gatewright export`` as a user runs it: a subprocess, exit codes, no tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .support import validation_errors

REPO = Path(__file__).resolve().parents[2]
PETSTORE = REPO / "samples" / "petstore" / "openapi.yaml"


def run(*args: str | Path, cwd: Path = REPO, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gatewright.compiler", "export", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture(scope="module")
def petstore_prod() -> subprocess.CompletedProcess[str]:
    return run(PETSTORE, "--stage", "prod", env={"PYTHONHASHSEED": "1"})


def test_writes_json_to_stdout(petstore_prod: subprocess.CompletedProcess[str]) -> None:
    result = petstore_prod
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert validation_errors(document) == []
    assert "x-gateway" not in result.stdout
    assert document["servers"][0]["description"] == "The API gateway, stage prod"


def test_writes_yaml_to_a_file(tmp_path: Path) -> None:
    out = tmp_path / "public.yaml"
    result = run(PETSTORE, "--format", "yaml", "-o", out, "--server-url", "https://pets.example.com/v1")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    document = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert document["servers"][0]["url"] == "https://pets.example.com/v1"
    assert list(tmp_path.iterdir()) == [out]  # no temporary file left behind


def test_output_bytes_do_not_depend_on_hash_seed(petstore_prod: subprocess.CompletedProcess[str]) -> None:
    again = run(PETSTORE, "--stage", "prod", env={"PYTHONHASHSEED": "2"})
    assert petstore_prod.returncode == again.returncode == 0
    assert petstore_prod.stdout == again.stdout


def test_missing_spec_exits_1_with_a_located_error(tmp_path: Path) -> None:
    result = run(tmp_path / "nope.yaml")
    assert result.returncode == 1
    assert "GW100" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_spec_with_errors_exits_1_and_writes_nothing(tmp_path: Path) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text("openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    get:\n      x-gateway: {integration: {type: nope}}\n      responses: {'200': {description: ok}}\n", encoding="utf-8")
    out = tmp_path / "out.json"
    result = run(spec, "-o", out)
    assert result.returncode == 1
    assert "error:" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_unknown_stage_is_a_usage_error() -> None:
    result = run(PETSTORE, "--stage", "qa")
    assert result.returncode == 2
    assert "unknown stage 'qa'; the spec defines: dev, prod" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_format_is_a_usage_error() -> None:
    result = run(PETSTORE, "--format", "xml")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
