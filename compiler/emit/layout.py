"""Black's layout, printed directly: generated lines that black leaves unchanged.

Layer: emit. black (``compiler/format.py``) is the slowest stage of a compile on
big specs, and text already in black's style needs no second pass. These helpers
print the shapes the emitters generate the way black (the pinned version) prints
them. The gateway and validation emitters use ``layout`` and ``layout_line`` and
still run black over everything; the SDK emitter uses ``sdk_lines`` and marks the
modules it fully laid out as :class:`PreformattedSource`, which ``format`` trusts.

A shape these functions do not know is reported as a miss (``sdk_lines`` returns
the line unchanged and records it); ``format`` sends the blocks holding a miss to
black, so a miss costs time, never correctness.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = [
    "LINE_LENGTH",
    "PreformattedSource",
    "docstring_literal",
    "layout",
    "layout_line",
    "sdk_item_lines",
    "sdk_lines",
    "tracking_misses",
    "unsure",
]

LINE_LENGTH = 88
_LINE_LENGTH = LINE_LENGTH


class PreformattedSource(str):
    """Module text the emitter printed in black's style.

    ``unsure`` holds the (stripped) lines whose layout the emitter could not vouch
    for; ``format`` runs black only on the top-level blocks that contain one.
    ``compiled`` says the text was already checked to compile (where it was
    rendered), so ``format`` need not check it again.
    """

    unsure: frozenset[str]
    compiled: bool

    def __new__(cls, text: str, unsure: frozenset[str] = frozenset(), *, compiled: bool = False) -> PreformattedSource:
        made = super().__new__(cls, text)
        made.unsure = unsure
        made.compiled = compiled
        return made


# --------------------------------------------------------------------------- gateway
#
# The gateway emitter's expressions: a call or display, split after its outermost
# bracket as black does.


def _split_top_level(inner: str) -> list[str]:
    """Split ``a, (b, c), 'd,e'`` at its top-level commas (strings and brackets respected)."""
    items: list[str] = []
    depth = 0
    start = 0
    i = 0
    quote: str | None = None
    while i < len(inner):
        ch = inner[i]
        if quote is not None:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            items.append(inner[start:i].strip())
            start = i + 1
        i += 1
    tail = inner[start:].strip()
    if tail:
        items.append(tail)
    return items


def _opening(expr: str) -> int | None:
    """Index of the bracket that opens ``expr``'s outermost call or display, if it ends with it."""
    if not expr or expr[-1] not in ")]}":
        return None
    i = 0
    while i < len(expr) and (expr[i].isalnum() or expr[i] in "_.="):
        i += 1
    if i < len(expr) and expr[i] in "([{":
        return i
    return None


def layout(expr: str, indent: int = 0, suffix: str = "") -> list[str]:
    """Lines of ``expr`` as black would print them (a fixed point of black, cheap to format).

    Generated code is formatted by black; text that black would leave unchanged
    formats several times faster than text it must split, which matters on big specs.
    """
    pad = " " * indent
    if len(pad) + len(expr) + len(suffix) <= _LINE_LENGTH:
        return [pad + expr + suffix]
    opening = _opening(expr)
    if opening is None:
        return [pad + expr + suffix]
    head, inner, close = expr[: opening + 1], expr[opening + 1 : -1], expr[-1]
    items = _split_top_level(inner)
    # black keeps call arguments on one line when they fit, but splits a display
    # (tuple, list, dict) one item per line with a trailing comma
    is_call = head[:-1][-1:].isalnum() or head[:-1][-1:] in ("_", ".")
    joined = ", ".join(items)
    inner_pad = " " * (indent + 4)
    if is_call and head.endswith("["):
        # a subscript: a trailing comma would turn the key into a tuple
        return [pad + head, inner_pad + joined, pad + close + suffix]
    if is_call and len(inner_pad) + len(joined) <= _LINE_LENGTH:
        return [pad + head, inner_pad + joined, pad + close + suffix]
    lines = [pad + head]
    for item in items:
        lines.extend(layout(item, indent + 4, ","))
    lines.append(pad + close + suffix)
    return lines



# --------------------------------------------------------------------------- validation
#
# black formats the whole generated module; a line it must re-wrap, or a quote it
# must change, costs it a second pass over the block. These functions print the
# shapes this module generates exactly as black does. Anything they do not know
# is left on one line, and black (which always runs) wraps it: a miss costs time,
# never correctness.

