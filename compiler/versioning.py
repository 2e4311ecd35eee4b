"""API versioning: several specs compiled into one gateway.

Layer: after ``ir`` (each spec is loaded, validated and built on its own), before
``emit``. Must not import ``emit``.

Each spec names its version in ``x-gateway.versioning`` (``version``, default
``info.version``). The gateway-wide selectors (``select.header``, ``select.query``,
``select.fallbackToDefault``) may be stated in any spec; specs that state one must
agree. :func:`compose_versions` checks that every version is reachable and that no
route of one version hides under another version's ``basePath``:

- GW326 two specs name the same version;
- GW327 two versions answer the same requests (same ``basePath`` and no header or
  query selector, or two ``default: true``);
- GW328 a route of one version lies under another version's ``basePath`` (without a
  selector, path selection sends its requests to the other version);
- GW329 the specs state different selectors.

``versioning.deprecated`` and ``versioning.sunset`` deprecate a whole version: they
are folded into every operation that has no sunset of its own
(:func:`apply_version_settings`), so single-spec gateways get them too.
"""

from __future__ import annotations

import dataclasses
import hashlib
import keyword
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .diagnostics import Diagnostics, Origin
from .ir.build import sunset_timestamp
from .ir.nodes import Api, JSONValue, RouteSegment

__all__ = [
    "SpecVersion",
    "VersionSettings",
    "VersionedApi",
    "apply_version_settings",
    "compose_versions",
    "read_version_settings",
]

# names the composed package uses for its own modules: a version module may not take them
_RESERVED_MODULES = frozenset({"app", "config", "py"})


@dataclass(frozen=True, slots=True, kw_only=True)
class VersionSettings:
    """``x-gateway.versioning`` of one spec (every field optional in the spec)."""

    label: str  # ``version``, else ``info.version``
    label_origin: Origin
    default: bool = False
    header: str | None = None
    query: str | None = None
    fallback_to_default: bool | None = None  # None: not stated by this spec
    deprecated: bool = False
    sunset: str | None = None  # RFC 3339 date-time in UTC
    origin: Origin  # the versioning object, or where it would be
    base_path_origin: Origin  # ``x-gateway.basePath``, or the closest thing that exists


@dataclass(frozen=True, slots=True, kw_only=True)
class SpecVersion:
    """One spec's API inside a composed gateway."""

    api: Api
    settings: VersionSettings
    module: str  # the version's subpackage inside the gateway package, e.g. "v1"
    source_label: str  # the spec path as the user named it

    @property
    def label(self) -> str:
        return self.settings.label


@dataclass(frozen=True, slots=True, kw_only=True)
class VersionedApi:
    """Every version of a composed gateway and how requests select one."""

    versions: tuple[SpecVersion, ...]
    header: str | None
    query: str | None
    default: str | None  # the label of the default version
    fallback_to_default: bool
    source_hash: str  # over every version's hash

    @property
    def primary(self) -> SpecVersion:
        """The default version, else the first: it names the package and answers /healthz."""
        return next((v for v in self.versions if v.label == self.default), self.versions[0])


def _mapping(value: object) -> Mapping[str, JSONValue]:
    return value if isinstance(value, dict) else {}


def read_version_settings(api: Api, diags: Diagnostics) -> VersionSettings:
    """The version settings of ``api`` from its source document (already schema-checked)."""
    document = _mapping(api.document)
    root = Origin(api.origin.file, "")
    x_gateway = _mapping(document.get("x-gateway"))
    versioning = _mapping(x_gateway.get("versioning"))
    select = _mapping(versioning.get("select"))
    here = root.child("x-gateway", "versioning") if "versioning" in x_gateway else root.child("x-gateway") if x_gateway else root
    if "version" in versioning:
        label, label_origin = str(versioning["version"]), here.child("version")
    else:
        label = api.version
        label_origin = root.child("info", "version") if "version" in _mapping(document.get("info")) else root
    if "basePath" in x_gateway:
        base_path_origin = root.child("x-gateway", "basePath")
    else:
        base_path_origin = here
    sunset = None
    if isinstance(versioning.get("sunset"), str):
        sunset = sunset_timestamp(str(versioning["sunset"]), here.child("sunset"), diags)
    header, query, fallback = select.get("header"), select.get("query"), select.get("fallbackToDefault")
    return VersionSettings(
        label=label,
        label_origin=label_origin,
        default=versioning.get("default") is True,
        header=header if isinstance(header, str) else None,
        query=query if isinstance(query, str) else None,
        fallback_to_default=fallback if isinstance(fallback, bool) else None,
        deprecated=versioning.get("deprecated") is True,
        sunset=sunset,
        origin=here,
        base_path_origin=base_path_origin,
    )


def apply_version_settings(api: Api, settings: VersionSettings) -> Api:
    """Deprecate every operation of a deprecated (or sunset) version.

    An operation's own ``sunset`` wins over the version's. Returns ``api`` itself
    when the version is not deprecated, so output without versioning is unchanged.
    """
    if not settings.deprecated and settings.sunset is None:
        return api
    operations = tuple(
        dataclasses.replace(op, deprecated=True, sunset=op.sunset or settings.sunset) for op in api.operations
    )
    return dataclasses.replace(api, operations=operations)


