"""Backend URL templates: stage and env parts resolved at start-up, request parts per request.

Layer: runtime (stdlib only). A template arrives already split into parts by the
compiler, so nothing is parsed on the request path and a request value can never
inject URL structure: every request value is percent-encoded where it is placed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, TypeAlias
from urllib.parse import quote

from .errors import ConfigurationError

__all__ = [
    "EnvVar",
    "RequestTemplate",
    "RequestValue",
    "StageVar",
    "TemplatePart",
    "Text",
    "compile_template",
    "resolve_env_references",
    "resolve_start_references",
]


@dataclass(frozen=True, slots=True)
class Text:
    """Literal text, used as written."""

    text: str


@dataclass(frozen=True, slots=True)
class StageVar:
    """``${stage.name}``: a variable of the stage the gateway runs as."""

    name: str


@dataclass(frozen=True, slots=True)
class EnvVar:
    """``${env.NAME}`` or ``${env.NAME:-default}``: read once, when the gateway starts."""

    name: str
    default: str | None = None


@dataclass(frozen=True, slots=True)
class RequestValue:
    """``{path.x}``, ``{query.x}`` or ``{header.x}``: taken from each request, percent-encoded."""

    source: Literal["path", "query", "header"]
    name: str


TemplatePart: TypeAlias = Text | StageVar | EnvVar | RequestValue

_ENV_REFERENCE = re.compile(r"\$\{env\.([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def _env_value(name: str, default: str | None, env: Mapping[str, str], what: str) -> str:
    value = env.get(name)
    if value is not None:
        return value
    if default is not None:
        return default
    raise ConfigurationError(
        f"environment variable {name} is not set (needed by {what}); "
        f"set it, or give a default with ${{env.{name}:-value}}"
    )


def resolve_env_references(text: str, env: Mapping[str, str], *, what: str) -> str:
    """Replace ``${env.NAME}`` / ``${env.NAME:-default}`` in a stage variable's value."""
    return _ENV_REFERENCE.sub(lambda m: _env_value(m.group(1), m.group(2), env, what), text)


# ${stage.NAME} (or AWS's ${stageVariables.NAME}) or ${env.NAME} / ${env.NAME:-default}
_START_REFERENCE = re.compile(
    r"\$\{(?:(?:stage|stageVariables)\.([A-Za-z_][A-Za-z0-9_]*)"
    r"|env\.([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?)\}"
)


def resolve_start_references(
    text: str,
    *,
    stage_name: str,
    stage_variables: Mapping[str, str],
    env: Mapping[str, str],
    what: str,
) -> str:
    """Replace stage and env references in a setting fixed at start-up (a store URL).

    ``stage_variables`` are the running stage's values with their own ``${env.NAME}``
    already resolved; a substituted value is not scanned again, so text that comes
    from the environment is never read as a reference. Raises
    :class:`ConfigurationError` for a missing stage or environment variable.
    """

    def substitute(match: re.Match[str]) -> str:
        stage_var = match.group(1)
        if stage_var is None:
            return _env_value(match.group(2), match.group(3), env, what)
        value = stage_variables.get(stage_var)
        if value is None:
            known = ", ".join(sorted(stage_variables)) or "none"
            raise ConfigurationError(
                f"stage {stage_name!r} has no variable {stage_var!r} (needed by {what}); "
                f"its variables: {known}"
            )
        return value

    return _START_REFERENCE.sub(substitute, text)


def _encode_segment(value: str) -> str:
    # SECURITY: "." and ".." are dot segments even when percent-encoded ("%2e%2e"), so a
    # path parameter with that value would make the upstream URL climb out of its base.
    if value in (".", ".."):
        return "%2E" * len(value)
    return quote(value, safe="")


def _encode_greedy(value: str) -> str:
    # SECURITY: dot segments are encoded so a greedy capture such as "a/../../admin"
    # cannot climb out of the backend path once the upstream normalises it.
    return "/".join(
        "%2E" * len(seg) if seg in (".", "..") else quote(seg, safe="") for seg in value.split("/")
    )


