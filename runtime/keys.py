"""API keys and usage plans.

Layer: runtime. Must not import ``gatewright.compiler`` or any build-time package.

A key is a random secret shown once at creation; stores keep only its SHA-256 hash
and confirm a lookup with :func:`hmac.compare_digest`. A key belongs to one usage
plan and optionally a set of stages. Key stores are chosen by URL:

- ``sqlite:///keys.db`` (relative) or ``sqlite:////var/lib/gw/keys.db`` (absolute):
  the embedded default, so keys survive restarts; runs in a worker thread.
- ``redis://host:port/db``: shared by every gateway process.
- ``memory://``: for tests and demos.

Usage::

    store = key_store_from_url("sqlite:///keys.db")
    secret, key = await store.create(plan="free", stages=["prod"])
    auth = ApiKeyAuthenticator(store, plans=PLANS, stage="prod")
    app = web.Application(middlewares=[
        routing, api_key_middleware(authenticator=auth, required={"getOrder"}), ...])

SigV4 credentials (``create_sigv4``) live in the same stores. SigV4 is an HMAC
scheme, so verifying a signature needs the secret itself: unlike API keys, a SigV4
secret is stored as it is (AWS keeps IAM secrets recoverable for the same reason).
Protect the store accordingly: a new SQLite file is created readable by its owner
only (mode 0600), and a shared Redis must sit behind ACLs and TLS. The access key
id is also the record's id, so ``list`` and ``revoke`` cover credentials too.

Refusals: a missing, unknown or revoked key gives ``INVALID_API_KEY`` (403); a key
(or plan) that is not bound to this stage gives ``ACCESS_DENIED`` (403). When the
store fails, ``fail_mode="open"`` keeps accepting keys verified in the last
``cache_seconds`` and refuses others; ``"closed"`` refuses every key not in the
cache. Outage refusals are ``THROTTLED`` (429, ``Retry-After: 1``) so clients retry.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import hmac
import json
import os
import secrets
import sqlite3
import time
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol, TypeVar, cast
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from .auth.sigv4 import SigV4Credential
from .context import PRINCIPAL, ROUTE_MATCH, Principal, scoped
from .errors import ConfigurationError, GatewayError, StoreError
from .quota import QuotaPolicy
from .stores.base import QuotaPeriod, StoreHealth
from .throttle import FailMode, TokenBucket

__all__ = [
    "ApiKey",
    "ApiKeyAuthenticator",
    "KeyStore",
    "MemoryKeyStore",
    "RedisKeyStore",
    "SigV4Secret",
    "SqliteKeyStore",
    "UsagePlan",
    "api_key_middleware",
    "generate_key",
    "hash_key",
    "key_store_from_url",
    "plans_from_mapping",
]

_T = TypeVar("_T")

# Key-only principals remembered by api_key_middleware.
_MAX_REMEMBERED_PRINCIPALS = 65_536

# AWS requires at least 20 characters for imported key values.
MIN_KEY_LENGTH = 20


def generate_key() -> str:
    """A new random key value: 256 bits, URL-safe."""
    return secrets.token_urlsafe(32)


def _new_access_key_id() -> str:
    # 20 upper-case characters, the shape AWS SDKs and tools expect of an access key id
    return "GW" + base64.b32encode(secrets.token_bytes(15)).decode()[:18]


def hash_key(value: str) -> str:
    """The SHA-256 hex digest stored in place of the key."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class UsagePlan:
    """Throttle, quota and per-operation throttles for the keys on a plan.

    ``stages`` empty means every stage.

    >>> UsagePlan("free", throttle=TokenBucket(rate=5, burst=10),
    ...           quota=QuotaPolicy(limit=10_000, period="month"))
    """

    name: str
    throttle: TokenBucket | None = None
    quota: QuotaPolicy | None = None
    methods: Mapping[str, TokenBucket] = field(default_factory=dict)
    stages: frozenset[str] = frozenset()

    def allows_stage(self, stage: str) -> bool:
        return not self.stages or stage in self.stages


