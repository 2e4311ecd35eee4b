"""The compiler pipeline: load -> validate -> IR -> emit -> format -> write.

Layer: the top of the compiler; the CLI is a thin shell around these functions.
Each stage reports into one ``Diagnostics``; the pipeline stops between stages
when there are errors and never writes a partial output.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import importlib
import json
import multiprocessing
import multiprocessing.process
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.reduction import ForkingPickler
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar

from . import __version__, runtime_requirement
from .codes import GATEWAY_ONLY
from .diagnostics import Diagnostic, Diagnostics, Origin, Position, Severity, SpecError
from .emit.base import EmitOptions, Emitter, FileTree
from .format import RenderJob, format_tree
from .ir.build import BuildOptions, build_api
from .ir.nodes import Api
from .source.loading import LoadedSpec, LoadFailed, SourceFile, load
from .validate.openapi import validate_openapi
from .validate.x_gateway import validate_x_gateway
from .versioning import (
    VersionedApi,
    apply_version_settings,
    compose_versions,
    read_version_settings,
)

__all__ = [
    "TARGETS",
    "CompileResult",
    "Locator",
    "build_ir",
    "build_versioned_ir",
    "compile_to_tree",
    "compile_versions_to_tree",
    "ir_to_json",
    "load_and_validate",
]

TARGETS = ("gateway", "sdk")


class Locator:
    """Finds positions across every loaded spec (several specs can be compiled together)."""

    def __init__(self) -> None:
        self.specs: list[LoadedSpec] = []
        # files of specs that failed to load: their load errors still need positions
        self.files: list[SourceFile] = []

    def locate(self, origins: Sequence[Origin]) -> None:
        """Find the positions of ``origins`` in one pass per file, ahead of :meth:`position`."""
        by_file: dict[str, list[str]] = {}
        for origin in origins:
            by_file.setdefault(origin.file, []).append(origin.pointer)
        for spec in self.specs:
            for source in spec.files.values():
                if source.label in by_file:
                    source.locate(by_file.pop(source.label))

    def position(self, origin: Origin) -> Position | None:
        for spec in self.specs:
            pos = spec.position(origin)
            if pos is not None:
                return pos
        for f in self.files:
            if f.label == origin.file:
                return f.position(origin.pointer)
        return None


def load_and_validate(path: Path, diags: Diagnostics, locator: Locator | None = None) -> LoadedSpec | None:
    try:
        spec = load(path, diags)
    except LoadFailed as exc:
        if locator is not None:
            locator.files.extend(exc.files.values())
        return None
    if locator is not None:
        locator.specs.append(spec)
    validate_openapi(spec, diags)
    validate_x_gateway(spec, diags)
    return None if diags.has_errors else spec


# Below this many paths the OpenAPI validator finishes before a process would start.
_BACKGROUND_VALIDATION_MIN_PATHS = 100
# From this size on, a spec file is worth validating in a process started before it
# is even loaded (see _ValidatorProcess).
_EARLY_VALIDATION_MIN_BYTES = 256 * 1024
# what validate_openapi imports first: a third of a second, paid while the spec loads
_VALIDATOR_MODULE = "openapi_spec_validator.validation.validators"
_SHARED_VALIDATOR_MODULE = "openapi_schema_validator"


class _ValidatorProcess:
    """A forked process for openapi-spec-validator, started before the spec is loaded.

    The validator's own import takes a third of a second; the process pays it while
    this one loads the spec, then receives the loaded spec (pickled: a few
    hundredths of a second for a big spec) and validates it.
    """

    def __init__(self, process: multiprocessing.process.BaseProcess, conn: Connection) -> None:
        self._process = process
        self._conn = conn
        self._sender: threading.Thread | None = None

    @classmethod
    def start(cls, path: Path) -> _ValidatorProcess | None:
        """The process for a big spec file, or None (small file, or no fork)."""
        try:
            big = path.stat().st_size >= _EARLY_VALIDATION_MIN_BYTES
        except OSError:
            return None  # the loader reports it
        if not big or "fork" not in multiprocessing.get_all_start_methods():
            return None
        # Both processes need openapi-schema-validator (this one for the mock bodies
        # the IR builder synthesizes, found in any big spec): imported once, here.
        importlib.import_module(_SHARED_VALIDATOR_MODULE)
        ctx = multiprocessing.get_context("fork")
        conn, child_conn = ctx.Pipe()
        process = ctx.Process(target=_validate_when_sent, args=(child_conn,), daemon=True)
        try:
            process.start()
        except OSError:
            conn.close()
            child_conn.close()
            return None
        child_conn.close()
        return cls(process, conn)

    def send(self, spec: LoadedSpec) -> Connection | None:
        """Hand ``spec`` over; the connection its diagnostics will come from, or None
        when it could not be sent (the process is stopped then).

        The spec is pickled here, but written from a thread: the process may still be
        importing the validator, and this one has the IR to build meanwhile.
        """
        try:
            payload = ForkingPickler.dumps(_for_validation(spec))
        except Exception:  # a document pickle cannot take
            self.cancel()
            return None
        self._sender = threading.Thread(target=self._write, args=(payload,), daemon=True)
        self._sender.start()
        return self._conn

    def _write(self, payload: bytes | memoryview) -> None:
        # when the process died, no result comes and the spec is validated here
        with contextlib.suppress(OSError):
            self._conn.send_bytes(payload)

    def sent(self) -> None:
        """Wait until the spec is written (or could not be)."""
        if self._sender is not None:
            self._sender.join()

    def cancel(self) -> None:
        self._conn.close()
        self._process.terminate()
        self._process.join()

    def join(self) -> None:
        self._process.join()


def _for_validation(spec: LoadedSpec) -> LoadedSpec:
    """``spec`` as far as validation reads it: the bundled document and its source map,
    without the files' text and parsed data (more than half of what would be pickled)."""
    files = {path: dataclasses.replace(f, text="", data=None, positions={}) for path, f in spec.files.items()}
    same = {id(f): files[path] for path, f in spec.files.items()}
    inlined = {pointer: (same[id(src)], src_pointer) for pointer, (src, src_pointer) in spec.inlined.items()}
    return LoadedSpec(same[id(spec.root)], files, spec.document, inlined, spec.openapi_version)