_CLOSERS = {"(": ")", "[": "]", "{": "}"}
_SIGNIFICANT = re.compile(r"""[\\'"#()\[\]{}]""")
# black splits a condition at its lowest-priority operators first
_CONDITION_OPERATORS = (" or ", " and ", " + ")


@functools.lru_cache(maxsize=1 << 14)
def _brackets(text: str) -> Mapping[int, int] | None:
    """Matching bracket positions (opening -> closing) outside string literals.

    Kept for the texts seen last (read-only, hence a ``Mapping``): laying out one
    line asks about the same text and its parts several times.

    None when the text is not a balanced line of code this layout understands.
    """
    pairs: dict[int, int] = {}
    stack: list[int] = []
    quote: str | None = None
    skip_to = -1  # the character after a backslash inside a string is escaped
    # only the characters that matter are visited: lines are long on big specs
    for match in _SIGNIFICANT.finditer(text):
        i = match.start()
        if i < skip_to:
            continue
        ch = text[i]
        if quote is not None:
            if ch == "\\":
                skip_to = i + 2
            elif ch == quote:
                quote = None
        elif ch in "'\"":
            if text.startswith(ch * 3, i):
                return None  # triple-quoted strings: leave to black
            quote = ch
        elif ch == "#":
            return None
        elif ch in _CLOSERS:
            stack.append(i)
        elif ch in ")]}":
            if not stack or _CLOSERS[text[stack[-1]]] != ch:
                return None
            pairs[stack.pop()] = i
    return pairs if not stack and quote is None else None


def _top_level_items(inner: str) -> list[str]:
    """``inner`` cut at its top-level commas (strings and brackets respected)."""
    cuts = _top_level_cuts(inner, ",")
    if cuts is None:
        return [inner]
    items: list[str] = []
    start = 0
    for at, end in cuts:
        items.append(inner[start:at].strip())
        start = end
    tail = inner[start:].strip()
    if tail:
        items.append(tail)
    return items


_SCANNERS: dict[str, re.Pattern[str]] = {}


def _top_level_cuts(text: str, separator: str) -> list[tuple[int, int]] | None:
    """Spans of ``separator`` outside brackets and strings; None if unbalanced.

    Only the characters that matter are visited: generated lines are long.
    """
    pairs = _brackets(text)
    if pairs is None:
        return None
    scanner = _SCANNERS.get(separator)
    if scanner is None:
        scanner = _SCANNERS[separator] = re.compile(r"""[\\'"(\[{]|""" + re.escape(separator))
    cuts: list[tuple[int, int]] = []
    quote: str | None = None
    skip_to = -1
    for match in scanner.finditer(text):
        i = match.start()
        if i < skip_to:
            continue
        ch = text[i]
        if quote is not None:
            if ch == "\\":
                skip_to = i + 2
            elif ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif i in pairs:
            skip_to = pairs[i] + 1  # the bracketed part: its separators are not ours
        elif match.group() == separator:
            cuts.append((i, match.end()))
    return cuts


def layout_line(indent: int, text: str) -> list[str]:
    """Physical lines of one logical line at ``indent`` levels, as black prints them.

    Handles the shapes generated here: a ``def`` whose parameters do not fit, and a
    statement ending in a call or display (``raise gwv.Invalid(...)``,
    ``_ENUM_1 = frozenset((...))``). black splits such a line after the last
    opening bracket; the contents stay on one line if they fit (unless they are
    the items of a display, which always go one per line with a trailing comma),
    otherwise one item per line with a trailing comma, each laid out the same way.
    """
    pad = "    " * indent
    if len(pad) + len(text) <= _LINE_LENGTH:
        return [pad + text]
    pairs = _brackets(text)
    if pairs is None:
        return [pad + text]
    inner_pad = pad + "    "
    if text.startswith("def "):
        opening = text.index("(")
        closing = pairs[opening]
        params = _top_level_items(text[opening + 1 : closing])
        joined = ", ".join(params)
        if len(params) > 1 and len(inner_pad) + len(joined) <= _LINE_LENGTH:
            middle = [inner_pad + joined]
        else:
            # black adds the trailing comma to a lone parameter too
            middle = [inner_pad + param + "," for param in params]
        return [pad + text[: opening + 1], *middle, pad + text[closing:]]
    if text.startswith("if ") and text.endswith(":"):
        return _layout_condition(indent, text, pairs)
    return _layout_trailing_bracket(indent, text, pairs, suffix="")