@dataclass(frozen=True, slots=True)
class ApiKey:
    """What a store knows about a key (never the key itself)."""

    id: str
    plan: str
    stages: frozenset[str] = frozenset()  # empty: every stage of the plan
    enabled: bool = True
    created_at: float = 0.0
    name: str = ""
    kind: Literal["apiKey", "sigv4"] = "apiKey"  # sigv4: ``id`` is the access key id

    def allows_stage(self, stage: str) -> bool:
        return not self.stages or stage in self.stages

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "kind": self.kind,
            "plan": self.plan,
            "stages": sorted(self.stages),
            "enabled": self.enabled,
            "created_at": self.created_at,
            "name": self.name,
        }


@dataclass(frozen=True, slots=True)
class SigV4Secret:
    """A SigV4 credential's secret and its record (``record.id`` is the access key id)."""

    secret_access_key: str
    record: ApiKey

    def credential(self) -> SigV4Credential | None:
        """The verifier's view; ``None`` once revoked."""
        if not self.record.enabled:
            return None
        return SigV4Credential(
            access_key_id=self.record.id,
            secret_access_key=self.secret_access_key,
            principal_id=self.record.id,
            api_key_id=self.record.id if self.record.plan else None,
            plan=self.record.plan or None,
            stages=self.record.stages,
        )


class KeyStore(Protocol):
    """Where keys live. Implementations store only hashes."""

    async def create(
        self, *, plan: str, stages: Collection[str] = (), name: str = "", value: str | None = None
    ) -> tuple[str, ApiKey]:
        """Store a new key; return its value (show it once) and its record."""
        ...

    async def lookup(self, value: str) -> ApiKey | None:
        """The record for a presented key value, or None if unknown."""
        ...

    async def list(self) -> list[ApiKey]: ...

    async def create_sigv4(
        self, *, plan: str = "", stages: Collection[str] = (), name: str = ""
    ) -> tuple[str, ApiKey]:
        """Store a new SigV4 credential; return its secret (show it once) and its record.

        ``plan`` may be empty (no usage plan); the access key id is ``record.id``.
        """
        ...

    async def get_sigv4_credential(self, access_key_id: str) -> SigV4Credential | None:
        """The enabled credential for ``access_key_id`` (the SigV4 ``CredentialStore``)."""
        ...

    async def revoke(self, key_id: str) -> bool:
        """Disable a key or SigV4 credential; False when nothing has that id."""
        ...

    async def close(self) -> None: ...


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _new_record(
    plan: str, stages: Collection[str], name: str, value: str | None
) -> tuple[str, str, ApiKey]:
    if not plan:
        raise ConfigurationError("an API key needs a usage plan")
    if value is None:
        value = generate_key()
    elif len(value) < MIN_KEY_LENGTH:
        raise ConfigurationError(f"an API key value needs at least {MIN_KEY_LENGTH} characters")
    key = ApiKey(
        id=secrets.token_hex(8),
        plan=plan,
        stages=frozenset(stages),
        enabled=True,
        created_at=time.time(),
        name=name,
    )
    return value, hash_key(value), key


def _new_sigv4_record(plan: str, stages: Collection[str], name: str) -> SigV4Secret:
    record = ApiKey(
        id=_new_access_key_id(),
        plan=plan,
        stages=frozenset(stages),
        enabled=True,
        created_at=time.time(),
        name=name,
        kind="sigv4",
    )
    # 40 characters, as AWS secret access keys
    return SigV4Secret(secrets.token_urlsafe(30), record)


def _confirm(stored_hash: str, presented_hash: str, key: ApiKey) -> ApiKey | None:
    # SECURITY: constant-time comparison of the digests, whatever index found the row.
    return key if hmac.compare_digest(stored_hash, presented_hash) else None


