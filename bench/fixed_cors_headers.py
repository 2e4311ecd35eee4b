"""Run a generated gateway whose CORS decision is replaced by four fixed headers.

A measurement aid for ``proxy_instructions.py``. The edge gateway's answers then carry
the four headers that CORS with credentials requires (``Vary``,
``Access-Control-Allow-Origin``, ``-Allow-Credentials`` and ``-Expose-Headers``),
added by one ``extend`` with no CORS logic at all. This separates what the headers
themselves cost (aiohttp's and multidict's work per header) from what deciding them
costs. Not for serving: every answer gets the headers, whatever its origin.

Usage: ``python bench/fixed_cors_headers.py PACKAGE [gateway options...]``, with
``PACKAGE`` (a generated gateway package) on ``PYTHONPATH``.
"""

from __future__ import annotations

import importlib
import sys

from aiohttp import web
from gatewright.runtime.cors import Cors
from multidict import istr

FIXED = (
    (istr("Vary"), "Origin"),
    (istr("Access-Control-Allow-Origin"), "http://app.example"),
    (istr("Access-Control-Allow-Credentials"), "true"),
    (istr("Access-Control-Expose-Headers"), "X-Request-Id"),
)


def _fixed(
    self: Cors, request: web.BaseRequest, response: web.StreamResponse, operation_id: str | None
) -> None:
    response.headers.extend(FIXED)


def main() -> int:
    package = sys.argv[1]
    Cors.decorate = _fixed  # type: ignore[method-assign,unused-ignore]
    entry = importlib.import_module(f"{package}.__main__")
    result: int = entry.main(sys.argv[2:])
    return result


if __name__ == "__main__":
    raise SystemExit(main())
