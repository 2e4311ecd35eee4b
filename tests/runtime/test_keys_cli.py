"""``gatewright keys`` against a real SQLite store and a real Redis."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from gatewright.compiler.keys_cli import keys
from gatewright.runtime.keys import ApiKey, key_store_from_url

PLANS = {
    "usagePlans": {
        "free": {"throttle": {"rate": 5, "burst": 10}, "quota": {"limit": 1000, "period": "month"}},
        "prod-only": {"stages": ["prod"]},
    }
}


@pytest.fixture
def plans_file(tmp_path: Path) -> Path:
    path = tmp_path / "plans.json"
    path.write_text(json.dumps(PLANS))
    return path


@pytest.fixture(params=["sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> list[str]:
    if request.param == "sqlite":
        return ["--store", f"sqlite:///{tmp_path / 'keys.db'}"]
    prefix = str(request.getfixturevalue("prefix"))
    return ["--store", str(request.getfixturevalue("redis_url")), "--prefix", prefix]


def lookup(store: list[str], value: str) -> ApiKey | None:
    async def find() -> ApiKey | None:
        key_store = key_store_from_url(store[1], prefix=store[3] if len(store) > 2 else "gw:")
        try:
            return await key_store.lookup(value)
        finally:
            await key_store.close()

    return asyncio.run(find())


def test_create_prints_the_key_once_and_list_never_shows_it(store: list[str], plans_file: Path) -> None:
    runner = CliRunner()
    created = runner.invoke(keys, ["create", "--plan", "free", "--stage", "prod", "--plans-file", str(plans_file), *store])
    assert created.exit_code == 0, created.output
    value = created.stdout.strip()
    assert len(value) >= 40 and "\n" not in value
    assert "created key" in created.stderr
    found = lookup(store, value)
    assert found is not None
    listed = runner.invoke(keys, ["list", "--format", "json", *store])
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)
    assert [(r["plan"], r["stages"], r["enabled"]) for r in rows] == [("free", ["prod"], True)]
    assert value not in listed.stdout


def test_revoke_disables_the_key(store: list[str]) -> None:
    runner = CliRunner()
    value = runner.invoke(keys, ["create", "--plan", "free", *store]).stdout.strip()
    key_id = json.loads(runner.invoke(keys, ["list", "--format", "json", *store]).stdout)[0]["id"]
    revoked = runner.invoke(keys, ["revoke", key_id, *store])
    assert revoked.exit_code == 0 and key_id in revoked.stdout
    assert "revoked" in runner.invoke(keys, ["list", *store]).stdout
    found = lookup(store, value)
    assert found is not None and not found.enabled
    missing = runner.invoke(keys, ["revoke", "nope", *store])
    assert missing.exit_code == 1 and "no key with id 'nope'" in missing.output


def test_create_checks_plan_and_stage_against_plans_file(tmp_path: Path, plans_file: Path) -> None:
    runner = CliRunner()
    store = ["--store", f"sqlite:///{tmp_path / 'k.db'}", "--plans-file", str(plans_file)]
    unknown = runner.invoke(keys, ["create", "--plan", "gold", *store])
    assert unknown.exit_code == 1 and "unknown plan 'gold'" in unknown.output
    outside = runner.invoke(keys, ["create", "--plan", "prod-only", "--stage", "dev", *store])
    assert outside.exit_code == 1 and "does not cover stage(s) dev" in outside.output


def test_plans_lists_plans_from_the_file(plans_file: Path) -> None:
    result = CliRunner().invoke(keys, ["plans", "--plans-file", str(plans_file)])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "free\tthrottle 5/s burst 10\tquota 1000/month\tstages *",
        "prod-only\tthrottle -\tquota -\tstages prod",
    ]


def test_bad_store_url_is_a_clean_error() -> None:
    result = CliRunner().invoke(keys, ["list", "--store", "ftp://x"])
    assert result.exit_code == 1
    assert "unknown key store URL" in result.output