def _layout_condition(indent: int, text: str, pairs: Mapping[int, int]) -> list[str]:
    """``if ... not (a or b):`` and ``if (a + b) != 1:``, split inside the parentheses.

    black wraps a long condition in parentheses of its own, unless the condition
    ends in (or starts with) a bracket it can split at instead; these are the shapes
    where it can, and does.
    """
    pad = "    " * indent
    whole = [pad + text]
    condition = text[3:-1]
    if text.startswith("if (") and text.endswith(") != 1:") and pairs[3] == len(text) - 7:
        opening = 3
    elif condition.endswith(")") and text[-3] != "(":
        opening = next(o for o, c in pairs.items() if c == len(text) - 2)
        prefix = text[3:opening]
        if prefix not in ("", "not ") and not (
            prefix.endswith(" and not ")
            and len(_top_level_split(prefix, " and ")) == 2
            and len(_top_level_split(prefix, " or ")) == 1
        ):
            return whole
    else:
        return whole
    closing = pairs[opening]
    tail = text[closing:]
    head = text[: opening + 1]
    inner = text[opening + 1 : closing]
    inner_pad = pad + "    "
    if len(pad) + len(head) > _LINE_LENGTH:
        return whole
    if len(inner_pad) + len(inner) <= _LINE_LENGTH:
        return [pad + head, inner_pad + inner, pad + tail]
    rows = _operator_rows(inner)
    if rows is None or any(
        len(inner_pad) + len(row) > _LINE_LENGTH and _brackets(row) != {} for row in rows
    ):
        return whole
    return [pad + head, *(inner_pad + row for row in rows), pad + tail]


def _operator_rows(text: str) -> list[str] | None:
    """``text`` split before its lowest-priority operator, as black splits inside
    brackets; None when it has none, or mixes operators (black's priorities decide)."""
    for operator in _CONDITION_OPERATORS:
        operands = _top_level_split(text, operator)
        if len(operands) > 1:
            break
    else:
        return None
    for operand in operands:
        for other in _CONDITION_OPERATORS:
            if len(_top_level_split(operand, other)) > 1:
                return None
    return [operands[0], *(operator.lstrip() + operand for operand in operands[1:])]


def _top_level_split(text: str, operator: str) -> list[str]:
    """``text`` cut at ``operator`` where it is outside brackets and strings."""
    cuts = _top_level_cuts(text, operator)
    if cuts is None:
        return [text]
    parts: list[str] = []
    start = 0
    for at, end in cuts:
        parts.append(text[start:at])
        start = end
    parts.append(text[start:])
    return parts


def _layout_trailing_bracket(
    indent: int, text: str, pairs: Mapping[int, int], *, suffix: str
) -> list[str]:
    pad = "    " * indent
    whole = [pad + text + suffix]
    if not text or text[-1] not in ")]}":
        return whole
    opening = next((o for o, c in pairs.items() if c == len(text) - 1), None)
    if opening is None or text[opening + 1 : -1].strip() == "":
        return whole
    head = text[: opening + 1]
    before = head[:-1]
    if before.endswith((")", "]", "}")) or before.rstrip().endswith((" for", " in", "lambda")):
        return whole  # chained calls and comprehensions: black's choice depends on more
    is_call = bool(before) and (before[-1].isalnum() or before[-1] == "_")
    if not is_call and before and not before.endswith((" ", "(", "[", "{")):
        return whole
    if not is_call and text[opening] != "(" and before.strip() == "":
        return whole
    inner = text[opening + 1 : -1]
    items = _top_level_items(inner)
    if any(" for " in item or item.startswith(("*", "lambda")) for item in items):
        return whole
    inner_pad = pad + "    "
    is_display_items = not is_call and (len(items) > 1 or inner.rstrip().endswith(","))
    if not is_display_items and len(inner_pad) + len(inner) <= _LINE_LENGTH:
        if len(items) == 1 and inner.rstrip().endswith(","):
            return whole  # a one-tuple's comma: black's rules differ, leave it
        return [pad + head, inner_pad + inner, pad + text[-1] + suffix]
    lines = [pad + head]
    for item in items:
        lines.extend(_layout_item(indent + 1, item))
    lines.append(pad + text[-1] + suffix)
    return lines