def _validate_when_sent(conn: Connection) -> None:
    importlib.import_module(_VALIDATOR_MODULE)
    try:
        spec: LoadedSpec = conn.recv()
    except (EOFError, OSError):
        return  # the spec did not load
    _validate_in_child(spec, conn)


class _OpenApiCheck:
    """openapi-spec-validator on a spec, in another process when the spec is big.

    The validator is the slowest part of building the IR (seconds on big specs)
    and only reports; nothing downstream reads its result except the decision to
    stop. So it runs beside the IR builder, and an IR built from a spec it rejects
    is thrown away. The process is either started before loading
    (:class:`_ValidatorProcess`, for a big file) or forked once the spec is loaded
    (a big spec spread over small files), so the spec need not be sent.
    """

    def __init__(self, spec: LoadedSpec, early: _ValidatorProcess | None = None) -> None:
        self.spec = spec
        self._conn: Connection | None = None
        self._process: _ValidatorProcess | multiprocessing.process.BaseProcess | None = None
        if early is not None:
            self._conn = early.send(spec)
            if self._conn is not None:
                self._process = early
                return
        paths = spec.document.get("paths")
        big = isinstance(paths, dict) and len(paths) >= _BACKGROUND_VALIDATION_MIN_PATHS
        if big and "fork" in multiprocessing.get_all_start_methods():
            ctx = multiprocessing.get_context("fork")  # the child inherits the spec: nothing to pickle
            receiver, sender = ctx.Pipe(duplex=False)
            process = ctx.Process(target=_validate_in_child, args=(spec, sender), daemon=True)
            try:
                process.start()
            except OSError:  # no processes to be had: validate in this one
                receiver.close()
                sender.close()
                return
            sender.close()
            self._conn, self._process = receiver, process

    def result(self) -> list[Diagnostic]:
        if self._conn is not None and self._process is not None:
            if isinstance(self._process, _ValidatorProcess):
                self._process.sent()
            try:
                items: list[Diagnostic] = self._conn.recv()
                return items
            except (EOFError, OSError):
                pass  # the child died: validate here instead
            finally:
                self._conn.close()
                self._process.join()
        diags = Diagnostics()
        validate_openapi(self.spec, diags)
        return diags.items


