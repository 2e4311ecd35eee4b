"""The golden cases: a spec, the targets to generate, and where the expected tree lives."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from gatewright.compiler.emit.base import FileTree
from gatewright.compiler.pipeline import compile_to_tree

__all__ = ["CASES", "GOLDEN", "REPO", "TEST_VERSION", "GoldenCase", "generate"]

GOLDEN = Path(__file__).resolve().parent
REPO = GOLDEN.parents[1]
# a fixed version, so that a release bump does not rewrite every expected file
TEST_VERSION = "0.0.0+test"


@dataclass(frozen=True)
class GoldenCase:
    name: str
    spec: str  # relative to the repository root
    targets: tuple[str, ...] = ("gateway", "sdk")

    @property
    def expected(self) -> Path:
        return GOLDEN / self.name / "expected"


CASES = (
    GoldenCase("petstore", "samples/petstore/openapi.yaml"),
    GoldenCase("hostile", "tests/golden/hostile/openapi.yaml"),
)


def generate(case: GoldenCase) -> FileTree:
    """Compile a case from the repository root (labels and hashes depend on it)."""
    import os

    here = os.getcwd()
    os.chdir(REPO)
    try:
        result = compile_to_tree(Path(case.spec), case.targets, compiler_version=TEST_VERSION)
    finally:
        os.chdir(here)
    if result.diags.has_errors:
        messages = "\n".join(f"{d.code} {d.origin}: {d.message}" for d in result.diags.errors())
        raise AssertionError(f"golden case {case.name} does not compile:\n{messages}")
    return result.tree


def read_tree(root: Path) -> FileTree:
    tree: FileTree = {}
    for path in sorted(root.rglob("*")):
        rel_parts = path.relative_to(root).parts
        if path.is_file() and not any(p == "__pycache__" or p.startswith(".mypy") for p in rel_parts) and not path.name.endswith(".pyc"):
            tree[PurePosixPath(path.relative_to(root).as_posix())] = path.read_text("utf-8")
    return tree