def _layout_item(indent: int, item: str) -> list[str]:
    """One item of a split call or display, with its trailing comma."""
    pad = "    " * indent
    item_pairs = _brackets(item)
    if len(pad) + len(item) + 1 <= _LINE_LENGTH or item_pairs is None:
        return [pad + item + ","]
    rows = _operator_rows(item)
    if rows is None:
        return _layout_trailing_bracket(indent, item, item_pairs, suffix=",")
    # inside brackets black splits at the operators first, one operand per line;
    # an operand without brackets stays whole even when it is too long
    if any(len(pad) + len(row) + 1 > _LINE_LENGTH and _brackets(row) != {} for row in rows):
        return [pad + item + ","]
    return [pad + row for row in rows[:-1]] + [pad + rows[-1] + ","]




# --------------------------------------------------------------------------- SDK
#
# The SDK emitter lays out every line through ``sdk_lines``; the shapes it knows
# are the ones the SDK templates generate. A line it cannot vouch for is recorded
# (see ``tracking_misses``) and left for black.

_misses: ContextVar[set[str] | None] = ContextVar("layout_misses", default=None)
_IMPORT_AS = re.compile(r"(from \S+ import) (\w+ as \w+)")
_ANNOTATED = re.compile(r"([A-Za-z_]\w*): (.+)")
_DEFINITION = re.compile(r"(?:async def|def|class) \w+\(")
_PLAIN_ASSIGNMENT = re.compile(r"[A-Za-z_][\w.]* = ")


@contextmanager
def tracking_misses() -> Iterator[set[str]]:
    """Collect, as stripped text, the lines ``sdk_lines`` could not lay out."""
    misses: set[str] = set()
    token = _misses.set(misses)
    try:
        yield misses
    finally:
        _misses.reset(token)


def sdk_lines(indent: int, text: str) -> str:
    """``text`` (one logical line) at ``indent`` columns, as black prints it.

    Returns the physical lines joined by newlines, without the first line's
    indentation (a template writes that). A shape this module does not know is
    returned on one line and recorded as a miss.
    """
    laid = _sdk_laid_out(indent, text)
    return unsure(text) if laid is None else laid


# Generated modules repeat many lines (signatures, field specs); laying one out
# is pure, so the answers are kept for the lines seen last.
@functools.lru_cache(maxsize=1 << 15)
def _sdk_laid_out(indent: int, text: str) -> str | None:
    lines = _sdk_layout(" " * indent, text)
    return None if lines is None else "\n".join(lines)[indent:]


def unsure(text: str) -> str:
    """``text`` unchanged, recorded as a line black must format (a shape the
    emitter does not lay out itself)."""
    misses = _misses.get()
    if misses is not None:
        misses.add(text.strip())
    return text


def sdk_item_lines(indent: int, item: str) -> str:
    """``item`` plus its trailing comma, as one item of an exploded bracket."""
    laid = _item_laid_out(indent, item)
    return unsure(item + ",") if laid is None else laid


@functools.lru_cache(maxsize=1 << 15)
def _item_laid_out(indent: int, item: str) -> str | None:
    lines = _item(" " * indent, item, ",")
    return None if lines is None else "\n".join(lines)[indent:]


def _fits(lines: list[str]) -> bool:
    return all(len(line) <= _LINE_LENGTH for line in lines)


def _sdk_layout(pad: str, text: str) -> list[str] | None:
    if text.startswith("return (") and text.endswith(")"):
        # black drops redundant parentheses around a returned value
        pairs = _brackets(text)
        inner = text[8:-1]
        if pairs and pairs.get(7) == len(text) - 1 and len(_top_level_items(inner)) == 1 and inner.strip():
            if inner.rstrip().endswith(",") or "yield" in inner or inner.startswith("*"):
                return None
            text = "return " + inner
    if len(pad) + len(text) <= _LINE_LENGTH:
        return [pad + text]
    if _brackets(text) is None:
        return None
    imported = _IMPORT_AS.fullmatch(text)
    if imported is not None:
        # black keeps the one name on its own line even when that is still too long
        return [pad + imported.group(1) + " (", pad + "    " + imported.group(2) + ",", pad + ")"]
    if _DEFINITION.match(text) and text.endswith(":"):
        return _definition(pad, text)
    annotated = _ANNOTATED.fullmatch(text)
    if annotated is not None and not text.startswith(("return ", "raise ")):
        return _annotated(pad, annotated.group(1), annotated.group(2), "")
    if _PLAIN_ASSIGNMENT.match(text) and _brackets(text) == {}:
        target, _, value = text.partition(" = ")
        # black wraps a right-hand side without brackets in parentheses, if that
        # makes it fit; otherwise it leaves the line alone
        if len(pad) + 4 + len(value) <= _LINE_LENGTH:
            return [pad + target + " = (", pad + "    " + value, pad + ")"]
        return [pad + text]
    return _bracket_split(pad, text, "")


