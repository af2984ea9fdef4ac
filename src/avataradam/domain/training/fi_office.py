"""The built-in F&I office rubric, `fi-office` v1 (docs/rubrics.md describes every
criterion and check and names the sources of the compliance blockers).

Patterns are case-insensitive regular expressions over one trainee sentence with the
customer's words masked; `_P` (below) names the shared pieces. Never edit a released
version: add `FI_OFFICE_V2` beside it and register both.
"""

from __future__ import annotations

from typing import Final

from avataradam.domain.training import FI_OFFICE_RUBRIC_ID
from avataradam.domain.training.fi_office_blockers import (
    BLOCKERS,
    OBJECTION_EXEMPLARS,
    OBJECTION_PATTERNS,
)
from avataradam.domain.training.rubrics import Check, Criterion, Rubric

_VALUE_PATTERNS: Final = (
    r"\b(?:covers?|pays? (?:for|the|off)|protects?|takes care of|reimburses?)\b",
    r"\bincludes? (?:a |your |the )?(?:rental|roadside|loaner|oil|rotations?|maintenance)",
    r"\b(?:repairs? or replaces?|replaces? or repairs?|(?:is|are) taken care of)\b",
    r"\b(?:cubre|le cubre|paga|pagamos|protege|le da un auto|reembolsa|incluye)\b",
)
"""What a product does for the customer: `stated_value`, and `value_before_price`
(stated before any price)."""
_VALUE_EXEMPLARS: Final = (
    "The service contract pays for repairs after the factory warranty ends.",
    "GAP covers the difference between what insurance pays and what you owe.",
    "El contrato de servicio paga las reparaciones cuando termina la garantía.",
)

PRICE = (
    r"(?:\$\s?\d[\d,.]*\s*(?:a|per|/)\s*(?:month|mo)\b|\d[\d,.]*\s*(?:dollars\s+)?(?:a|per) month"
    r"|\d[\d,.]*\s*(?:d[oó]lares\s+)?(?:al|por) mes|\b(?:payment|pago)\b.{0,40}\d"
    r"|\b(?:it'?s|is|costs?|son|es de|cuesta|queda en|brings it to|takes it to|makes it)\s+"
    r"(?:only\s+|just\s+|about\s+|around\s+)?\$?\s?\d)"
)
"""A product's price or a payment (not any amount: "$4,000 of negative equity" or "a
repair can cost 4,000 dollars" is not a price quote)."""
_NUMBER = r"\d"

DISCOVERY = Criterion(
    id="rapport_discovery",
    title="Rapport and discovery",
    title_es="Empatía y descubrimiento",
    weight=2.0,
    advice="Ask before you present: how long they will keep the vehicle, how far they "
    "drive, how they use it and what payment they are comfortable with.",
    advice_es="Pregunte antes de presentar: cuánto tiempo tendrá el vehículo, cuánto "
    "maneja, para qué lo usa y qué pago le queda cómodo.",
    checks=(
        Check(
            id="asked_ownership_horizon",
            description="Asked how long the customer plans to keep the vehicle.",
            question=True,
            patterns=(
                r"\bhow long\b.{0,50}\b(?:keep|own|have|drive|hold|hang)",
                r"\b(?:plan|planning|expect|going|intend)\w*\s+(?:on\s+)?(?:to\s+)?keep",
                r"\bcu[aá]nto tiempo\b.{0,50}\b(?:quedar|tener|conservar|mantener|usar)",
                r"\bcu[aá]ntos a[ñn]os\b.{0,50}\b(?:tener|quedar|conservar|mantener|manejar|usar)",
                r"\b(?:trade (?:it )?in|sell it|keep it)\b.{0,40}\b(?:years?|long[- ]term)",
            ),
            exemplars=(
                "How long do you plan to keep this car?",
                "How many years will you own the vehicle?",
                "¿Cuánto tiempo piensa quedarse con el auto?",
            ),
        ),
        Check(
            id="asked_mileage",
            description="Asked how many miles the customer drives.",
            question=True,
            patterns=(
                r"\bhow (?:many|much|far)\b.{0,30}\b(?:miles?|mileage|drive|driving)",
                r"\bmiles?\b.{0,30}\b(?:a|per|each|every) year",
                r"\bmileage\b",
                r"\bcu[aá]nt[oa]s?\s+(?:millas|kil[oó]metros|maneja)",
                r"\b(?:millas|kil[oó]metros)\b.{0,30}\b(?:al|por) a[ñn]o",
            ),
            exemplars=(
                "How many miles do you drive a year?",
                "¿Cuántas millas maneja al año?",
            ),
        ),
        Check(
            id="asked_usage",
            description="Asked how the customer uses the vehicle (commute, work, towing, "
            "city or highway).",
            question=True,
            patterns=(
                r"\b(?:what|how) (?:do|will|would) you\b.{0,20}\buse\b",
                r"\buse (?:it|the \w+) for\b",
                r"\b(?:commut\w*|tow\w*|road trips?|highway|city|work or personal|for work)\b",
                r"\b(?:para qu[eé]|c[oó]mo)\s+(?:la|lo)\s+usa",
                r"\b(?:usa|maneja)\b.{0,40}\b(?:trabajo|trabajar|carretera|ciudad|familia)",
                r"\bwho(?:'s| is| will be)?\b.{0,20}\bdriv\w*",
                r"\b(?:typical|normal|usual|average)\b.{0,20}\b(?:day|week|drive|driving)",
                r"\bqui[eé]n\b.{0,20}\b(?:maneja|va a manejar|usa)",
                r"\b(?:park|parking|garage|street|calle|cochera|estaciona)\w*\b",
            ),
            exemplars=(
                "What do you mostly use the vehicle for?",
                "Is it mostly highway driving or around town?",
                "¿Para qué usa principalmente el vehículo?",
            ),
        ),
        Check(
            id="asked_budget",
            description="Asked what payment or budget the customer has in mind.",
            question=True,
            patterns=(
                r"\bpayment\b.{0,50}\b(?:mind|hoping|looking|comfortable|want|target|budget)",
                r"\bbudget\b",
                r"\bmost you(?:'d| would)?\b.{0,20}\bpay",
                r"\bcomfortable (?:with|paying)\b",
                r"\bpago\b.{0,40}\b(?:c[oó]modo|mente|busca|quiere|espera)",
                r"\bpresupuesto\b",
                r"\bcu[aá]nto\b.{0,30}\bpagar\b",
            ),
            exemplars=(
                "What monthly payment did you have in mind?",
                "¿Qué pago mensual le queda cómodo?",
            ),
        ),
    ),
)