class MemoryKeyStore:
    """Keys in a dict; lost on restart (tests and demos)."""

    def __init__(self) -> None:
        self._by_hash: dict[str, ApiKey] = {}
        self._hash_by_id: dict[str, str] = {}
        self._sigv4: dict[str, SigV4Secret] = {}

    async def create(
        self, *, plan: str, stages: Collection[str] = (), name: str = "", value: str | None = None
    ) -> tuple[str, ApiKey]:
        value, digest, key = _new_record(plan, stages, name, value)
        if digest in self._by_hash:
            raise ConfigurationError("an API key with this value already exists")
        self._by_hash[digest] = key
        self._hash_by_id[key.id] = digest
        return value, key

    async def lookup(self, value: str) -> ApiKey | None:
        digest = hash_key(value)
        key = self._by_hash.get(digest)
        if key is None:
            return None
        return _confirm(self._hash_by_id[key.id], digest, key)

    async def create_sigv4(
        self, *, plan: str = "", stages: Collection[str] = (), name: str = ""
    ) -> tuple[str, ApiKey]:
        created = _new_sigv4_record(plan, stages, name)
        self._sigv4[created.record.id] = created
        return created.secret_access_key, created.record

    async def get_sigv4_credential(self, access_key_id: str) -> SigV4Credential | None:
        found = self._sigv4.get(access_key_id)
        return None if found is None else found.credential()

    async def list(self) -> list[ApiKey]:
        records = [*self._by_hash.values(), *(c.record for c in self._sigv4.values())]
        return sorted(records, key=lambda k: (k.created_at, k.id))

    async def revoke(self, key_id: str) -> bool:
        credential = self._sigv4.get(key_id)
        if credential is not None:
            revoked = dataclasses.replace(credential.record, enabled=False)
            self._sigv4[key_id] = SigV4Secret(credential.secret_access_key, revoked)
            return True
        digest = self._hash_by_id.get(key_id)
        if digest is None:
            return False
        self._by_hash[digest] = dataclasses.replace(self._by_hash[digest], enabled=False)
        return True

    async def close(self) -> None:
        return None


