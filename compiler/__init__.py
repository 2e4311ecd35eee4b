"""gatewright's compiler: OpenAPI 3 + x-gateway -> aiohttp gateway and typed SDK.

Layer: build time. Nothing here is imported by ``gatewright.runtime``.
Pipeline (one module per stage): ``source`` (load) -> ``validate`` -> ``ir`` ->
``emit`` -> ``format`` -> ``output`` (write); ``pipeline`` wires them together.
"""

from __future__ import annotations

from importlib import metadata

__all__ = ["__version__", "runtime_requirement"]

try:
    __version__ = metadata.version("gatewright")
except metadata.PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+source"


def runtime_requirement(version: str) -> str:
    """The runtime range generated code needs: at least this version, same minor line."""
    base = version.split("+")[0]
    parts = ([*base.split("."), "0", "0"])[:3]
    major, minor = int(parts[0]), int(parts[1])
    return f">={major}.{minor},<{major}.{minor + 1}"
