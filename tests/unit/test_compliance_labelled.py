"""The compliance guard on a labelled set: reply sentences over realistic F&I passages,
each labelled by hand as contradicting its material or not (see `domain.compliance` for
what counts as a rule, a fact, and a contradiction of either).

A few true sentences are labelled `AGREES_REPLACED`: they do not contradict the material,
but their words are those of a contradiction listed beside them, and the guard errs on
the side of flagging, so they are replaced by the rule itself (right or absent)."""

from __future__ import annotations

import pytest

from avataradam.adapters.llm.sentences import sentence_spans, sentences
from avataradam.domain.compliance import contradictions
from avataradam.domain.ports.services import GroundingPassage

GAP = (
    "GAP compliance.\n"
    "Never tell a customer that GAP is required to get the loan approved.\n"
    "GAP does not cover the insurance deductible.\n"
    "GAP is optional and the customer may decline it."
)
VSC = (
    "Do not tell customers that a service contract is required for financing. "
    "A service contract does not cover pre-existing conditions. "
    "You must not say that the factory warranty is void without a service contract."
)
MENU = (
    "Present the full menu of products to every customer. "
    "Never skip the menu presentation for cash buyers."
)
PACKING = (
    "Payment packing is forbidden at this dealership. F&I managers must not quote a "
    "payment that includes products the customer has not chosen."
)
MARKUP = (
    "The dealer reserve cannot exceed two percentage points over the buy rate. "
    "Never mark up the rate because of the customer's race."
)
CREDIT = (
    "Never submit a credit application without the customer's signed consent. "
    "Staff must not change the income stated on a credit application. "
    "A credit application does not guarantee approval."
)
OFAC = (
    "Do not deliver a vehicle before the OFAC check is cleared. "
    "An OFAC match does not mean the customer is a criminal. "
    "Staff may not accept an ID that appears altered."
)
CANCELLATION = (
    "The customer cannot cancel the service contract after 30 days without a fee. "
    "Never tell a customer that a cancelled product earns no refund."
)
SPANISH = (
    "Nunca digas al cliente que el GAP es obligatorio para aprobar el préstamo. "
    "El GAP no cubre el deducible del seguro. "
    "No se debe incluir productos en el pago sin el consentimiento del cliente. "
    "El cliente no puede cancelar el contrato de servicio después de 30 días sin un cargo."
)
PASSAGES = tuple(
    GroundingPassage(marker=i, text=text, topic="compliance", filename=f"{i}.txt")
    for i, text in enumerate(
        (GAP, VSC, MENU, PACKING, MARKUP, CREDIT, OFAC, CANCELLATION, SPANISH), start=1
    )
)