_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    key_hash TEXT NOT NULL UNIQUE,
    plan TEXT NOT NULL,
    stages TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    created_at REAL NOT NULL,
    name TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sigv4_credentials (
    access_key_id TEXT PRIMARY KEY,
    secret_access_key TEXT NOT NULL,
    plan TEXT NOT NULL,
    stages TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    created_at REAL NOT NULL,
    name TEXT NOT NULL
);
"""

_Row = tuple[str, str, str, str, int, float, str]


def _key_from_row(row: _Row) -> tuple[str, ApiKey]:
    key_id, digest, plan, stages, enabled, created_at, name = row
    stage_list = cast(list[str], json.loads(stages))
    return digest, ApiKey(key_id, plan, frozenset(stage_list), bool(enabled), created_at, name)


def _sigv4_from_row(row: _Row) -> SigV4Secret:
    secret, key = _key_from_row(row)
    return SigV4Secret(secret, dataclasses.replace(key, kind="sigv4"))


class SqliteKeyStore:
    """Keys in a SQLite file, queried on one worker thread so the event loop never blocks.

    >>> store = SqliteKeyStore(Path("keys.db"))
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gatewright-keys")
        self._connection: sqlite3.Connection | None = None

    def _db(self) -> sqlite3.Connection:
        # Opened lazily on the worker thread, which is the only thread that uses it.
        if self._connection is None:
            # A new file is created owner-only: it holds SigV4 secrets (SQLite gives its
            # -wal and -shm files the same mode). An existing file keeps its mode.
            os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600))
            self._connection = sqlite3.connect(self.path, timeout=5.0)
            self._connection.execute("PRAGMA journal_mode=WAL")
            self._connection.executescript(_SCHEMA)
            self._connection.commit()
        return self._connection

    async def _run(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        def call() -> _T:
            return work(self._db())

        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, call)
        except sqlite3.Error as exc:
            raise StoreError(f"sqlite key store {str(self.path)!r} failed: {exc}") from exc

    async def create(
        self, *, plan: str, stages: Collection[str] = (), name: str = "", value: str | None = None
    ) -> tuple[str, ApiKey]:
        value, digest, key = _new_record(plan, stages, name, value)

        def insert(db: sqlite3.Connection) -> None:
            with db:
                db.execute(
                    "INSERT INTO api_keys VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (key.id, digest, key.plan, json.dumps(sorted(key.stages)), 1, key.created_at, name),
                )

        try:
            await self._run(insert)
        except StoreError as exc:
            if isinstance(exc.__cause__, sqlite3.IntegrityError):
                raise ConfigurationError("an API key with this value already exists") from exc
            raise
        return value, key

    async def lookup(self, value: str) -> ApiKey | None:
        digest = hash_key(value)

        def select(db: sqlite3.Connection) -> _Row | None:
            row = db.execute("SELECT * FROM api_keys WHERE key_hash = ?", (digest,)).fetchone()
            return cast("_Row | None", row)

        row = await self._run(select)
        if row is None:
            return None
        stored_hash, key = _key_from_row(row)
        return _confirm(stored_hash, digest, key)

    async def create_sigv4(
        self, *, plan: str = "", stages: Collection[str] = (), name: str = ""
    ) -> tuple[str, ApiKey]:
        created = _new_sigv4_record(plan, stages, name)
        key = created.record

        def insert(db: sqlite3.Connection) -> None:
            with db:
                db.execute(
                    "INSERT INTO sigv4_credentials VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        key.id,
                        created.secret_access_key,
                        key.plan,
                        json.dumps(sorted(key.stages)),
                        1,
                        key.created_at,
                        name,
                    ),
                )

        await self._run(insert)
        return created.secret_access_key, key

    async def get_sigv4_credential(self, access_key_id: str) -> SigV4Credential | None:
        def select(db: sqlite3.Connection) -> _Row | None:
            row = db.execute(
                "SELECT * FROM sigv4_credentials WHERE access_key_id = ?", (access_key_id,)
            ).fetchone()
            return cast("_Row | None", row)

        row = await self._run(select)
        return None if row is None else _sigv4_from_row(row).credential()

    async def list(self) -> list[ApiKey]:
        def select(db: sqlite3.Connection) -> tuple[list[_Row], list[_Row]]:
            keys = db.execute("SELECT * FROM api_keys").fetchall()
            credentials = db.execute("SELECT * FROM sigv4_credentials").fetchall()
            return cast(list[_Row], keys), cast(list[_Row], credentials)

        key_rows, credential_rows = await self._run(select)
        records = [_key_from_row(row)[1] for row in key_rows]
        records += [_sigv4_from_row(row).record for row in credential_rows]
        return sorted(records, key=lambda k: (k.created_at, k.id))

    async def revoke(self, key_id: str) -> bool:
        def update(db: sqlite3.Connection) -> int:
            with db:
                changed = db.execute(
                    "UPDATE api_keys SET enabled = 0 WHERE id = ?", (key_id,)
                ).rowcount
                changed += db.execute(
                    "UPDATE sigv4_credentials SET enabled = 0 WHERE access_key_id = ?", (key_id,)
                ).rowcount
                return changed

        return await self._run(update) > 0

    async def close(self) -> None:
        def shut(db: sqlite3.Connection) -> None:
            db.close()

        if self._connection is not None:
            await self._run(shut)
            self._connection = None
        self._executor.shutdown(wait=True)


