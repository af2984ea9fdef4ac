"""A small F&I knowledge base written for the chat benchmarks, and questions about it.

Each document is a dealership's own material as a trainer would write it; every
`Question` names the document that answers it (None: nothing in the base does, and Adam
should say so) and, for compliance questions, the phrases a reply must never contain
because they would say the opposite of a rule ("never", "must not") in the source.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DOCUMENTS: dict[str, tuple[str, str]] = {
    "gap-compliance.txt": (
        "compliance",
        "GAP compliance rules.\n"
        "Never tell a customer that GAP is required to get the loan approved.\n"
        "GAP is an optional product and the customer may decline it at any time.\n"
        "If a lender requires proof of insurance, that is not the same as requiring GAP.\n"
        "Always show the price of GAP separately on the menu.\n",
    ),
    "payment-packing.txt": (
        "compliance",
        "Payment packing is forbidden at this dealership.\n"
        "Never quote a monthly payment that hides the cost of products the customer has "
        "not chosen.\n"
        "Present every product on the menu with the base payment first, then the payment "
        "with each package.\n"
        "The customer must be able to see the base payment without any product.\n",
    ),
    "dealer-reserve.txt": (
        "compliance",
        "Dealer reserve is the difference between the buy rate from the lender and the "
        "contract rate offered to the customer.\n"
        "Our reserve is capped at two percentage points above the buy rate.\n"
        "Never tell a customer that the contract rate is the lowest rate the lender offers "
        "unless it is the buy rate.\n",
    ),
    "vsc-product.txt": (
        "product_knowledge",
        "A vehicle service contract (VSC) pays for covered mechanical repairs after the "
        "factory warranty ends.\n"
        "Our VSC has a 100 dollar deductible per repair visit and includes roadside "
        "assistance and rental car reimbursement.\n"
        "The VSC can be cancelled within 60 days for a full refund if no claim was made.\n",
    ),
    "gap-product.txt": (
        "product_knowledge",
        "GAP (guaranteed asset protection) covers the difference between what the insurer "
        "pays after a total loss and what is still owed on the loan.\n"
        "GAP matters most with a small down payment, a long loan term or negative equity.\n"
        "GAP does not cover the insurance deductible unless the contract says so.\n",
    ),
    "objections.txt": (
        "objection_handling",
        'Customer: "My insurance already covers the car if it is totalled."\n'
        "Explain that insurance pays the car's actual cash value, which can be less than "
        "the loan balance, and show the customer the numbers.\n"
        'Customer: "I never buy extended warranties."\n'
        "Acknowledge the concern, ask how long they plan to keep the car, and explain what "
        "the VSC covers after the factory warranty.\n",
    ),
    "menu-selling.txt": (
        "playbooks",
        "Every deal is presented with a menu.\n"
        "Start with a short interview: how long the customer keeps cars, how many miles "
        "they drive, and their budget.\n"
        "Present the full menu to every customer, with the same products and prices, so "
        "every customer is treated alike.\n",
    ),
    "tire-wheel.txt": (
        "product_knowledge",
        "Tire and wheel protection repairs or replaces tires and wheels damaged by road "
        "hazards such as potholes, nails and glass.\n"
        "Cosmetic wheel damage is covered up to three repairs per year.\n",
    ),
}


@dataclass(frozen=True)
class Question:
    text: str
    answered_by: str | None
    """The document that answers it; None when nothing in the base does."""
    must_not_say: tuple[str, ...] = field(default=())
    """Lower-case phrases that would contradict a rule in the source."""


QUESTIONS: tuple[Question, ...] = (
    Question(
        "Can I tell a customer GAP is required to get approved?",
        "gap-compliance.txt",
        ("gap is required", "required to get the loan approved."),
    ),
    Question("Is GAP optional for the customer?", "gap-compliance.txt", ("gap is mandatory",)),
    Question("What does GAP cover?", "gap-product.txt"),
    Question("When does GAP matter most?", "gap-product.txt"),
    Question("Does GAP cover the insurance deductible?", "gap-product.txt"),
    Question(
        "Can I quote one monthly payment that includes the products?",
        "payment-packing.txt",
        ("quote a payment that includes",),
    ),
    Question("What is payment packing?", "payment-packing.txt"),
    Question("How should I present the base payment?", "payment-packing.txt"),
    Question("What is dealer reserve?", "dealer-reserve.txt"),
    Question("How much reserve can we add above the buy rate?", "dealer-reserve.txt"),
    Question(
        "Can I say our contract rate is the lowest the lender offers?",
        "dealer-reserve.txt",
        ("it is the lowest rate",),
    ),
    Question("What does the vehicle service contract cover?", "vsc-product.txt"),
    Question("What is the deductible on our VSC?", "vsc-product.txt"),
    Question("Can a customer cancel the VSC?", "vsc-product.txt"),
    Question("How do I answer a customer whose insurance covers a total loss?", "objections.txt"),
    Question("What do I say to a customer who never buys extended warranties?", "objections.txt"),
    Question("How do I start the menu interview?", "menu-selling.txt"),
    Question("Should every customer see the same menu?", "menu-selling.txt"),
    Question("What does tire and wheel protection cover?", "tire-wheel.txt"),
    Question("How many cosmetic wheel repairs are covered per year?", "tire-wheel.txt"),
    Question("What's the weather in Paris this weekend?", None),
    Question("How do I bake sourdough bread?", None),
    Question("Who won the football match last night?", None),
)

PHRASINGS = ("{q}", "{q} Please be brief.", "Quick question for the F&I office: {q}")
"""Ways a trainee asks the same question: each is a distinct cache key (exact cache)."""


def replay_questions() -> list[str]:
    """The distinct questions of the Zipf replay: every answerable question in each
    phrasing (most popular first, in the order written)."""
    return [
        phrasing.format(q=q.text)
        for phrasing in PHRASINGS
        for q in QUESTIONS
        if q.answered_by is not None
    ]