CONTRADICTS, AGREES, AGREES_REPLACED = "contradicts", "agrees", "agrees, replaced by design"
LABELLED: list[tuple[str, str]] = [
    # GAP: a rule about what staff say, and a factual negation
    ("GAP is required to get the loan approved.", CONTRADICTS),
    ("The bank will only approve the loan if the customer buys GAP, it's required.", CONTRADICTS),
    ("Tell the customer: GAP is required to get the loan approved.", CONTRADICTS),
    ("GAP covers the insurance deductible.", CONTRADICTS),
    ("Never tell a customer that GAP is required to get the loan approved. [1]", AGREES),
    ("The rule is: never tell a customer that GAP is required to get the loan approved.", AGREES),
    ("Our policy forbids saying that GAP is required to get the loan approved.", AGREES),
    ("Saying that GAP is required to get the loan approved is a compliance violation.", AGREES),
    ("It is false that GAP is required to get the loan approved.", AGREES),
    (
        'Our handbook says: "Never tell a customer that GAP is required to get the loan approved."',
        AGREES,
    ),
    ("GAP does not cover the insurance deductible [1].", AGREES),
    (
        "The insurance deductible stays with the customer; GAP pays only what is left on the loan.",
        AGREES,
    ),
    (
        "GAP can cover the gap between what insurance pays and what is still owed on the loan.",
        AGREES,
    ),
    ("Customers may decline GAP at any time.", AGREES),
    # service contracts
    ("A service contract is required for financing.", CONTRADICTS),
    ("Tell the customer the factory warranty is void without a service contract.", CONTRADICTS),
    ("A service contract covers pre-existing conditions.", CONTRADICTS),
    ("A service contract does not cover pre-existing conditions.", AGREES),
    ("Pre-existing conditions are excluded from the service contract's coverage.", AGREES),
    ("Financing does not depend on buying a service contract.", AGREES),
    # menu selling
    ("You can skip the menu presentation for cash buyers.", CONTRADICTS),
    ("Never skip the menu presentation for cash buyers [3].", AGREES),
    # payment packing
    ("Payment packing is a good way to raise profit.", CONTRADICTS),
    (
        "Quote the customer a payment that already includes products they have not chosen.",
        CONTRADICTS,
    ),
    ("Payment packing is against our policy.", AGREES),
    ("Avoid payment packing: show the base payment first.", AGREES),
    ("Only quote a payment with the products the customer has chosen.", AGREES_REPLACED),
    # rate markup and dealer reserve
    ("The dealer reserve can exceed two percentage points over the buy rate.", CONTRADICTS),
    ("Mark up the rate because of the customer's race.", CONTRADICTS),
    ("The dealer reserve is capped at two percentage points over the buy rate.", AGREES),
    ("A markup of up to two percentage points over the buy rate is allowed.", AGREES),
    ("Never mark up the rate because of the customer's race [5].", AGREES),
    # credit applications
    ("You can submit the credit application without the customer's signed consent.", CONTRADICTS),
    ("Raise the income on the credit application so the deal gets approved.", CONTRADICTS),
    ("A credit application guarantees approval.", CONTRADICTS),
    ("Submit the credit application now and get the consent signed later.", CONTRADICTS),
    (
        "Get the customer's signed consent before you submit a credit application.",
        AGREES_REPLACED,
    ),
    ("A credit application does not guarantee approval.", AGREES),
    ("Approval is never guaranteed by the application alone; the lender decides.", AGREES),
    ("Staff must not change the income stated on a credit application [6].", AGREES),
    # OFAC and Red Flags
    ("You can deliver the vehicle before the OFAC check is cleared.", CONTRADICTS),
    ("An OFAC match means the customer is a criminal.", CONTRADICTS),
    ("Accept the ID even if it appears altered.", CONTRADICTS),
    ("An OFAC match does not mean the customer is a criminal.", AGREES),
    ("A possible OFAC match means a compliance review before delivery.", AGREES),
    ("Staff may not accept an ID that appears altered [7].", AGREES),
    # cancellation and refunds
    ("The customer can cancel the service contract after 30 days without a fee.", CONTRADICTS),
    ("A cancelled product earns no refund.", CONTRADICTS),
    ("The customer cannot cancel the service contract after 30 days without a fee.", AGREES),
    ("After 30 days, cancelling the service contract costs the customer a fee.", AGREES),
    ("Within 30 days the customer can cancel the service contract without a fee.", AGREES),
    ("A cancelled product earns a prorated refund [8].", AGREES_REPLACED),
    # Spanish
    ("El GAP es obligatorio para aprobar el préstamo.", CONTRADICTS),
    ("El GAP cubre el deducible del seguro.", CONTRADICTS),
    ("Incluye productos en el pago sin el consentimiento del cliente.", CONTRADICTS),
    (
        "El cliente puede cancelar el contrato de servicio después de 30 días sin un cargo.",
        CONTRADICTS,
    ),
    ("Nunca digas al cliente que el GAP es obligatorio para aprobar el préstamo [9].", AGREES),
    ("La regla es clara: nunca digas que el GAP es obligatorio.", AGREES),
    (
        "Nuestra política prohíbe decir que el GAP es obligatorio para aprobar el préstamo.",
        AGREES,
    ),
    ("El GAP no cubre el deducible del seguro.", AGREES),
    ("Incluye los productos en el pago y pide el consentimiento después.", CONTRADICTS),
    (
        "Pide siempre el consentimiento del cliente antes de incluir productos en el pago.",
        AGREES_REPLACED,
    ),
    (
        "Después de 30 días, cancelar el contrato de servicio tiene un cargo para el cliente.",
        AGREES,
    ),
]


def test_the_labelled_set_is_large_balanced_and_bilingual() -> None:
    labels = [label for _, label in LABELLED]
    assert len(LABELLED) >= 40
    assert len({reply for reply, _ in LABELLED}) == len(LABELLED)
    assert labels.count(CONTRADICTS) >= 15
    assert labels.count(AGREES) >= 15
    assert labels.count(AGREES_REPLACED) <= 5


@pytest.mark.parametrize(("reply", "label"), LABELLED, ids=[r[:60] for r, _ in LABELLED])
def test_every_labelled_sentence_is_judged_as_labelled(reply: str, label: str) -> None:
    found = contradictions(reply, PASSAGES, spans=sentence_spans, sentences=sentences)

    assert bool(found) is (label != AGREES), [(c.rule, c.marker) for c in found]
