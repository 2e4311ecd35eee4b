"""Fixtures for SDK tests: generated packages imported from a temporary folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from gatewright.compiler.ir.nodes import Api

from .petstore_ir import petstore
from .sdkgen import import_sdk

__all__ = ["make_sdk", "petstore_sdk"]


@pytest.fixture(scope="module")
def petstore_sdk(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    return import_sdk(petstore(), tmp_path_factory.mktemp("petstore_sdk"))


@pytest.fixture
def make_sdk(tmp_path: Path) -> Callable[[Api], ModuleType]:
    def make(api: Api) -> ModuleType:
        return import_sdk(api, tmp_path)

    return make