class RequestTemplate:
    """A template with its start-up parts resolved; :meth:`render` fills request parts.

    ``static`` is the finished text when the template has no request parts, so callers
    can skip rendering entirely.
    """

    __slots__ = ("_pieces", "_single_path_value", "header_names", "source", "static")

    def __init__(
        self,
        pieces: tuple[str | tuple[Literal["path", "query", "header"], str, bool], ...],
        source: str,
    ) -> None:
        self._pieces = pieces
        self.source = source
        self.static: str | None = (
            "".join(p for p in pieces if isinstance(p, str))
            if all(isinstance(p, str) for p in pieces)
            else None
        )
        self._single_path_value: tuple[str, str, str] | None = None
        requests = [p for p in pieces if not isinstance(p, str)]
        # the request headers it reads (lowercased)
        self.header_names = frozenset(p[1].lower() for p in requests if p[0] == "header")
        if len(requests) == 1 and requests[0][0] == "path" and not requests[0][2]:
            at = pieces.index(requests[0])
            before = "".join(p for p in pieces[:at] if isinstance(p, str))
            after = "".join(p for p in pieces[at + 1 :] if isinstance(p, str))
            self._single_path_value = (before, requests[0][1], after)

    def render(
        self,
        path_params: Mapping[str, str],
        query: Mapping[str, str],
        headers: Mapping[str, str],
    ) -> str:
        if self.static is not None:
            return self.static
        single = self._single_path_value
        if single is not None:
            # the common shape: "<backend>/pets/" + {path.id} (+ suffix)
            prefix, name, suffix = single
            value = path_params.get(name, "")
            if not (value.isascii() and value.isalnum()):
                value = _encode_segment(value)
            return prefix + value + suffix
        out: list[str] = []
        for piece in self._pieces:
            if isinstance(piece, str):
                out.append(piece)
                continue
            source, name, greedy = piece
            if source == "path":
                value = path_params.get(name, "")
            elif source == "query":
                value = query.get(name, "")
            else:
                value = headers.get(name, "")
            if greedy:
                out.append(_encode_greedy(value))
            elif value.isascii() and value.isalnum():
                out.append(value)  # nothing to encode: skip quote() on the common case
            elif source == "path":
                out.append(_encode_segment(value))
            else:
                out.append(quote(value, safe=""))
        return "".join(out)


def compile_template(
    parts: tuple[TemplatePart, ...],
    *,
    stage_name: str,
    stage_variables: Mapping[str, str],
    env: Mapping[str, str],
    greedy_params: frozenset[str] = frozenset(),
    what: str,
) -> RequestTemplate:
    """Resolve stage and env parts now; keep request parts for :meth:`RequestTemplate.render`.

    ``what`` names the template's owner in error messages ("the backend URL of
    operation getPet"). Raises :class:`ConfigurationError` for a missing stage
    variable or environment variable.
    """
    pieces: list[str | tuple[Literal["path", "query", "header"], str, bool]] = []
    source: list[str] = []
    for part in parts:
        if isinstance(part, Text):
            text = part.text
            source.append(text)
        elif isinstance(part, StageVar):
            source.append(f"${{stage.{part.name}}}")
            if part.name not in stage_variables:
                known = ", ".join(sorted(stage_variables)) or "none"
                raise ConfigurationError(
                    f"stage {stage_name!r} has no variable {part.name!r} (needed by {what}); "
                    f"its variables: {known}"
                )
            text = stage_variables[part.name]
        elif isinstance(part, EnvVar):
            source.append(f"${{env.{part.name}}}")
            text = _env_value(part.name, part.default, env, what)
        else:
            source.append(f"{{{part.source}.{part.name}}}")
            pieces.append(
                (part.source, part.name, part.source == "path" and part.name in greedy_params)
            )
            continue
        if pieces and isinstance(pieces[-1], str):
            pieces[-1] += text
        else:
            pieces.append(text)
    return RequestTemplate(tuple(pieces), "".join(source))
