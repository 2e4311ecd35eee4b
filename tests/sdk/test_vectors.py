"""The SDK's parameter encoder against the vectors the gateway's parser is tested with."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from gatewright.compiler.emit.render import render

VECTORS = Path(__file__).parent.parent / "vectors" / "parameters.json"


def _vectors() -> list[dict[str, Any]]:
    if not VECTORS.is_file():
        return []
    data: dict[str, Any] = json.loads(VECTORS.read_text(encoding="utf-8"))
    return list(data["vectors"])


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    """The generated runtime module on its own (it needs no other generated code)."""
    path = tmp_path_factory.mktemp("base") / "sdk_base_under_test.py"
    path.write_text(
        render("sdk/_base.py.jinja", distribution="vectors-client", user_agent="t"),
        encoding="utf-8",
    )
    spec = importlib.util.spec_from_file_location("sdk_base_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it executes
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(
    not VECTORS.is_file(), reason="tests/vectors/parameters.json is not written yet"
)
@pytest.mark.parametrize("vector", _vectors(), ids=lambda v: str(v["name"]))
def test_encoder_matches_shared_vector(base: ModuleType, vector: dict[str, Any]) -> None:
    spec = base.ParamSpec("color", vector["location"], vector["style"], vector["explode"])
    value = vector["value"]
    location = vector["location"]
    if location == "path":
        encoded = base.serialize_path(spec, value)
    elif location == "query":
        encoded = "&".join(f"{k}={v}" for k, v in base.serialize_query(spec, value))
    elif location == "header":
        encoded = base.serialize_header(spec, value)
    else:
        encoded = "&".join(v for _, v in base.serialize_cookie(spec, value))
    assert encoded == vector["encoded"]
