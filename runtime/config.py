"""Typed configuration values that generated gateways pass to the runtime.

Layer: runtime (stdlib only). The compiler turns the spec into literals of these
types in the generated ``config.py`` and ``routes.py``; the runtime never reads the
spec itself.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, TypeAlias

__all__ = [
    "ApiConfig",
    "JSONValue",
    "Limits",
    "OpenApiDocument",
    "ResponseOverride",
    "Segment",
    "SegmentKind",
    "Stage",
]

JSONValue: TypeAlias = "bool | int | float | str | list[JSONValue] | dict[str, JSONValue] | None"

SegmentKind: TypeAlias = Literal["static", "param", "greedy"]
# One path segment of a route: ("static", "pets"), ("param", "petId"), ("greedy", "proxy").
Segment: TypeAlias = tuple[SegmentKind, str]


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """Request limits enforced before any integration runs."""

    max_body_bytes: int = 10 * 1024 * 1024
    max_header_bytes: int = 10 * 1024
    max_url_length: int = 8 * 1024
    integration_timeout_ms: int = 29_000


@dataclass(frozen=True, slots=True, kw_only=True)
class Stage:
    """A deployment stage and its variables (values may contain ``${env.NAME}``)."""

    name: str
    variables: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class ResponseOverride:
    """A ``gatewayResponses`` entry: replaces parts of one response type's answer.

    ``body`` is a JSON document whose strings may hold placeholders such as
    ``{error.message}``; they are substituted as JSON values, never pasted as text.
    """

    type: str
    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    body: JSONValue = None
    has_body: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiConfig:
    """Everything about the API that is not a route: stages, limits, error format."""

    title: str
    version: str = ""
    base_path: str = ""
    stages: tuple[Stage, ...] = ()
    limits: Limits = field(default_factory=Limits)
    error_format: Literal["message", "problem+json"] = "message"
    gateway_responses: tuple[ResponseOverride, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenApiDocument:
    """The public OpenAPI document a gateway serves at ``path`` (under the basePath).

    The compiler exports it at build time (``x-gateway`` stripped, gateway servers,
    security and responses filled in) and ships it as package data of the generated
    gateway: ``resource`` inside ``package``. It is read once, when the app is built.
    """

    path: str = "/openapi.json"
    package: str
    resource: str = "openapi.json"

    def load(self) -> bytes:
        return importlib.resources.files(self.package).joinpath(self.resource).read_bytes()