def _validate_in_child(spec: LoadedSpec, conn: Connection) -> None:
    _quicken_validator()
    diags = Diagnostics()
    validate_openapi(spec, diags)
    conn.send(diags.items)
    conn.close()


class _IdList(list[int]):
    """A list with a set's ``in``.

    openapi-spec-validator's schema checker records the ids of the schemas it has
    seen in lists, appends to them and asks ``id in ids`` once per schema: quadratic,
    a third of a second on the GitHub spec. It only appends ids not yet present and
    tests membership; should a later version change the list another way, the sizes
    differ and the list itself answers.
    """

    def __init__(self) -> None:
        super().__init__()
        self._members: set[int] = set()

    def append(self, item: int) -> None:
        super().append(item)
        self._members.add(item)

    def clear(self) -> None:
        super().clear()
        self._members.clear()

    def __contains__(self, item: object) -> bool:
        if len(self._members) != len(self):  # changed some other way: ask the list
            return super().__contains__(item)
        return item in self._members


class _SubscriptableType(type):
    """``isinstance`` against pathable's ``Subscriptable`` protocol, answered by type
    for the values a parsed document holds.

    pathable asks it for every step of every path openapi-spec-validator reads; on
    Python 3.11 a runtime protocol check walks the protocol's attributes each time (a
    fifth of the validator's time). The answers for the JSON types are the protocol's
    own, taken once; any other type is still asked of the protocol.
    """

    protocol: ClassVar[Any] = None
    answers: ClassVar[dict[type, bool]] = {}

    def __instancecheck__(cls, instance: object) -> bool:
        answer = cls.answers.get(type(instance))
        return bool(isinstance(instance, cls.protocol)) if answer is None else answer


class _Subscriptable(metaclass=_SubscriptableType):
    pass


def _quicken_validator() -> None:
    """Make openapi-spec-validator cheaper without changing what it checks: the same
    validator classes run the same rules on the same document, with a set where it
    keeps ids in lists and the protocol check it makes per path step answered by type.

    Only done in the process that validates a big spec and then exits, so nothing
    else ever sees the change; a library version laid out otherwise is left alone.
    """
    try:
        from openapi_spec_validator.validation import registries
        from pathable import accessors, protocols
    except ImportError:
        return
    if accessors.__dict__.get("Subscriptable") is protocols.Subscriptable:
        _SubscriptableType.protocol = protocols.Subscriptable
        samples: tuple[object, ...] = ({}, [], "", 0, 0.0, True, None)
        _SubscriptableType.answers = {type(sample): isinstance(sample, protocols.Subscriptable) for sample in samples}
        setattr(accessors, "Subscriptable", _Subscriptable)  # noqa: B010  # read by SubscriptableAccessor._get_subnode
    registry_cls = registries.KeywordValidatorRegistry
    make = registry_cls.__missing__

    def missing(registry: Any, keyword: str) -> Any:
        validator = make(registry, keyword)
        for name in ("visited_schema_ids", "meta_checked_schema_ids"):
            if getattr(validator, name, None) == [] and type(getattr(validator, name)) is list:
                setattr(validator, name, _IdList())
        return validator

    setattr(registry_cls, "__missing__", missing)  # noqa: B010  # a method of a library class


