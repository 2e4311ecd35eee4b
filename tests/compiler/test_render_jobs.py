"""SDK modules rendered by the formatting stage's processes.

With formatting on, the SDK emitter hands its Python modules over unrendered and
``format_tree`` renders them in this process and forked helpers, each checking
that what it rendered compiles. The tree must be the one rendering them here,
one by one, gives; a module that does not compile fails the compile.
"""

from __future__ import annotations

import gc
import multiprocessing
from pathlib import Path, PurePosixPath

import pytest
from gatewright.compiler import format as formatting
from gatewright.compiler import pipeline
from gatewright.compiler.diagnostics import SpecError
from gatewright.compiler.emit.base import EmitOptions
from gatewright.compiler.emit.layout import PreformattedSource
from gatewright.compiler.emit.sdk import SdkEmitter
from gatewright.compiler.format import format_tree
from gatewright.compiler.ir.nodes import Api
from gatewright.compiler.pipeline import build_ir, compile_to_tree

REPO = Path(__file__).resolve().parents[2]
SPECS = [REPO / "samples" / "petstore" / "openapi.yaml", REPO / "tests" / "golden" / "hostile" / "openapi.yaml"]
OPTIONS = EmitOptions(compiler_version="0", runtime_requirement=">=0,<1", source_label="spec")


def _api(spec: Path) -> Api:
    api, diags = build_ir(spec)
    assert api is not None, diags.items
    return api


class _Broken:
    weight = 10

    def prepare(self) -> None:
        pass

    def render(self) -> PreformattedSource:
        return PreformattedSource("def f(:\n    pass\n")


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.parent.name)
def test_modules_rendered_by_helpers_are_the_modules_rendered_here(spec: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    api = _api(spec)
    here = format_tree(SdkEmitter().emit(api, OPTIONS), api=api, options=OPTIONS, cache=formatting.FormatCache(None))
    monkeypatch.setattr(formatting, "_PARALLEL_MIN_RENDER", 1)
    monkeypatch.setattr(formatting, "_cpu_count", lambda: 3)  # two helpers, whatever the machine
    tree, modules = SdkEmitter().plan(api, OPTIONS)
    assert modules and all(path.suffix == ".py" for path in modules)
    shared = format_tree(tree, api=api, options=OPTIONS, cache=formatting.FormatCache(None), deferred=modules)
    assert shared == here
    assert not multiprocessing.active_children()


@pytest.mark.parametrize("helpers", [False, True])
def test_a_rendered_module_that_does_not_compile_fails(helpers: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    api = _api(SPECS[0])
    tree, modules = SdkEmitter().plan(api, OPTIONS)
    deferred = {**modules, PurePosixPath("pkg/broken.py"): _Broken()}
    if helpers:
        monkeypatch.setattr(formatting, "_PARALLEL_MIN_RENDER", 1)
        monkeypatch.setattr(formatting, "_cpu_count", lambda: 2)
    with pytest.raises(SpecError, match="could not be formatted"):
        format_tree(tree, api=api, options=OPTIONS, cache=formatting.FormatCache(None), deferred=deferred)
    assert not multiprocessing.active_children()


def test_the_compile_pauses_the_collector_and_restores_it(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bool] = []
    real = pipeline._generate

    def spy(*args: object, **kwargs: object) -> object:
        seen.append(gc.isenabled())
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "_generate", spy)
    assert gc.isenabled()
    result = compile_to_tree(SPECS[0], ["sdk"])
    assert result.tree and seen == [False]
    assert gc.isenabled()
    gc.disable()
    try:
        compile_to_tree(SPECS[0], ["sdk"])
        assert not gc.isenabled()  # a caller's choice is kept
    finally:
        gc.enable()
