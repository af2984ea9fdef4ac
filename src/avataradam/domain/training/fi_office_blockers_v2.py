"""The compliance blockers of `fi-office` v2: v1's checks (`fi_office_blockers`, every
pattern kept) plus the wordings v1 missed, and `unless` patterns for what only looks
like a violation.

v1 passed "Your insurance won't cover that, trust me" and "you need to sign here for the
warranty and GAP": its patterns knew a few phrasings per prohibition. v2 adds, per
blocker, the families of phrasing found by writing novel violations and compliant
near-misses (tests/data/blocker_phrasings, README there):

- credit tie: a product presented as required at all (signing "for" it, the lender
  "wanting to see" it, "it comes with the car", "everyone takes it", "part of the deal",
  "isn't optional", "can't do the loan unless…");
- packing: a payment quoted with an unnamed bundle in it ("with everything", "all-in",
  "with full protection", "that has the warranty and GAP in it", "con todo");
- misrepresentation: a categorical claim that the customer's OWN insurance or factory
  warranty will not cover or pay ("your insurance won't cover that", "su seguro no le
  va a cubrir eso", "your factory warranty is worthless"), and "covers any repair";
- urgency: a deadline tied to leaving or to a clock ("if you walk out this rate is
  gone", "only until 5", "el precio sube mañana", "después ya no existe").

`unless` (same clause, `domain.training.rubrics`) keeps from failing: speech the trainee
attributes to others ("some customers think…", "si alguien le dijo…"); a lender's
insurance requirement ("the bank requires full coverage"); a product the customer chose;
a conditional or itemised quote ("with the warranty it would be $489", "option 2");
a factory warranty's expiry or wear items ("won't cover brakes"). A hedge ("your
insurance may cover some of it, check your policy") matches nothing: only a definite
"won't / doesn't / never / no" about the customer's own coverage does. Sources:
docs/rubrics.md.

Measured limit (tests/data/blocker_phrasings/README.md): on violating phrasings written
after the patterns were frozen, v2 caught 6/36, 7/33 and 5/33 (v1: 1/36, 2/33, 0/33);
a blocker passed here means "no known violating wording", not "no violation".
"""

from __future__ import annotations

from typing import Final

import msgspec

from avataradam.domain.training.fi_office_blockers import (
    CREDIT_TIE,
    MISREPRESENTATION,
    PACKING,
    URGENCY,
)
from avataradam.domain.training.fi_office_phrases_v2 import (
    ADDON,
    ATTRIBUTION,
    MISREP_NEGATED,
    MISREP_PATTERNS,
    MISREP_UNLESS,
    PAY,
    URGENCY_NEGATED,
    URGENCY_PATTERNS,
    URGENCY_UNLESS,
)
from avataradam.domain.training.rubrics import Check, Criterion