_CALLEE_END = re.compile(r"[\w.]+$")
_CALLEE = re.compile(r"[\w.]+")
_STRING = r"""(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')"""
_STRING_ENTRY = re.compile(r"(?:\w+=|" + _STRING + ": )?" + _STRING)
_LAMBDA_HEAD = re.compile(r"lambda _v\d+: ")
# what may come before the bracket a line is split at: a plain target, then a name
_HEAD = re.compile(r"""(?:return |[\w.]+ = |\w+=|lambda _v\d+: |else |_k\d+: |"(?:[^"\\]|\\.)*": )?[\w.]*""")
# the key of a generated dict comprehension's entry (``{_k1: ... for _k1, _v1 in ...}``)
_COMPREHENSION_KEY = re.compile(r"_k\d+: ")


def _bracket_split(pad: str, text: str, suffix: str) -> list[str] | None:
    """A line ending in a call or display, split after that bracket's opening.

    One argument that does not fit is split the same way, without a trailing
    comma; several go one per line with one (black's right-hand split, then its
    delimiter split); a display's items always go one per line.
    """
    pairs = _brackets(text)
    if not pairs or text[-1] not in ")]}":
        return None
    opening = next(o for o, c in pairs.items() if c == len(text) - 1)
    head, inner = text[: opening + 1], text[opening + 1 : -1]
    before = head[:-1]
    if not _HEAD.fullmatch(before):
        return None  # operators before the bracket: black weighs other splits
    is_call = text[opening] == "(" and _CALLEE_END.search(before) is not None
    is_display = not is_call and (before == "" or before.endswith((" = ", "return ", "=", ": ", "else ")))
    if _LAMBDA_HEAD.fullmatch(before) and text[opening] == "(":
        return _parenthesized(pad, head, inner, pad + text[-1] + suffix)
    if not (is_call or is_display) or not inner.strip():
        return None
    if len(pad) + len(head) > _LINE_LENGTH:
        if head.startswith("return "):
            if len(pad) + 4 + len(head) - 7 <= _LINE_LENGTH:
                # black wraps the value in parentheses when that lets the head fit
                value = _bracket_split(pad + "    ", text[7:], "")
                return None if value is None or suffix else [pad + "return (", *value, pad + ")"]
        elif not _CALLEE.fullmatch(_plain_callee(head[:-1])):
            return None  # black has nothing better only when the head is a plain name
    inner_pad = pad + "    "
    tail = pad + text[-1] + suffix
    if len(_top_level_split(inner, " for ")) > 1:
        # a comprehension: its commas are not item separators
        if is_display and text[opening] in "[{" and len(_top_level_split(inner, " for ")) == 2:
            return _comprehension(pad, head, inner, tail)
        return None
    if re.search(r"lambda(?! _v\d+: )", inner):
        return None  # a lambda with parameters of its own: its commas are not ours
    if not is_display and any(word in inner for word in (" for ", " if ", "lambda", "*")):
        return None  # comprehensions, conditionals, lambdas, unpacking: left to black
    items = _top_level_items(inner)
    if len(tail) > _LINE_LENGTH:
        return None
    magic = inner.rstrip().endswith(",") and not (len(items) == 1 and text[opening] == "(" and not is_call)
    if magic and text[opening] == "[" and not is_display:
        return None  # a subscript's trailing comma
    if is_call and len(items) == 1 and not magic:
        if len(inner_pad) + len(inner) <= _LINE_LENGTH:
            return [pad + head, inner_pad + inner, tail]
        nested = _bracket_split(inner_pad, inner, "")
        return None if nested is None else [pad + head, *nested, tail]
    if is_display and not magic and len(items) == 1 and text[opening] == "(":
        return None  # a parenthesised expression, not a tuple
    if is_call and not magic and len(inner_pad) + len(inner) <= _LINE_LENGTH:
        return [pad + head, inner_pad + inner, tail]
    lines = [pad + head]
    for item in items:
        laid = _item(inner_pad, item, ",")
        if laid is None:
            return None
        lines.extend(laid)
    return [*lines, tail]