def _merge(into: Diagnostics, items: Sequence[Diagnostic]) -> None:
    for d in items:
        into.add(d.code, d.origin, d.message, hint=d.hint, related=d.related, severity=d.severity)


def build_ir(path: Path, options: BuildOptions | None = None, *, locator: Locator | None = None) -> tuple[Api | None, Diagnostics]:
    """Load, validate and build the IR of one spec file.

    Gives the same diagnostics, in the same order, as validating first and building
    only a valid spec; the OpenAPI validator just runs at the same time as the build.
    """
    return _PendingBuild.start(path, options, locator).finish()


class _PendingBuild:
    """An IR built while openapi-spec-validator may still be running beside it.

    :meth:`finish` waits for the validator and gives what :func:`build_ir` returns.
    A compile can emit and format from :attr:`api` before that, and throw the work
    away if the validator then rejects the spec: on big specs the validator takes
    longer than building the IR, and nothing else depends on it.
    """

    def __init__(self, diags: Diagnostics, check: _OpenApiCheck | None = None) -> None:
        self.diags = diags  # loading diagnostics
        self.check = check
        self.x_gateway = Diagnostics()
        self.built = Diagnostics()
        self.api: Api | None = None
        self.failure: Exception | None = None

    @classmethod
    def start(cls, path: Path, options: BuildOptions | None, locator: Locator | None) -> _PendingBuild:
        diags = Diagnostics()
        early = _ValidatorProcess.start(path)
        try:
            spec = load(path, diags)
        except LoadFailed as exc:
            if early is not None:
                early.cancel()
            if locator is not None:
                locator.files.extend(exc.files.values())
            return cls(diags)
        except BaseException:
            if early is not None:
                early.cancel()
            raise
        if locator is not None:
            locator.specs.append(spec)
        pending = cls(diags, _OpenApiCheck(spec, early))
        validate_x_gateway(spec, pending.x_gateway)
        if not pending.x_gateway.has_errors:
            try:
                pending.api = build_api(spec, pending.built, options)
            except Exception as exc:  # a spec the validator rejects can trip the builder
                pending.failure = exc
        return pending

    @property
    def usable(self) -> bool:
        """Whether :attr:`api` may be emitted before :meth:`finish` (it may still be rejected)."""
        return (
            self.api is not None
            and self.failure is None
            and not self.built.has_errors
            and not _declares_versioning(self.api)  # finish() still changes the IR then
        )

    def finish(self) -> tuple[Api | None, Diagnostics]:
        diags = self.diags
        if self.check is None:  # the spec did not load
            return None, diags
        _merge(diags, self.check.result())
        _merge(diags, self.x_gateway.items)
        if diags.has_errors:
            return None, diags
        if self.failure is not None:
            raise self.failure
        _merge(diags, self.built.items)
        api = self.api
        if api is not None and _declares_versioning(api):
            versioning = Diagnostics()
            settings = read_version_settings(api, versioning)
            _merge(diags, versioning.items)
            if versioning.has_errors:
                return None, diags
            api = apply_version_settings(api, settings)
        return api, diags


def _declares_versioning(api: Api) -> bool:
    x_gateway = (api.document or {}).get("x-gateway")
    return isinstance(x_gateway, dict) and "versioning" in x_gateway


def build_versioned_ir(
    paths: Sequence[Path], options: BuildOptions | None = None, *, locator: Locator | None = None
) -> tuple[VersionedApi | None, Diagnostics]:
    """Build every spec as :func:`build_ir` does, then compose them into one versioned API."""
    diags = Diagnostics()
    built: list[tuple[Api, str]] = []
    for path in paths:
        api, spec_diags = build_ir(path, options, locator=locator)
        _merge(diags, spec_diags.items)
        if api is not None:
            built.append((api, path.as_posix()))
    if diags.has_errors or len(built) != len(paths):
        return None, diags
    return compose_versions(built, diags), diags