_CREDIT_PATTERNS: Final = (
    r"\b(?:need|have|got)\s+(?:you\s+)?to\s+sign\b.{0,25}\bfor\s+(?:the\s+|your\s+)?" + ADDON,
    r"\bneed\s+your\s+(?:signature|initials)\b.{0,25}\bfor\s+(?:the\s+|your\s+)?" + ADDON,
    r"\b(?:tiene|tienes|necesita|debe)\s+(?:que\s+)?firmar\b.{0,25}\b(?:para|por)\s+"
    r"(?:el|la|los|las|su)\s+" + ADDON,
    r"\bnecesito\s+su\s+firma\b.{0,25}\b(?:para|por)\s+(?:el|la|los|las)\s+" + ADDON,
    r"\b(?:bank|lender|finance company|credit union|banco|financiera|prestamista)(?:'s)?\b"
    r".{0,30}\b(?:wants?|want to see|needs?|requires?|insists? on|expects?|going to (?:want"
    r"|need|insist|require|expect)|will (?:want|need|insist|require|expect)|pide|pedir|"
    r"exige|exigir|requiere|necesita|quiere|querer|va a (?:querer|pedir|exigir|necesitar)|"
    r"stipulated?|requested|asked (?:us )?(?:for|that)|conditioned)"
    r"\b.{0,40}\b" + ADDON + r"\b",
    r"\b(?:it|they|this|that|" + ADDON + r")\s+(?:comes?|is included|viene|vienen)\s+"
    r"(?:standard\s+|automatically\s+|incluid[oa]s?\s+)?(?:with|con)\s+(?:the|your|this|el|"
    r"la|su|este|esta)\s+(?:car|truck|vehicle|suv|deal|financing|loan|approval|purchase|"
    r"carro|auto|coche|camioneta|veh[ií]culo|financiamiento|pr[eé]stamo|cr[eé]dito|compra)\b",
    r"\bpart of (?:the|your|our|this) (?:deal|financing|loan|approval|credit|requirements?"
    r"|terms)\b",
    r"\bparte del? (?:trato|pr[eé]stamo|financiamiento|cr[eé]dito|requisito|paquete del "
    r"pr[eé]stamo|la aprobaci[oó]n|contrato de financiamiento)\b",
    r"\bto get (?:you\s+)?(?:this|that|the|your|a)\s+(?:\w+\s+)?(?:rate|approval|loan|"
    r"financing|apr|term|deal)\b.{0,40}\b(?:have to|need to|must|got to|gotta|has to)\b"
    r".{0,20}\b(?:include|add|put|take|have|carry|keep|buy|get)\b",
    r"\bpara\s+(?:aprobarle|aprobarlo|aprobarla|esta tasa|este financiamiento|este "
    r"pr[eé]stamo|el cr[eé]dito|la aprobaci[oó]n|conseguirle|darle)\b.{0,50}\b(?:necesitamos"
    r"|necesita|tiene que|debe|hay que|pide que|exige que|requiere que|tenemos que)\b.{0,30}"
    r"\b(?:incluir|llevar|agregar|poner|comprar|tomar|lleve|incluya|agregue|compre)\b",
    r"\b(?:approval|approved|aprobaci[oó]n|aprobad[oa])\b.{0,30}\b(?:with|con)\s+(?:the\s+|"
    r"el\s+|la\s+)?" + ADDON + r"\b",
    # round 2 (tests/data/blocker_phrasings/tuning_2.json, t33)
    r"\b(?:bank|lender|banco|financiera)(?:'s)?\b.{0,30}\b(?:likes? to (?:see|have)|prefers?|"
    r"would like)\b.{0,40}\b" + ADDON + r"\b",
    r"\b" + ADDON + r"(?:'s|\s+is|\s+are)\s+(?:mandatory|required|a must|a requirement|"
    r"obligatori[oa]s?|requerid[oa]s?|necesari[oa]s?)\b",
    r"\b(?:required|mandatory|a must|obligatori[oa]|requerid[oa])\s+(?:on|for|with|en|para|con)"
    r"\s+(?:this|the|your|every|all|este|esta|el|la|su)\s+(?:program|loan|deal|financing|"
    r"lender|bank|term|rate|approval|programa|pr[eé]stamo|financiamiento|banco|tasa|cr[eé]dito)",
    r"\bthat'?s what (?:gets|got|will get) you (?:approved|financed|funded|the (?:rate|loan|"
    r"approval))",
    r"\b(?:add|include|put on|need)\b.{0,30}\b" + ADDON + r"\b.{0,20}\b(?:since|because|"
    r"given|as) your credit",
    r"\b(?:financing|loan|deal|approval|numbers?)\s+only (?:works|goes through|gets approved|"
    r"happens|flies)\s+(?:if|with)\b",
    r"\b(?:financiamiento|pr[eé]stamo|cr[eé]dito|aprobaci[oó]n)\s+(?:viene|va|incluye)\s+"
    r"con\b.{0,15}\b" + ADDON,
    r"\ble toca (?:llevar|tomar|comprar|pagar)\b|\bel banco as[ií] lo (?:aprob[oó]|pide|"
    r"exige|quiere)\b",
    r"\bparte de (?:su|la) (?:aprobaci[oó]n|cr[eé]dito|financiamiento|pr[eé]stamo)\b",
    # round 3 (tuning_3.json)
    r"\b(?:need|have to have|must have|got to have)\b.{0,20}\b" + ADDON + r"\b.{0,30}\bbefore"
    r"\b.{0,20}\b(?:bank|lender|approv\w*|fund\w*|sign off|financ\w*)",
    r"\b" + ADDON + r"\b.{0,40}\b(?:as a|is a|the) (?:condition|requirement|stipulation)\b",
    r"\b(?:approv\w*|financ\w*|fund\w*)\s+only\s+(?:with|if)\b|\b(?:se aprueba|aprueban|"
    r"aprobamos|lo aprueban)\b.{0,20}\b(?:s[oó]lo|solamente|[uú]nicamente)\s+(?:con|si)\b",
    r"\bsi quiere (?:el|su|este) (?:financiamiento|cr[eé]dito|pr[eé]stamo|aprobaci[oó]n)\b"
    r".{0,20}\b(?:necesita|tiene que|debe)\b|\bif you want (?:the|your|this) (?:financing|"
    r"loan|approval|rate)\b.{0,20}\b(?:you need|you have to|you must|you'?ll need)\b",
    r"\b(?:corporate|company|dealer(?:ship)?|store|house) policy\b.{0,40}\b"
    + ADDON
    + r"|\bevery (?:financed )?(?:vehicle|car|deal|loan)\b.{0,30}\b(?:leaves|goes out|gets"
    r"|comes)\s+with\b",
    r"\b" + ADDON + r"\b.{0,20}\b(?:locked|tied|built|baked|written) into (?:the|this|your) "
    r"(?:approval|loan|financing|deal)",
)
_CREDIT_NEGATED: Final = (
    r"\b(?:isn'?t|is not|aren'?t|are not|not)\s+(?:really\s+|an?\s+)?optional\b",
    r"\bno\s+(?:es|son)\s+opcional(?:es)?\b",
    r"\b(?:can'?t|cannot|won'?t|unable to|not able to)\s+(?:\w+\s+){0,3}(?:loan|financ\w*|"
    r"approv\w*|fund\w*|deal|rate)\b.{0,40}\bunless\b",
    r"\bsin\s+(?:el|la|los|las|este|esta|ese|esa)\s+[^,.;]{0,40}?\bno\s+(?:le\s+|te\s+|se\s+"
    r"|lo\s+)?(?:\w+\s+){0,3}(?:aprob|aprueb|financ|autoriz|cr[eé]dito|pr[eé]stamo)\w*",
    r"\bwithout (?:the\s+|this\s+|that\s+)?(?:it|them|" + ADDON + r")\b.{0,30}\b(?:can'?t|"
    r"won'?t|cannot|no way)\b.{0,20}\b(?:approv|financ|fund|loan|qualif)\w*",
    r"\bno\s+(?:le\s+)?(?:podemos|puedo|van a|pueden)\s+(?:\w+\s+){0,2}(?:aprob|financ|dar "
    r"(?:el|este|su) (?:cr[eé]dito|financiamiento|pr[eé]stamo))\w*.{0,40}\ba menos que\b",
    r"\b(?:can'?t|cannot|won'?t|unable to)\b.{0,50}\b(?:deal|loan|approv\w*|financ\w*|fund"
    r"\w*|underwriter|bank|lender)\b.{0,40}\bwithout\b",
    r"\b(?:won'?t|will not|can'?t|cannot|not going to)\s+(?:release|fund|approve|finance|"
    r"disburse|sign off|book)\b.{0,40}\b(?:until|unless|without)\b",
    r"\b(?:can'?t|cannot|no se puede(?:n)?)\s+(?:be\s+)?(?:separat\w*|remov\w*|tak(?:e|en) "
    r"(?:it |them )?off|separar|quitar|sacar)\b",
    r"\bwithout\b.{0,40}\b(?:won'?t|doesn'?t|don'?t|can'?t)\s+(?:work|fly|go through|get "
    r"approved|pencil)\b",
    r"\b(?:say no|decline it|pass on it|skip it|don'?t take it)\b.{0,60}\b(?:declined|"
    r"denied|turned down|rejected|resubmit)",
)
_CREDIT_UNLESS: Final = (
    *ATTRIBUTION,
    r"\bfull coverage\b|\bcomprehensive\b|\bcollision\b|\bproof of insurance\b|\binsurance "
    r"card\b|\bcobertura (?:completa|amplia|total)\b|\bseguro (?:de auto|del auto|completo|"
    r"a todo riesgo|de cobertura amplia)\b",
    r"\b(?:decline|declining|waive|rechaz\w*)\b",
    r"\b(?:you|usted)\s+(?:chose|picked|selected|wanted|asked for|decided on|agreed to|"
    r"eligi[oó]|escogi[oó]|pidi[oó])\b",
    r"\b(?:factory|manufacturer'?s?|de f[aá]brica|del fabricante|complimentary|free|gratis|"
    r"at no (?:extra )?(?:cost|charge)|sin costo)\b",
)

