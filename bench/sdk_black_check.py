"""The big SDKs are exactly black's style: GitHub and DigitalOcean.

The SDK emitter prints black's layout itself and black is skipped for what it
vouches for, so this runs black (the pinned version, in parallel) over every
generated module of the two biggest corpus SDKs and lists any module black would
still change. Too slow for ``make test`` (about a minute on two cores).

    .venv/bin/python bench/sdk_black_check.py [SPEC ...]
"""

from __future__ import annotations

import difflib
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path, PurePosixPath

from gatewright.compiler.format import format_source
from gatewright.compiler.pipeline import compile_to_tree

__all__ = ["check", "main"]

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
SPECS = (
    CORPUS / "github-rest-api" / "api.github.com.json",
    CORPUS / "digitalocean" / "specification" / "DigitalOcean-public.v2.yaml",
)


def _difference(item: tuple[str, str]) -> tuple[str, str] | None:
    path, text = item
    formatted = format_source(text)
    if formatted == text:
        return None
    diff = difflib.unified_diff(text.splitlines(True), formatted.splitlines(True), path, "black", n=1)
    return path, "".join(list(diff)[:40])


def check(spec: Path) -> int:
    """Print the modules of ``spec``'s SDK that black would change; return how many."""
    started = time.perf_counter()
    result = compile_to_tree(spec, ["sdk"])
    compiled = time.perf_counter() - started
    if not result.tree:
        print(f"{spec}: the SDK did not compile")
        return 1
    modules = [(str(path), text) for path, text in result.tree.items() if PurePosixPath(path).suffix == ".py"]
    workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    with ProcessPoolExecutor(max_workers=workers) as pool:
        changed = [d for d in pool.map(_difference, modules, chunksize=16) if d is not None]
    print(f"{spec.name}: {len(modules)} modules compiled in {compiled:.1f} s; {len(changed)} not in black's style")
    for path, diff in changed[:10]:
        print(f"--- {path}\n{diff}")
    return len(changed)


def main(argv: list[str] | None = None) -> int:
    specs = [Path(a) for a in (sys.argv[1:] if argv is None else argv)] or list(SPECS)
    missing = [s for s in specs if not s.is_file()]
    if missing:
        print(f"spec not found: {', '.join(map(str, missing))}; skipping")
        return 0
    return 1 if sum(check(spec) for spec in specs) else 0


if __name__ == "__main__":
    sys.exit(main())
