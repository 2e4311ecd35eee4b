"""The ``function`` integration: call a Python callable as if it were an AWS Lambda handler.

Layer: runtime (aiohttp, stdlib). The callable, ``package.module:function``, is
imported when the gateway starts (a missing module or attribute is a start-up error).
It receives ``(event, context)`` with the event in the API Gateway Lambda proxy
format, payload 1.0 or 2.0, and returns the proxy response dict (``statusCode``,
``headers``, ``multiValueHeaders``, ``body``, ``isBase64Encoded``, and ``cookies`` in
2.0), so an existing Lambda handler runs unchanged. Synchronous handlers run in the
loop's thread pool; coroutine functions are awaited.

A handler that raises, or returns something that is not a valid proxy response,
answers 502 ``INTEGRATION_FAILURE`` (logged); one that runs past the operation timeout
answers 504 ``INTEGRATION_TIMEOUT``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import importlib
import inspect
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from aiohttp import web
from multidict import CIMultiDict

from .context import PRINCIPAL, REQUEST_ID, ROUTE_MATCH
from .errors import ConfigurationError, GatewayError
from .integration import Route, StartupContext, read_body
from .proxy import HOP_BY_HOP_HEADERS

__all__ = ["FunctionInvoker", "FunctionSpec", "LambdaContext", "MalformedResponseError"]

_log = logging.getLogger("gatewright.gateway")

_TEXT_TYPES = (
    "text/",
    "application/json",
    "application/xml",
    "application/javascript",
    "application/x-www-form-urlencoded",
    "application/graphql",
)


class MalformedResponseError(ValueError):
    """A function returned something that is not an API Gateway proxy response."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FunctionSpec:
    """A ``function`` integration as declared: ``handler`` is ``"package.module:function"``."""

    handler: str
    payload_version: Literal["1.0", "2.0"] = "1.0"
    timeout_ms: int = 29_000

    def build(self, context: StartupContext, route: Route) -> FunctionInvoker:
        module_name, _, attr = self.handler.partition(":")
        where = f"operation {route.operation_id}: function {self.handler!r}"
        if not module_name or not attr:
            raise ConfigurationError(f"{where} must be written 'package.module:function'")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise ConfigurationError(
                f"{where}: module {module_name!r} cannot be imported ({exc})"
            ) from exc
        target: object = module
        for name in attr.split("."):
            try:
                target = getattr(target, name)
            except AttributeError:
                raise ConfigurationError(
                    f"{where}: {module_name!r} has no attribute {attr!r}"
                ) from None
        if not callable(target):
            raise ConfigurationError(f"{where}: {attr!r} is not callable")
        return FunctionInvoker(
            function=target,
            name=self.handler,
            payload_version=self.payload_version,
            timeout_ms=self.timeout_ms,
            stage=context.stage,
            stage_variables=dict(context.stage_variables),
            route=route,
        )


