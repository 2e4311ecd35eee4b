"""Compile a spec under ``tests/features/specs`` into a gateway package and import it."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

from gatewright.compiler.pipeline import compile_to_tree

__all__ = ["SPECS", "generated_gateway"]

SPECS = Path(__file__).parent / "specs"


@contextmanager
def generated_gateway(spec: str, root: Path) -> Iterator[ModuleType]:
    """Compile ``specs/<spec>`` into ``root`` and yield the generated ``app`` module."""
    result = compile_to_tree(SPECS / spec, ["gateway"], format_code=False)
    assert result.api is not None, [d.message for d in result.diags]
    for rel, text in result.tree.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    package = f"{result.api.package}_gateway"
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module(f"{package}.app")
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m.startswith(package)]:
            del sys.modules[name]