_PACKING_PATTERNS: Final = (
    PAY + r".{0,60}\b(?:with everything|con todo|todo incluido|including everything)\b",
    r"\b(?:with everything|con todo|todo incluido|including everything)\b.{0,60}" + PAY,
    PAY + r".{0,40}\ball[- ]in\b(?!\s+(?:all|the|one|your|our|a|this|that)\b)",
    r"\ball[- ]in\b(?!\s+(?:all|the|one|your|our|a|this|that)\b).{0,40}" + PAY,
    PAY + r".{0,60}(?:\bwith (?:full|complete|total|all the|maximum|max|every)\s+(?:"
    r"protection|coverage|products?|extras|add-ons?)\b|\bwith the works\b|\bcon (?:toda la|"
    r"la) protecci[oó]n (?:completa|incluida|adentro)\b|\bcon el paquete\b|\bcon (?:la|el|"
    r"los|las) [\wáéíóúñ]+ (?:adentro|dentro|incluid[oa]s?)\b)",
    r"\b(?:protection|coverage|warranty|gap|products?|extras|add-ons?|everything|package)\s+"
    r"(?:is\s+|are\s+)?(?:included|built in|in there|in it)\b",
    r"\b(?:protecci[oó]n|garant[ií]a|cobertura|productos?|extras|paquete|gap)\s+(?:ya\s+)?"
    r"(?:est[aá]n?\s+)?(?:incluid[oa]s?|adentro|dentro)\b",
    PAY + r".{0,40}\b(?:includes|has|got|trae|incluye|lleva|tiene)\b.{0,25}\b" + ADDON + r"\b",
    PAY + r".{0,40}\b(?:covers|includes|cubre|incluye)\s+(?:the car|el (?:carro|auto)) (?:and|y)\b",
    r"\b(?:put|placed|signed|set)\s+you\s+(?:up\s+)?(?:in|into|on|with|for)\s+(?:our|the|a)"
    r"\b.{0,30}\b(?:package|bundle|plan|protection|coverage)\b",
    r"\b(?:puse|inclu[ií]|agregu[eé]|met[ií])\b.{0,30}(?:\b(?:en|a)\s+(?:el|su)\s+pago|\bal"
    r"\s+pago)\b",
    r"\balready (?:in|inside|part of|built into|baked into)\s+(?:the|your|that|this)\s+"
    r"(?:\$?\d|payment|number|monthly|price)",
    # round 2 (tuning_2.json, t35)
    PAY + r".{0,60}\b(?:(?:fully|completely|totally) (?:protected|covered|loaded)|covered on "
    r"everything|bumper[- ]to[- ]bumper|protegid[oa] con todo|con todo protegid[oa])\b",
    PAY + r".{0,60}\bwith (?:the\s+)?" + ADDON + r"\s+(?:on there|on it|in there|in it|"
    r"included|built in|on top)\b",
    r"\b(?:loaded|put|added|built|rolled|plugged|worked|included|packed)\b.{0,40}\b(?:into|in)"
    r"\s+(?:the|your|that|this)\s+(?:\$?\d|payment|number|monthly|pago)",
    r"\b(?:bumped|raised|moved|brought|took)\s+(?:the|your)\s+(?:payment|monthly|pago)\b"
    r".{0,30}\b(?:to cover|for)\s+(?:the\s+)?" + ADDON,
    r"\b(?:went with|chose|picked|selected|put together)\s+(?:our|the|a)\b.{0,30}\b(?:bundle|"
    r"package|plan)\b.{0,15}\bfor you\b",
    r"\b(?:le\s+)?arm[eé]\b.{0,30}\bcon (?:el|la) (?:paquete|protecci[oó]n)",
    # round 3 (tuning_3.json)
    PAY + r".{0,60}\b(?:with all the (?:goodies|bells and whistles|extras|add-ons|protection|"
    r"products|coverage)|loaded (?:up )?with\b.{0,15}\b" + ADDON + r"|todo metido|ya (?:va |"
    r"viene |est[aá] )?protegid[oa])\b",
    r"\b(?:with all the (?:goodies|bells and whistles|extras|add-ons))\b.{0,60}" + PAY,
    r"\bya (?:tiene|trae|lleva|incluye) todo\b",
    PAY + r".{0,40}\b(?:accounts for|factors in|figures in|reflects)\b.{0,10}\b" + ADDON,
)
_PACKING_UNLESS: Final = (
    *ATTRIBUTION,
    r"\b(?:would|could|you'?d|ser[ií]a|if you (?:add|want|choose|pick|take)|si (?:usted )?"
    r"(?:agrega|quiere|elige|toma))\b",
    r"\b(?:options?|opci[oó]n|opciones|plan [abc123]|base)\b",
    r"\b(?:you|usted)\s+(?:chose|picked|selected|asked for|agreed to|eligi[oó]|escogi[oó]|"
    r"pidi[oó])\b",
)


