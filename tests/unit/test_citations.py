"""The server's check of a training reply's citations (domain.citations)."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from avataradam.adapters.embeddings.hashing import HashingEmbedder
from avataradam.adapters.llm.sentences import sentence_spans, sentences
from avataradam.domain.citations import CheckedReply, check_citations
from avataradam.domain.ports.services import GroundingPassage

EMBEDDER = HashingEmbedder(dimension=256)
THRESHOLD = 0.5
RULE = "Never tell a customer that GAP is required to get the loan approved."
GAP = "GAP covers the difference between the loan balance and the car's actual cash value."
RESERVE = "Dealer reserve is the markup on the buy rate that the dealer keeps."
PASSAGES = tuple(
    GroundingPassage(marker=i, text=text, topic="compliance", filename=f"{i}.md")
    for i, text in enumerate((RULE, GAP, RESERVE), start=1)
)
MARKER = re.compile(r"\[(\d+)\]")


async def check(reply: str, passages: tuple[GroundingPassage, ...] = PASSAGES) -> CheckedReply:
    return await check_citations(
        reply,
        passages,
        spans=sentence_spans,
        sentences=sentences,
        embed=EMBEDDER.embed,
        threshold=THRESHOLD,
    )


async def test_a_marker_naming_no_given_passage_is_replaced_by_the_supporting_one() -> None:
    checked = await check(f"{RULE[:-1]} [7].")

    assert checked.content == f"{RULE[:-1]} [1]."
    assert checked.cited == (1,)
    assert (checked.grounded, checked.supported_share) == (True, 1.0)


async def test_a_marker_naming_an_unrelated_passage_moves_to_the_one_that_supports_it() -> None:
    checked = await check(f"{GAP} [3]")

    assert checked.content == f"{GAP} [1]"
    assert checked.cited == (2,), "the first cited passage becomes [1]"


async def test_unsupported_claims_lose_their_markers_and_the_reply_is_not_grounded() -> None:
    checked = await check(f"{RULE} [1]\nThe weather in Paris is lovely in the spring. [2]")

    assert checked.content == f"{RULE} [1]\nThe weather in Paris is lovely in the spring."
    assert checked.cited == (1,)
    assert (checked.claims, checked.supported, checked.supported_share) == (2, 1, 0.5)
    assert checked.grounded is False


async def test_a_claim_without_marker_is_attributed_before_its_full_stop() -> None:
    checked = await check(f"Here is what the material says:\n- {RESERVE}\n- {GAP}")

    assert checked.content == (
        f"Here is what the material says:\n- {RESERVE[:-1]} [1].\n- {GAP[:-1]} [2]."
    )
    assert checked.cited == (3, 2)
    assert checked.claims == 2, "an introduction ending in a colon is not a claim"


async def test_a_marker_after_the_full_stop_belongs_to_the_sentence_before_it() -> None:
    checked = await check(f"{RULE} [1] {GAP} [2]")

    assert checked.content == f"{RULE} [1] {GAP} [2]"
    assert (checked.cited, checked.grounded) == ((1, 2), True)


async def test_short_sentences_and_questions_are_not_scored() -> None:
    checked = await check(f"Good question. {RULE} [1] Want to practise it?")

    assert checked.claims == 1
    assert checked.content == f"Good question. {RULE} [1] Want to practise it?"


async def test_renumbering_follows_first_appearance_and_merges_repeats() -> None:
    checked = await check(f"{RESERVE} [3]\n{RULE} [1]\n{RESERVE[:-1]}, again [3, 3].")

    assert checked.cited == (3, 1)
    assert checked.content == f"{RESERVE} [1]\n{RULE} [2]\n{RESERVE[:-1]}, again [1]."


async def test_a_reply_without_claims_needs_no_embedding() -> None:
    async def unreachable(texts: object) -> list[list[float]]:
        raise AssertionError("no claim to score")

    checked = await check_citations(
        "Sure. [2]",
        PASSAGES,
        spans=sentence_spans,
        sentences=sentences,
        embed=unreachable,
        threshold=THRESHOLD,
    )

    assert (checked.content, checked.cited, checked.grounded) == ("Sure. [1]", (2,), False)
    assert checked.supported_share is None


SENTENCES = (RULE, GAP, RESERVE, "The weather in Paris is lovely in the spring.", "Sure.")


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(SENTENCES),
            st.lists(st.integers(min_value=0, max_value=9), max_size=3),
            st.sampled_from([" ", "\n", "\n- "]),
        ),
        min_size=1,
        max_size=6,
    )
)
async def test_every_marker_left_names_a_source_and_every_source_is_cited(
    parts: list[tuple[str, list[int], str]],
) -> None:
    reply = "".join(
        f"{text}{''.join(f' [{n}]' for n in markers)}{gap}" for text, markers, gap in parts
    )

    checked = await check(reply)

    numbers = [int(n) for n in MARKER.findall(checked.content)]
    assert set(numbers) == set(range(1, len(checked.cited) + 1))
    assert set(checked.cited) <= {p.marker for p in PASSAGES}
    assert "".join(MARKER.sub("", checked.content).split()) == "".join(
        MARKER.sub("", reply).split()
    )
    if checked.claims:
        assert checked.supported_share == round(checked.supported / checked.claims, 4)