def _module_names(labels: Sequence[str]) -> list[str]:
    """A unique Python module name per version label ("v1", "2.0" -> "v2_0")."""
    names: list[str] = []
    for label in labels:
        base = re.sub(r"[^0-9a-z]+", "_", label.lower()).strip("_") or "version"
        if base[0].isdigit():
            base = "v" + base
        if keyword.iskeyword(base) or base in _RESERVED_MODULES:
            base += "_version"
        name, n = base, 2
        while name in names:
            name, n = f"{base}_{n}", n + 1
        names.append(name)
    return names


def _agreed(
    settings: Sequence[VersionSettings], field: str, key: str, diags: Diagnostics, *, fold: bool = False
) -> tuple[object, Origin | None]:
    """The one value of a gateway-wide selector that the specs state (GW329 otherwise)."""
    chosen: object = None
    chosen_at: Origin | None = None
    for s in settings:
        value = getattr(s, field)
        if value is None:
            continue
        at = s.origin.child("select", key)
        if chosen_at is None:
            chosen, chosen_at = value, at
        elif (str(value).lower() if fold else value) != (str(chosen).lower() if fold else chosen):
            diags.error(
                "GW329",
                at,
                f"versioning select.{key} is {value!r} here but {chosen!r} in {chosen_at.file}; every spec that states it must agree",
                related=[chosen_at],
                hint="state the selectors in one spec only, or the same everywhere",
            )
    return chosen, chosen_at


def _segments(base_path: str) -> tuple[str, ...]:
    return tuple(part for part in base_path.split("/") if part)


def _lies_under(base: tuple[str, ...], route: tuple[RouteSegment, ...], mount: tuple[str, ...]) -> bool:
    """Whether every path of ``base`` + ``route`` starts with the static ``mount``."""
    full = [*(RouteSegment(kind="static", value=s) for s in base), *route]
    if len(full) < len(mount):
        return False
    return all(seg.kind == "static" and seg.value == want for seg, want in zip(full, mount, strict=False))


def compose_versions(apis: Sequence[tuple[Api, str]], diags: Diagnostics) -> VersionedApi | None:
    """Check that ``apis`` (each with its spec label) can share one gateway, and compose them."""
    settings = [read_version_settings(api, diags) for api, _ in apis]
    first_by_label: dict[str, VersionSettings] = {}
    for s in settings:
        earlier = first_by_label.get(s.label)
        if earlier is not None:
            diags.error(
                "GW326",
                s.label_origin,
                f"version {s.label!r} is already the version of {earlier.label_origin.file}",
                related=[earlier.label_origin],
                hint="give each spec its own x-gateway.versioning.version",
            )
        else:
            first_by_label[s.label] = s
    header, _ = _agreed(settings, "header", "header", diags, fold=True)
    query, _ = _agreed(settings, "query", "query", diags)
    fallback, _ = _agreed(settings, "fallback_to_default", "fallbackToDefault", diags)
    defaults = [s for s in settings if s.default]
    for extra in defaults[1:]:
        diags.error(
            "GW327",
            extra.origin.child("default"),
            f"version {extra.label!r} and version {defaults[0].label!r} both declare default: true",
            related=[defaults[0].origin.child("default")],
            hint="one version at most is the default",
        )
    selectable = header is not None or query is not None
    if not selectable:
        by_base: dict[str, tuple[Api, VersionSettings]] = {}
        for (api, _), s in zip(apis, settings, strict=True):
            earlier_base = by_base.get(api.base_path)
            if earlier_base is None:
                by_base[api.base_path] = (api, s)
                continue
            diags.error(
                "GW327",
                s.base_path_origin,
                f"versions {earlier_base[1].label!r} and {s.label!r} are both mounted at basePath "
                f"{api.base_path or '/'!r} and nothing selects between them",
                related=[earlier_base[1].base_path_origin],
                hint="give each version its own x-gateway.basePath, or select versions with "
                "x-gateway.versioning.select.header or .query",
            )
        for (api, _), s in zip(apis, settings, strict=True):
            base = _segments(api.base_path)
            for other_api, other in zip((a for a, _ in apis), settings, strict=True):
                mount = _segments(other_api.base_path)
                if other is s or len(mount) <= len(base) or mount[: len(base)] != base:
                    continue
                for op in api.operations:
                    if _lies_under(base, op.segments, mount):
                        diags.error(
                            "GW328",
                            op.origin,
                            f"{op.method} {api.base_path}{op.path} of version {s.label!r} lies under basePath "
                            f"{other_api.base_path!r} of version {other.label!r}, which receives its requests",
                            related=[other.base_path_origin],
                            hint="move one of the basePaths, or select versions with a header or query parameter",
                        )
    if diags.has_errors:
        return None
    modules = _module_names([s.label for s in settings])
    versions = tuple(
        SpecVersion(api=apply_version_settings(api, s), settings=s, module=module, source_label=label)
        for (api, label), s, module in zip(apis, settings, modules, strict=True)
    )
    digest = hashlib.sha256()
    for v in versions:
        digest.update(f"{v.label}\0{v.api.source_hash}\0".encode())
    return VersionedApi(
        versions=versions,
        header=header if isinstance(header, str) else None,
        query=query if isinstance(query, str) else None,
        default=defaults[0].label if defaults else None,
        fallback_to_default=fallback is True,
        source_hash=digest.hexdigest(),
    )
