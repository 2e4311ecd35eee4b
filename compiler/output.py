"""Writing a generated file tree to disk, atomically, and checking it for staleness.

Layer: output (the last stage; the only one that writes). A compile renders
everything in memory first; this module then replaces the output folder in one
step, so a failed compile leaves the previous output untouched. A marker file
records what produced the folder; a folder without it is never replaced.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .emit.base import FileTree

__all__ = ["MARKER", "OutputError", "StaleReport", "check_tree", "write_tree"]

MARKER = ".gatewright.json"


class OutputError(Exception):
    """The output folder cannot be written (it is not ours, or the disk refused)."""


@dataclass(slots=True)
class StaleReport:
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)

    @property
    def stale(self) -> bool:
        return bool(self.missing or self.extra or self.changed)


def _marker_text(source_hash: str, version: str) -> str:
    return json.dumps({"generator": "gatewright", "version": version, "source-sha256": source_hash}, indent=2) + "\n"


def _listing(root: Path) -> set[str]:
    found: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in ("__pycache__", ".mypy_cache", ".pytest_cache") and not d.endswith(".egg-info")]
        for name in filenames:
            if name.endswith(".pyc") or name == MARKER:
                continue
            found.add(Path(dirpath, name).relative_to(root).as_posix())
    return found


def check_tree(tree: FileTree, out: Path) -> StaleReport:
    report = StaleReport()
    wanted = {p.as_posix(): text for p, text in tree.items()}
    present = _listing(out) if out.is_dir() else set()
    for rel, text in sorted(wanted.items()):
        if rel not in present:
            report.missing.append(rel)
        elif (out / rel).read_text("utf-8") != text:
            report.changed.append(rel)
    report.extra = sorted(present - set(wanted))
    return report


def write_tree(tree: FileTree, out: Path, *, source_hash: str, version: str) -> None:
    out = out.resolve()
    if out.exists():
        if not out.is_dir():
            raise OutputError(f"{out} exists and is not a folder")
        if any(out.iterdir()) and not (out / MARKER).exists():
            raise OutputError(f"{out} is not empty and was not written by gatewright; refusing to replace it (choose another -o folder or empty it)")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".new", dir=out.parent))
    try:
        for rel, text in tree.items():
            target = staging / PurePosixPath(rel)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8", newline="\n")
        (staging / MARKER).write_text(_marker_text(source_hash, version), encoding="utf-8")
        if out.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=out.parent))
            retired.rmdir()
            os.replace(out, retired)
            try:
                os.replace(staging, out)
            except OSError:
                os.replace(retired, out)  # put the previous output back
                raise
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.replace(staging, out)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise OutputError(f"cannot write {out}: {exc.strerror or exc}") from exc
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
