"""SDK view model: what the SDK templates print, computed from the IR.

Layer: emit (SDK view). Every name, annotation and expression the templates need
is decided here (templates only loop and print); strings from the spec are left
raw and reach code through the ``pyrepr``/``docstring`` filters.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..diagnostics import Origin
from ..ir.nodes import Api, JSONValue, MediaType, Operation, Parameter, Response, SecurityScheme
from .sdk_naming import (
    CLIENT_RESERVED,
    PARAM_RESERVED,
    allocate,
    method_and_namespace,
    pascal,
    safe_identifier,
)
from .sdk_types import (
    AnyType,
    ListType,
    ModelType,
    ModelView,
    NullableType,
    PrimitiveType,
    PyType,
    SchemaViews,
    UnionType,
    typed_decode,
)

__all__ = [
    "ApiView",
    "AuthView",
    "BodyView",
    "NamespaceView",
    "OperationView",
    "ParamView",
    "ResponseView",
    "build_view",
    "media_kind",
    "qualify_builtins",
]

_BASE_CTOR = frozenset(
    {
        "base_url",
        "timeout",
        "max_retries",
        "headers",
        "session",
        "transport",
        "retry_backoff",
        "max_retry_delay",
        "self",
    }
)
_BODY_PREFERENCE = ("json", "form", "multipart", "binary", "text")


def media_kind(media_type: str) -> str:
    """json, form, multipart, text or binary, from a media type as written."""
    mt = media_type.split(";")[0].strip().lower()
    if mt == "application/json" or mt.endswith("+json") or mt == "*/*" or mt == "application/*":
        return "json"
    if mt == "application/x-www-form-urlencoded":
        return "form"
    if mt.startswith("multipart/"):
        return "multipart"
    if mt.startswith("text/"):
        return "text"
    return "binary"


@dataclass(eq=False)
class ParamView:
    name: str  # as in the spec
    py_name: str
    location: str
    style: str
    explode: bool
    allow_reserved: bool
    content_type: str | None
    required: bool
    type: PyType
    description: str | None

    @property
    def annotation(self) -> str:
        ann = self.type.in_ann()
        return ann if self.required else f"{ann} | None"


@dataclass(eq=False)
class BodyView:
    kind: str
    media_type: str
    required: bool
    type: PyType
    encoding: tuple[tuple[str, str | None, str | None, bool | None], ...]

    @property
    def annotation(self) -> str:
        if self.kind == "binary":
            ann = "_b.FileContent"
        elif self.kind == "text":
            ann = "str"
        else:
            ann = self.type.in_ann()
        return ann if self.required else f"{ann} | None"


@dataclass(eq=False)
class ResponseView:
    status: str
    kind: str  # json, text, binary, none
    type: PyType
    examples: tuple[JSONValue, ...] = ()  # the spec's examples, for round-trip checks

    @property
    def annotation(self) -> str:
        if self.kind == "none":
            return "None"
        if self.kind == "text":
            return "str"
        if self.kind == "binary":
            return "bytes"
        return self.type.ann()

    @property
    def return_lines(self) -> list[str]:
        """Statements that return the decoded body of the response ``_r``."""
        if self.kind == "none":
            return ["return None"]
        if self.kind == "text":
            return ["return _r.text()"]
        if self.kind == "binary":
            return ["return _r.content"]
        if isinstance(self.type, AnyType):
            return ["return _r.json()"]
        return ["_data = _r.json()", "return " + typed_decode(self.type, "_data")]

    @property
    def condition(self) -> str:
        """A Python condition on ``response.status`` (the variable is ``_r``)."""
        if self.status.isdigit():
            return f"_r.status == {int(self.status)}"
        if re.fullmatch(r"[1-5]XX", self.status.upper()):
            low = int(self.status[0]) * 100
            return f"{low} <= _r.status < {low + 100}"
        return "True"


@dataclass(eq=False)
class OperationView:
    op: Operation
    method_name: str
    params: list[ParamView]
    body: BodyView | None
    success: list[ResponseView]
    errors: list[ResponseView]
    security: tuple[tuple[str, ...], ...]
    idempotent: bool
    shadowed: frozenset[str] = frozenset()  # builtins that a sibling method name hides

    @property
    def any_method(self) -> bool:
        """The route accepts every method: the caller picks one."""
        return self.op.method == "ANY"

    @property
    def typed_errors(self) -> list[ResponseView]:
        return [r for r in self.errors if r.kind == "json" and not isinstance(r.type, AnyType)]

    @property
    def success_modules(self) -> list[ModelView]:
        return _modules_of(r.type for r in self.success)

    @property
    def error_modules(self) -> list[ModelView]:
        return _modules_of(r.type for r in self.typed_errors)

    @property
    def spec_name(self) -> str:
        return f"_op_{self.method_name}"

    @property
    def parse_name(self) -> str:
        return f"_parse_{self.method_name}"

    @property
    def error_name(self) -> str:
        return f"_error_{self.method_name}"

    @property
    def pointer(self) -> str:
        return self.op.origin.pointer

    @property
    def return_annotation(self) -> str:
        anns: list[str] = []
        for r in self.success:
            for part in _split_union(r.annotation):
                if part not in anns:
                    anns.append(part)
        if not anns or "_t.Any" in anns:
            return "_t.Any"
        return qualify_builtins(" | ".join(anns), self.shadowed)

    @property
    def fallback(self) -> ResponseView | None:
        return self.success[0] if self.success else None

    @property
    def branches(self) -> list[ResponseView]:
        return self.success[1:]

    @property
    def signature(self) -> str:
        """Keyword-only parameters after ``self``: required first, then optional."""
        parts: list[str] = []
        ordered = [p for p in self.params if p.required] + [
            p for p in self.params if not p.required
        ]
        for p in ordered:
            parts.append(f"{p.py_name}: {p.annotation}" + ("" if p.required else " = None"))
        if self.body is not None:
            parts.append(
                f"body: {self.body.annotation}" + ("" if self.body.required else " = None")
            )
        if self.any_method:
            parts.append('http_method: str = "GET"')
        parts.extend(
            [
                "timeout: float | None | _b.Unset = _b.UNSET",
                "max_retries: int | None = None",
                "extra_headers: _abc.Mapping[str, str] | None = None",
                "extra_query: _abc.Mapping[str, str] | None = None",
            ]
        )
        return qualify_builtins(", ".join(["self", "*", *parts]), self.shadowed)

    @property
    def call_arguments(self) -> str:
        names = [p.py_name for p in self.params]
        if self.body is not None:
            names.append("body")
        if self.any_method:
            names.append("http_method")
        names += ["timeout", "max_retries", "extra_headers", "extra_query"]
        return ", ".join(f"{n}={n}" for n in names)

    @property
    def values(self) -> str:
        names = [p.py_name for p in self.params]
        if len(names) == 1:
            return f"({names[0]},)"
        return "(" + ", ".join(names) + ")"

    @property
    def body_argument(self) -> str:
        return "body" if self.body is not None else "None"

    @property
    def summary(self) -> str:
        return self.op.summary or self.op.description or ""

    def modules(self) -> list[ModelView]:
        found: dict[str, ModelView] = {}
        types = [p.type for p in self.params] + [r.type for r in self.success + self.errors]
        if self.body is not None:
            types.append(self.body.type)
        for t in types:
            for m in t.modules():
                found[m.module] = m
        return [found[k] for k in sorted(found)]

    def example_call(self, receiver: str) -> str:
        args = [f"{p.py_name}={_example(p.type)}" for p in self.params if p.required]
        if self.body is not None and self.body.required:
            args.append(
                "body=" + ("b'...'" if self.body.kind == "binary" else _example(self.body.type))
            )
        return f"{receiver}.{self.method_name}({', '.join(args)})"


_BUILTIN_ANNOTATIONS = frozenset({"list", "dict", "str", "int", "float", "bool", "bytes", "tuple"})
_BUILTIN_RE = re.compile(r"(?<![\w.])(" + "|".join(sorted(_BUILTIN_ANNOTATIONS)) + r")\b")


def qualify_builtins(annotation: str, shadowed: frozenset[str]) -> str:
    """``list[...]`` -> ``_bi.list[...]`` where a method of the class is called ``list``."""
    if not shadowed:
        return annotation
    return _BUILTIN_RE.sub(
        lambda m: f"_bi.{m.group(1)}" if m.group(1) in shadowed else m.group(1), annotation
    )


def _modules_of(types: Iterable[PyType]) -> list[ModelView]:
    found: dict[str, ModelView] = {}
    for t in types:
        for m in t.modules():
            found[m.module] = m
    return [found[k] for k in sorted(found)]


def _split_union(annotation: str) -> list[str]:
    depth, start, parts = 0, 0, []
    for i, ch in enumerate(annotation):
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(annotation[start:i].strip())
            start = i + 1
    parts.append(annotation[start:].strip())
    return parts


def _example(t: PyType) -> str:
    if isinstance(t, NullableType):
        return _example(t.inner)
    if isinstance(t, PrimitiveType):
        return {"str": '"string"', "int": "0", "float": "0.0", "bool": "True"}.get(t.py, "None")
    if isinstance(t, ListType):
        return "[" + _example(t.item) + "]"
    if isinstance(t, ModelType) and t.model.kind == "enum" and t.model.members:
        return repr(t.model.members[0].value)
    if isinstance(t, UnionType) and t.members:
        return _example(t.members[0])
    if isinstance(t, ModelType | AnyType) or t.json_kind == "object":
        return "{...}"
    return "..."


@dataclass(eq=False)
class NamespaceView:
    name: str | None  # None: operations that sit on the client itself
    module: str
    class_name: str
    operations: list[OperationView] = field(default_factory=list)

    @property
    def async_class(self) -> str:
        return f"Async{self.class_name}"

    @property
    def alias(self) -> str:
        return f"_r_{self.module}"

    def modules(self) -> list[ModelView]:
        found: dict[str, ModelView] = {}
        for op in self.operations:
            for m in op.modules():
                found[m.module] = m
        return [found[k] for k in sorted(found)]


@dataclass(eq=False)
class AuthView:
    key: str
    py_name: str
    kind: str  # apiKey, bearer, basic, http
    location: str | None
    name: str | None
    annotation: str
    description: str | None


@dataclass(eq=False)
class ApiView:
    api: Api
    distribution: str
    package: str
    version: str
    base_url: str | None
    models: list[ModelView]
    namespaces: list[NamespaceView]
    root: NamespaceView | None
    auth: list[AuthView]
    default_security: tuple[tuple[str, ...], ...]
    warnings: list[tuple[Origin, str]]

    @property
    def operation_count(self) -> int:
        n = sum(len(ns.operations) for ns in self.namespaces)
        return n + (len(self.root.operations) if self.root else 0)

    @property
    def user_agent(self) -> str:
        return f"{self.distribution}/{self.version} (python; aiohttp)"

    @property
    def exported_models(self) -> list[tuple[str, str]]:
        """(exported name, module) sorted by name."""
        pairs = [(name, m.module) for m in self.models for name in m.exported]
        return sorted(pairs)


def _security(reqs: tuple[object, ...] | None) -> tuple[tuple[str, ...], ...]:
    if reqs is None:
        return ()
    result: list[tuple[str, ...]] = []
    for req in reqs:
        schemes = getattr(req, "schemes", ())
        result.append(tuple(key for key, _ in schemes))
    return tuple(result)


class _Builder:
    def __init__(self, api: Api) -> None:
        self.api = api
        self.types = SchemaViews(api)

    def build(self) -> ApiView:
        api = self.api
        for model in sorted(api.models, key=lambda m: m.id):
            self.types.component(model)
        auth = self._auth()
        auth_keys = {a.key for a in auth}
        groups: dict[str | None, list[tuple[Operation, str]]] = {}
        for op in api.operations:
            namespace, method = method_and_namespace(op.id, op.tags)
            groups.setdefault(namespace, []).append((op, method))
        ns_names = allocate(
            [(name, name) for name in groups if name is not None],
            taken=CLIENT_RESERVED,
        )
        namespaces: list[NamespaceView] = []
        root: NamespaceView | None = None
        for key in sorted(groups, key=lambda k: (k is not None, k or "")):
            ops = groups[key]
            if key is None:
                view = NamespaceView(name=None, module="_root", class_name="Root")
            else:
                name = ns_names[key]
                view = NamespaceView(name=name, module=name, class_name=pascal(name))
            reserved = set(CLIENT_RESERVED) | set(ns_names.values())
            methods = allocate(
                [(op.id, method) for op, method in ops], taken=reserved, case_sensitive=True
            )
            shadowed = frozenset(methods.values()) & _BUILTIN_ANNOTATIONS
            for op, _ in ops:
                op_view = self._operation(op, methods[op.id], auth_keys)
                op_view.shadowed = shadowed
                view.operations.append(op_view)
            if key is None:
                root = view
            else:
                namespaces.append(view)
        models = self.types.finalise()
        version = api.version if re.fullmatch(r"\d+(\.\d+)*", api.version) else "0.0.0"
        base_url = next((s for s in api.servers if "{" not in s and "://" in s), None)
        return ApiView(
            api=api,
            distribution=f"{api.name}-client",
            package=f"{api.package}_client",
            version=version,
            base_url=base_url,
            models=models,
            namespaces=namespaces,
            root=root,
            auth=auth,
            default_security=tuple(alt for alt in _security(api.security) if set(alt) <= auth_keys),
            warnings=self.types.warnings,
        )

    def _auth(self) -> list[AuthView]:
        result: list[AuthView] = []
        names = allocate(
            [
                (s.key, safe_identifier(s.py_name, reserved=_BASE_CTOR))
                for s in self.api.security_schemes
            ],
            taken=_BASE_CTOR,
            case_sensitive=True,
        )
        for s in self.api.security_schemes:
            view = self._scheme(s, names[s.key])
            if view is not None:
                result.append(view)
        return result

    def _scheme(self, s: SecurityScheme, py_name: str) -> AuthView | None:
        if s.type == "apiKey":
            return AuthView(
                s.key, py_name, "apiKey", s.location, s.param_name, "str | None", s.description
            )
        if s.type == "http":
            scheme = (s.scheme or "").lower()
            if scheme == "basic":
                return AuthView(
                    s.key, py_name, "basic", None, None, "tuple[str, str] | None", s.description
                )
            if scheme == "bearer":
                return AuthView(s.key, py_name, "bearer", None, None, "str | None", s.description)
            self.types.warn(s.origin, f"http scheme {s.scheme!r}: the credential is sent as is")
            return AuthView(s.key, py_name, "http", None, s.scheme, "str | None", s.description)
        if s.type in ("oauth2", "openIdConnect"):
            # the SDK takes an access token; obtaining it is the application's job
            return AuthView(s.key, py_name, "bearer", None, None, "str | None", s.description)
        self.types.warn(s.origin, f"{s.type} security is left to the transport")
        return None

    def _operation(self, op: Operation, method_name: str, auth_keys: set[str]) -> OperationView:
        prefix = pascal(op.py_name)
        candidates: list[tuple[str, str]] = []
        for p in op.parameters:
            base = p.py_name if not p.py_name.startswith("_") else "p" + p.py_name
            candidates.append(
                (f"{p.location}:{p.name}", safe_identifier(base, reserved=PARAM_RESERVED))
            )
        py_names = allocate(candidates, taken=PARAM_RESERVED, case_sensitive=True)
        params = [self._param(p, py_names[f"{p.location}:{p.name}"], prefix) for p in op.parameters]
        body = self._body(op, prefix)
        success: list[ResponseView] = []
        errors: list[ResponseView] = []
        default: Response | None = None
        for r in op.responses:
            if r.status == "default":
                default = r
                continue
            view = self._response(r, f"{prefix}Response{r.status}")
            (success if r.status[0] in "123" else errors).append(view)
        if default is not None:
            dview = self._response(default, f"{prefix}ResponseDefault")
            (errors if success else success).append(dview)
        if not success:
            success.append(ResponseView(status="default", kind="json", type=AnyType()))
        success.sort(key=_status_rank)
        errors.sort(key=_status_rank)
        security = _security(op.security) if op.security is not None else ()
        if any(not set(alt) <= auth_keys for alt in security):
            security = tuple(alt for alt in security if set(alt) <= auth_keys)
        if op.security is not None and not op.security:
            security = ((),)  # explicitly anonymous
        return OperationView(
            op=op,
            method_name=method_name,
            params=params,
            body=body,
            success=success,
            errors=errors,
            security=security,
            idempotent=op.idempotent,
        )

    def _param(self, p: Parameter, py_name: str, prefix: str) -> ParamView:
        style = p.style
        known = {
            "path": {"simple", "label", "matrix"},
            "query": {"form", "spaceDelimited", "pipeDelimited", "deepObject"},
            "header": {"simple"},
            "cookie": {"form"},
        }[p.location]
        if style not in known:
            self.types.warn(
                p.origin, f"parameter style {style!r} in {p.location} is sent as 'form'"
            )
        return ParamView(
            name=p.name,
            py_name=py_name,
            location=p.location,
            style=style,
            explode=p.explode,
            allow_reserved=p.allow_reserved,
            content_type=p.content_type,
            required=p.required,
            type=self.types.type_of(p.schema, prefix + pascal(p.name)),
            description=p.description,
        )

    def _body(self, op: Operation, prefix: str) -> BodyView | None:
        rb = op.request_body
        if rb is None or not rb.contents:
            return None
        ranked = sorted(
            rb.contents, key=lambda mt: _BODY_PREFERENCE.index(media_kind(mt.media_type))
        )
        chosen = ranked[0]
        if len(rb.contents) > 1:
            others = ", ".join(mt.media_type for mt in rb.contents if mt is not chosen)
            self.types.warn(
                rb.origin, f"the SDK sends {chosen.media_type}; also accepted by the API: {others}"
            )
        kind = media_kind(chosen.media_type)
        media = (
            "application/json"
            if chosen.media_type in ("*/*", "application/*")
            else chosen.media_type
        )
        return BodyView(
            kind=kind,
            media_type=media,
            required=rb.required,
            type=self.types.type_of(chosen.schema, prefix + "Body"),
            encoding=chosen.encoding,
        )

    def _response(self, r: Response, wanted: str) -> ResponseView:
        if not r.contents:
            return ResponseView(status=r.status, kind="none", type=PrimitiveType(py="None"))
        chosen: MediaType = sorted(
            r.contents, key=lambda mt: _BODY_PREFERENCE.index(media_kind(mt.media_type))
        )[0]
        kind = media_kind(chosen.media_type)
        if kind in ("form", "multipart"):
            kind = "binary"
        if (
            kind == "json"
            and chosen.media_type in ("*/*", "application/*")
            and chosen.schema is None
        ):
            kind = "binary"
        return ResponseView(
            status=r.status,
            kind=kind,
            type=self.types.type_of(chosen.schema, wanted),
            examples=tuple(e.value for e in chosen.examples),
        )


def _status_rank(r: ResponseView) -> int:
    """Exact codes first (in declared order: sort is stable), then ranges, then default."""
    if r.status.isdigit():
        return 0
    return 2 if r.status == "default" else 1


def build_view(api: Api) -> ApiView:
    """The whole SDK view of ``api``; warnings are in ``ApiView.warnings``."""
    return _Builder(api).build()
