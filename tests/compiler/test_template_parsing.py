"""``parse_template``: backend URLs and upstream paths into typed parts."""

from __future__ import annotations

import pytest
from gatewright.compiler.diagnostics import Diagnostics, Origin
from gatewright.compiler.ir.nodes import EnvVarPart, RequestPart, StageVarPart, Template, TextPart
from gatewright.compiler.ir.templating import TemplateContext, parse_template

ORIGIN = Origin("spec.yaml", "/x-gateway/backends/pets/url")
REQUEST = TemplateContext(allow_request=True)
STARTUP = TemplateContext(allow_request=False)
AWS = TemplateContext(allow_request=True, bare_path_params=True)


def _parse(text: str, ctx: TemplateContext) -> tuple[Template | None, Diagnostics]:
    diags = Diagnostics()
    return parse_template(text, ORIGIN, ctx, diags), diags


def test_plain_text_is_static() -> None:
    tpl, diags = _parse("http://127.0.0.1:9000/v1", STARTUP)
    assert tpl is not None and tpl.is_static and not tpl.needs_request
    assert tpl.parts == (TextPart(text="http://127.0.0.1:9000/v1"),)
    assert tpl.source == "http://127.0.0.1:9000/v1" and tpl.origin == ORIGIN
    assert list(diags) == []


def test_stage_and_env_variables() -> None:
    tpl, diags = _parse("https://${stage.host}:${env.PORT:-8080}/${env.PREFIX}/${stageVariables.ver}", STARTUP)
    assert list(diags) == []
    assert tpl is not None
    assert tpl.parts == (
        TextPart(text="https://"),
        StageVarPart(name="host"),
        TextPart(text=":"),
        EnvVarPart(name="PORT", default="8080"),
        TextPart(text="/"),
        EnvVarPart(name="PREFIX", default=None),
        TextPart(text="/"),
        StageVarPart(name="ver"),
    )


def test_env_default_may_be_empty_or_hold_punctuation() -> None:
    tpl, _ = _parse("${env.A:-}${env.B:-http://x:1/y}", STARTUP)
    assert tpl is not None
    assert tpl.parts == (EnvVarPart(name="A", default=""), EnvVarPart(name="B", default="http://x:1/y"))


def test_request_values() -> None:
    tpl, diags = _parse("/v1/pets/{path.id}?q={query.q}&h={header.X-Trace}", REQUEST)
    assert list(diags) == []
    assert tpl is not None and tpl.needs_request
    assert [p for p in tpl.parts if isinstance(p, RequestPart)] == [
        RequestPart(source="path", name="id"),
        RequestPart(source="query", name="q"),
        RequestPart(source="header", name="X-Trace"),
    ]


def test_greedy_marker_is_dropped_from_the_name() -> None:
    tpl, _ = _parse("/files/{path.rest+}", REQUEST)
    assert tpl is not None and tpl.parts[-1] == RequestPart(source="path", name="rest")


def test_bare_names_are_path_parameters_in_aws_uris() -> None:
    tpl, diags = _parse("http://backend/{proxy}/{id}", AWS)
    assert list(diags) == []
    assert tpl is not None
    assert [p for p in tpl.parts if isinstance(p, RequestPart)] == [RequestPart(source="path", name="proxy"), RequestPart(source="path", name="id")]


@pytest.mark.parametrize("text", ["${host}", "${stage.}", "${env.1BAD}", "${stage.a.b}", "${ENV.X}"])
def test_unknown_dollar_expressions_are_gw303(text: str) -> None:
    tpl, diags = _parse(f"http://{text}/", STARTUP)
    assert tpl is None
    assert [d.code for d in diags] == ["GW303"]
    assert diags.items[0].origin == ORIGIN


@pytest.mark.parametrize("text", ["{cookie.x}", "{id}", "{}", "{path.}", "{ path.x }"])
def test_malformed_brace_expressions_are_gw303(text: str) -> None:
    tpl, diags = _parse(f"/v1/{text}", REQUEST)
    assert tpl is None
    assert [d.code for d in diags] == ["GW303"]


def test_request_values_are_refused_where_no_request_exists() -> None:
    tpl, diags = _parse("http://{header.Host}/", STARTUP)
    assert tpl is None
    (diag,) = list(diags)
    assert diag.code == "GW303" and "not available here" in diag.message


def test_every_error_is_reported_in_one_pass() -> None:
    _, diags = _parse("${a}/{b}/${c}", REQUEST)
    assert [d.code for d in diags].count("GW303") == 3
