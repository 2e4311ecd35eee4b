"""The deterministic schemathesis slice (``run_schemathesis.py`` runs thousands of cases).

Generated gateways, each a real process: the petstore sample in front of its counting
backend (API key, usage plan, cache and CORS on), the same with a JWT required on
every operation as well, and corpus specs compiled as they are. Cases come from each gateway's exported document with a fixed seed, positive and
negative. See ``schemathesis_support`` for what is checked.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from schemathesis_support import KNOWN_CAUSES, FuzzStats, fuzz_gateway, running_gateways

EXAMPLES_PER_OPERATION = 8
SEED = 20260601


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, FuzzStats]]:
    workdir: Path = tmp_path_factory.mktemp("schemathesis")
    with running_gateways(workdir) as gateways:
        stats: dict[str, FuzzStats] = {}
        for gateway in gateways:
            stats[gateway.name] = fuzz_gateway(gateway, examples_per_operation=EXAMPLES_PER_OPERATION, seed=SEED)
            assert gateway.process.healthy(), f"{gateway.name} stopped answering:\n{gateway.process.log()}"
        yield stats


def _total(results: dict[str, FuzzStats]) -> FuzzStats:
    total = FuzzStats()
    for stats in results.values():
        total.add(stats)
    return total


def test_enough_cases_ran_on_enough_gateways(results: dict[str, FuzzStats]) -> None:
    samples = ("samples/petstore", "samples/petstore (secured)")
    for name in samples:  # 12 operations, 8 examples each
        assert results[name].cases >= 90, (name, results[name].cases)
    exercised = [name for name, stats in results.items() if stats.cases]
    assert len(exercised) >= 2
    corpus = [name for name in results if name not in samples]
    if corpus:  # the corpus specs that exist under ../shared/corpus
        assert _total(results).cases >= 300
        # webhook-example declares no paths, so one corpus gateway may run no case
        assert len(exercised) >= len(results) - 1, sorted(set(results) - set(exercised))


def test_the_secured_gateway_lets_valid_credentials_through(results: dict[str, FuzzStats]) -> None:
    secured = results["samples/petstore (secured)"]
    assert secured.cases > 0
    assert sum(n for status, n in secured.statuses.items() if 200 <= status < 300) > 0, secured.statuses
    assert secured.reached_backend == 0, secured.examples


def test_no_gateway_answers_5xx_except_a_deliberate_502_or_504(results: dict[str, FuzzStats]) -> None:
    total = _total(results)
    assert total.server_errors == 0, total.examples
    assert total.transport_errors == 0, total.examples


def test_requests_rejected_as_invalid_never_reach_the_backend(results: dict[str, FuzzStats]) -> None:
    petstore = results["samples/petstore"]
    assert petstore.statuses[400] > 0  # negative cases did reach validation
    assert petstore.reached_backend == 0, petstore.examples


def test_every_conformance_failure_has_a_known_open_cause(results: dict[str, FuzzStats]) -> None:
    total = _total(results)
    assert set(total.conformance_causes) <= set(KNOWN_CAUSES), {
        k: v for k, v in total.examples.items() if k.startswith("conformance")
    }


def test_every_response_conforms_to_the_exported_document(results: dict[str, FuzzStats]) -> None:
    total = _total(results)
    assert total.conformance_failures == 0, {k: v for k, v in total.examples.items() if k.startswith("conformance")}