class LambdaContext:
    """The ``context`` argument, with the attributes Lambda handlers commonly read."""

    __slots__ = (
        "_deadline",
        "aws_request_id",
        "function_name",
        "function_version",
        "memory_limit_in_mb",
    )

    def __init__(self, *, request_id: str, function_name: str, timeout_ms: int) -> None:
        self.aws_request_id = request_id
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 0
        self._deadline = time.monotonic() + timeout_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class FunctionInvoker:
    """A built ``function`` integration."""

    __slots__ = (
        "_function",
        "_is_async",
        "_name",
        "_route",
        "_stage",
        "_stage_variables",
        "_timeout",
        "_timeout_ms",
        "_version",
    )

    def __init__(
        self,
        *,
        function: Callable[..., object],
        name: str,
        payload_version: Literal["1.0", "2.0"],
        timeout_ms: int,
        stage: str,
        stage_variables: Mapping[str, str],
        route: Route,
    ) -> None:
        self._function = function
        self._is_async = inspect.iscoroutinefunction(function) or inspect.iscoroutinefunction(
            getattr(function, "__call__", None)  # noqa: B004 - callable objects with async __call__
        )
        self._name = name
        self._version = payload_version
        self._timeout = timeout_ms / 1000
        self._timeout_ms = timeout_ms
        self._stage = stage
        self._stage_variables = dict(stage_variables) or None
        self._route = route

    async def invoke(self, request: web.Request, body: bytes | None) -> web.StreamResponse:
        if body is None:
            body = await read_body(request) if request.body_exists else b""
        request_id = request[REQUEST_ID]
        if self._version == "2.0":
            event = self._event_v2(request, body)
        else:
            event = self._event_v1(request, body)
        context = LambdaContext(
            request_id=request_id, function_name=self._name, timeout_ms=self._timeout_ms
        )
        try:
            async with asyncio.timeout(self._timeout):
                if self._is_async:
                    result = await self._function(event, context)  # type: ignore[misc]  # checked async at start-up
                else:
                    loop = asyncio.get_running_loop()
                    result = await loop.run_in_executor(None, self._function, event, context)
        except TimeoutError:
            _log.error(
                "function %s timed out after %d ms (request %s)",
                self._name,
                self._timeout_ms,
                request_id,
            )
            raise GatewayError("INTEGRATION_TIMEOUT") from None
        except Exception:
            _log.exception("function %s raised (request %s)", self._name, request_id)
            raise GatewayError("INTEGRATION_FAILURE") from None
        try:
            response = to_web_response(result, self._version)
        except MalformedResponseError as exc:
            _log.error(
                "function %s returned a malformed response (request %s): %s",
                self._name,
                request_id,
                exc,
            )
            raise GatewayError("INTEGRATION_FAILURE") from None
        response.headers["X-Request-Id"] = request_id
        return response

    # ------------------------------------------------------------------ events

    def _common(self, request: web.Request, body: bytes) -> tuple[str | None, bool]:
        if not body:
            return (None, False) if self._version == "1.0" else ("", False)
        media = (request.content_type or "").lower()
        if media.startswith(_TEXT_TYPES) or media.endswith("+json"):
            try:
                return body.decode(), False
            except UnicodeDecodeError:
                pass
        return base64.b64encode(body).decode("ascii"), True

    def _authorizer(self, request: web.Request) -> dict[str, object] | None:
        principal = request.get(PRINCIPAL)
        if principal is None:
            return None
        return {
            "principalId": principal.id,
            "claims": dict(principal.claims),
            "scopes": sorted(principal.scopes),
            **dict(principal.context),
        }

    def _event_v1(self, request: web.Request, body: bytes) -> dict[str, object]:
        match = request[ROUTE_MATCH]
        single_headers: dict[str, str] = {}
        multi_headers: dict[str, list[str]] = {}
        for key, value in request.headers.items():
            single_headers[key] = value
            multi_headers.setdefault(key, []).append(value)
        single_query: dict[str, str] = {}
        multi_query: dict[str, list[str]] = {}
        for key, value in request.query.items():
            single_query[key] = value
            multi_query.setdefault(key, []).append(value)
        text, is_base64 = self._common(request, body)
        now = time.time()
        request_context: dict[str, object] = {
            "resourcePath": match.route,
            "httpMethod": request.method,
            "path": request.path,
            "stage": self._stage,
            "requestId": request[REQUEST_ID],
            "requestTimeEpoch": int(now * 1000),
            "protocol": f"HTTP/{request.version.major}.{request.version.minor}",
            "domainName": request.host,
            "identity": {
                "sourceIp": request.remote,
                "userAgent": request.headers.get("User-Agent"),
            },
        }
        authorizer = self._authorizer(request)
        if authorizer is not None:
            request_context["authorizer"] = authorizer
        return {
            "resource": match.route,
            "path": request.path,
            "httpMethod": request.method,
            "headers": single_headers or None,
            "multiValueHeaders": multi_headers or None,
            "queryStringParameters": single_query or None,
            "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": dict(match.path_params) or None,
            "stageVariables": self._stage_variables,
            "requestContext": request_context,
            "body": text,
            "isBase64Encoded": is_base64,
        }

    def _event_v2(self, request: web.Request, body: bytes) -> dict[str, object]:
        match = request[ROUTE_MATCH]
        headers: dict[str, str] = {}
        for key, value in request.headers.items():
            name = key.lower()
            headers[name] = f"{headers[name]},{value}" if name in headers else value
        cookies = [c.strip() for c in headers.pop("cookie", "").split(";") if c.strip()]
        query: dict[str, str] = {}
        for key, value in request.query.items():
            query[key] = f"{query[key]},{value}" if key in query else value
        text, is_base64 = self._common(request, body)
        route_key = f"{match.method} {match.route}"
        now = datetime.now(UTC)
        request_context: dict[str, object] = {
            "apiId": "gatewright",
            "domainName": request.host,
            "http": {
                "method": request.method,
                "path": request.path,
                "protocol": f"HTTP/{request.version.major}.{request.version.minor}",
                "sourceIp": request.remote,
                "userAgent": request.headers.get("User-Agent", ""),
            },
            "requestId": request[REQUEST_ID],
            "routeKey": route_key,
            "stage": self._stage,
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        }
        authorizer = self._authorizer(request)
        if authorizer is not None:
            request_context["authorizer"] = {"lambda": authorizer}
        event: dict[str, object] = {
            "version": "2.0",
            "routeKey": route_key,
            "rawPath": request.path,
            "rawQueryString": request.rel_url.raw_query_string,
            "headers": headers,
            "requestContext": request_context,
            "isBase64Encoded": is_base64,
        }
        if cookies:
            event["cookies"] = cookies
        if query:
            event["queryStringParameters"] = query
        if match.path_params:
            event["pathParameters"] = dict(match.path_params)
        if self._stage_variables:
            event["stageVariables"] = self._stage_variables
        if text:
            event["body"] = text
        return event