def _plain_callee(before: str) -> str:
    """What precedes a call's bracket, without a lambda head, ``else`` or a
    comprehension entry's key (black has nothing to split there either)."""
    before = _LAMBDA_HEAD.sub("", before, count=1).removeprefix("else ")
    key = _COMPREHENSION_KEY.match(before)
    return before[key.end() :] if key is not None else before


def _definition(pad: str, text: str) -> list[str] | None:
    """A ``def`` or ``class`` header: black splits it after the first bracket."""
    pairs = _brackets(text)
    assert pairs is not None
    opening = text.index("(")
    closing = pairs[opening]
    tail = text[closing:]
    params = _top_level_items(text[opening + 1 : closing])
    if not params or len(pad) + opening + 1 > _LINE_LENGTH:
        return None
    tail_lines = [pad + tail] if len(pad) + len(tail) <= _LINE_LENGTH else _return_annotation(pad, tail)
    if tail_lines is None:
        return None
    inner = pad + "    "
    joined = ", ".join(params)
    if len(params) > 1 and len(inner) + len(joined) <= _LINE_LENGTH:
        return [pad + text[: opening + 1], inner + joined, *tail_lines]
    middle: list[str] = []
    for param in params:
        laid = _item(inner, param, ",")
        if laid is None:
            return None
        middle.extend(laid)
    # black adds the trailing comma to a lone parameter too
    return [pad + text[: opening + 1], *middle, *tail_lines]


def _return_annotation(pad: str, tail: str) -> list[str] | None:
    """``) -> annotation:`` that does not fit: black splits the annotation."""
    if not (tail.startswith(") -> ") and tail.endswith(":")):
        return None
    annotation = tail[5:-1]
    inner = pad + "    "
    operands = _top_level_split(annotation, " | ")
    pairs = _brackets(annotation)
    if pairs is None:
        return None
    if len(operands) == 1 and annotation.endswith("]"):
        opening = next(o for o, c in pairs.items() if c == len(annotation) - 1)
        body = annotation[opening + 1 : -1]
        head = pad + ") -> " + annotation[: opening + 1]
        body_pairs = _brackets(body)
        if len(head) > _LINE_LENGTH or body_pairs is None or len(_top_level_items(body)) > 1:
            return None
        body_operands = _top_level_split(body, " | ")
        if len(inner) + len(body) > _LINE_LENGTH and (body_pairs or len(body_operands) > 1):
            rows = _union_rows(inner, body_operands)
            return None if rows is None else [head, *rows, pad + "]:"]
        return [head, inner + body, pad + "]:"]
    if len(operands) == 1 and pairs:
        return None
    if len(operands) == 1 and "." not in annotation and len(inner) + len(annotation) > _LINE_LENGTH:
        return [pad + tail]  # one name that would not fit on a line of its own: black leaves it
    if len(inner) + len(annotation) <= _LINE_LENGTH or len(operands) == 1:
        return [pad + ") -> (", inner + annotation, pad + "):"]
    rows = _union_rows(inner, operands)
    return None if rows is None else [pad + ") -> (", *rows, pad + "):"]


def _parenthesized(pad: str, head: str, inner: str, tail: str) -> list[str] | None:
    """``lambda _v0: (a if c else b)``: the body, then its ternary split one part per line."""
    inner_pad = pad + "    "
    if len(inner_pad) + len(inner) <= _LINE_LENGTH:
        return [pad + head, inner_pad + inner, tail]
    value, _, rest = inner.partition(" if ")
    condition, _, other = rest.partition(" else ")
    if not other or any(_brackets(part) != {} for part in (value, condition)) or " if " in other:
        return None
    rows = [inner_pad + value, inner_pad + "if " + condition]
    last = "else " + other
    if len(inner_pad) + len(last) <= _LINE_LENGTH:
        rows.append(inner_pad + last)
    else:
        split = _bracket_split(inner_pad, last, "")
        if split is None:
            return None
        rows.extend(split)
    return [pad + head, *rows, tail] if _fits(rows[:2]) else None