class RedisKeyStore:
    """Keys in Redis hashes, shared by every gateway process.

    Layout under ``prefix``: ``key:<sha256>`` (the record), ``keyid:<id>`` (its hash)
    and the set ``keyids``; SigV4 credentials in ``sigv4:<access key id>`` and the set
    ``sigv4ids``.
    """

    def __init__(self, client: object, *, prefix: str = "gw:", owns_client: bool = True) -> None:
        from redis.asyncio import Redis

        if not isinstance(client, Redis):
            raise ConfigurationError("RedisKeyStore needs a redis.asyncio.Redis client")
        self._client: Redis = client
        self._prefix = prefix
        self._owns_client = owns_client

    async def _call(self, what: str, work: Callable[[], Awaitable[_T]]) -> _T:
        from redis.exceptions import RedisError

        try:
            return await work()
        except (RedisError, OSError, TimeoutError) as exc:
            raise StoreError(f"redis key store {what} failed: {exc}") from exc

    def _record_key(self, digest: str) -> str:
        return f"{self._prefix}key:{digest}"

    async def create(
        self, *, plan: str, stages: Collection[str] = (), name: str = "", value: str | None = None
    ) -> tuple[str, ApiKey]:
        value, digest, key = _new_record(plan, stages, name, value)
        from redis.typing import EncodableT, FieldT

        record: dict[FieldT, EncodableT] = {
            "id": key.id,
            "hash": digest,
            "plan": key.plan,
            "stages": json.dumps(sorted(key.stages)),
            "enabled": "1",
            "created_at": repr(key.created_at),
            "name": name,
        }

        async def write() -> None:
            if not await self._client.hsetnx(self._record_key(digest), "id", key.id):
                raise ConfigurationError("an API key with this value already exists")
            # hsetnx above reserved the hash, so these writes cannot race another create.
            await self._client.hset(self._record_key(digest), mapping=record)
            await self._client.set(f"{self._prefix}keyid:{key.id}", digest)
            await self._client.sadd(f"{self._prefix}keyids", key.id)

        await self._call("create", write)
        return value, key

    @staticmethod
    def _decode(raw: Mapping[bytes | str, bytes | str]) -> tuple[str, ApiKey]:
        fields = {_text(k): _text(v) for k, v in raw.items()}
        stage_list = cast(list[str], json.loads(fields["stages"]))
        key = ApiKey(
            id=fields["id"],
            plan=fields["plan"],
            stages=frozenset(stage_list),
            enabled=fields["enabled"] == "1",
            created_at=float(fields["created_at"]),
            name=fields.get("name", ""),
        )
        return fields["hash"], key

    async def create_sigv4(
        self, *, plan: str = "", stages: Collection[str] = (), name: str = ""
    ) -> tuple[str, ApiKey]:
        created = _new_sigv4_record(plan, stages, name)
        key = created.record
        from redis.typing import EncodableT, FieldT

        record: dict[FieldT, EncodableT] = {
            "id": key.id,
            "hash": created.secret_access_key,  # the secret itself: SigV4 needs it
            "plan": key.plan,
            "stages": json.dumps(sorted(key.stages)),
            "enabled": "1",
            "created_at": repr(key.created_at),
            "name": name,
        }

        async def write() -> None:
            await self._client.hset(f"{self._prefix}sigv4:{key.id}", mapping=record)
            await self._client.sadd(f"{self._prefix}sigv4ids", key.id)

        await self._call("create", write)
        return created.secret_access_key, key

    async def _sigv4(self, access_key_id: str) -> SigV4Secret | None:
        async def read() -> Mapping[bytes | str, bytes | str]:
            return await self._client.hgetall(f"{self._prefix}sigv4:{access_key_id}")

        raw = await self._call("SigV4 lookup", read)
        if b"hash" not in raw:
            return None
        secret, key = self._decode(raw)
        return SigV4Secret(secret, dataclasses.replace(key, kind="sigv4"))

    async def get_sigv4_credential(self, access_key_id: str) -> SigV4Credential | None:
        found = await self._sigv4(access_key_id)
        return None if found is None else found.credential()

    async def lookup(self, value: str) -> ApiKey | None:
        digest = hash_key(value)

        async def read() -> Mapping[bytes | str, bytes | str]:
            return await self._client.hgetall(self._record_key(digest))

        raw = await self._call("lookup", read)
        if b"hash" not in raw:
            return None
        stored_hash, key = self._decode(raw)
        return _confirm(stored_hash, digest, key)

    async def list(self) -> list[ApiKey]:
        async def read() -> list[ApiKey]:
            ids = sorted(_text(i) for i in await self._client.smembers(f"{self._prefix}keyids"))
            keys: list[ApiKey] = []
            for key_id in ids:
                digest = await self._client.get(f"{self._prefix}keyid:{key_id}")
                if isinstance(digest, bytes):
                    raw = await self._client.hgetall(self._record_key(digest.decode()))
                    if raw:
                        keys.append(self._decode(raw)[1])
            for access_key_id in await self._client.smembers(f"{self._prefix}sigv4ids"):
                raw = await self._client.hgetall(f"{self._prefix}sigv4:{_text(access_key_id)}")
                if raw:
                    keys.append(dataclasses.replace(self._decode(raw)[1], kind="sigv4"))
            return sorted(keys, key=lambda k: (k.created_at, k.id))

        return await self._call("list", read)

    async def revoke(self, key_id: str) -> bool:
        async def disable() -> bool:
            credential = f"{self._prefix}sigv4:{key_id}"
            if await self._client.exists(credential):
                await self._client.hset(credential, "enabled", "0")
                return True
            digest = await self._client.get(f"{self._prefix}keyid:{key_id}")
            if not isinstance(digest, bytes):
                return False
            await self._client.hset(self._record_key(digest.decode()), "enabled", "0")
            return True

        return await self._call("revoke", disable)

    async def close(self) -> None:
        if self._owns_client:
            await self._client.aclose()


