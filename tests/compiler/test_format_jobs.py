"""The formatting stage's job runner: this process and forked helpers share the jobs.

Each job either formats a block with black or checks that a module the emitter
laid out itself compiles; a failure in any process fails the compile.
"""

from __future__ import annotations

import multiprocessing
from pathlib import PurePosixPath

import black
import pytest
from gatewright.compiler import format as formatting
from gatewright.compiler.emit.layout import PreformattedSource
from gatewright.compiler.format import BLACK_MODE, FormatCache, _format_modules

UNFORMATTED = "def f(a,b):\n    return {'sum':a+b}\n"


def _jobs(count: int) -> list[tuple[str, str]]:
    jobs = []
    for i in range(count):
        jobs.append((formatting._BLACK, UNFORMATTED.replace("f(", f"f{i}(")))
        jobs.append((formatting._PARSE, f"def g{i}(x):\n    return x\n"))
    return jobs


@pytest.mark.parametrize("helpers", [0, 1, 3])
def test_every_job_is_done_once_in_order(helpers: int) -> None:
    jobs = _jobs(12)
    calls: list[str] = []
    outputs = formatting._run_jobs(jobs, helpers, lambda: calls.append("meanwhile"))
    assert calls == ["meanwhile"]
    assert len(outputs) == len(jobs)
    for (kind, text), out in zip(jobs, outputs, strict=True):
        assert out == (black.format_str(text, mode=BLACK_MODE) if kind == formatting._BLACK else "")


@pytest.mark.parametrize("helpers", [0, 2])
def test_a_module_that_does_not_compile_fails_whichever_process_checks_it(helpers: int) -> None:
    jobs = _jobs(20)
    jobs.insert(7, (formatting._PARSE, "def broken(:\n    pass\n"))
    with pytest.raises(SyntaxError):
        formatting._run_jobs(jobs, helpers, None)


def test_a_parameter_named_twice_is_rejected() -> None:
    # the parser accepts it; only the symbol table (and then Python, at import) does not
    module = PreformattedSource("def f(self, *, x: int, x: str) -> None:\n    pass\n")
    with pytest.raises(SyntaxError, match="duplicate argument"):
        _format_modules({PurePosixPath("m.py"): module}, FormatCache(None))


def test_helpers_give_the_same_tree_as_this_process_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    modules: dict[PurePosixPath, str] = {}
    for i in range(60):
        modules[PurePosixPath(f"plain{i}.py")] = UNFORMATTED.replace("f(", f"f{i}(") * 3
        modules[PurePosixPath(f"laid{i}.py")] = PreformattedSource(f"X{i} = 1\n\n\ndef h(a, b):\n    return a + b\n")
    alone = _format_modules(modules, FormatCache(None))
    monkeypatch.setattr(formatting, "_PARALLEL_MIN_LINES", 1)
    monkeypatch.setattr(formatting, "_cpu_count", lambda: 3)  # two helpers, whatever the machine
    shared = _format_modules(modules, FormatCache(None), meanwhile=lambda: None)
    assert shared == alone


def test_a_failing_meanwhile_stops_the_helpers_and_is_raised() -> None:
    def fail() -> None:
        raise RuntimeError("locating failed")

    with pytest.raises(RuntimeError, match="locating failed"):
        formatting._run_jobs(_jobs(40), 2, fail)
    assert not multiprocessing.active_children()
