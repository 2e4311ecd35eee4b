"""mypy --strict on every golden output, each package checked from its own project root."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cases import CASES, REPO


def packages(case_root: Path) -> list[tuple[Path, str]]:
    found = []
    for pyproject in sorted(case_root.rglob("pyproject.toml")):
        project = pyproject.parent
        for init in sorted(project.glob("*/__init__.py")):
            found.append((project, init.parent.name))
    return found


def main() -> int:
    failed = 0
    for case in CASES:
        for project, package in packages(case.expected):
            cmd = [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir", os.devnull, "-p", package]
            # gatewright.* resolves through the same folder-mapping tree as `make typecheck`
            env = {**os.environ, "MYPYPATH": str(REPO / ".typecheck")}
            result = subprocess.run(cmd, cwd=project, capture_output=True, text=True, env=env)
            status = "ok" if result.returncode == 0 else "FAILED"
            print(f"mypy --strict {case.name}/{project.name}/{package}: {status}")
            if result.returncode != 0:
                failed += 1
                print(result.stdout[-4000:])
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