def _comprehension(pad: str, head: str, inner: str, tail: str) -> list[str] | None:
    """``[element for target in iterable]`` (or a dict's ``{key: value for ...}``):
    black splits before ``for`` if need be, then splits the element's brackets."""
    element, loop = _top_level_split(inner, " for ")
    if " if " in loop or _brackets(element) is None or "lambda" in inner:
        return None
    inner_pad = pad + "    "
    if len(inner_pad) + len(inner) <= _LINE_LENGTH:
        return [pad + head, inner_pad + inner, tail]
    rows = [inner_pad + element]
    if len(inner_pad) + len(element) > _LINE_LENGTH:
        split = _dict_entry(inner_pad, element) if head.endswith("{") else _bracket_split(inner_pad, element, "")
        if split is None:
            return None
        rows = split
    loop_row = inner_pad + "for " + loop
    return [pad + head, *rows, loop_row, tail] if len(loop_row) <= _LINE_LENGTH else None


def _dict_entry(pad: str, entry: str) -> list[str] | None:
    """``_k1: value``, a dict comprehension's entry that does not fit: black splits
    the value's brackets; a parenthesised conditional one part per line."""
    key = _COMPREHENSION_KEY.match(entry)
    if key is None:
        return None
    value = entry[key.end() :]
    pairs = _brackets(value)
    if pairs is None:
        return None
    if value.startswith("(") and pairs.get(0) == len(value) - 1:
        return _parenthesized(pad, key.group() + "(", value[1:-1], pad + ")")
    return _bracket_split(pad, entry, "")


def _item(pad: str, item: str, suffix: str) -> list[str] | None:
    """One item of an exploded bracket (a parameter, an argument), with ``suffix``."""
    if len(pad) + len(item) + len(suffix) <= _LINE_LENGTH:
        return [pad + item + suffix]
    annotated = _ANNOTATED.fullmatch(item)
    if annotated is not None:
        return _annotated(pad, annotated.group(1), annotated.group(2), suffix)
    if _brackets(item) is None:
        return None
    if _STRING_ENTRY.fullmatch(item) or _CALLEE.fullmatch(item):
        return [pad + item + suffix]  # nothing black could split
    return _bracket_split(pad, item, suffix)


def _annotated(pad: str, name: str, rest: str, suffix: str) -> list[str] | None:
    """``name: annotation [= default]``: black splits the value or the annotation."""
    parts = _top_level_split(rest, " = ")
    if len(parts) > 2 or (len(parts) == 2 and _brackets(parts[1]) != {}):
        return None
    annotation = parts[0]
    default = f" = {parts[1]}" if len(parts) == 2 else ""
    if default and len(pad) + len(name) + len(annotation) + 6 <= _LINE_LENGTH:
        # the line up to ``= (`` fits: black wraps the value instead, even when
        # the value still does not fit
        if suffix:
            return None
        return [pad + f"{name}: {annotation} = (", pad + "    " + parts[1], pad + ")"]
    tail = ")" + default + suffix
    if len(pad) + len(tail) > _LINE_LENGTH or len(pad) + len(name) + 3 > _LINE_LENGTH:
        return None
    pairs = _brackets(annotation)
    if pairs is None:
        return None
    operands = _top_level_split(annotation, " | ")
    inner = pad + "    "
    if len(operands) == 1 and pairs:
        # a lone subscript: black splits inside its brackets
        closing = len(annotation) - 1
        opening = next((o for o, c in pairs.items() if c == closing), None)
        if opening is None or annotation[opening] != "[" or not _CALLEE.fullmatch(annotation[:opening]):
            return None
        item = annotation[opening + 1 : -1]
        item_pairs = _brackets(item)
        if len(_top_level_items(item)) != 1 or item_pairs is None:
            return None
        if len(inner) + len(item) > _LINE_LENGTH and (item_pairs or " | " in item):
            return None
        head = pad + f"{name}: {annotation[: opening + 1]}"
        close = pad + "]" + default + suffix
        if len(head) > _LINE_LENGTH or len(close) > _LINE_LENGTH:
            return None
        return [head, inner + item, close]
    if len(operands) == 1 and "." not in annotation and len(inner) + len(annotation) > _LINE_LENGTH:
        return None  # one long name: not a shape seen in generated code
    if len(inner) + len(annotation) <= _LINE_LENGTH or len(operands) == 1:
        return [pad + f"{name}: (", inner + annotation, pad + tail]
    rows = _union_rows(inner, operands)
    if rows is None:
        return None
    return [pad + f"{name}: (", *rows, pad + tail]


