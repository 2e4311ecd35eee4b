"""The OpenAPI part of validation: openapi-spec-validator, mapped to located diagnostics.

Layer: validate. Reads a bundled ``LoadedSpec``; reports into ``Diagnostics``.

openapi-spec-validator's errors carry a path into the bundled document; the
source map turns it into file, line and pointer. A few violations that real,
widely deployed specs carry and that change nothing for the gateway (an empty
``responses`` object, malformed JSON Schema annotations) are reported as
warnings rather than refusing the whole document. Path-parameter checks are
done by the IR builder with better messages, so the validator's own are skipped.

openapi-spec-validator does not check OpenAPI 3.1 Schema Objects against the JSON
Schema 2020-12 meta-schema (3.1 schemas are dynamic references), so 3.1 schemas
are checked here: a malformed keyword (``required: [{}]``, ``properties: 3``) is an
error before the IR builder ever sees it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from jsonschema.validators import Draft202012Validator, validator_for

from ..diagnostics import Diagnostics, join_pointer
from ..source.loading import LoadedSpec, resolve_pointer

__all__ = ["validate_openapi"]

_ANNOTATION_KEYS = frozenset({"$vocabulary", "$schema", "$comment", "$id", "$anchor", "$dynamicAnchor"})
_SKIPPED_ERRORS = frozenset({"UnresolvableParameterError", "ParameterDuplicateError", "DuplicateOperationIDError"})
# Values that are data, not OpenAPI objects: a "schema" key inside them is not a schema.
_DATA_KEYS = frozenset({"example", "examples", "default", "enum", "const"})
_LOCATIONS = ("path", "query", "header", "cookie")
_META_SCHEMA = Draft202012Validator(Draft202012Validator.META_SCHEMA)


def _pointer(path: Any) -> str:
    return join_pointer("", *[str(p) for p in path])


def _keyword(err: Any) -> str | None:
    """The JSON Schema keyword an error is about. openapi-spec-validator 0.8 re-wraps
    schema errors without ``validator``; the schema path still ends with the keyword."""
    validator = getattr(err, "validator", None)
    if isinstance(validator, str):
        return validator
    schema_path = list(getattr(err, "schema_path", None) or [])
    return schema_path[-1] if schema_path and isinstance(schema_path[-1], str) else None


def _tolerated(err: Any, path: list[Any]) -> bool:
    if _keyword(err) == "minProperties" and path and path[-1] == "responses":
        return True
    return any(isinstance(p, str) and p in _ANNOTATION_KEYS for p in path)


def _message(err: Any) -> str:
    msg = str(getattr(err, "message", err)).splitlines()[0]
    if len(msg) > 300:
        msg = msg[:300] + " ..."
    validator = _keyword(err)
    if validator == "additionalProperties":
        return f"unexpected field: {msg}"
    if validator == "required":
        # one wording whichever quotes the validator uses: missing field: 'info' is ...
        name = re.match(r"""^["'](.*)["'] is a required property$""", msg)
        return f"missing field: {name.group(1)!r} is a required property" if name else f"missing field: {msg}"
    return msg


def _openapi_schema(openapi_version: str) -> dict[str, Any]:
    # openapi-spec-validator is imported where it is used: it costs a third of a second
    # to import, and big specs are validated in a forked process (see the pipeline)
    from openapi_spec_validator.schemas import schema_v30, schema_v31

    schema: dict[str, Any] = schema_v31 if openapi_version.startswith("3.1") else schema_v30
    return schema


def validate_openapi(spec: LoadedSpec, diags: Diagnostics) -> None:
    from openapi_spec_validator.validation.validators import (
        OpenAPIV30SpecValidator,
        OpenAPIV31SpecValidator,
    )

    cls = OpenAPIV31SpecValidator if spec.openapi_version.startswith("3.1") else OpenAPIV30SpecValidator
    # Errors are collected one by one: the validator checks the OpenAPI schema first and
    # its semantic rules after, and those can crash on a document the schema already
    # refused (``parameters: ""``). The errors found before a crash must still count.
    errors: list[Any] = []
    try:
        for err in cls(spec.document).iter_errors():
            errors.append(err)
    except RecursionError:
        diags.warning("GW209", spec.origin(""), "the OpenAPI validator could not finish on this document (nesting too deep); some structural checks were skipped")
    except Exception as exc:  # the validator itself failed on input it did not expect
        diags.warning(
            "GW209",
            spec.origin(""),
            f"the OpenAPI validator stopped early ({type(exc).__name__}: {str(exc)[:200]}); some structural checks were skipped",
        )
    detailed = _Detailed(spec)
    located = 0
    unlocated: list[Any] = []
    for err in errors:
        if type(err).__name__ in _SKIPPED_ERRORS:
            continue
        if _keyword(err) == "format" and getattr(err, "validator_value", None) == "regex":
            # the IR builder reports a pattern Python cannot run as GW401, located
            continue
        err = _best(detailed.with_context(err))
        path = list(getattr(err, "absolute_path", []) or [])
        if _report_specific(spec, diags, path):
            located += 1
            continue
        if _tolerated(err, path) and not _resolves(spec, path):
            diags.warning("GW209", spec.origin(""), f"{_message(err)} (at {_pointer(path)}); accepted")
            continue
        if path and not _resolves(spec, path):
            unlocated.append(err)  # a schema-relative path: usually repeats a located error
            continue
        located += 1
        origin = spec.origin(_pointer(path))
        if _tolerated(err, path):
            diags.warning("GW209", origin, f"{_message(err)}; accepted")
            continue
        hint = None
        if _keyword(err) in ("oneOf", "anyOf"):
            hint = "the value matches none of the shapes OpenAPI allows here; check field names and nesting"
        diags.error("GW200", origin, _message(err), hint=hint)
    if not located:
        for err in unlocated:
            diags.error("GW200", spec.origin(""), _message(err))
    _check_any_method_operations(spec, diags)
    if spec.openapi_version.startswith("3.1"):
        _check_31_schemas(spec, diags)


_ANY_METHOD = "x-amazon-apigateway-any-method"


def _operation_validator(openapi_version: str) -> Any:
    """A validator for one Operation Object, from the OpenAPI schema itself."""
    document_schema = _openapi_schema(openapi_version)
    if openapi_version.startswith("3.1"):
        schema = {**document_schema, "$ref": "#/$defs/operation"}
        for key in ("type", "properties", "required", "anyOf", "unevaluatedProperties"):
            schema.pop(key, None)
    else:
        schema = {"$ref": "#/definitions/Operation", "definitions": document_schema["definitions"]}
    return validator_for(document_schema)(schema)


def _check_any_method_operations(spec: LoadedSpec, diags: Diagnostics) -> None:
    """The gateway routes AWS ``x-amazon-apigateway-any-method`` objects as operations,
    but as a vendor extension the OpenAPI validator skips them: check them here."""
    paths = spec.document.get("paths")
    if not isinstance(paths, dict):
        return
    validator = None
    for key, item in paths.items():
        if not isinstance(item, dict) or _ANY_METHOD not in item:
            continue
        validator = validator or _operation_validator(spec.openapi_version)
        site = ["paths", key, _ANY_METHOD]
        for err in validator.iter_errors(item[_ANY_METHOD]):
            err = _best(err)
            if _keyword(err) == "required" and not err.absolute_path:
                continue  # AWS documents leave out ``responses`` here, and AWS accepts that
            path = site + list(err.absolute_path)
            pointer = _pointer(path) if _resolves(spec, path) else _pointer(site)
            diags.error("GW200", spec.origin(pointer), _message(err))


def _schema_sites(node: Any, path: list[Any]) -> Iterator[tuple[list[Any], Any]]:
    """Every Schema Object of a 3.1 document: ``schema`` values and component schemas
    (nested schemas are checked through them by the meta-schema)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if not isinstance(key, str) or key in _DATA_KEYS or key.startswith("x-"):
                continue
            if key == "schema" or (path[-1:] == ["components"] and key == "schemas"):
                if key == "schema":
                    yield [*path, key], value
                elif isinstance(value, dict):
                    yield from (([*path, key, name], schema) for name, schema in value.items())
                continue
            yield from _schema_sites(value, [*path, key])
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _schema_sites(value, [*path, index])


def _check_31_schemas(spec: LoadedSpec, diags: Diagnostics) -> None:
    for site, schema in _schema_sites(spec.document, []):
        try:
            errors = list(_META_SCHEMA.iter_errors(schema))
        except RecursionError:
            continue  # the OpenAPI validator already warned about nesting this deep
        for err in errors:
            path = site + list(err.absolute_path)
            if any(isinstance(p, str) and p in _ANNOTATION_KEYS for p in path):
                continue
            pointer = _pointer(path) if _resolves(spec, path) else _pointer(site)
            diags.error("GW200", spec.origin(pointer), f"invalid JSON Schema: {_message(err)}")


class _Detailed:
    """The Python ``jsonschema`` errors of the document against the OpenAPI schema.

    openapi-spec-validator may validate with a backend that reports a failed
    ``oneOf``/``anyOf`` without the branch errors (``context``) that say what is wrong;
    the same check with ``jsonschema`` keeps them. It runs once, and only when such an
    error occurs (so only on documents that are already invalid).
    """

    def __init__(self, spec: LoadedSpec) -> None:
        self._spec = spec
        self._by_path: dict[tuple[Any, ...], Any] | None = None

    def with_context(self, err: Any) -> Any:
        if _keyword(err) not in ("oneOf", "anyOf") or getattr(err, "context", None):
            return err
        if self._by_path is None:
            schema = _openapi_schema(self._spec.openapi_version)
            validator = validator_for(schema)(schema)
            self._by_path = {}
            try:
                for found in validator.iter_errors(self._spec.document):
                    self._by_path.setdefault(tuple(found.absolute_path), found)
            except RecursionError:
                pass
        return self._by_path.get(tuple(getattr(err, "absolute_path", ()) or ()), err)


def _best(err: Any) -> Any:
    """For oneOf/anyOf failures, the branch error that got deepest says most."""
    context = getattr(err, "context", None)
    while _keyword(err) in ("oneOf", "anyOf") and context:
        candidates = [e for e in context if _keyword(e) not in ("$ref", "required") or len(context) == 1]
        err = max(candidates or context, key=lambda e: len(e.absolute_path))
        context = getattr(err, "context", None)
    return err


def _resolves(spec: LoadedSpec, path: list[Any]) -> bool:
    try:
        resolve_pointer(spec.document, _pointer(path))
    except (KeyError, TypeError, ValueError):
        return False
    return True


def _report_specific(spec: LoadedSpec, diags: Diagnostics, path: list[Any]) -> bool:
    """Report violations that have their own code, with a message that says what to
    do; the schema's own wording ("True was expected", "does not match any of the
    regexes") does not."""
    if path == ["paths"]:
        paths = spec.document.get("paths")
        bad = [k for k in paths if not k.startswith(("/", "x-"))] if isinstance(paths, dict) else []
        for key in bad:
            diags.error("GW211", spec.origin(join_pointer("/paths", key)), f"path {key!r} must start with '/'", hint=f"write '/{key}'")
        return bool(bad)
    if len(path) >= 2 and path[-2] == "responses" and _resolves(spec, path):
        response = resolve_pointer(spec.document, _pointer(path))
        if isinstance(response, dict) and "$ref" not in response and "description" not in response:
            diags.error("GW200", spec.origin(_pointer(path)), f"response {path[-1]!r} needs a 'description'")
            return True
        return False
    if "parameters" not in path:
        return False
    cut = len(path) - 1 - path[::-1].index("parameters")
    param_path = path[: cut + 2]
    if len(path) - len(param_path) > 1 or not _resolves(spec, param_path):
        return False
    param = resolve_pointer(spec.document, _pointer(param_path))
    if isinstance(param, dict) and "$ref" not in param and param.get("in") not in _LOCATIONS:
        diags.error(
            "GW200",
            spec.origin(_pointer(param_path)),
            f"parameter {param.get('name')!r} needs 'in': one of path, query, header, cookie (got {param.get('in')!r})",
        )
        return True
    if isinstance(param, dict) and param.get("in") == "path" and param.get("required") is not True:
        diags.error("GW204", spec.origin(_pointer(param_path)), f"path parameter {param.get('name')!r} must have required: true")
        return True
    return False