OBJECTIONS = Criterion(
    id="objection_handling",
    title="Acknowledging the objection before answering",
    title_es="Reconocer la objeción antes de responder",
    weight=2.0,
    advice="When the customer objects, first acknowledge it in your own words (\"That's "
    'fair"), then ask what is behind it before you answer.',
    advice_es='Cuando el cliente objete, primero reconózcalo ("Entiendo", "Tiene '
    'razón") y pregunte qué hay detrás antes de responder.',
    checks=(
        Check(
            id="acknowledged_before_answering",
            description="Every reply to an objection opens by acknowledging it before "
            "answering it.",
            context="objection_opening",
            patterns=(
                r"^\W*(?:i\s+(?:completely\s+|totally\s+|really\s+)?(?:understand|hear you|get"
                r" (?:it|that)|appreciate)|understood|that'?s\s+(?:completely\s+|totally\s+|"
                r"very\s+)?(?:fair|understandable|a fair|reasonable|a good|a great)|makes"
                r" sense|fair enough|good (?:point|question)|you'?re right|no problem|of course"
                r"|absolutely|totally|i can see why)",
                r"^\W*(?:lo\s+)?(?:entiendo|comprendo)|^\W*(?:tiene|usted tiene)\s+(?:to"
                r"da\s+la\s+)?"
                r"raz[oó]n|^\W*(?:claro|es justo|con raz[oó]n|buena pregunta|me parece bien)",
            ),
            exemplars=(
                "I completely understand, that's a fair concern.",
                "That makes sense, a lot of my customers feel the same way.",
                "Entiendo perfectamente su preocupación.",
            ),
        ),
        Check(
            id="clarified_concern",
            description="Asked what is behind an objection (a clarifying question in the "
            "reply to it).",
            context="objection_reply",
            question=True,
            patterns=(
                r"\bwhat (?:part|concerns?|worries|bothers|makes you|is holding|would you "
                r"(?:want|need|like) to (?:know|think))",
                r"\b(?:is|was) it (?:the|more the) (?:price|cost|payment|monthly|coverage)",
                r"\bcan i ask (?:what|why)\b",
                r"\bwhat\b.{0,30}\b(?:want|need|like) to (?:know|see|think|compare)",
                r"\bwhat (?:did|do|does) (?:they|the other|it)\b.{0,30}\b(?:offer|cover|include)",
                r"\bqu[eé]\s+(?:parte|le preocupa|cobertura|le ofrecieron|necesita saber|le "
                r"gustar[ií]a saber)",
                r"\b(?:me dice|puedo preguntarle)\s+(?:qu[eé]|por qu[eé])",
            ),
            exemplars=(
                "What part of it would you like to think about?",
                "What concerns you most about it?",
                "¿Qué es lo que más le preocupa?",
            ),
        ),
    ),
)

VALUE = Criterion(
    id="value_before_price",
    title="Value before price",
    title_es="Valor antes del precio",
    weight=1.5,
    advice="Tie each product to what the customer told you (miles, years, use) and say "
    "what it pays for before you say what it costs.",
    advice_es="Relacione cada producto con lo que el cliente le dijo y explique qué "
    "cubre antes de decir cuánto cuesta.",
    checks=(
        Check(
            id="stated_value",
            description="Explained what a product does for the customer (what it covers "
            "or pays for).",
            negatable=True,
            patterns=_VALUE_PATTERNS,
            exemplars=_VALUE_EXEMPLARS,
        ),
        Check(
            id="value_before_price",
            description="Stated a product's value before quoting its price or payment.",
            negatable=True,
            patterns=_VALUE_PATTERNS,
            exemplars=_VALUE_EXEMPLARS,
            before=(PRICE,),
        ),
    ),
)

