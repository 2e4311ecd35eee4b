"""Block-wise formatting must give exactly what black gives for the whole module."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest
from gatewright.compiler.format import FormatCache, _format_modules, format_source, split_blocks

SAMPLE = '''"""Doc."""
from __future__ import annotations
import os
X = {'a':1}
# a comment that belongs to f
@staticmethod
def f(a,b):
    return a+b
class C:
    def m(self): return 1
async def g():
    await   h()
Y = [1,
 2]
def h(): pass
'''


def test_blocks_keep_decorators_and_leading_comments() -> None:
    blocks = split_blocks(SAMPLE)
    assert blocks[1].startswith("# a comment that belongs to f\n@staticmethod\ndef f")
    assert [b.split("\n", 1)[0] for b in blocks[2:]] == ["class C:", "async def g():", "def h(): pass"]


def test_blockwise_formatting_equals_whole_module(tmp_path: Path) -> None:
    out = _format_modules({PurePosixPath("m.py"): SAMPLE}, FormatCache(None))
    assert out[PurePosixPath("m.py")] == format_source(SAMPLE)


def test_cache_returns_what_black_returned(tmp_path: Path) -> None:
    cache = FormatCache(tmp_path)
    first = _format_modules({PurePosixPath("m.py"): SAMPLE}, cache)
    assert any(tmp_path.rglob("*")), "nothing was cached"
    second = _format_modules({PurePosixPath("m.py"): SAMPLE}, cache)
    assert first == second


@pytest.mark.parametrize("name", ["petstore", "hostile"])
def test_golden_modules_are_stable_under_blockwise_formatting(name: str, repo_root: Path) -> None:
    expected = repo_root / "tests" / "golden" / name / "expected"
    if not expected.is_dir():
        pytest.skip("golden files not generated yet")
    for path in sorted(expected.rglob("*.py")):
        body = "".join(line for line in path.read_text("utf-8").splitlines(True)[2:])
        assert _format_modules({PurePosixPath("x.py"): body}, FormatCache(None))[PurePosixPath("x.py")] == body, path
