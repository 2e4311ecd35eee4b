"""``gatewright compile``: what reaches the output folder, and when nothing may.

A failed compile leaves an existing output untouched and creates nothing;
``--check`` reports stale output; a folder that gatewright did not write is never
replaced. Each test runs the real CLI as a subprocess.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CASES = Path(__file__).parent / "cases"

GOOD_SPEC = """\
openapi: 3.0.3
info: {title: Output check, version: "1"}
x-gateway:
  version: 1
  defaults:
    integration: {type: mock, status: 200, body: {ok: true}}
paths:
  /pets:
    get:
      operationId: listPets
      responses:
        "200": {description: ok}
"""


# black is skipped (--no-format) to keep these fast; what is written is still compared
# byte for byte, because every compile of a run uses the same option.
def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gatewright.compiler", *args], cwd=cwd, capture_output=True, text=True, timeout=180)


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _target() -> str:
    for target in ("gateway", "sdk"):
        if importlib.util.find_spec(f"gatewright.compiler.emit.{target}") is not None:
            return target
    pytest.skip("no emitter is installed yet (gatewright.compiler.emit.gateway / .sdk)")


@pytest.fixture
def good_spec(tmp_path: Path) -> Path:
    spec = tmp_path / "openapi.yaml"
    spec.write_text(GOOD_SPEC, encoding="utf-8")
    return spec


def test_failed_compile_leaves_existing_output_untouched(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / ".gatewright.json").write_text('{"generator": "gatewright"}\n', encoding="utf-8")
    (out / "app.py").write_text("# previous output\n", encoding="utf-8")
    before = _snapshot(out)
    siblings = sorted(p.name for p in tmp_path.iterdir())
    proc = _run("compile", str(CASES / "gw201_duplicate_operation_id.yaml"), "-o", str(out), cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "[GW201]" in proc.stderr and "(nothing was written)" in proc.stderr
    assert _snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == siblings  # no staging folder left behind


def test_failed_compile_creates_no_output_folder(tmp_path: Path) -> None:
    out = tmp_path / "new" / "out"
    proc = _run("compile", str(CASES / "gw101_yaml_syntax.yaml"), "-o", str(out), "--format", "json", cwd=tmp_path)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "new").exists()


def test_check_detects_stale_output_and_compile_replaces_it(tmp_path: Path, good_spec: Path) -> None:
    target = _target()
    out = tmp_path / "out"
    written = _run("compile", str(good_spec), "-o", str(out), "--target", target, "--no-format", cwd=tmp_path)
    assert written.returncode == 0, written.stderr
    fresh = _run("compile", str(good_spec), "-o", str(out), "--target", target, "--no-format", "--check", cwd=tmp_path)
    assert fresh.returncode == 0, fresh.stderr
    assert "up to date" in fresh.stderr
    victim = next(p for p in sorted(out.rglob("*.py")))
    victim.write_text(victim.read_text("utf-8") + "# edited by hand\n", encoding="utf-8")
    (out / "stray.txt").write_text("not generated\n", encoding="utf-8")
    before = _snapshot(out)
    stale = _run("compile", str(good_spec), "-o", str(out), "--target", target, "--no-format", "--check", cwd=tmp_path)
    assert stale.returncode == 1
    assert f"{victim.relative_to(out).as_posix()}: changed" in stale.stderr
    assert "stray.txt: not generated" in stale.stderr
    assert "is stale" in stale.stderr
    assert _snapshot(out) == before  # --check writes nothing
    rewritten = _run("compile", str(good_spec), "-o", str(out), "--target", target, "--no-format", cwd=tmp_path)
    assert rewritten.returncode == 0, rewritten.stderr
    assert not (out / "stray.txt").exists()  # the folder is replaced, not merged
    assert "# edited by hand" not in victim.read_text("utf-8")


def test_check_reports_missing_output(tmp_path: Path, good_spec: Path) -> None:
    target = _target()
    proc = _run("compile", str(good_spec), "-o", str(tmp_path / "never-written"), "--target", target, "--no-format", "--check", cwd=tmp_path)
    assert proc.returncode == 1
    assert ": missing" in proc.stderr
    assert not (tmp_path / "never-written").exists()


def test_refuses_to_replace_a_folder_it_did_not_write(tmp_path: Path, good_spec: Path) -> None:
    target = _target()
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("my own work\n", encoding="utf-8")
    proc = _run("compile", str(good_spec), "-o", str(out), "--target", target, "--no-format", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "was not written by gatewright" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert _snapshot(out) == {"notes.txt": b"my own work\n"}
