"""Resource policy (IP allow/deny, trusted proxies) and OR/AND security requirements."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import pytest
from aiohttp import web
from auth_support import Client, GatewayFactory
from gatewright.runtime.auth import IamPolicy, IpPolicy, auth_middleware
from gatewright.runtime.context import Principal
from gatewright.runtime.errors import ConfigurationError


class HeaderScheme:
    """A stand-in credential scheme (the way API keys plug in): ``X-<name>: <id>[;scopes]``."""

    def __init__(self, scheme: str) -> None:
        self.scheme = scheme

    async def authenticate(self, request: web.Request) -> Principal | None:
        value = request.headers.get(f"X-{self.scheme}")
        if value is None:
            return None
        principal_id, _, scopes = value.partition(";")
        return Principal(id=principal_id, scheme=self.scheme, scopes=frozenset(scopes.split()))

    def challenge(
        self,
        *,
        error: str | None = None,
        description: str | None = None,
        scopes: Sequence[str] = (),
    ) -> str:
        return f'{self.scheme} realm="test"'


SCHEMES = {"a": HeaderScheme("a"), "b": HeaderScheme("b"), "c": HeaderScheme("c")}


async def _client(
    gateway: GatewayFactory,
    requirements: Mapping[str, Sequence[Mapping[str, Sequence[str]]]],
    default_requirements: Sequence[Mapping[str, Sequence[str]]] = (),
    resource_policy: IpPolicy | None = None,
    scope_match: Literal["all", "any"] = "all",
) -> Client:
    return await gateway(
        auth_middleware(
            schemes=SCHEMES,
            requirements_by_operation=requirements,
            default_requirements=default_requirements,
            resource_policy=resource_policy,
            scope_match=scope_match,
        )
    )


async def test_and_inside_or_across_requirements(gateway: GatewayFactory) -> None:
    client = await _client(gateway, {"getOrder": [{"a": [], "b": []}, {"c": ["read"]}]})
    assert (await client.get("/orders/1", headers={"X-a": "u1"})).status == 401  # AND needs b too
    both = await client.get("/orders/1", headers={"X-a": "u1", "X-b": "u1-b"})
    assert both.status == 200 and (await both.json())["principal"] == "u1"
    assert (await client.get("/orders/1", headers={"X-c": "u2;read"})).status == 200
    assert (await client.get("/orders/1", headers={"X-c": "u2;write"})).status == 403
    missing = await client.get("/orders/1")
    assert missing.status == 401
    assert missing.headers["WWW-Authenticate"] == 'a realm="test", b realm="test", c realm="test"'


async def test_empty_requirement_allows_anonymous_and_empty_list_means_no_security(
    gateway: GatewayFactory,
) -> None:
    client = await _client(
        gateway, {"getOrder": [{"a": []}, {}], "health": []}, default_requirements=[{"a": []}]
    )
    assert (await client.get("/orders/1")).status == 200
    assert (await client.get("/health")).status == 200
    assert (await client.get("/reports/x")).status == 401  # not listed: the API default


async def test_all_scopes_required_unless_any_is_chosen(gateway: GatewayFactory) -> None:
    requirements = {"getOrder": [{"a": ["read", "admin"]}]}
    strict = await _client(gateway, requirements)
    assert (await strict.get("/orders/1", headers={"X-a": "u;read"})).status == 403
    lenient = await _client(gateway, requirements, scope_match="any")
    assert (await lenient.get("/orders/1", headers={"X-a": "u;read"})).status == 200


def test_unverifiable_scheme_starts_and_fails_closed(caplog: pytest.LogCaptureFixture) -> None:
    # a scheme with no verification settings must not stop the gateway from starting;
    # requests that need it are refused (the evaluator treats it as missing credentials)
    with caplog.at_level("WARNING", logger="gatewright.auth"):
        auth_middleware(schemes=SCHEMES, requirements_by_operation={"getOrder": [{"nope": []}]})
    assert "'nope' has no verification settings" in caplog.text


POLICY = IpPolicy.from_strings(
    allow=["203.0.113.0/24", "2001:db8::/32"], deny=["203.0.113.66"], trusted_proxies=["127.0.0.1"]
)


@pytest.mark.parametrize(
    ("forwarded_for", "status"),
    [
        ("203.0.113.5", 200),
        ("203.0.113.66", 403),  # deny wins over allow
        ("198.51.100.1", 403),  # not on the allow list
        ("198.51.100.1, 203.0.113.5", 200),  # left-most is client-written, ignored
        ("203.0.113.5, 198.51.100.1", 403),  # right-most untrusted hop is the client
        ("203.0.113.5, 127.0.0.1", 200),  # trusted hops are skipped
        ("2001:db8::7", 200),
        ("garbage", 403),
    ],
)
async def test_ip_policy_behind_a_trusted_proxy(
    gateway: GatewayFactory, forwarded_for: str, status: int
) -> None:
    client = await _client(gateway, {"getOrder": []}, resource_policy=POLICY)
    assert (
        await client.get("/orders/1", headers={"X-Forwarded-For": forwarded_for})
    ).status == status


async def test_forwarded_for_is_ignored_from_untrusted_peers(gateway: GatewayFactory) -> None:
    untrusting = IpPolicy.from_strings(allow=["203.0.113.0/24"])
    client = await _client(gateway, {"getOrder": []}, resource_policy=untrusting)
    # the peer is 127.0.0.1, not a trusted proxy: its X-Forwarded-For claim is not believed
    assert (await client.get("/orders/1", headers={"X-Forwarded-For": "203.0.113.5"})).status == 403
    denying = IpPolicy.from_strings(deny=["127.0.0.0/8"])
    client = await _client(gateway, {"getOrder": []}, resource_policy=denying)
    assert (await client.get("/orders/1", headers={"X-Forwarded-For": "203.0.113.5"})).status == 403


def test_ip_policy_rejects_typos() -> None:
    with pytest.raises(ConfigurationError, match="not an IP address"):
        IpPolicy.from_strings(allow=["203.0.113.0/33"])


def test_iam_policy_wildcards_and_fail_closed_conditions() -> None:
    policy = IamPolicy.parse(
        {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "execute-api:Invoke",
                    "Resource": "arn:*:*/prod/GET/pets/*",
                },
                {
                    "Effect": "Allow",
                    "Action": "execute-api:Invoke",
                    "Resource": "arn:*/POST/*",
                    "Condition": {},
                },
                {"Effect": "Deny", "Action": "*", "Resource": "arn:*:*/prod/GET/pets/secret"},
            ]
        }
    )
    assert policy.allows("arn:aws:execute-api:r:1:api/prod/GET/pets/1")
    assert not policy.allows("arn:aws:execute-api:r:1:api/prod/GET/pets/secret")
    assert policy.decide("arn:aws:execute-api:r:1:api/prod/GET/owners/1") is None
    assert not policy.allows(
        "arn:aws:execute-api:r:1:api/prod/POST/pets"
    )  # conditional Allow ignored
    conditional_deny = IamPolicy.parse(
        {
            "Statement": [
                {"Effect": "Allow", "Action": "*", "Resource": "*"},
                {"Effect": "Deny", "Condition": {}},
            ]
        }
    )
    assert not conditional_deny.allows("arn:anything")
    with pytest.raises(ValueError, match="Effect"):
        IamPolicy.parse({"Statement": [{"Effect": "Maybe", "Action": "*", "Resource": "*"}]})