MENU = Criterion(
    id="menu_presentation",
    title="Menu presentation",
    title_es="Presentación del menú",
    weight=2.0,
    advice="Show every product on one menu, starting from the base payment with no "
    "products, and say that each product is optional.",
    advice_es="Muestre todos los productos en un menú, empezando por el pago base sin "
    "productos, y diga que cada producto es opcional.",
    checks=(
        Check(
            id="presented_menu",
            description="Presented the products together on a menu (options side by side).",
            patterns=(
                r"\bmenu\b",
                r"\bhere (?:are|is) (?:your|the|all) (?:options|choices)",
                r"\b(?:options|choices|everything)\b.{0,30}\b(?:side by side|on one (?:p"
                r"age|sheet))",
                r"\bon one (?:page|sheet)\b",
                r"\boption (?:one|two|three|1|2|3|a|b|c)\b",
                r"\bmen[uú]\b",
                r"\b(?:todas las|sus|las) opciones\b",
            ),
            exemplars=(
                "Here is a menu with all of your options side by side.",
                "Le muestro un menú con todas las opciones.",
            ),
        ),
        Check(
            id="showed_base_payment",
            description="Showed the base payment (with no products) as a number.",
            negatable=True,
            requires=(_NUMBER,),
            patterns=(
                r"\bbase payment\b",
                r"\b(?:car|truck|vehicle|suv)\s+alone\b",
                r"\bpago base\b",
            ),
            negated_patterns=(
                r"\b(?:without|with no|no)\s+(?:any\s+)?(?:of\s+the\s+)?(?:\w+\s+)?(?:products?|"
                r"add-ons?|extras?|protection)",
                r"\bwithout (?:it|them)\b.{0,30}\d",
                r"\bsin\s+(?:ning[uú]n\s+)?(?:productos?|extras?|protecci[oó]n)",
            ),
            exemplars=(
                "Your base payment with no products is $450 a month.",
                "Su pago base, sin ningún producto, es de 450 dólares.",
            ),
        ),
        Check(
            id="stated_optional",
            description="Said that the products are optional (the customer may decline any).",
            negatable=True,
            patterns=(
                r"\boptional\b",
                r"\bopcional(?:es)?\b",
                r"\busted decide\b",
                r"\bes su decisi[oó]n\b",
            ),
            negated_patterns=(
                r"\b(?:your|the) (?:choice|call|decision)\b.{0,20}\b(?:any|all|none|each)",
                r"\bor (?:none|nothing)\b",
                r"\bnone of (?:them|these|the products|it) (?:is|are) (?:required|mandat"
                r"ory|needed)",
                r"\bno (?:es|son) obligatori[oa]s?\b|\bninguno es obligatorio\b",
            ),
            exemplars=(
                "Every one of these products is optional.",
                "Todos los productos son opcionales.",
            ),
        ),
    ),
)

CLOSE = Criterion(
    id="clear_ask",
    title="A clear ask",
    title_es="Un cierre claro",
    weight=1.0,
    advice='Finish with a direct question that asks for a decision: "Which of these '
    'options works best for you?"',
    advice_es='Termine con una pregunta directa que pida una decisión: "¿Cuál de estas '
    'opciones prefiere?"',
    checks=(
        Check(
            id="clear_ask",
            description="Asked the customer for a decision with a direct question.",
            question=True,
            patterns=(
                r"\bwhich\b.{0,40}\b(?:works|would you like|do you want|fits|prefer|sounds)",
                r"\b(?:would|do) you (?:like|want) (?:me )?to (?:go with|add|get|take|include)",
                r"\b(?:shall|should|can|may) (?:i|we) (?:go ahead|write|add|put|include|set)",
                r"\b(?:do you want|would you like) (?:to add|me to add|to go with)",
                r"\b(?:want|like) me to (?:write|add|put|go ahead|include|set)",
                r"\bcu[aá]l\b.{0,40}\b(?:prefiere|le gusta|quiere|le conviene)",
                r"\b(?:se\s+)?(?:lo|la|los|las)\s+agreg(?:o|amos)\b",
                r"\b(?:se\s+)?(?:lo|la|los|las)\s+(?:incluimos|a[ñn]adimos|incluyo|a[ñn]"
                r"ado|pongo)\b",
            ),
            exemplars=(
                "Which of these options works best for you?",
                "Would you like to go with the service contract?",
                "¿Cuál de las opciones prefiere?",
            ),
        ),
    ),
)

FI_OFFICE_V1 = Rubric(
    id=FI_OFFICE_RUBRIC_ID,
    version=1,
    title="F&I office: menu selling with compliance",
    description="Discovery, objection handling, value before price, menu presentation "
    "and a clear ask, with four compliance blockers (products optional and never tied "
    "to credit, no payment packing, no misrepresented coverage, no false urgency).",
    criteria=(DISCOVERY, OBJECTIONS, VALUE, MENU, CLOSE, *BLOCKERS),
    objection_patterns=OBJECTION_PATTERNS,
    objection_exemplars=OBJECTION_EXEMPLARS,
)
