"""Every invalid-spec case under ``cases/`` produces exactly the diagnostics it documents.

The format of the expectations is described in ``diagnostic_cases.py``. Each case is
compiled in-process through ``build_ir`` (positions through the pipeline
``Locator``) and through the CLI's ``validate --format json``; a few are also run as
a real subprocess to prove that a bad spec never produces a traceback.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from diagnostic_cases import CASES_DIR, Case, Expectation, discover_cases
from gatewright.compiler.cli import main
from gatewright.compiler.codes import CODES
from gatewright.compiler.diagnostics import Severity
from gatewright.compiler.pipeline import Locator, build_ir, build_versioned_ir

CASES = discover_cases()
CASE_IDS = [c.name for c in CASES]
REPO = Path(__file__).resolve().parents[2]

# Every code a spec can trigger; each needs at least one case.
SPEC_CODES = frozenset(
    {
        "GW101", "GW102", "GW103", "GW104", "GW105", "GW106", "GW107", "GW108", "GW109",
        "GW200", "GW201", "GW202", "GW203", "GW204", "GW205", "GW206", "GW207", "GW208", "GW211",
        "GW300", "GW301", "GW302", "GW303", "GW304", "GW305", "GW306", "GW307", "GW308", "GW309", "GW310", "GW311", "GW312",
        "GW313", "GW317", "GW318", "GW319", "GW320", "GW321", "GW322", "GW323", "GW324", "GW325",
        "GW326", "GW327", "GW328", "GW329",
        "GW401",
    }
)
# the first line of a text diagnostic: file:line:col: severity: message  [CODE]
TEXT_HEAD = re.compile(r"^(?P<file>[^\n:]+):(?P<line>\d+):(?P<col>\d+): (?P<sev>error|warning): (?P<msg>.+)  \[(?P<code>GW\d{3})\]$", re.M)


@dataclass(frozen=True, slots=True)
class Reported:
    file: Path
    line: int | None
    severity: str
    code: str
    pointer: str
    message: str

    @property
    def key(self) -> tuple[Path, int | None, str]:
        return (self.file, self.line, self.code)


def _compare(case: Case, expected: list[Expectation], reported: list[Reported]) -> None:
    want: Counter[tuple[Path, int | None, str]] = Counter(e.key for e in expected)
    got: Counter[tuple[Path, int | None, str]] = Counter(r.key for r in reported)
    if want != got:
        missing = [e.describe(case.folder) for e in expected if (want - got)[e.key]]
        unexpected = [f"{r.file.name}:{r.line}: {r.severity} {r.code} @{r.pointer} {r.message}" for r in reported if (got - want)[r.key]]
        pytest.fail(f"{case.name}: diagnostics differ\n  missing:\n    " + "\n    ".join(missing or ["-"]) + "\n  unexpected:\n    " + "\n    ".join(unexpected or ["-"]))
    for e in expected:
        candidates = [r for r in reported if r.key == e.key]
        if e.pointer is not None:
            assert e.pointer in {r.pointer for r in candidates}, f"{e.describe(case.folder)}: pointer is {[r.pointer for r in candidates]}"
            candidates = [r for r in candidates if r.pointer == e.pointer]
        assert e.severity in {r.severity for r in candidates}, f"{e.describe(case.folder)}: severity is {[r.severity for r in candidates]}"
        if e.words:
            messages = [r.message for r in candidates]
            assert any(e.words.lower() in m.lower() for m in messages), f"{e.describe(case.folder)}: message is {messages}"


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_case_reports_what_it_documents(case: Case) -> None:
    expected = case.expectations()
    assert expected, f"{case.name} documents no expectation"
    locator = Locator()
    api: object
    if case.specs:
        api, diags = build_versioned_ir(case.specs, locator=locator)
    else:
        api, diags = build_ir(case.root, locator=locator)
    reported: list[Reported] = []
    for d in diags:
        if d.severity is Severity.INFO:
            continue
        pos = locator.position(d.origin)
        reported.append(Reported(Path(d.origin.file).resolve(), pos.line if pos else None, d.severity.value, d.code, d.origin.pointer, d.message))
    _compare(case, expected, reported)
    has_errors = any(e.severity == "error" for e in expected)
    assert (api is None) == has_errors


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_case_through_cli_json(case: Case) -> None:
    result = CliRunner().invoke(main, ["validate", *map(str, case.inputs), "--format", "json"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    expected = case.expectations()
    assert result.exit_code == (1 if any(e.severity == "error" for e in expected) else 0)
    items: list[dict[str, Any]] = json.loads(result.stdout)["diagnostics"]
    reported = [Reported(Path(i["file"]).resolve(), i["line"], i["severity"], i["code"], i["pointer"], i["message"]) for i in items if i["severity"] != "info"]
    _compare(case, expected, reported)


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 30
    assert any(c.folder != CASES_DIR for c in CASES), "no multi-file case"
    assert any(c.root.suffix == ".json" for c in CASES), "no JSON case"
    assert any(c.specs for c in CASES), "no case compiling several specs together"


def test_every_spec_code_has_a_case() -> None:
    covered = {e.code for c in CASES for e in c.expectations()}
    assert set(CODES) >= SPEC_CODES
    assert sorted(SPEC_CODES - covered) == []


def test_an_error_in_a_referenced_file_is_located_in_that_file() -> None:
    covered = [e for c in CASES if c.folder != CASES_DIR for e in c.expectations() if e.file != c.root.resolve()]
    assert {e.code for e in covered} >= {"GW103", "GW204"}


# --------------------------------------------------------------------------- the command line


def _run(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gatewright.compiler", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


SUBPROCESS_CASES = [
    "gw101_yaml_syntax.yaml",
    "gw101_json_syntax.json",
    "gw200_unknown_operation_field.yaml",
    "gw300_bad_integration_kind.yaml",
    "multifile_bad_pointer",
]


@pytest.mark.parametrize("name", SUBPROCESS_CASES)
def test_bad_spec_gives_located_text_and_no_traceback(name: str) -> None:
    case = next(c for c in CASES if c.name == name)
    proc = _run("validate", str(case.root.relative_to(REPO)))
    assert "Traceback" not in proc.stderr
    assert proc.returncode == 1, proc.stderr
    heads = list(TEXT_HEAD.finditer(proc.stderr))
    assert heads, proc.stderr
    expected = {(e.file, e.line, e.code) for e in case.expectations()}
    assert {((REPO / h["file"]).resolve(), int(h["line"]), h["code"]) for h in heads} == expected
    assert re.search(r"^  at #", proc.stderr, re.M)
    assert "(nothing was written)" in proc.stderr


def test_warnings_only_exit_0_and_strict_makes_them_fail() -> None:
    spec = str((CASES_DIR / "gw307_no_integration.yaml").relative_to(REPO))
    ok = _run("validate", spec)
    assert ok.returncode == 0, ok.stderr
    assert "warning:" in ok.stderr and "[GW307]" in ok.stderr
    strict = _run("validate", spec, "--strict")
    assert strict.returncode == 1
    assert "Traceback" not in ok.stderr + strict.stderr


def test_missing_spec_argument_is_a_usage_error() -> None:
    proc = _run("validate")
    assert proc.returncode == 2
    assert "Missing argument" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_unknown_option_is_a_usage_error() -> None:
    proc = _run("validate", "--no-such-option", "spec.yaml")
    assert proc.returncode == 2
    assert "No such option" in proc.stderr


def test_missing_spec_file_is_a_located_error_not_a_traceback(tmp_path: Path) -> None:
    proc = _run("validate", str(tmp_path / "nope.yaml"), "--format", "json")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    (item,) = json.loads(proc.stdout)["diagnostics"]
    assert item["code"] == "GW100"


def test_json_output_has_the_documented_fields() -> None:
    case = next(c for c in CASES if c.name == "gw201_duplicate_operation_id.yaml")
    proc = _run("validate", str(case.root.relative_to(REPO)), "--format", "json")
    assert proc.returncode == 1
    document = json.loads(proc.stdout)
    (item,) = document["diagnostics"]
    assert {"code", "severity", "file", "line", "column", "pointer", "message"} <= set(item)
    assert item["code"] == "GW201"
    assert item["severity"] == "error"
    assert item["file"] == "tests/diagnostics/cases/gw201_duplicate_operation_id.yaml"
    assert (item["line"], item["column"]) == (15, 7)
    assert item["pointer"] == "/paths/~1pets/post/operationId"
    assert "'listPets' is already used" in item["message"]
    # the first definition is named as related information
    (related,) = item["relatedInformation"]
    assert (related["pointer"], related["line"]) == ("/paths/~1pets/get/operationId", 11)