def key_store_from_url(url: str, *, prefix: str = "gw:", timeout: float = 0.5) -> KeyStore:
    """The key store for ``url``: ``sqlite:///path``, ``redis://host:port/db`` or ``memory://``."""
    parts = urlsplit(url)
    if parts.scheme == "memory":
        return MemoryKeyStore()
    if parts.scheme == "sqlite":
        # sqlite:///rel.db -> "rel.db"; sqlite:////abs/keys.db -> "/abs/keys.db"
        path = parts.path[1:] if parts.path.startswith("/") else parts.path
        if parts.netloc or not path:
            raise ConfigurationError(
                f"bad key store URL {url!r}: use sqlite:///relative.db or sqlite:////absolute.db"
            )
        return SqliteKeyStore(Path(path))
    if parts.scheme in ("redis", "rediss", "unix"):
        from .stores.redis import redis_client_from_url

        return RedisKeyStore(redis_client_from_url(url, timeout=timeout), prefix=prefix)
    raise ConfigurationError(
        f"unknown key store URL {url!r}: use sqlite:///path, redis://host:port/db or memory://"
    )


# --------------------------------------------------------------------------- plans


def _bucket(raw: object, where: str) -> TokenBucket:
    if not isinstance(raw, Mapping) or "rate" not in raw or "burst" not in raw:
        raise ConfigurationError(f"{where}: a throttle needs 'rate' and 'burst'")
    rate, burst = raw["rate"], raw["burst"]
    if not isinstance(rate, int | float) or not isinstance(burst, int) or isinstance(burst, bool):
        raise ConfigurationError(f"{where}: rate must be a number and burst an integer")
    return TokenBucket(rate=float(rate), burst=burst)


def _quota(raw: object, where: str) -> QuotaPolicy:
    if not isinstance(raw, Mapping):
        raise ConfigurationError(f"{where}: quota must be an object")
    limit, period, offset = raw.get("limit"), raw.get("period"), raw.get("offset", 0)
    if not isinstance(limit, int) or not isinstance(period, str) or not isinstance(offset, int):
        raise ConfigurationError(f"{where}: quota needs integer 'limit', 'period' and integer 'offset'")
    periods: dict[str, QuotaPeriod] = {"day": "day", "week": "week", "month": "month"}
    if period.lower() not in periods:
        raise ConfigurationError(f"{where}: quota period must be day, week or month, got {period!r}")
    return QuotaPolicy(limit=limit, period=periods[period.lower()], offset_seconds=offset)