# ---------------------------------------------------------------------- responses


def _header_value(name: str, value: object) -> str:
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str | int | float):
        text = str(value)
    else:
        raise MalformedResponseError(f"header {name!r} has a {type(value).__name__} value")
    if "\r" in text or "\n" in text:
        raise MalformedResponseError(f"header {name!r} contains a line break")
    return text


def to_web_response(result: object, payload_version: Literal["1.0", "2.0"]) -> web.Response:
    """Turn a Lambda proxy response into an aiohttp response (raises MalformedResponseError)."""
    if payload_version == "2.0" and not (isinstance(result, dict) and "statusCode" in result):
        # Payload 2.0: a result without statusCode is the JSON body of a 200.
        try:
            text = json.dumps(result)
        except (TypeError, ValueError) as exc:
            raise MalformedResponseError(f"the result is not JSON-serialisable: {exc}") from None
        return web.Response(status=200, text=text, content_type="application/json")
    if not isinstance(result, dict):
        raise MalformedResponseError(
            f"expected a dict with statusCode, got {type(result).__name__}"
        )
    status = result.get("statusCode")
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise MalformedResponseError(f"statusCode {status!r} is not an HTTP status")
    headers: CIMultiDict[str] = CIMultiDict()
    single = result.get("headers") or {}
    multi = result.get("multiValueHeaders") or {}
    if not isinstance(single, dict) or not isinstance(multi, dict):
        raise MalformedResponseError("headers and multiValueHeaders must be objects")
    for name, values in multi.items():
        if not isinstance(values, list):
            raise MalformedResponseError(f"multiValueHeaders[{name!r}] is not a list")
        for value in values:
            headers.add(str(name), _header_value(str(name), value))
    for name, value in single.items():
        if str(name) not in headers:
            headers[str(name)] = _header_value(str(name), value)
    cookies = result.get("cookies") if payload_version == "2.0" else None
    if cookies is not None:
        if not isinstance(cookies, list):
            raise MalformedResponseError("cookies must be a list of strings")
        for cookie in cookies:
            headers.add("Set-Cookie", _header_value("Set-Cookie", cookie))
    for name in list(headers):
        if name.lower() in HOP_BY_HOP_HEADERS or name.lower() == "content-length":
            del headers[name]
    body = result.get("body")
    is_base64 = result.get("isBase64Encoded", False)
    if not isinstance(is_base64, bool):
        raise MalformedResponseError("isBase64Encoded must be a boolean")
    payload: bytes | None
    if body is None:
        payload = None
    elif isinstance(body, str):
        if is_base64:
            try:
                payload = base64.b64decode(body, validate=True)
            except (binascii.Error, ValueError):
                raise MalformedResponseError("body is not valid base64") from None
        else:
            payload = body.encode()
    else:
        raise MalformedResponseError(f"body must be a string, got {type(body).__name__}")
    return web.Response(status=status, body=payload, headers=headers)
