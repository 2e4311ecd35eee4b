"""Start-up settings (store URLs) may name stage variables and environment variables.

Regression: a store URL written as ``${stage.redisUrl}`` reached ``store_from_url``
unresolved and the gateway refused to start.
"""

from __future__ import annotations

import pytest
from gatewright.runtime.errors import ConfigurationError
from gatewright.runtime.templating import resolve_start_references


def resolve(text: str, variables: dict[str, str], env: dict[str, str]) -> str:
    return resolve_start_references(
        text, stage_name="prod", stage_variables=variables, env=env, what="the store URL"
    )


def test_stage_and_env_references_are_replaced() -> None:
    variables = {"redisHost": "127.0.0.1"}
    url = resolve("redis://${stage.redisHost}:${env.PORT}/${env.DB:-0}", variables, {"PORT": "6380"})
    assert url == "redis://127.0.0.1:6380/0"


def test_the_aws_spelling_of_a_stage_variable_is_accepted() -> None:
    assert resolve("${stageVariables.url}", {"url": "memory://"}, {}) == "memory://"


def test_a_stage_variable_value_is_not_scanned_again() -> None:
    # the value was resolved when the stage was selected; text from the environment
    # that looks like a reference stays as it is
    assert resolve("${stage.url}", {"url": "redis://h/${env.X}"}, {"X": "1"}) == "redis://h/${env.X}"


def test_a_missing_stage_variable_names_the_stage_and_its_variables() -> None:
    with pytest.raises(ConfigurationError, match=r"stage 'prod' has no variable 'redisUrl'.*its variables: other"):
        resolve("${stage.redisUrl}", {"other": "x"}, {})


def test_a_missing_environment_variable_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="REDIS_URL"):
        resolve("${env.REDIS_URL}", {}, {})