def plans_from_mapping(data: Mapping[str, object]) -> dict[str, UsagePlan]:
    """Usage plans from the ``x-gateway.usagePlans`` shape (also accepted under ``usagePlans``).

    ``{"free": {"throttle": {"rate": 5, "burst": 10},
                "quota": {"limit": 10000, "period": "month", "offset": 0},
                "methods": {"createOrder": {"throttle": {"rate": 1, "burst": 1}}},
                "stages": ["prod"]}}``

    The quota ``offset`` is in seconds. Bad shapes raise ``ConfigurationError``.
    """
    nested = data.get("usagePlans")
    source = nested if isinstance(nested, Mapping) else data
    plans: dict[str, UsagePlan] = {}
    for name, raw in source.items():
        where = f"usage plan {name!r}"
        if not isinstance(raw, Mapping):
            raise ConfigurationError(f"{where}: must be an object")
        methods: dict[str, TokenBucket] = {}
        raw_methods = raw.get("methods", {})
        if not isinstance(raw_methods, Mapping):
            raise ConfigurationError(f"{where}: methods must map operation ids to settings")
        for op_id, settings in raw_methods.items():
            throttle = settings.get("throttle") if isinstance(settings, Mapping) else None
            methods[str(op_id)] = _bucket(throttle, f"{where}, method {op_id!r}")
        stages = raw.get("stages", [])
        if not isinstance(stages, list) or not all(isinstance(s, str) for s in stages):
            raise ConfigurationError(f"{where}: stages must be a list of names")
        plans[str(name)] = UsagePlan(
            name=str(name),
            throttle=_bucket(raw["throttle"], where) if raw.get("throttle") is not None else None,
            quota=_quota(raw["quota"], where) if raw.get("quota") is not None else None,
            methods=methods,
            stages=frozenset(cast(list[str], stages)),
        )
    return plans


# --------------------------------------------------------------------------- requests

KeySource = tuple[Literal["header", "query"], str]


def _parse_source(source: str) -> KeySource:
    kind, sep, name = source.partition(":")
    if not sep or not name or kind not in ("header", "query"):
        raise ConfigurationError(f"API key source must be 'header:NAME' or 'query:NAME', got {source!r}")
    return cast(Literal["header", "query"], kind), name


