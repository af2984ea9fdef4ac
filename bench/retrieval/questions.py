"""Labelled questions over `bench/retrieval/documents/` for the retrieval evaluation.

Each `Question` names the documents whose passages answer it (none: nothing in the set
does) and phrases of which one appears in an answering passage (`answer_contains`,
matched case-insensitively with Markdown emphasis and extra whitespace ignored), so the
right chunk is known whatever the chunking. Types (at least 14 questions each):

- direct: in the documents' own words;
- paraphrase: the same needs in other words (a trainee's way of asking);
- acronym: only the trade's acronyms (GAP, VSC, APR, OFAC, LTV...);
- negation: what is not covered, not allowed, never said;
- spanish: natural Spanish, about the English and the Spanish documents;
- unanswerable: near-topic or off-topic questions nothing in the set answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

DOCUMENTS: Final = Path(__file__).resolve().parent / "documents"
"""The labelled set's documents, one file each (title on the first line)."""

QuestionType = Literal["direct", "paraphrase", "acronym", "negation", "spanish", "unanswerable"]
TYPES: Final[tuple[QuestionType, ...]] = (
    "direct",
    "paraphrase",
    "acronym",
    "negation",
    "spanish",
    "unanswerable",
)

GAP = ("gap-policy.md", "politica-de-gap.md")
OBJECTIONS = ("objection-handling.md", "manejo-de-objeciones.md")
PRODUCTS_WITH_FEE = (
    "cancellation-refund-policy.md",
    "gap-policy.md",
    "politica-de-gap.md",
    "vsc-extended-service-contracts.md",
    "tire-and-wheel-protection.md",
    "appearance-protection.md",
    "key-replacement.md",
    "prepaid-maintenance.md",
)


@dataclass(frozen=True)
class Question:
    text: str
    type: QuestionType
    relevant: tuple[str, ...] = ()
    """Files of `bench/retrieval/documents/` that answer the question; () for none."""
    answer_contains: tuple[str, ...] = ()
    """Phrases of which an answering passage holds one; () when any passage of a
    relevant document counts."""


def _q(text: str, kind: QuestionType, relevant: str | tuple[str, ...], *phrases: str) -> Question:
    docs = (relevant,) if isinstance(relevant, str) else relevant
    return Question(text=text, type=kind, relevant=docs, answer_contains=phrases)


def _none(text: str) -> Question:
    return Question(text=text, type="unanswerable")