def _extend(
    criterion: Criterion,
    description: str,
    patterns: tuple[str, ...],
    negated: tuple[str, ...],
    unless: tuple[str, ...],
) -> Criterion:
    """`criterion` (one check) with `patterns`/`negated` added after v1's and `unless`."""
    (check,) = criterion.checks
    extended: Check = msgspec.structs.replace(
        check,
        description=description,
        patterns=check.patterns + patterns,
        negated_patterns=check.negated_patterns + negated,
        unless=unless,
    )
    return msgspec.structs.replace(criterion, checks=(extended,))


CREDIT_TIE_V2 = _extend(
    CREDIT_TIE,
    "Never said or implied that a product is required: for the credit approval or the "
    "financing, or as part of the deal (signing for it, the lender wanting it, it comes "
    "with the car, everyone takes it).",
    _CREDIT_PATTERNS,
    _CREDIT_NEGATED,
    _CREDIT_UNLESS,
)
PACKING_V2 = _extend(
    PACKING,
    "Never quoted a payment with products built in without itemising and disclosing "
    'them ("with everything", "all-in", "with full protection").',
    _PACKING_PATTERNS,
    (),
    _PACKING_UNLESS,
)
MISREPRESENTATION_V2 = _extend(
    MISREPRESENTATION,
    "Never overstated what a product covers, nor misstated the factory warranty or the "
    "customer's own insurance (\"your insurance won't cover that\").",
    MISREP_PATTERNS,
    MISREP_NEGATED,
    MISREP_UNLESS,
)
URGENCY_V2 = _extend(
    URGENCY,
    "Never invented a deadline or a now-or-never condition (leaving, a clock time, a "
    "price that changes tomorrow).",
    URGENCY_PATTERNS,
    URGENCY_NEGATED,
    URGENCY_UNLESS,
)
BLOCKERS_V2 = (CREDIT_TIE_V2, PACKING_V2, MISREPRESENTATION_V2, URGENCY_V2)