def _union_rows(pad: str, operands: list[str]) -> list[str] | None:
    """``a | b | c`` split one operand per line, as black splits inside brackets.

    An operand without brackets stays whole even when too long; a subscript with
    several items (``_t.Literal[...]``) is exploded in its turn.
    """
    rows: list[str] = []
    for index, operand in enumerate(operands):
        prefix = pad + ("| " if index else "")
        pairs = _brackets(operand)
        if pairs is None:
            return None
        if len(prefix) + len(operand) <= _LINE_LENGTH or not pairs:
            rows.append(prefix + operand)
            continue
        opening = next((o for o, c in pairs.items() if c == len(operand) - 1), None)
        if opening is None or operand[opening] != "[" or not _CALLEE.fullmatch(operand[:opening]):
            return None
        items = _top_level_items(operand[opening + 1 : -1])
        if len(prefix) + opening + 1 > _LINE_LENGTH:
            return None
        rows.append(prefix + operand[: opening + 1])
        if len(items) == 1:
            # one subscript item: split like a body, without a trailing comma
            sub = _top_level_split(items[0], " | ")
            fits = len(pad) + 4 + len(items[0]) <= _LINE_LENGTH
            nested = [pad + "    " + items[0]] if len(sub) == 1 or fits else _union_rows(pad + "    ", sub)
            if nested is None or (len(sub) == 1 and not _fits(nested) and _brackets(items[0])):
                return None
            rows.extend(nested)
            rows.append(pad + "]")
            continue
        for item in items:
            laid = _item(pad + "    ", item, ",")
            if laid is None:
                return None
            rows.extend(laid)
        rows.append(pad + "]")
    return rows


_LINE_BREAK = re.compile(r"\r\n|[\r\n]")


@functools.lru_cache(maxsize=1 << 12)  # an operation's docstring is printed for both clients
def docstring_literal(body: str, indent: int) -> str:
    """The docstring ``\"\"\"body\"\"\"`` at ``indent`` columns, normalised as black does.

    ``body`` is already safe between triple quotes (``render.docstring``). black
    formats until nothing changes, and its padding next to a closing quote can
    move on the second pass, so this repeats until the text is stable too.
    """
    literal = _docstring_once(body, indent)
    for _ in range(3):
        again = _docstring_once(literal[3:-3], indent)
        if again == literal:
            break
        literal = again
    return literal


def _docstring_once(body: str, indent: int) -> str:
    """One pass of black's docstring handling: indentation re-based, trailing
    spaces dropped, padding next to a quote, closing quotes moved to their own
    line when they would overflow."""
    pad = " " * indent
    started_empty = not body
    if "\n" in body:
        text = _fix_multiline(body, pad)
    else:
        text = body.strip()
    trailing_backslash = False
    if text:
        if text[0] == '"':
            text = " " + text
        if text[-1] == '"':
            text += " "
        if text[-1] == "\\" and (len(text) - len(text.rstrip("\\"))) % 2:
            text += " "
            trailing_backslash = True
    elif not started_empty:
        text = " "
    lines = text.splitlines()
    last_length = len(lines[-1]) if text and not text.endswith("\n") else 0
    if len(lines) > 1 and last_length + 3 > _LINE_LENGTH and len(pad) + 3 <= _LINE_LENGTH and not trailing_backslash:
        if body.endswith("\n"):
            return '"""' + text + '"""'
        return '"""' + text + "\n" + pad + '"""'
    return '"""' + text + '"""'


def _fix_multiline(body: str, pad: str) -> str:
    lines = []
    for line in _LINE_BREAK.split(body):
        stripped = line.lstrip()
        if not stripped or stripped == line:
            lines.append(line)
        else:
            lines.append(line[: len(line) - len(stripped)].expandtabs(4) + stripped)
    indent = sys.maxsize
    for line in lines[1:]:
        stripped = line.lstrip()
        if stripped:
            indent = min(indent, len(line) - len(stripped))
    trimmed = [lines[0].strip()]
    if indent < sys.maxsize:
        last = len(lines) - 2
        for i, line in enumerate(lines[1:]):
            kept = line[indent:].rstrip()
            trimmed.append(pad + kept if kept or i == last else "")
    return "\n".join(trimmed)
