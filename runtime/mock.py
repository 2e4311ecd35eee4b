"""The ``mock`` integration: a static response, encoded once at start-up.

Layer: runtime (aiohttp, stdlib).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from aiohttp import web
from multidict import CIMultiDict

from .config import JSONValue
from .context import REQUEST_ID
from .errors import ConfigurationError
from .integration import Route, StartupContext

__all__ = ["MockResponder", "MockSpec"]


def _is_json(media_type: str) -> bool:
    media = media_type.partition(";")[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


@dataclass(frozen=True, slots=True, kw_only=True)
class MockSpec:
    """A mock answer: ``body`` is JSON-encoded unless the media type is not JSON and the
    body is a string, which is then sent as UTF-8 text."""

    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    media_type: str | None = "application/json"
    body: JSONValue = None
    has_body: bool = False

    def build(self, context: StartupContext, route: Route) -> MockResponder:
        if not 100 <= self.status <= 599:
            raise ConfigurationError(
                f"operation {route.operation_id}: mock status {self.status} is not an HTTP status"
            )
        payload: bytes | None = None
        if self.has_body:
            if isinstance(self.body, str) and self.media_type and not _is_json(self.media_type):
                payload = self.body.encode()
            else:
                payload = json.dumps(self.body, ensure_ascii=False).encode()
        headers: dict[str, str] = dict(self.headers)
        if (
            payload is not None
            and self.media_type
            and "content-type" not in {name.lower() for name in headers}
        ):
            headers["Content-Type"] = self.media_type
        return MockResponder(status=self.status, headers=tuple(headers.items()), payload=payload)


class MockResponder:
    """A built ``mock`` integration."""

    __slots__ = ("_headers", "_payload", "_status")

    def __init__(
        self, *, status: int, headers: tuple[tuple[str, str], ...], payload: bytes | None
    ) -> None:
        self._status = status
        self._headers = headers
        self._payload = payload

    async def invoke(self, request: web.Request, body: bytes | None) -> web.StreamResponse:
        headers: CIMultiDict[str] = CIMultiDict(self._headers)
        headers["X-Request-Id"] = request[REQUEST_ID]
        return web.Response(status=self._status, body=self._payload, headers=headers)
