"""The built-in scenario library's content: who each customer is, what the trainee should
accomplish, in the words an F&I trainer would use (Spanish lines in `library_es.py`).

The first five are the customers roleplay had before scenarios existed
(`domain/personas.py`); their keys are their slugs, so `{"scenario": "price_focused"}`
still starts them. The objectives name what a trainer watches for; the compliance ones
(products are optional, never tied to credit approval; no payment packing; no
misrepresentation of coverage; no false urgency) are the F&I office rubric's blockers.
"""

from __future__ import annotations

import msgspec

from avataradam.domain.model.scenarios import Product
from avataradam.domain.personas import PERSONAS, CustomerPersona


class LibraryEntry(msgspec.Struct, frozen=True, kw_only=True):
    """A built-in scenario before it gets its id and translations (see `scenarios.py`)."""

    title: str
    product: Product
    difficulty: int
    objectives: tuple[str, ...]
    persona: CustomerPersona


def _classic(
    slug: str, title: str, product: Product, difficulty: int, objectives: tuple[str, ...]
) -> LibraryEntry:
    return LibraryEntry(
        title=title,
        product=product,
        difficulty=difficulty,
        objectives=objectives,
        persona=PERSONAS[slug],
    )


ENTRIES: tuple[LibraryEntry, ...] = (
    _classic(
        "price_focused",
        'Price objection: "I already fought for this price"',
        Product.VSC,
        2,
        (
            "Acknowledge the price concern before answering it.",
            "Build value first: ask how long they keep a car and what a major repair costs.",
            "When they cite a cheaper contract online, compare coverage, deductible and "
            "who administers it, not just the price.",
            "Quote the price plainly (total and per month) and ask for a decision without "
            "discounting to close.",
        ),
    ),
    _classic(
        "skeptical",
        'The skeptic: "this is where dealers make their money"',
        Product.VSC,
        3,
        (
            "Stay calm when interrupted; acknowledge the distrust instead of arguing.",
            "Answer with specifics: what is covered, what is excluded, who pays claims.",
            "Take the neighbour's denied claim seriously and explain how claims are decided.",
            "Explain cancellation and refund terms accurately; never overstate coverage.",
        ),
    ),
    _classic(
        "time_pressured",
        'In a hurry: "where do I sign?"',
        Product.MENU,
        2,
        (
            "Respect the time: present the whole menu briefly with the base payment shown.",
            'Answer "is it required?" truthfully: every product is optional and has no '
            "bearing on the loan approval.",
            "Create no false urgency; let the customer decline quickly if they want to.",
            "Get a clear yes or no on each product before the contract is signed.",
        ),
    ),
    _classic(
        "payment_focused",
        "Payment buyer with a hard monthly limit",
        Product.MENU,
        2,
        (
            "Discover the monthly limit, the term and what worries them about the budget.",
            "Show each option as a payment against the base payment: never a payment that "
            "hides the products in it.",
            "Say so plainly if a longer term is what keeps a payment down, and what it costs "
            "in total.",
            "Let the customer choose what fits; ask which protection matters most to them.",
        ),
    ),
    _classic(
        "already_covered",
        '"My insurance and the warranty already cover it"',
        Product.GAP,
        2,
        (
            "Ask what their policy and the factory warranty actually cover before answering.",
            "Explain the difference between the insurer's actual cash value payout and the "
            "loan balance, with their own numbers.",
            "Explain what happens after the factory warranty ends, without misrepresenting "
            "either coverage.",
            "Welcome a call to their agent; no pressure to decide before they make it.",
        ),
    ),
    LibraryEntry(
        title='Negative equity rolled in: "why would I need GAP?"',
        product=Product.GAP,
        difficulty=2,
        objectives=(
            "Uncover the negative equity rolled into the loan and what the car is worth.",
            "Show the gap between an insurer's payout and the loan balance with the "
            "customer's own numbers.",
            "State that GAP is optional and not a condition of approval.",
            "Present the cost as a total and per month, then ask for a decision.",
        ),
        persona=CustomerPersona(
            scenario="gap_negative_equity",
            name="Chris",
            description=(
                "a customer trading in a car they still owe about six thousand dollars more "
                "on than it is worth, rolling that into a 72-month loan"
            ),
            traits=("wants to get it over with", "underestimates the risk", "trusts insurance"),
            concerns="GAP negative equity upside down loan balance total loss payout objection",
            opening_lines=(
                "I'm rolling my old loan into this one, I know. Let's just get it done.",
                "Why would I need GAP? My insurance pays if I wreck it.",
            ),
            script=(
                "How much do I actually owe compared to what the car's worth?",
                "My insurance pays what the car's worth. Isn't that enough?",
                "So if it's totalled next year, I'd still owe money on a car I don't have?",
                "Is GAP required to get approved for this loan?",
                "Can I get GAP cheaper through my insurance company?",
            ),
        ),
    ),
    LibraryEntry(
        title='Tire & wheel: "I\'ll think about it"',
        product=Product.TIRE_WHEEL,
        difficulty=1,
        objectives=(
            "Ask about driving conditions: the commute, the roads, the low-profile tires.",
            'Find the real reason behind "I\'ll think about it" before answering it.',
            "Give a concrete, accurate example of what a tire and wheel replacement costs.",
            "Ask for a decision clearly, and accept a no without pressure.",
        ),
        persona=CustomerPersona(
            scenario="tire_wheel_think_about_it",
            name="Taylor",
            description=(
                "a polite commuter on a city route full of potholes, buying a car with "
                "low-profile tires, who stalls every decision"
            ),
            traits=("friendly", "avoids saying no", "postpones decisions"),
            concerns="tire wheel pothole road hazard think about it stall objection",
            opening_lines=(
                "These all sound fine. I'll think about it and call you.",
                "Can I just take the brochure home?",
            ),
            script=(
                "I've never had a flat tire in my life.",
                "What does it cost to replace one of these wheels anyway?",
                "Honestly, I just don't like deciding things on the spot.",
                "Can I add it later if I change my mind?",
                "Does it cover the rims too, or just the tires?",
            ),
        ),
    ),
    LibraryEntry(
        title="Appearance protection: spouse not present",
        product=Product.APPEARANCE_PROTECTION,
        difficulty=2,
        objectives=(
            "Acknowledge the need to involve the partner; never push for a decision without them.",
            "Find out what the partner would care about: kids, pets, resale value.",
            "Explain plainly what is covered and what is not.",
            "Offer a way to include the partner (a call, a written summary) and agree a next step.",
        ),
        persona=CustomerPersona(
            scenario="appearance_spouse_not_present",
            name="Pat",
            description=(
                "a parent buying a family SUV alone while their partner, who manages the "
                "household budget, is at home"
            ),
            traits=("cautious", "defers to the partner", "practical about kids and pets"),
            concerns="appearance protection interior stain paint spouse partner decide objection",
            opening_lines=(
                "My partner handles our budget. I can't say yes to anything without them.",
                "We've got two kids and a dog. This car won't stay clean, but that's our problem.",
            ),
            script=(
                "My partner will ask why we'd pay for something a car wash does.",
                "Does it cover the seats if the kids spill juice on them?",
                "Can you write down what it covers so I can show them tonight?",
                "What if we sell the car in three years?",
                "Can I call them from here?",
            ),
        ),
    ),
    LibraryEntry(
        title="Prepaid maintenance: the cash buyer",
        product=Product.PREPAID_MAINTENANCE,
        difficulty=2,
        objectives=(
            "Ask how long they will keep the car and how many miles they drive.",
            "Compare scheduled maintenance at today's prices with the plan's price.",
            "Make clear products are optional and can be paid in cash: nothing needs a loan.",
            "Ask for a clear decision and respect the answer.",
        ),
        persona=CustomerPersona(
            scenario="prepaid_maintenance_cash_buyer",
            name="Robin",
            description=(
                "a cash buyer with a cashier's check ready who sees the F&I office as a "
                "formality and anything extra as a way to sell a loan"
            ),
            traits=("self-reliant", "does some maintenance at home", "brisk"),
            concerns="prepaid maintenance oil change service cash buyer no loan objection",
            opening_lines=(
                "I'm paying cash, so there's no loan to roll anything into.",
                "I've got the check ready. What else is there to sign?",
            ),
            script=(
                "I always change my own oil. Why would I prepay for it?",
                "What happens to the plan if I move out of state?",
                "Is the price locked in, or can it go up later?",
                "Is that cheaper than just paying for each service?",
                "Do you give a discount if I pay for it in cash today?",
            ),
        ),
    ),
    LibraryEntry(
        title='Key replacement: "twenty bucks at the hardware store"',
        product=Product.KEY_REPLACEMENT,
        difficulty=1,
        objectives=(
            "Acknowledge the price objection before answering it.",
            "Ask how many keys they have and who drives the car.",
            "Explain what replacing and programming a smart key involves, without exaggerating.",
            "Present the price as a total and per month, and accept a no.",
        ),
        persona=CustomerPersona(
            scenario="key_replacement_price",
            name="Jamie",
            description=(
                "a customer who thinks a car key is a cheap piece of metal and a key plan is a joke"
            ),
            traits=("jokes a lot", "price-conscious", "has a teenage driver at home"),
            concerns="key replacement fob smart key lost program cost price objection",
            opening_lines=(
                "A key plan? I can copy a key at the hardware store for twenty bucks.",
                "I've had the same keys for ten years and never lost one.",
            ),
            script=(
                "How much can a key really cost?",
                "Why does it need to be programmed at the dealer?",
                "My teenager will drive this car sometimes.",
                "That's too much for a key. Can you do better on the price?",
                "Does it cover the fob if it stops working, or only if I lose it?",
            ),
        ),
    ),
    LibraryEntry(
        title='Theft protection: "my insurance covers theft"',
        product=Product.THEFT_PROTECTION,
        difficulty=2,
        objectives=(
            "Ask whether they carry comprehensive coverage and what their deductible is.",
            "Explain what the product adds (e.g. a theft benefit toward the deductible) "
            "accurately, never claiming their insurance will not pay.",
            "Be clear it is optional and not required by the lender.",
            "Meet the objection with a question before giving the answer.",
        ),
        persona=CustomerPersona(
            scenario="theft_protection_insurance_covers",
            name="Casey",
            description=(
                "a well-informed customer with comprehensive auto insurance who sees theft "
                "protection and window etching as paying twice"
            ),
            traits=("knows their policy", "analytical", "dislikes gimmicks"),
            concerns="theft protection etching deductible comprehensive insurance covers objection",
            opening_lines=(
                "I have comprehensive coverage. If someone steals the car, my insurance pays.",
                "Etching the windows? That's not going to stop anyone.",
            ),
            script=(
                "What does this pay that my insurance won't?",
                "My deductible is a thousand dollars. Does this help with that?",
                "Is the bank making me buy this?",
                "Does it actually stop thieves, or is it just a sticker?",
                "If the car is stolen, how fast do I get paid?",
            ),
        ),
    ),
    LibraryEntry(
        title="Service contract after a denied claim",
        product=Product.VSC,
        difficulty=3,
        objectives=(
            "Let the customer tell the story; acknowledge it before responding.",
            "Ask what happened: which company administered it, what was denied and why.",
            "Explain who administers this contract, how claims are approved and what is "
            "excluded (maintenance records, wear items), honestly.",
            "Offer the contract with its cancellation and refund terms in writing, no pressure.",
        ),
        persona=CustomerPersona(
            scenario="vsc_bad_claim_experience",
            name="Riley",
            description=(
                "a customer whose extended warranty on the last car refused a transmission "
                "claim over maintenance records, and who is still angry about it"
            ),
            traits=("angry", "feels cheated", "wants straight answers"),
            concerns="service contract claim denied maintenance records exclusions trust objection",
            opening_lines=(
                "I bought one of these on my last car. When the transmission went, they denied it.",
                "Don't even start with the extended warranty. I've been burned once.",
            ),
            script=(
                "They said I couldn't prove the oil changes. I did them myself!",
                "Who decides whether a repair is covered, you or the company?",
                "What's excluded? Give it to me straight.",
                "If they deny my claim, will you go to bat for me?",
                "If I cancel in a month, do I get all my money back?",
            ),
        ),
    ),
)
"""In library order: `GET /v1/scenarios` lists built-ins in this order."""