QUESTIONS: Final[tuple[Question, ...]] = (
    # ------------------------------------------------------------------ direct
    _q("What is the maximum retail price we can charge for GAP?", "direct", GAP, "$795"),
    _q(
        "What deductible options are available on a vehicle service contract?",
        "direct",
        "vsc-extended-service-contracts.md",
        "$0, $100 or $250",
    ),
    _q(
        "How many cosmetic wheel repairs are allowed per contract year with tire and wheel "
        "protection?",
        "direct",
        "tire-and-wheel-protection.md",
        "3 repairs per contract year",
    ),
    _q(
        "How much does key replacement protection pay per occurrence?",
        "direct",
        "key-replacement.md",
        "$800 per occurrence",
    ),
    _q("What are the four columns on our product menu?", "direct", "menu-selling.md", "Platinum"),
    _q(
        "What is the rate markup cap for terms longer than 60 months?",
        "direct",
        ("dealer-reserve-rate-markup.md", "compliance-dos-and-donts.md"),
        "1.50 percentage points",
        "1.50 points above 60 months",
    ),
    _q(
        "How long do we keep signed credit applications and lender decisions?",
        "direct",
        "credit-applications-consent.md",
        "25 months",
    ),
    _q(
        "How long do we have to send an adverse action notice after a counteroffer the "
        "customer did not accept?",
        "direct",
        "adverse-action-notices.md",
        "after a counteroffer",
    ),
    _q(
        "Within how many days must Form 8300 be filed?",
        "direct",
        ("cash-buyers.md", "compliance-dos-and-donts.md"),
        "filed within 15 days",
        "Form 8300 within 15 days",
    ),
    _q(
        "How accurate must the disclosed APR be on a retail installment contract?",
        "direct",
        "tila-disclosures.md",
        "one-eighth of one percentage point",
    ),
    _q(
        "What cancellation fee is deducted from a product refund after the full-refund period?",
        "direct",
        PRODUCTS_WITH_FEE,
        "$50 cancellation fee",
        "cancellation fee of $50",
        "cargo de cancelación de $50",
    ),
    _q(
        "How often is the Identity Theft Prevention Program reviewed and approved?",
        "direct",
        "ofac-red-flags.md",
        "once a year",
    ),
    _q(
        "How far will the VSC roadside assistance tow the vehicle?",
        "direct",
        "vsc-extended-service-contracts.md",
        "towing up to 50 miles",
    ),
    _q(
        "What services are included in the Complete prepaid maintenance plan?",
        "direct",
        "prepaid-maintenance.md",
        "6 oil and filter changes",
    ),
    # ------------------------------------------------------------------ paraphrase
    _q(
        "If a customer's car is wrecked beyond repair and they owe the bank more than the "
        "insurance check, what takes care of the shortfall?",
        "paraphrase",
        GAP,
        "waives the difference",
        "GAP cubre esa diferencia",
    ),
    _q(
        "A buyer regrets the mechanical breakdown coverage ten days after signing. Do they get "
        "all their money back?",
        "paraphrase",
        ("vsc-extended-service-contracts.md", "cancellation-refund-policy.md"),
        "within 60 days with no claim",
        "Vehicle service contract | 60 days",
    ),
    _q(
        "Who pays for a new smart fob when the owner misplaces theirs?",
        "paraphrase",
        "key-replacement.md",
        "lost, stolen or damaged key",
    ),
    _q(
        "Somebody wants to pay for the car with a big stack of bills. Is there government "
        "paperwork we have to send in?",
        "paraphrase",
        "cash-buyers.md",
        "Form 8300",
    ),
    _q(
        "On a five-year loan, how much extra interest can the store add on top of what the "
        "bank approved?",
        "paraphrase",
        ("dealer-reserve-rate-markup.md", "compliance-dos-and-donts.md"),
        "2.00 percentage points",
        "2.00 points up to 60 months",
    ),
    _q(
        "What do I do if the screening software says a buyer might be on the government's "
        "sanctions blacklist?",
        "paraphrase",
        "ofac-red-flags.md",
        "possible match",
    ),
    _q(
        "The shopper's current car is worth less than what they still owe on it. How does that "
        "shortfall show up on the new paperwork?",
        "paraphrase",
        "trade-in-negative-equity.md",
        "prior credit or lease balance",
    ),
    _q(
        "A shopper says their auto policy already protects them if the car is wrecked. How "
        "should I reply?",
        "paraphrase",
        OBJECTIONS,
        "insurance pays the car's actual cash value",
        "el seguro paga el valor real",
    ),
    _q(
        "How many times can I pitch the same add-on after the buyer turns it down?",
        "paraphrase",
        OBJECTIONS,
        "declines a product twice",
        "rechaza un producto dos veces",
    ),
    _q(
        "Will the shine-and-upholstery plan fix a small dimple in a door panel?",
        "paraphrase",
        "appearance-protection.md",
        "Dent repair",
    ),
    _q(
        "When no bank will finance a buyer, how quickly must we tell them in writing?",
        "paraphrase",
        "adverse-action-notices.md",
        "after receiving a completed application",
    ),
    _q(
        "Can I snap a picture of a buyer's driver's license with my own cell?",
        "paraphrase",
        (
            "privacy-notice-glba.md",
            "credit-applications-consent.md",
            "compliance-dos-and-donts.md",
        ),
        "personal phones",
    ),
    _q(
        "How much can the loan be compared with what the car is worth before lenders balk?",
        "paraphrase",
        "trade-in-negative-equity.md",
        "120% to 140%",
    ),
    _q(
        "The customer drove home before the bank said yes, and the bank still hasn't approved "
        "it. How long until they can bring the car back?",
        "paraphrase",
        "tila-disclosures.md",
        "not approved within 10 days",
    ),
    _q(
        "How much is paid each day for a loaner while the car is being fixed under the repair "
        "plan?",
        "paraphrase",
        "vsc-extended-service-contracts.md",
        "$40 per day",
    ),
    # ------------------------------------------------------------------ acronym
    _q("GAP max LTV?", "acronym", GAP, "150%"),
    _q(
        "VSC waiting period on used cars?",
        "acronym",
        "vsc-extended-service-contracts.md",
        "1,000 miles",
    ),
    _q("TILA APR tolerance?", "acronym", "tila-disclosures.md", "one-eighth"),
    _q("OFAC SDN hit: reporting deadline?", "acronym", "ofac-red-flags.md", "10 business days"),
    _q(
        "ECOA Reg B record retention?",
        "acronym",
        ("credit-applications-consent.md", "adverse-action-notices.md"),
        "25 months",
    ),
    _q("GLBA opt-out waiting period?", "acronym", "privacy-notice-glba.md", "at least 30 days"),
    _q(
        "FCRA AAN credit score disclosure?",
        "acronym",
        "adverse-action-notices.md",
        "the credit score used",
    ),
    _q(
        "PVR and F&I deal jacket audits?",
        "acronym",
        ("menu-selling.md", "compliance-dos-and-donts.md"),
        "audits 10 deal jackets",
    ),
    _q("SCRA customers: markup allowed?", "acronym", "dealer-reserve-rate-markup.md", "SCRA"),
    _q(
        "VSC max odometer for eligibility?",
        "acronym",
        "vsc-extended-service-contracts.md",
        "150,000 miles",
    ),
    _q("GAP ins. deductible reimbursement?", "acronym", GAP, "$1,000"),
    _q("IRS 8300: cashier's checks count?", "acronym", "cash-buyers.md", "cashier's checks"),
    _q("GLBA breach: when to notify FTC?", "acronym", "privacy-notice-glba.md", "500 or more"),
    _q("Tier 1 APR buy rate, new, 60 mo?", "acronym", "buy-rate-and-lender-programs.md", "5.49%"),
    # ------------------------------------------------------------------ negation
    _q(
        "What does GAP not cover?",
        "negation",
        GAP,
        "past-due payments",
        "pagos atrasados",
    ),
    _q(
        "Which repairs are not paid by any level of service contract?",
        "negation",
        "vsc-extended-service-contracts.md",
        "wear items",
    ),
    _q(
        "What tire damage is not covered by tire and wheel protection?",
        "negation",
        "tire-and-wheel-protection.md",
        "3/32 inch",
    ),
    _q(
        "What is not included in a prepaid maintenance plan?",
        "negation",
        "prepaid-maintenance.md",
        "does not include repairs or wear parts",
    ),
    _q(
        "Which kinds of keys and remotes are not covered by key replacement?",
        "negation",
        "key-replacement.md",
        "Aftermarket or non-factory keys",
    ),
    _q(
        "What damage won't the appearance package take care of?",
        "negation",
        "appearance-protection.md",
        "existed before the product was applied",
    ),
    _q(
        "On which deals are we not allowed to mark up the rate at all?",
        "negation",
        "dealer-reserve-rate-markup.md",
        "No markup at all is allowed",
    ),
    _q(
        "What must an F&I manager never change on a credit application?",
        "negation",
        ("credit-applications-consent.md", "compliance-dos-and-donts.md"),
        "never invent, round up or change income",
        "change income, employment",
    ),
    _q(
        "Which payments do not count as cash for Form 8300?",
        "negation",
        "cash-buyers.md",
        "is not cash for Form 8300",
    ),
    _q(
        "Which reasons are not acceptable on an adverse action notice?",
        "negation",
        "adverse-action-notices.md",
        "internal standards",
    ),
    _q(
        "What must we not tell a customer whose name came up as a possible OFAC match?",
        "negation",
        "ofac-red-flags.md",
        "Do not tell the customer",
    ),
    _q(
        "Are we forbidden from quoting a payment range before the deal is structured?",
        "negation",
        ("payment-packing-prohibited.md", "compliance-dos-and-donts.md"),
        "payment ranges",
    ),
    _q(
        "Which customers are not offered GAP at all?",
        "negation",
        "cash-buyers.md",
        "GAP is not offered to cash buyers",
    ),
    _q(
        "What fees can we not charge when a customer cancels a product?",
        "negation",
        "cancellation-refund-policy.md",
        "Never charge a fee that is not on this page",
    ),
    # ------------------------------------------------------------------ spanish
    _q("¿Cuál es el precio máximo de GAP?", "spanish", GAP, "$795"),
    _q(
        "¿Cuántos días tiene el cliente para cancelar GAP y recibir todo su dinero?",
        "spanish",
        (*GAP, "cancellation-refund-policy.md"),
        "Within 60 days of purchase",
        "primeros 60 días",
        "GAP | 60 days",
    ),
    _q(
        "¿Qué le contesto a un cliente que dice que su seguro ya cubre el carro?",
        "spanish",
        OBJECTIONS,
        "insurance pays the car's actual cash value",
        "el seguro paga el valor real",
    ),
    _q("¿En qué consiste el método LAER?", "spanish", OBJECTIONS, "Escuchar", "Listen"),
    _q(
        "¿Qué deducibles se pueden elegir en el contrato de servicio del vehículo?",
        "spanish",
        "vsc-extended-service-contracts.md",
        "$0, $100 or $250",
    ),
    _q(
        "¿Cuántos puntos puede subir el concesionario la tasa sobre la tasa de compra del banco "
        "en un préstamo de 60 meses?",
        "spanish",
        ("dealer-reserve-rate-markup.md", "compliance-dos-and-donts.md"),
        "2.00 percentage points",
        "2.00 points up to 60 months",
    ),
    _q(
        "¿Hay que avisar al IRS cuando un cliente paga más de 10,000 dólares en efectivo?",
        "spanish",
        ("cash-buyers.md", "compliance-dos-and-donts.md"),
        "Form 8300",
    ),
    _q(
        "¿Qué debe hacer el gerente si el nombre del cliente parece estar en la lista de OFAC?",
        "spanish",
        "ofac-red-flags.md",
        "possible match",
    ),
    _q(
        "¿En cuánto tiempo hay que enviarle al cliente la carta de rechazo de crédito?",
        "spanish",
        "adverse-action-notices.md",
        "after receiving a completed application",
    ),
    _q(
        "¿Cuánto paga la protección de llaves si el cliente pierde la llave inteligente?",
        "spanish",
        "key-replacement.md",
        "$800 per occurrence",
    ),
    _q(
        "¿Qué daños a las llantas no cubre la protección de llantas y rines?",
        "spanish",
        "tire-and-wheel-protection.md",
        "3/32 inch",
    ),
    _q(
        "Si el cliente debe más de lo que vale su carro usado, ¿cómo aparece esa deuda en el "
        "contrato nuevo?",
        "spanish",
        "trade-in-negative-equity.md",
        "prior credit or lease balance",
    ),
    _q(
        "¿Cuándo hay que entregarle al cliente el aviso de privacidad?",
        "spanish",
        "privacy-notice-glba.md",
        "no later than the time the credit application is signed",
    ),
    _q(
        "¿Está permitido meter productos escondidos en el pago mensual que le damos al cliente?",
        "spanish",
        "payment-packing-prohibited.md",
        "prohibited at every one of our stores",
    ),
    _q(
        "¿Cuántas veces le puedo ofrecer un producto a un cliente que ya dijo que no?",
        "spanish",
        OBJECTIONS,
        "rechaza un producto dos veces",
        "declines a product twice",
    ),
    # ------------------------------------------------------------------ unanswerable
    _none("What commission percentage do F&I managers earn on service contract sales?"),
    _none("How do I structure a lease with a balloon payment at the end?"),
    _none("What are the showroom hours on Sunday?"),
    _none("Does the service contract cover battery degradation on electric vehicles?"),
    _none("What is the sales tax rate on vehicles in Texas?"),
    _none("How do I reset the tire pressure warning light on the dashboard?"),
    _none("Which lender accepts customers who only have an ITIN number?"),
    _none("How much does an oil change cost without a maintenance plan?"),
    _none("Can we sell theft-deterrent window etching, and what does it cost?"),
    _none("What is the lemon law buyback process in California?"),
    _none("How many vacation days do F&I managers get each year?"),
    _none("What is the recipe for the break room chili cook-off?"),
    _none("¿Cuál es el horario del departamento de servicio los sábados?"),
    _none("What is the minimum down payment for a first-time buyer program?"),
)
