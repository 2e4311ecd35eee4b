"""Emit an SDK from IR into a folder, formatted the way the pipeline formats it."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

import black
from gatewright.compiler.diagnostics import Diagnostics
from gatewright.compiler.emit.base import EmitOptions, FileTree
from gatewright.compiler.emit.sdk import SdkEmitter
from gatewright.compiler.ir.nodes import Api

__all__ = ["OPTIONS", "emit_tree", "import_sdk", "write_tree"]

OPTIONS = EmitOptions(
    compiler_version="0.0.0+test", runtime_requirement=">=0.0", source_label="spec.yaml"
)


def emit_tree(api: Api, diags: Diagnostics | None = None, *, formatted: bool = True) -> FileTree:
    tree = SdkEmitter(diags).emit(api, OPTIONS)
    if formatted:
        tree = {
            path: black.format_str(text, mode=black.Mode()) if path.suffix == ".py" else text
            for path, text in tree.items()
        }
    return tree


def write_tree(tree: FileTree, root: Path) -> None:
    for rel, text in tree.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def import_sdk(api: Api, root: Path) -> ModuleType:
    """Generate ``api``'s SDK under ``root`` and import its package (fresh)."""
    write_tree(emit_tree(api), root)
    package = f"{api.package}_client"
    for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
        del sys.modules[name]
    sys.path.insert(0, str(root))
    try:
        importlib.invalidate_caches()
        return importlib.import_module(package)
    finally:
        sys.path.remove(str(root))
