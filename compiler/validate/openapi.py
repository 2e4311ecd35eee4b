"""The OpenAPI part of validation: openapi-spec-validator, mapped to located diagnostics.

Layer: validate. Reads a bundled ``LoadedSpec``; reports into ``Diagnostics``.

openapi-spec-validator's errors carry a path into the bundled document; the
source map turns it into file, line and pointer. A few violations that real,
widely deployed specs carry and that change nothing for the gateway (an empty
``responses`` object, malformed JSON Schema annotations) are reported as
warnings rather than refusing the whole document. Path-parameter checks are
done by the IR builder with better messages, so the validator's own are skipped.
"""

from __future__ import annotations

from typing import Any

from openapi_spec_validator.validation.validators import (
    OpenAPIV30SpecValidator,
    OpenAPIV31SpecValidator,
)

from ..diagnostics import Diagnostics, join_pointer
from ..source.loading import LoadedSpec, resolve_pointer

__all__ = ["validate_openapi"]

_ANNOTATION_KEYS = frozenset({"$vocabulary", "$schema", "$comment", "$id", "$anchor", "$dynamicAnchor"})
_SKIPPED_ERRORS = frozenset({"UnresolvableParameterError", "ParameterDuplicateError", "DuplicateOperationIDError"})


def _pointer(path: Any) -> str:
    return join_pointer("", *[str(p) for p in path])


def _tolerated(err: Any, path: list[Any]) -> bool:
    if getattr(err, "validator", None) == "minProperties" and path and path[-1] == "responses":
        return True
    return any(isinstance(p, str) and p in _ANNOTATION_KEYS for p in path)


def _message(err: Any) -> str:
    msg = str(getattr(err, "message", err)).splitlines()[0]
    if len(msg) > 300:
        msg = msg[:300] + " ..."
    validator = getattr(err, "validator", None)
    if validator == "additionalProperties":
        return f"unexpected field: {msg}"
    if validator == "required":
        return f"missing field: {msg}"
    return msg


def validate_openapi(spec: LoadedSpec, diags: Diagnostics) -> None:
    cls = OpenAPIV31SpecValidator if spec.openapi_version.startswith("3.1") else OpenAPIV30SpecValidator
    try:
        errors = list(cls(spec.document).iter_errors())
    except RecursionError:
        diags.warning("GW209", spec.origin(""), "the OpenAPI validator could not finish on this document (nesting too deep); structural checks were skipped")
        return
    except Exception as exc:  # the validator itself failed on input it did not expect
        diags.warning(
            "GW209",
            spec.origin(""),
            f"the OpenAPI validator stopped early ({type(exc).__name__}: {str(exc)[:200]}); structural checks were skipped",
        )
        return
    located = 0
    unlocated: list[Any] = []
    for err in errors:
        if type(err).__name__ in _SKIPPED_ERRORS:
            continue
        if getattr(err, "validator", None) == "format" and getattr(err, "validator_value", None) == "regex":
            # the IR builder reports a pattern Python cannot run as GW401, located
            continue
        err = _best(err)
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
        if getattr(err, "validator", None) in ("oneOf", "anyOf"):
            hint = "the value matches none of the shapes OpenAPI allows here; check field names and nesting"
        diags.error("GW200", origin, _message(err), hint=hint)
    if not located:
        for err in unlocated:
            diags.error("GW200", spec.origin(""), _message(err))


def _best(err: Any) -> Any:
    """For oneOf/anyOf failures, the branch error that got deepest says most."""
    context = getattr(err, "context", None)
    while getattr(err, "validator", None) in ("oneOf", "anyOf") and context:
        candidates = [e for e in context if e.validator not in ("$ref", "required") or len(context) == 1]
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
    if "parameters" not in path:
        return False
    cut = len(path) - 1 - path[::-1].index("parameters")
    param_path = path[: cut + 2]
    if len(path) - len(param_path) > 1 or not _resolves(spec, param_path):
        return False
    param = resolve_pointer(spec.document, _pointer(param_path))
    if isinstance(param, dict) and param.get("in") == "path" and param.get("required") is not True:
        diags.error("GW204", spec.origin(_pointer(param_path)), f"path parameter {param.get('name')!r} must have required: true")
        return True
    return False
