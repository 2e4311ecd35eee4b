"""Names for the generated SDK: modules, classes, enum members, namespaces and methods.

Layer: emit (SDK view). Pure functions over strings; no IR traversal.

Every rule here is deterministic and independent of document order: when two
candidates collide, the tie is broken by a sort key the caller passes (a JSON
pointer or the raw value), never by the order things were met.
"""

from __future__ import annotations

import keyword
import re
import unicodedata
from collections.abc import Iterable, Sequence

__all__ = [
    "CLIENT_RESERVED",
    "MODEL_RESERVED",
    "PARAM_RESERVED",
    "allocate",
    "enum_member_names",
    "method_and_namespace",
    "pascal",
    "safe_identifier",
    "snake",
    "words",
]

# Names a generated model class defines or its annotations rely on: a field with
# one of these names would shadow a method, or a type inside the class body.
MODEL_RESERVED = frozenset(
    {"from_json", "to_json", "extra_fields", "self", "cls"}
    | {"str", "int", "float", "bool", "bytes", "list", "dict", "tuple", "object"}
)

# Keyword parameters every operation method takes besides the spec's parameters.
PARAM_RESERVED = frozenset(
    {"self", "body", "timeout", "max_retries", "extra_headers", "extra_query", "http_method"}
)

# Attributes of the client classes that an operation method or namespace must not replace.
CLIENT_RESERVED = frozenset(
    {
        "close",
        "aclose",
        "base_url",
        "headers",
        "request",
        "timeout",
        "max_retries",
        "retry_backoff",
        "max_retry_delay",
    }
)

# digits stay with the letters before them: ``GMT0`` and ``oauth2`` are one word
_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+[0-9]*|[A-Z]+[0-9]*|[0-9]+")
_PUNCT_WORDS = {"+": "plus", "-": "minus", "*": "star", "@": "at", "#": "hash", ".": "dot"}


def _ascii(text: str) -> str:
    """Fold accents (``café`` -> ``cafe``); other non-ASCII letters are kept by ``words``."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def words(text: str) -> list[str]:
    """Split camelCase, snake_case, kebab-case and punctuation into lower-case words."""
    folded = _ascii(text)
    found = _WORD.findall(folded)
    if not found and text:
        # a name made only of non-ASCII letters: keep a readable hex form
        found = ["u" + "".join(f"{ord(ch):x}" for ch in text if ch.isalnum())]
    return [w.lower() for w in found if w]


def safe_identifier(name: str, *, reserved: Iterable[str] = ()) -> str:
    """Make ``name`` a valid identifier that is neither a keyword nor reserved."""
    if not name:
        name = "value"
    if name[0].isdigit():
        name = "n" + name
    if keyword.iskeyword(name) or keyword.issoftkeyword(name) or name in set(reserved):
        name += "_"
    return name


def snake(text: str) -> str:
    """``addCollaborator`` -> ``add_collaborator``; always a valid, non-keyword name."""
    return safe_identifier("_".join(words(text)))


def pascal(text: str) -> str:
    """``simple-user`` -> ``SimpleUser``; always a valid class name."""
    return safe_identifier("".join(w[:1].upper() + w[1:] for w in words(text)) or "Model")


def allocate(
    candidates: Sequence[tuple[str, str]],
    *,
    taken: Iterable[str] = (),
    case_sensitive: bool = False,
) -> dict[str, str]:
    """Give each ``(sort_key, wanted_name)`` a unique name; returns ``sort_key -> name``.

    Collisions are compared case-insensitively (module files live on case-insensitive
    file systems too) and resolved by ``sort_key`` order: the first keeps its name and
    the others get ``2``, ``3``, ... appended.
    """

    def fold(name: str) -> str:
        return name if case_sensitive else name.lower()

    used = {fold(t) for t in taken}
    result: dict[str, str] = {}
    for key, wanted in sorted(candidates):
        name = wanted
        n = 2
        while fold(name) in used:
            name = f"{wanted}{n}" if not wanted[-1:].isdigit() else f"{wanted}_{n}"
            n += 1
        used.add(fold(name))
        result[key] = name
    return result


def _enum_member_base(value: object) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        text = str(value).replace("-", "minus_").replace(".", "_")
        return "VALUE_" + text.upper()
    text = str(value)
    if text == "":
        return "EMPTY"
    parts: list[str] = []
    for chunk in re.split(r"([+\-*@#.])", text):
        if chunk in _PUNCT_WORDS:
            # "-" between words is a separator; "+"/"-" before a digit carries meaning
            if chunk == "-" or chunk == ".":
                parts.append("_")
            else:
                parts.append("_" + _PUNCT_WORDS[chunk] + "_")
        else:
            parts.append("_".join(words(chunk)))
    name = re.sub(r"_+", "_", "_".join(p for p in parts if p)).strip("_").upper()
    if not name:
        name = "VALUE"
    if name[0].isdigit():
        name = "V" + name
    return name


def enum_member_names(values: Sequence[object]) -> list[str]:
    """Member names for enum values, in the order given.

    Values that sanitise to the same name (``add``/``Add``/``ADD``) are told apart by
    numbering in code-point order of their ``repr``, so the result does not depend
    on the order the spec lists them in.
    """
    bases = [_enum_member_base(v) for v in values]
    by_base: dict[str, list[int]] = {}
    for i, base in enumerate(bases):
        by_base.setdefault(base, []).append(i)
    names = list(bases)
    taken = set(bases)
    for base, idxs in by_base.items():
        if len(idxs) < 2:
            continue
        # the lower-case spelling (the usual one on the wire) keeps the plain name
        ordered = sorted(
            idxs,
            key=lambda i: (str(values[i]) != str(values[i]).lower(), repr(values[i])),
        )
        n = 2
        for i in ordered[1:]:
            while f"{base}_{n}" in taken:
                n += 1
            names[i] = f"{base}_{n}"
            taken.add(names[i])
            n += 1
    return names


def method_and_namespace(operation_id: str, tags: Sequence[str]) -> tuple[str | None, str]:
    """``repos/add-collaborator`` -> (``repos``, ``add_collaborator``).

    The ``/`` and ``.`` parts of the operationId win; otherwise the first tag names
    the namespace; with neither the operation sits on the client itself (None).
    """
    parts = [p for p in re.split(r"[/.]", operation_id) if p]
    if len(parts) >= 2:
        return snake(parts[0]), snake("_".join(parts[1:]))
    if tags:
        return snake(tags[0]), snake(operation_id)
    return None, snake(operation_id)
