"""The single registry of diagnostic codes.

Codes are numbered by phase and are stable once released; a retired number is
never reused.

- GW1xx loading: files, YAML/JSON syntax, ``$ref`` resolution, document version
- GW2xx OpenAPI structure and OpenAPI semantic rules
- GW3xx ``x-gateway`` structure and semantics
- GW4xx schemas, naming and constructs a target cannot represent exactly
- GW5xx internal compiler errors (bugs: please report them)
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["CODES", "GATEWAY_ONLY", "CodeInfo", "DefaultSeverity", "lookup"]


class DefaultSeverity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class CodeInfo:
    code: str
    severity: DefaultSeverity
    summary: str

    @property
    def severity_name(self) -> str:
        return self.severity.value


def _table(*rows: tuple[str, DefaultSeverity, str]) -> dict[str, CodeInfo]:
    return {code: CodeInfo(code, sev, summary) for code, sev, summary in rows}


E, W, I = DefaultSeverity.ERROR, DefaultSeverity.WARNING, DefaultSeverity.INFO  # noqa: E741

CODES: dict[str, CodeInfo] = _table(
    # loading
    ("GW100", E, "input file not found or unreadable"),
    ("GW101", E, "YAML or JSON syntax error"),
    ("GW102", E, "$ref points to a file that cannot be loaded"),
    ("GW103", E, "$ref points to a location that does not exist"),
    ("GW104", E, "Swagger 2.0 document: only OpenAPI 3.0 and 3.1 are accepted"),
    ("GW105", E, "not an OpenAPI document, or an unsupported OpenAPI version"),
    ("GW106", E, "$ref cycle that never reaches a value"),
    ("GW107", E, "$ref value is not a string"),
    ("GW108", E, "document root is not a mapping"),
    ("GW109", W, "$ref is null"),
    # OpenAPI structure and semantics
    ("GW200", E, "OpenAPI document does not match the OpenAPI schema"),
    ("GW201", E, "duplicate operationId"),
    ("GW202", W, "path template variable has no path parameter; it is taken as a required string"),
    ("GW203", E, "path parameter does not appear in the path template"),
    ("GW204", E, "path parameter must be required"),
    ("GW205", E, "path template segment mixes text and a variable"),
    ("GW206", E, "greedy path variable is not the last segment"),
    ("GW207", E, "two paths are the same route"),
    ("GW208", E, "duplicate parameter"),
    ("GW209", W, "construct does not follow the OpenAPI schema but is accepted"),
    ("GW210", W, "webhooks and callbacks are not routed by the gateway"),
    ("GW211", E, "path does not start with '/'"),
    # x-gateway
    ("GW300", E, "x-gateway value does not match the x-gateway schema"),
    ("GW301", E, "integration refers to an undefined backend"),
    ("GW302", E, "template refers to an undefined stage variable"),
    ("GW303", E, "malformed template expression"),
    ("GW304", E, "unsupported x-gateway vocabulary version"),
    ("GW305", E, "$ref inside x-gateway does not resolve"),
    ("GW306", E, "function handler is not 'package.module:function'"),
    ("GW307", W, "operation has no integration; the gateway answers it with a mock"),
    ("GW308", W, "AWS integration cannot run outside AWS; the gateway answers it with a mock"),
    ("GW309", W, "mock has neither an example nor a schema to build one from; it answers with an empty body"),
    ("GW310", E, "route collides with a path the gateway reserves"),
    ("GW311", E, "unknown gateway response type"),
    ("GW312", E, "template refers to a path parameter the route does not have"),
    ("GW313", E, "stage is not defined"),
    ("GW314", W, "backend URL has no scheme or host until stage variables are applied"),
    ("GW315", I, "vendor extension imported into x-gateway"),
    ("GW316", W, "x-gateway key is not used at this level"),
    ("GW317", E, "usage plan refers to an operation that does not exist"),
    ("GW318", E, "cache key refers to a parameter the operation does not declare"),
    ("GW319", E, "security scheme cannot be enforced as configured"),
    ("GW320", E, "operation requires a security scheme that is not defined"),
    ("GW321", E, "CORS settings are invalid"),
    ("GW322", E, "sunset date is not a valid date"),
    ("GW323", E, "transform value expression is malformed or names an unknown source"),
    ("GW324", E, "transform JSON pointer is not valid"),
    ("GW325", E, "transform rewrites the upstream path of an integration that has none"),
    ("GW326", E, "two specs compiled together name the same version"),
    ("GW327", E, "two versions answer the same requests and nothing selects between them"),
    ("GW328", E, "route of one version lies under another version's basePath"),
    ("GW329", E, "specs compiled together state different version selectors"),
    # schemas, naming and representability
    ("GW400", W, "schema construct is not validated by the gateway"),
    ("GW401", W, "regular expression is not supported by Python's re; pattern not enforced"),
    ("GW402", W, "parameter serialisation is not supported; the value is passed through"),
    ("GW403", I, "identifier renamed to be a valid, unique Python name"),
    ("GW404", W, "construct cannot be represented exactly in the SDK"),
    ("GW405", W, "media type is not validated; the body is passed through"),
    # internal
    ("GW500", E, "internal compiler error"),
    ("GW501", E, "generated code could not be formatted"),
)


# Warnings about how the gateway will answer (mocks in place of integrations): noise
# for a compile that emits no gateway, such as an SDK built from an exported spec.
GATEWAY_ONLY: frozenset[str] = frozenset({"GW307", "GW308", "GW309"})


def lookup(code: str) -> CodeInfo:
    try:
        return CODES[code]
    except KeyError:  # a bug in the compiler, not in the spec
        raise KeyError(f"unregistered diagnostic code {code!r}") from None
