"""The built-in F&I office rubric, `fi-office` v3: v2 (`fi_office_v2`) with one more kind
of `unless` on every compliance blocker, for a belief the trainee restates in order to
question it.

v2 failed "I understand, many customers feel their insurance covers everything. What
does your policy pay if the car is totalled while you owe more than it is worth?" under
`no_misrepresentation`: the words "covers everything" matched, and v2's attribution
patterns knew "customers think / say / believe" but not "feel", nor "you said", "you
mentioned", "my customers often…". A trainee who names a customer's belief before
asking about it is doing discovery, not misrepresenting coverage. v3's
`BELIEF_RESTATED` patterns (English and Spanish) keep such a clause from failing a
blocker; a definite claim in a clause of its own still fails ("many customers feel
that way, but your insurance won't cover it" fails on its second clause: `unless`
is clause-bound, `domain.training.rubrics`).

Everything else is v2's, value for value; v1 and v2 stay registered unchanged, so their
scorecards re-read and rescore as they were (docs/rubrics.md).
"""

from __future__ import annotations

from typing import Final

import msgspec

from avataradam.domain.training.fi_office_blockers_v2 import BLOCKERS_V2
from avataradam.domain.training.fi_office_v2 import FI_OFFICE_V2
from avataradam.domain.training.rubrics import Criterion

BELIEF_RESTATED: Final = (
    r"\b(?:some|other|many|a lot of|lots of|most)\s+(?:of\s+(?:my|our|the)\s+)?(?:customers|"
    r"people|folks|buyers|drivers|clients|owners)\s+(?:often\s+|usually\s+|tend to\s+)?"
    r"(?:feel|felt|figure|expect|worry|assume|suppose|are (?:sure|surprised)|come in "
    r"thinking)\b",
    r"\b(?:my|our)\s+(?:customers|clients|buyers)\s+(?:often\s+|usually\s+|always\s+)?"
    r"(?:feel|think|say|believe|assume|figure|expect|tell me)\b",
    r"\byou (?:said|mentioned|told me|feel|felt|figured?|assumed?|were told|heard)\b",
    r"\bit'?s (?:common|natural|normal|easy) to (?:think|assume|feel|believe|figure)\b|"
    r"\ba common (?:belief|misconception|assumption)\b",
    r"\b(?:muchos|algunos|varios|la mayor[ií]a de (?:los|mis))\s+(?:de mis\s+)?(?:clientes|"
    r"compradores|conductores)\s+(?:sienten|creen|piensan|suponen|asumen|dicen)\b",
    r"\busted\s+(?:dijo|mencion[oó]|cree|piensa|siente|me dijo|escuch[oó])\b|"
    r"\b(?:me dijo|me coment[oó]) que\b|\bes (?:com[uú]n|normal) (?:pensar|creer)\b",
)
"""The clause restates what the customer (or customers in general) believe, said or
were told: discovery, not a claim of the trainee's own."""


def _with_beliefs(criterion: Criterion) -> Criterion:
    """`criterion` with `BELIEF_RESTATED` added to each check's `unless`."""
    checks = tuple(
        msgspec.structs.replace(check, unless=check.unless + BELIEF_RESTATED)
        for check in criterion.checks
    )
    return msgspec.structs.replace(criterion, checks=checks)


BLOCKERS_V3 = tuple(_with_beliefs(blocker) for blocker in BLOCKERS_V2)

FI_OFFICE_V3 = msgspec.structs.replace(
    FI_OFFICE_V2,
    version=3,
    description="Discovery, objection handling, value before price, menu presentation "
    "and a clear ask, with four compliance blockers (products optional and never tied "
    "to credit, no payment packing, no misrepresented coverage, no false urgency); v3 "
    "no longer fails a customer's belief the trainee restates to question it.",
    criteria=tuple(c for c in FI_OFFICE_V2.criteria if not c.blocker) + BLOCKERS_V3,
)
