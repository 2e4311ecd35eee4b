"""Regenerate the golden files after an intended change: ``make golden``.

Reviewers then read the golden diff in the change, instead of hand-edited files.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cases import CASES, generate


def main() -> None:
    for case in CASES:
        tree = generate(case)
        if case.expected.exists():
            shutil.rmtree(case.expected)
        for rel, text in tree.items():
            target = case.expected / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8", newline="\n")
        print(f"{case.name}: {len(tree)} files -> {case.expected.relative_to(Path.cwd()) if case.expected.is_relative_to(Path.cwd()) else case.expected}")


if __name__ == "__main__":
    main()