class ApiKeyAuthenticator:
    """Finds the key on a request, checks it against the store, its plan and the stage.

    Verified keys are remembered for ``cache_seconds`` (by hash), so the store is
    not asked on every request; a revocation takes effect within that time.

    >>> auth = ApiKeyAuthenticator(store, plans=PLANS, stage="prod",
    ...                            sources=("header:X-API-Key", "query:api_key"))
    """

    def __init__(
        self,
        store: KeyStore,
        *,
        plans: Mapping[str, UsagePlan],
        stage: str = "default",
        sources: Sequence[str] = ("header:X-API-Key",),
        cache_seconds: float = 5.0,
        fail_mode: FailMode = "closed",
        health: StoreHealth | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not sources:
            raise ConfigurationError("ApiKeyAuthenticator needs at least one key source")
        if fail_mode not in ("open", "closed"):
            raise ConfigurationError(f"fail_mode must be 'open' or 'closed', got {fail_mode!r}")
        self.store = store
        self.plans = dict(plans)
        self.stage = stage
        self.sources = tuple(_parse_source(s) for s in sources)
        self.cache_seconds = cache_seconds
        self.fail_mode: FailMode = fail_mode
        self.health = health if health is not None else StoreHealth("api key")
        self._clock = clock
        self._verified: dict[str, tuple[ApiKey, float]] = {}

    def extract(self, request: web.Request) -> str | None:
        """The first key value found in the configured sources."""
        for kind, name in self.sources:
            value = request.headers.get(name) if kind == "header" else request.query.get(name)
            if value:
                return value
        return None

    async def authenticate(self, request: web.Request) -> ApiKey:
        """The request's key record; raises ``GatewayError`` when it may not pass."""
        value = self.extract(request)
        if value is None:
            raise GatewayError("INVALID_API_KEY", "Forbidden")
        digest = hash_key(value)
        remembered = self._verified.get(digest)
        if remembered is not None and self._clock() < remembered[1]:
            key: ApiKey | None = remembered[0]  # verified lately: no store call, no await
        else:
            key = await self._find(value, digest, remembered)
        if key is None or not key.enabled:
            raise GatewayError("INVALID_API_KEY", "Forbidden")
        plan = self.plans.get(key.plan)
        if plan is None:
            raise GatewayError("INVALID_API_KEY", "Forbidden")
        if not (key.allows_stage(self.stage) and plan.allows_stage(self.stage)):
            raise GatewayError("ACCESS_DENIED", "Forbidden")
        return key

    async def _find(
        self, value: str, digest: str, remembered: tuple[ApiKey, float] | None
    ) -> ApiKey | None:
        """The key record from the store; ``remembered`` is the expired cache entry, if any."""
        now = self._clock()
        try:
            key = await self.store.lookup(value)
        except StoreError as exc:
            self.health.record_failure(exc)
            if self.fail_mode == "open" and remembered is not None:
                return remembered[0]  # the last verified record, kept through the outage
            raise GatewayError("THROTTLED", "Too Many Requests", headers={"Retry-After": "1"}) from exc
        self.health.record_success()
        if key is not None and key.enabled and self.cache_seconds > 0:
            if len(self._verified) >= 100_000:
                self._verified.clear()  # crude bound; a full cache is rebuilt from the store
            self._verified[digest] = (key, now + self.cache_seconds)
        else:
            self._verified.pop(digest, None)
        return key

    def forget(self, key_id: str) -> None:
        """Drop a key from the verified cache (after revoking it in this process)."""
        for digest in [d for d, (k, _) in self._verified.items() if k.id == key_id]:
            del self._verified[digest]


def api_key_middleware(*, authenticator: ApiKeyAuthenticator, required: Collection[str]) -> Middleware:
    """Require a valid key on the operations in ``required`` (``apiKeyRequired``).

    On success ``request[PRINCIPAL]`` carries ``api_key_id`` and ``plan`` (an
    existing principal from authentication is kept and extended), which
    :func:`~gatewright.runtime.throttle.throttle_middleware` uses for plan limits.
    Other operations are not looked at, so they bypass plan limits, as in AWS.
    """
    required_ops = frozenset(required)
    # The principal of a key-only caller depends only on the key record: built once per
    # record (by identity, so a refreshed record gets a new one). Bounded by key count.
    principals: dict[str, tuple[ApiKey, Principal]] = {}

    @web.middleware
    async def api_key(request: web.Request, handler: Handler) -> web.StreamResponse:
        match = request.get(ROUTE_MATCH)
        if match is None or match.operation_id not in required_ops:
            return await handler(request)
        key = await authenticator.authenticate(request)
        principal = request.get(PRINCIPAL)
        if principal is None:
            known = principals.get(key.id)
            if known is not None and known[0] is key:
                principal = known[1]
            else:
                principal = Principal(id=key.id, scheme="apiKey", api_key_id=key.id, plan=key.plan)
                if len(principals) >= _MAX_REMEMBERED_PRINCIPALS:
                    principals.clear()
                principals[key.id] = (key, principal)
        else:
            principal = dataclasses.replace(principal, api_key_id=key.id, plan=key.plan)
        request[PRINCIPAL] = principal
        return await handler(request)

    return scoped(api_key, required_ops)