def _emitter(target: str) -> Emitter:
    if target == "gateway":
        from .emit.gateway import GatewayEmitter

        gateway: Emitter = GatewayEmitter()
        return gateway
    if target == "sdk":
        from .emit.sdk import SdkEmitter

        sdk: Emitter = SdkEmitter()
        return sdk
    raise ValueError(f"unknown target {target!r}")


@dataclass(slots=True)
class CompileResult:
    api: Api | None
    diags: Diagnostics
    tree: FileTree  # relative to the output folder; empty when compilation failed
    locator: Locator
    # several specs compiled into one gateway; ``api`` is then the primary version's,
    # carrying the hash over every spec
    versions: VersionedApi | None = None


def compile_to_tree(
    path: Path,
    targets: Sequence[str],
    *,
    options: BuildOptions | None = None,
    format_code: bool = True,
    compiler_version: str = __version__,
    progress: Callable[[str], None] | None = None,
) -> CompileResult:
    """Everything but writing: returns the formatted file tree, or diagnostics."""
    with _collector_paused():
        return _compile_to_tree(path, targets, options, format_code, compiler_version, progress)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off for one compile (and the processes it forks).

    A compile builds millions of objects that live until it ends, and the collector
    walks them over and over to find little: a tenth of the CPU time of an SDK
    compile of the GitHub spec, against a few megabytes of cycles left for the
    next collection after it.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _compile_to_tree(
    path: Path,
    targets: Sequence[str],
    options: BuildOptions | None,
    format_code: bool,
    compiler_version: str,
    progress: Callable[[str], None] | None,
) -> CompileResult:
    say = progress or (lambda _msg: None)
    locator = Locator()
    say(f"loading {path}")
    pending = _PendingBuild.start(path, options, locator)
    early = pending.api
    tree: FileTree | None
    if pending.usable and early is not None:
        # emit and format while the OpenAPI validator finishes (see _PendingBuild)
        api = early
        say(f"built IR: {len(api.operations)} operations, {len(api.models)} models")
        generated = Diagnostics()
        _merge(generated, pending.built.items)  # located while formatting runs
        known = len(generated.items)
        try:
            tree = _generate(api, targets, generated, locator, path, compiler_version, format_code, say)
        except Exception:
            checked, diags = pending.finish()
            if checked is None:  # the validator explains what went wrong
                return CompileResult(None, diags, {}, locator)
            raise
        checked, diags = pending.finish()
        if checked is None:
            return CompileResult(None, diags, {}, locator)
        _merge(diags, generated.items[known:])
    else:
        built, diags = pending.finish()
        if built is None:
            return CompileResult(None, diags, {}, locator)
        api = built
        say(f"built IR: {len(api.operations)} operations, {len(api.models)} models")
        tree = _generate(api, targets, diags, locator, path, compiler_version, format_code, say)
    if "gateway" not in targets:
        diags.items[:] = [d for d in diags.items if d.code not in GATEWAY_ONLY]
    return CompileResult(api, diags, tree or {}, locator)


