"""The compiler fuzzer's fixed-seed slice (``run_compiler_fuzz.py`` runs thousands).

Each example mutates a seed document (the petstore sample, plus corpus documents when
``../shared/corpus`` is present) and compiles it: the compiler must answer with errors
and no files, or with modules that all parse; one example in five also imports the
generated gateway and SDK and builds the app. No planted payload may ever run.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from compiler_fuzz import (
    WEIGHTED_MUTATIONS,
    Mutation,
    apply_mutations,
    check_mutation,
    hostile_strings,
    seed_documents,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SEEDS = seed_documents()
steps = st.lists(
    st.tuples(st.sampled_from(WEIGHTED_MUTATIONS), st.integers(0, 2**20), st.integers(0, 2**20)),
    min_size=1,
    max_size=4,
)


@settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.sampled_from(sorted(SEEDS)), steps, st.integers(0, 4), st.sampled_from(["json", "yaml"]))
def test_mutated_specs_compile_cleanly_or_fail_with_diagnostics(
    seed: str, mutations: list[tuple[Mutation, int, int]], sample: int, fmt: str
) -> None:
    with tempfile.TemporaryDirectory(prefix="gw-fuzz-") as tmp:
        workdir = Path(tmp)
        marker = workdir / "pwned"
        doc: Any = apply_mutations(SEEDS[seed], mutations, hostile_strings(marker))
        outcome = check_mutation(doc, workdir, marker, load=sample == 0, fmt=fmt)
        assert outcome.ok, f"{seed} {mutations}: {outcome.verdict.value}\n{outcome.detail}"


def test_the_hostile_payload_would_be_detected(tmp_path: Path) -> None:
    """The marker check is live: running one planted payload does create the marker."""
    marker = tmp_path / "pwned"
    payload = hostile_strings(marker)[1]
    exec(payload.strip("'; "), {})  # the statement between the quotes
    assert marker.exists()


@pytest.mark.parametrize("seed", sorted(SEEDS))
def test_every_seed_compiles_unmutated(seed: str, tmp_path: Path) -> None:
    outcome = check_mutation(SEEDS[seed], tmp_path, tmp_path / "pwned")
    assert outcome.verdict.value == "compiled", outcome.detail
