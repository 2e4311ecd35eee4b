"""``gatewright keys``: manage API keys in a key store.

Layer: compiler (CLI). Thin: options in, one call into ``gatewright.runtime.keys``,
text out. Every command works against ``--store URL`` (default: the
``GATEWRIGHT_KEY_STORE`` environment variable, else ``sqlite:///gatewright-keys.db``):

    gatewright keys create --plan free --stage prod [--plans-file plans.json]
    gatewright keys create --sigv4 [--plan free] [--stage prod]
    gatewright keys list [--format json]
    gatewright keys revoke KEY_ID
    gatewright keys plans --plans-file plans.json

``create`` prints the key value once, alone on stdout (nothing else can show it
again: stores keep only its SHA-256 hash); the key id goes to stderr.

``create --sigv4`` makes an AWS SigV4 credential instead and prints, once, two lines
in the AWS credentials-file shape (``aws_access_key_id = ...`` and
``aws_secret_access_key = ...``); the plan is optional. The store keeps the secret
itself (SigV4 verification needs it), so protect the store. ``revoke`` takes the
access key id.

``--plans-file`` is JSON in the ``x-gateway.usagePlans`` shape, either the plans map
itself or an object with a ``usagePlans`` key::

    {"usagePlans": {"free": {"throttle": {"rate": 5, "burst": 10},
                             "quota": {"limit": 10000, "period": "month", "offset": 0},
                             "stages": ["prod"]}}}

With it, ``create`` refuses unknown plans and stages the plan does not cover.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import click
from gatewright.runtime.errors import ConfigurationError, StoreError
from gatewright.runtime.keys import KeyStore, UsagePlan, key_store_from_url, plans_from_mapping

__all__ = ["keys"]

_T = TypeVar("_T")

DEFAULT_STORE = "sqlite:///gatewright-keys.db"

store_option = click.option(
    "--store",
    "store_url",
    envvar="GATEWRIGHT_KEY_STORE",
    default=DEFAULT_STORE,
    show_default=True,
    help="Key store URL: sqlite:///path, redis://host:port/db (env GATEWRIGHT_KEY_STORE).",
)
prefix_option = click.option(
    "--prefix", default="gw:", show_default=True, help="Redis key prefix (the gateway's store prefix)."
)
format_option = click.option(
    "--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True
)


def _run(store_url: str, prefix: str, work: Callable[[KeyStore], Awaitable[_T]]) -> _T:
    async def main() -> _T:
        store = key_store_from_url(store_url, prefix=prefix)
        try:
            return await work(store)
        finally:
            await store.close()

    try:
        return asyncio.run(main())
    except (ConfigurationError, StoreError) as exc:
        raise click.ClickException(str(exc)) from exc


def _load_plans(path: Path) -> dict[str, UsagePlan]:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise click.ClickException(f"cannot read plans file {str(path)!r}: {exc}") from exc
    if not isinstance(data, dict):
        raise click.ClickException(f"plans file {str(path)!r} must hold a JSON object")
    try:
        return plans_from_mapping(data)
    except ConfigurationError as exc:
        raise click.ClickException(f"{path}: {exc}") from exc


@click.group()
def keys() -> None:
    """Create, list and revoke API keys."""


@keys.command()
@click.option("--plan", default="", help="Usage plan the key belongs to (required for API keys).")
@click.option("--sigv4", is_flag=True, help="Create a SigV4 access key pair instead of an API key.")
@click.option("--stage", "stages", multiple=True, help="Stage the key may call (repeat; default: all).")
@click.option("--name", default="", help="A label for the key.")
@click.option(
    "--plans-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON usage plans; checks that the plan and stages exist.",
)
@store_option
@prefix_option
def create(
    plan: str,
    sigv4: bool,
    stages: tuple[str, ...],
    name: str,
    plans_file: Path | None,
    store_url: str,
    prefix: str,
) -> None:
    """Create a key (or SigV4 credential) and print its secret once."""
    if not plan and not sigv4:
        raise click.UsageError("an API key needs --plan")
    if plan and plans_file is not None:
        plans = _load_plans(plans_file)
        if plan not in plans:
            raise click.ClickException(f"unknown plan {plan!r}; plans: {', '.join(sorted(plans)) or 'none'}")
        outside = [s for s in stages if not plans[plan].allows_stage(s)]
        if outside:
            raise click.ClickException(f"plan {plan!r} does not cover stage(s) {', '.join(outside)}")

    if sigv4:
        secret, record = _run(
            store_url, prefix, lambda store: store.create_sigv4(plan=plan, stages=stages, name=name)
        )
        plan_note = f" for plan {plan!r}" if plan else ""
        click.echo(f"created SigV4 credential {record.id}{plan_note}; its secret is shown once:", err=True)
        click.echo(f"aws_access_key_id = {record.id}")
        click.echo(f"aws_secret_access_key = {secret}")
        return
    value, key = _run(store_url, prefix, lambda store: store.create(plan=plan, stages=stages, name=name))
    click.echo(f"created key {key.id} for plan {plan!r}; its value is shown once:", err=True)
    click.echo(value)


@keys.command(name="list")
@store_option
@prefix_option
@format_option
def list_keys(store_url: str, prefix: str, output_format: str) -> None:
    """List keys and SigV4 credentials (ids, plans, stages, state; never secrets)."""
    found = _run(store_url, prefix, lambda store: store.list())
    if output_format == "json":
        click.echo(json.dumps([k.as_json() for k in found], indent=2))
        return
    for k in found:
        state = "enabled" if k.enabled else "revoked"
        stages = ",".join(sorted(k.stages)) or "*"
        click.echo(f"{k.id}\t{k.plan or '-'}\t{stages}\t{state}\t{k.name}\t{k.kind}")


@keys.command()
@click.argument("key_id")
@store_option
@prefix_option
def revoke(key_id: str, store_url: str, prefix: str) -> None:
    """Revoke a key or SigV4 credential by id; gateways refuse it once their key cache expires."""
    if not _run(store_url, prefix, lambda store: store.revoke(key_id)):
        raise click.ClickException(f"no key with id {key_id!r}")
    click.echo(f"revoked {key_id}")


@keys.command()
@click.option(
    "--plans-file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON usage plans (the x-gateway usagePlans shape).",
)
@format_option
def plans(plans_file: Path, output_format: str) -> None:
    """Show the usage plans keys can be created for."""
    loaded = _load_plans(plans_file)
    if output_format == "json":
        click.echo(json.dumps([_plan_json(plan) for _, plan in sorted(loaded.items())], indent=2))
        return
    for name, plan in sorted(loaded.items()):
        throttle = "-" if plan.throttle is None else f"{plan.throttle.rate:g}/s burst {plan.throttle.burst}"
        quota = "-" if plan.quota is None else f"{plan.quota.limit}/{plan.quota.period}"
        stages = ",".join(sorted(plan.stages)) or "*"
        click.echo(f"{name}\tthrottle {throttle}\tquota {quota}\tstages {stages}")


def _plan_json(plan: UsagePlan) -> dict[str, object]:
    return {
        "name": plan.name,
        "throttle": None
        if plan.throttle is None
        else {"rate": plan.throttle.rate, "burst": plan.throttle.burst},
        "quota": None
        if plan.quota is None
        else {"limit": plan.quota.limit, "period": plan.quota.period, "offset": plan.quota.offset_seconds},
        "methods": sorted(plan.methods),
        "stages": sorted(plan.stages),
    }
