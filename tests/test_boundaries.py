"""Layer boundaries: the runtime never pulls in the compiler or build-time packages."""

from __future__ import annotations

import subprocess
import sys

BUILD_TIME = ("jinja2", "prance", "black", "openapi_core", "openapi_spec_validator", "click", "ruamel", "yaml", "jsonschema", "gatewright.compiler", "gatewright.templates")


def test_runtime_imports_no_build_time_package() -> None:
    probe = (
        "import sys, pkgutil, importlib\n"
        "import gatewright.runtime as rt\n"
        "for m in pkgutil.walk_packages(rt.__path__, 'gatewright.runtime.'):\n"
        "    importlib.import_module(m.name)\n"
        f"bad = sorted(n for n in sys.modules if n.split('.')[0] in {[b.split('.')[0] for b in BUILD_TIME if '.' not in b]!r} or n.startswith(('gatewright.compiler', 'gatewright.templates')))\n"
        "print('\\n'.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"gatewright.runtime imported build-time modules:\n{out.stdout}"


def test_runtime_has_explicit_public_surface() -> None:
    import gatewright.runtime as rt

    assert isinstance(rt.__all__, list | tuple)
    for name in rt.__all__:
        assert hasattr(rt, name), name
        assert not name.startswith("_") or name == "__version__"