def _generate(
    api: Api,
    targets: Sequence[str],
    diags: Diagnostics,
    locator: Locator,
    path: Path,
    compiler_version: str,
    format_code: bool,
    say: Callable[[str], None],
) -> FileTree | None:
    """Emit ``targets`` and format them; None (and GW501 in ``diags``) when black fails."""
    emit_options = EmitOptions(
        compiler_version=compiler_version,
        runtime_requirement=runtime_requirement(compiler_version),
        source_label=path.as_posix(),
    )
    tree: FileTree = {}
    deferred: dict[PurePosixPath, RenderJob] = {}
    for target in targets:
        say(f"emitting {target}")
        emitter = _emitter(target)
        collect = getattr(emitter, "collect_diagnostics", None)
        if callable(collect):
            collect(api, diags)
        prefix = PurePosixPath(target) if len(targets) > 1 else PurePosixPath()
        plan = getattr(emitter, "plan", None)
        if format_code and callable(plan):
            # modules left to render are rendered by the formatting stage's processes
            out, later = plan(api, emit_options)
            deferred.update((prefix / rel, module) for rel, module in later.items())
        else:
            out = emitter.emit(api, emit_options)
        for rel, text in out.items():
            tree[prefix / rel] = text
    if not format_code:
        return tree
    say(f"formatting {sum(1 for p in [*tree, *deferred] if p.suffix == '.py')} modules")
    try:
        return format_tree(
            tree, api=api, options=emit_options, meanwhile=lambda: _locate_printed(diags, locator), deferred=deferred
        )
    except SpecError:
        diags.error("GW501", api.origin, "generated code could not be formatted; this is a compiler bug, please report it")
        return None


def compile_versions_to_tree(
    paths: Sequence[Path],
    *,
    options: BuildOptions | None = None,
    format_code: bool = True,
    compiler_version: str = __version__,
    progress: Callable[[str], None] | None = None,
) -> CompileResult:
    """Several specs, one gateway (see :mod:`.versioning`): the formatted file tree, or diagnostics.

    Each version's files carry the header of its own spec; the package around them
    names every spec and the hash over all of them.
    """
    from .emit.versioned_gateway import VersionedGatewayEmitter

    say = progress or (lambda _msg: None)
    locator = Locator()
    say(f"loading {', '.join(p.as_posix() for p in paths)}")
    versioned, diags = build_versioned_ir(paths, options, locator=locator)
    if versioned is None:
        return CompileResult(None, diags, {}, locator)
    primary = dataclasses.replace(versioned.primary.api, source_hash=versioned.source_hash)
    requirement = runtime_requirement(compiler_version)
    package_options = EmitOptions(
        compiler_version=compiler_version,
        runtime_requirement=requirement,
        source_label=" ".join(v.source_label for v in versioned.versions),
    )
    emitter = VersionedGatewayEmitter(versioned)
    emitter.collect_diagnostics(diags)
    parts = [(primary, package_options, emitter.emit_package(package_options))]
    for version in versioned.versions:
        say(f"emitting version {version.label}: {len(version.api.operations)} operations")
        version_options = dataclasses.replace(package_options, source_label=version.source_label)
        parts.append((version.api, version_options, emitter.emit_version(version, version_options)))
    tree: FileTree = {}
    for api, emit_options, part in parts:
        if format_code:
            try:
                part = format_tree(part, api=api, options=emit_options)
            except SpecError:
                diags.error("GW501", api.origin, "generated code could not be formatted; this is a compiler bug, please report it")
                return CompileResult(primary, diags, {}, locator, versioned)
        tree.update(part)
    return CompileResult(primary, diags, dict(sorted(tree.items(), key=lambda kv: kv[0].as_posix())), locator, versioned)


def _locate_printed(diags: Diagnostics, locator: Locator) -> None:
    """Locate every diagnostic the CLI will print (and what it refers to), while the
    formatter runs: in one pass over each file's YAML events, where locating them one
    by one would first build the file's whole node graph (seconds for a big spec)."""
    shown = [d for d in diags if d.severity is not Severity.INFO]
    locator.locate(list(dict.fromkeys(o for d in shown for o in (d.origin, *d.related))))


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {"node": type(value).__name__}
        for f in dataclasses.fields(value):
            v = getattr(value, f.name)
            if f.name == "origin" and isinstance(v, Origin):
                out["origin"] = f"{v.file}#{v.pointer}"
            elif f.name == "document":
                continue  # the bundled source document: `gatewright export` prints that view
            else:
                out[f.name] = _jsonable(v)
        return out
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def ir_to_json(api: Api) -> str:
    return json.dumps(_jsonable(api), indent=2, ensure_ascii=False) + "\n"
