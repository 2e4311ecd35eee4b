"""Identifier resolution: every generated name is decided here, once.

Layer: ir. Names are valid Python identifiers, never keywords or soft keywords,
unique within their scope after NFKC normalisation (Python folds identifiers
that way) and, for class and module names, unique ignoring case (two modules
``Pet.py`` and ``pet.py`` collide on case-insensitive file systems).
"""

from __future__ import annotations

import keyword
import re
import unicodedata
from collections.abc import Iterable

__all__ = ["NameScope", "pascal_case", "snake_case"]

_WORD_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)
_SYMBOLS = {"+": "plus", "-": "minus", "*": "star", "<": "lt", ">": "gt", "=": "eq", "!": "not", "@": "at", "&": "and", "%": "pct", "#": "hash", "$": "dollar", ".": "dot"}


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    return "".join(ch if (ch.isidentifier() or ch.isdigit() or ch == "_") else " " for ch in text)


def _words(text: str) -> list[str]:
    cleaned = _clean(_WORD_BOUNDARY.sub(" ", text))
    return [w for w in _NON_WORD.sub(" ", cleaned).replace("_", " ").split() if w]


def _symbol_words(text: str) -> list[str]:
    """Spell out punctuation so that ``GMT+0`` and ``GMT-0`` stay distinct."""
    return _words("".join(f" {_SYMBOLS[ch]} " if ch in _SYMBOLS else ch for ch in text))


def snake_case(text: str, *, spell_symbols: bool = False) -> str:
    words = _symbol_words(text) if spell_symbols else _words(text)
    return "_".join(w.lower() for w in words)


def pascal_case(text: str, *, spell_symbols: bool = False) -> str:
    words = _symbol_words(text) if spell_symbols else _words(text)
    return "".join(w[:1].upper() + w[1:] for w in words)


def _valid(name: str, fallback: str, digit_prefix: str) -> str:
    if not name:
        name = fallback
    if name[0].isdigit():
        name = digit_prefix + name
    if not name.isidentifier():
        name = "".join(ch if ("_" + ch).isidentifier() else "_" for ch in name)
        if not name.isidentifier():
            name = fallback
    if keyword.iskeyword(name) or keyword.issoftkeyword(name) or name in ("None", "True", "False"):
        name += "_"
    return name


class NameScope:
    """Hands out unique identifiers within one scope (a module, a class, a signature)."""

    def __init__(self, reserved: Iterable[str] = (), *, ignore_case: bool = False) -> None:
        self.ignore_case = ignore_case
        self._taken: set[str] = set()
        for r in reserved:
            self._taken.add(self._key(r))

    def _key(self, name: str) -> str:
        norm = unicodedata.normalize("NFKC", name)
        return norm.casefold() if self.ignore_case else norm

    def reserve(self, name: str) -> None:
        self._taken.add(self._key(name))

    def taken(self, name: str) -> bool:
        return self._key(name) in self._taken

    def claim(self, candidate: str) -> str:
        name = candidate
        if self._key(name) in self._taken and not candidate.endswith("_"):
            name = candidate + "_"  # quote -> quote_, as PEP 8 suggests for clashes
        n = 2
        while self._key(name) in self._taken:
            name = f"{candidate}_{n}" if not candidate.endswith("_") else f"{candidate}{n}"
            n += 1
        self._taken.add(self._key(name))
        return name

    def snake(self, text: str, *, fallback: str = "value", spell_symbols: bool = False) -> str:
        return self.claim(_valid(snake_case(text, spell_symbols=spell_symbols), fallback, "n"))

    def pascal(self, text: str, *, fallback: str = "Model", spell_symbols: bool = False) -> str:
        return self.claim(_valid(pascal_case(text, spell_symbols=spell_symbols), fallback, "N"))
