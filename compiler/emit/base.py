"""What every emitter shares: the in-memory file tree and the Emitter protocol.

Layer: emit. Emitters turn an ``ir.Api`` into a :data:`FileTree` and do no I/O;
formatting, headers and writing happen in ``format`` and ``output``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Protocol

from ..ir.nodes import Api

__all__ = ["EmitOptions", "Emitter", "FileTree"]

# relative path inside the artifact's project folder -> file text (unformatted)
FileTree = dict[PurePosixPath, str]


@dataclass(frozen=True, slots=True, kw_only=True)
class EmitOptions:
    compiler_version: str
    runtime_requirement: str  # e.g. ">=0.1,<0.2": the runtime range generated code needs
    source_label: str  # the spec path as the user named it, for headers and docs


class Emitter(Protocol):
    name: str  # "gateway" | "sdk"

    def emit(self, api: Api, options: EmitOptions) -> FileTree: ...
