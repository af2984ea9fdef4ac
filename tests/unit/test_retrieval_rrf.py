"""Reciprocal-rank fusion (bench/retrieval/keyword.py) on hand-made rankings."""

from __future__ import annotations

import pytest

from bench.retrieval.keyword import rrf


def test_an_id_scores_the_sum_of_one_over_k_plus_its_rank_in_every_ranking() -> None:
    fused = dict(rrf([["a", "b", "c"], ["c", "a"]], k=60))
    assert fused["a"] == pytest.approx(1 / 61 + 1 / 62)
    assert fused["b"] == pytest.approx(1 / 62)
    assert fused["c"] == pytest.approx(1 / 63 + 1 / 61)
    assert [i for i, _ in rrf([["a", "b", "c"], ["c", "a"]], k=60)] == ["a", "c", "b"]


def test_disjoint_rankings_interleave_rank_by_rank_first_ranking_first_on_ties() -> None:
    fused = rrf([["v1", "v2", "v3"], ["k1", "k2"]], k=60)
    assert [i for i, _ in fused] == ["v1", "k1", "v2", "k2", "v3"]
    assert fused[0][1] == fused[1][1] == pytest.approx(1 / 61)


def test_equal_scores_from_different_ranks_go_to_the_better_rank() -> None:
    # x: ranks 1 and 3, y: 2 and 2 — 1/61 + 1/63 is a hair above 2/62 (convexity).
    fused = rrf([["x", "y"], ["z", "y", "x"]], k=60)
    assert [i for i, _ in fused] == ["x", "y", "z"]
    # An exact tie: p at rank 1 of the second list, q at rank 1 of the first.
    assert [i for i, _ in rrf([["q"], ["p"]])] == ["q", "p"]
    assert [i for i, _ in rrf([["p"], ["q"]])] == ["p", "q"]


def test_k_decides_how_much_agreement_beats_one_top_rank() -> None:
    rankings = [["top", "a", "b", "both"], ["other", "c", "d", "both"]]
    # A small k favours the rank-1 ids; a large one the id both rankings hold.
    assert rrf(rankings, k=1)[0][0] == "top"
    assert rrf(rankings, k=60)[0][0] == "both"


def test_weights_scale_each_ranking_and_must_match_them() -> None:
    fused = dict(rrf([["a"], ["b"]], k=10, weights=[1.0, 0.5]))
    assert fused == pytest.approx({"a": 1 / 11, "b": 0.5 / 11})
    with pytest.raises(ValueError, match="one weight per ranking"):
        rrf([["a"], ["b"]], weights=[1.0])
    with pytest.raises(ValueError, match="k must be positive"):
        rrf([["a"]], k=0)


def test_a_duplicate_within_a_ranking_counts_once_at_its_better_rank() -> None:
    assert dict(rrf([["a", "b", "a"]], k=60)) == pytest.approx({"a": 1 / 61, "b": 1 / 62})
    assert rrf([]) == []
