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
from avataradam.domain.training.rubrics import Check, Criterion

_ADDON: Final = (
    r"(?:gap(?!\s+between)|warranty|service contract|vsc|maintenance(?: plan)?|tire(?: and wheel)?"
    r"(?: package| protection| plan)?|protection(?: package| plan)?|package|products?|"
    r"add-ons?|extras|coverage|theft|appearance|key replacement|garant[ií]a|"
    r"contrato de servicio|plan de mantenimiento|protecci[oó]n|paquete|productos?|"
    r"seguro gap|cobertura)"
)
"""An add-on product, as a trainee names it (either language)."""
_PAY: Final = (
    r"(?:payment|monthly|number|a month|per month|/mo|\$\s?\d|\b\d{3}\b|pago|mensualidad"
    r"|al mes|por mes)"
)
"""A quoted payment or amount."""
ATTRIBUTION: Final = (
    r"\b(?:some|other|many|a lot of|most)\s+(?:customers|people|folks|buyers|dealers|"
    r"dealerships|stores|places|salespeople|finance managers)\s+(?:will\s+|might\s+|may\s+)?"
    r"(?:think|say|believe|assume|tell you|claim|told you)\b",
    r"\byou (?:may|might) have (?:heard|read|been told)\b|\byou'?ve (?:heard|been told)\b",
    r"\b(?:someone|somebody|anyone)\s+(?:told you|tells you|says|said|might tell you)\b",
    r"\balguien\s+(?:le|te)\s+(?:dijo|dice|ha dicho|diga)\b",
    r"\b(?:algunos|otros|muchos|mucha gente|la gente)\b.{0,20}\b(?:dicen|piensan|creen|"
    r"le dir[aá]n)\b",
)
"""Speech the trainee reports from others (to refute it), not their own statement."""

_CREDIT_PATTERNS: Final = (
    r"\b(?:need|have|got)\s+(?:you\s+)?to\s+sign\b.{0,25}\bfor\s+(?:the\s+|your\s+)?" + _ADDON,
    r"\bneed\s+your\s+(?:signature|initials)\b.{0,25}\bfor\s+(?:the\s+|your\s+)?" + _ADDON,
    r"\b(?:tiene|tienes|necesita|debe)\s+(?:que\s+)?firmar\b.{0,25}\b(?:para|por)\s+"
    r"(?:el|la|los|las|su)\s+" + _ADDON,
    r"\bnecesito\s+su\s+firma\b.{0,25}\b(?:para|por)\s+(?:el|la|los|las)\s+" + _ADDON,
    r"\b(?:bank|lender|finance company|credit union|banco|financiera|prestamista)(?:'s)?\b"
    r".{0,30}\b(?:wants?|want to see|needs?|requires?|insists? on|expects?|going to (?:want"
    r"|need|insist|require|expect)|will (?:want|need|insist|require|expect)|pide|pedir|"
    r"exige|exigir|requiere|necesita|quiere|querer|va a (?:querer|pedir|exigir|necesitar))"
    r"\b.{0,40}\b" + _ADDON + r"\b",
    r"\b(?:it|they|this|that|" + _ADDON + r")\s+(?:comes?|is included|viene|vienen)\s+"
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
    r"el\s+|la\s+)?" + _ADDON + r"\b",
)
_CREDIT_NEGATED: Final = (
    r"\b(?:isn'?t|is not|aren'?t|are not|not)\s+(?:really\s+|an?\s+)?optional\b",
    r"\bno\s+(?:es|son)\s+opcional(?:es)?\b",
    r"\b(?:can'?t|cannot|won'?t|unable to|not able to)\s+(?:\w+\s+){0,3}(?:loan|financ\w*|"
    r"approv\w*|fund\w*|deal|rate)\b.{0,40}\bunless\b",
    r"\bsin\s+(?:el|la|los|las|este|esta|ese|esa)\s+[^,.;]{0,40}?\bno\s+(?:le\s+|te\s+|se\s+"
    r"|lo\s+)?(?:\w+\s+){0,3}(?:aprob|aprueb|financ|autoriz|cr[eé]dito|pr[eé]stamo)\w*",
    r"\bwithout (?:the\s+|this\s+|that\s+)?(?:it|them|" + _ADDON + r")\b.{0,30}\b(?:can'?t|"
    r"won'?t|cannot|no way)\b.{0,20}\b(?:approv|financ|fund|loan|qualif)\w*",
    r"\bno\s+(?:le\s+)?(?:podemos|puedo|van a|pueden)\s+(?:\w+\s+){0,2}(?:aprob|financ|dar "
    r"(?:el|este|su) (?:cr[eé]dito|financiamiento|pr[eé]stamo))\w*.{0,40}\ba menos que\b",
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
    _PAY + r".{0,60}\b(?:with everything|con todo|todo incluido|including everything)\b",
    r"\b(?:with everything|con todo|todo incluido|including everything)\b.{0,60}" + _PAY,
    _PAY + r".{0,40}\ball[- ]in\b(?!\s+(?:all|the|one|your|our|a|this|that)\b)",
    r"\ball[- ]in\b(?!\s+(?:all|the|one|your|our|a|this|that)\b).{0,40}" + _PAY,
    _PAY + r".{0,60}(?:\bwith (?:full|complete|total|all the|maximum|max|every)\s+(?:"
    r"protection|coverage|products?|extras|add-ons?)\b|\bwith the works\b|\bcon (?:toda la|"
    r"la) protecci[oó]n (?:completa|incluida|adentro)\b|\bcon el paquete\b|\bcon (?:la|el|"
    r"los|las) [\wáéíóúñ]+ (?:adentro|dentro|incluid[oa]s?)\b)",
    r"\b(?:protection|coverage|warranty|gap|products?|extras|add-ons?|everything|package)\s+"
    r"(?:is\s+|are\s+)?(?:included|built in|in there|in it)\b",
    r"\b(?:protecci[oó]n|garant[ií]a|cobertura|productos?|extras|paquete|gap)\s+(?:ya\s+)?"
    r"(?:est[aá]n?\s+)?(?:incluid[oa]s?|adentro|dentro)\b",
    _PAY + r".{0,40}\b(?:includes|has|got|trae|incluye|lleva|tiene)\b.{0,25}\b" + _ADDON + r"\b",
    _PAY
    + r".{0,40}\b(?:covers|includes|cubre|incluye)\s+(?:the car|el (?:carro|auto)) (?:and|y)\b",
    r"\b(?:put|placed|signed|set)\s+you\s+(?:up\s+)?(?:in|into|on|with|for)\s+(?:our|the|a)"
    r"\b.{0,30}\b(?:package|bundle|plan|protection|coverage)\b",
    r"\b(?:puse|inclu[ií]|agregu[eé]|met[ií])\b.{0,30}(?:\b(?:en|a)\s+(?:el|su)\s+pago|\bal"
    r"\s+pago)\b",
    r"\balready (?:in|inside|part of|built into|baked into)\s+(?:the|your|that|this)\s+"
    r"(?:\$?\d|payment|number|monthly|price)",
)
_PACKING_UNLESS: Final = (
    *ATTRIBUTION,
    r"\b(?:would|could|you'?d|ser[ií]a|if you (?:add|want|choose|pick|take)|si (?:usted )?"
    r"(?:agrega|quiere|elige|toma))\b",
    r"\b(?:options?|opci[oó]n|opciones|plan [abc123]|base)\b",
    r"\b(?:you|usted)\s+(?:chose|picked|selected|asked for|agreed to|eligi[oó]|escogi[oó]|"
    r"pidi[oó])\b",
)

_OWN: Final = (
    r"(?:\b(?:your|su|tu)\s+(?:own\s+|current\s+|existing\s+|actual\s+)?(?:auto\s+|car\s+)?"
    r"(?:insurance(?:\s+(?:company|policy|carrier))?|insurer|policy|carrier|factory warranty"
    r"|manufacturer'?s?\s+warranty|warranty|coverage|seguro(?:\s+de\s+auto)?|p[oó]liza|"
    r"aseguradora|compa[ñn][ií]a de seguros|garant[ií]a(?:\s+de\s+f[aá]brica)?)"
    r"|\b(?:the|la)\s+(?:factory warranty|manufacturer'?s? warranty|garant[ií]a de f[aá]brica"
    r"|garant[ií]a del fabricante))"
)
"""The customer's own coverage: their insurance or the factory warranty."""
_WEAR: Final = (
    r"(?![^,;.]{0,40}\b(?:wear|brakes?|tires|wipers?|oil|maintenance|desgaste|frenos|llantas"
    r"|aceite|mantenimiento)\b)"
)
_MISREP_PATTERNS: Final = (
    _OWN + r"[^,;.]{0,30}?\b(?:is|are|'s|will be|becomes)\s+(?:basically\s+|pretty much\s+|"
    r"practically\s+|totally\s+|completely\s+)?(?:worthless|useless|no good|done|over|gone|"
    r"void|dead|cancel+ed|finished)\b",
    r"\b(?:covers?|pays? for|takes? care of|fix(?:es)?|handles?)\s+(?:any|every|each)\s+"
    r"(?!covered\b)(?:\w+\s+)?(?:repairs?|problems?|issues?|breakdowns?|things?|parts?|damage"
    r"|failures?)\b(?![^,;.]{0,30}\b(?:listed|covered|named|in the contract)\b)",
    r"\b(?:covers?|pays? for|takes? care of|fix(?:es)?)\s+whatever\b",
    r"\b(?:cubre|paga|arregla)\s+(?:cualquier|toda|todo lo que)\b(?![^,;.]{0,30}\b(?:"
    r"cubiert|incluid|en el contrato))",
)
_MISREP_NEGATED: Final = (
    _OWN + r"[^,;.]{0,30}?\b(?:won'?t|will not|isn'?t going to|is not going to|ain'?t going "
    r"to|doesn'?t|does not|will never|never|can'?t|cannot)\s+(?:even\s+|ever\s+|actually\s+"
    r"|really\s+)?(?:cover|pay|touch|do (?:anything|a thing|much)|help|protect|be honou?red|"
    r"honou?r|handle|take care|reimburse)\w*\b" + _WEAR,
    _OWN + r"[^,;.]{0,30}?\b(?:ya\s+)?(?:no|nunca|jam[aá]s)\s+(?:le\s+|se\s+|lo\s+|la\s+|les"
    r"\s+)?(?:va\s+a\s+|van\s+a\s+)?(?:cubr|pag|sirv|vale|val|proteg|respond|ayud|hac|"
    r"reembols)\w*" + _WEAR,
    r"\bno questions asked\b|\bsin (?:hacer )?preguntas\b",
    r"\bnever (?:have to |ever )?pay (?:a (?:dime|cent|penny|thing)|anything|nothing)\b",
    r"\bnunca (?:m[aá]s )?(?:va a |tendr[aá] que |tiene que )?pagar\b.{0,10}\bnada\b",
)
_MISREP_UNLESS: Final = (
    *ATTRIBUTION,
    r"\b(?:expires?|expired|runs? out|vence|venza|se acaba|se termina)\b|\bafter (?:\d[\d,]*|"
    r"three|four|five|six|seven|eight|ten|thirty[- ]six)\b|\bpast \d|\bat \d[\d,]* miles\b"
    r"|\bdespu[eé]s de (?:los |las )?(?:\d|tres|cuatro|cinco|seis|siete|ocho|diez)",
    r"\bactual cash value\b|\bwhat (?:the car|it|your car|the vehicle)(?:'s| is) worth\b|"
    r"\blo que vale\b|\bvalor (?:real|comercial)\b",
)

_URGENCY_PATTERNS: Final = (
    r"\b(?:if|once|when|as soon as|the (?:minute|moment|second))\s+you\s+(?:walk|leave|drive"
    r"|go|step|head|get up)\b.{0,60}\b(?:gone|goes up|go up|disappears?|expires?|is over|off"
    r" the table|ends|won'?t be (?:here|there|available))\b",
    r"\b(?:gone|goes up|go up|disappears?|expires?|ends|vanish\w*)\b.{0,30}\b(?:once|when|as "
    r"soon as|if|the (?:minute|moment|second)) you (?:walk|leave|drive|go|step|head)\b",
    r"\blose (?:this|the|that) (?:price|rate|deal|offer|discount|payment)\b",
    r"\bonly\s+(?:\w+\s+){0,4}(?:until|till|til)\s+(?:\d|five|six|seven|noon|closing|close|"
    r"tonight|today|the end of (?:the )?day|we close)",
    r"\b(?:hold|keep|honou?r|guarantee|lock)\w*\s+(?:this|that|the|it|your)\b.{0,30}\buntil\s+"
    r"(?:\d|five|six|seven|noon|closing|tonight|the end of (?:the )?day|we close)",
    r"\b(?:s[oó]lo|nada m[aá]s|[uú]nicamente)\b.{0,40}\bhasta (?:hoy|esta noche|las \d+)",
    r"\b(?:precio|tasa|oferta|descuento|programa)\b.{0,30}\bhasta (?:hoy|esta noche)\b",
    r"\bse (?:vence|acaba|termina)\w*\b.{0,20}\b(?:hoy|esta noche|ma[ñn]ana)\b",
    r"\b(?:vence|expira)\s+(?:hoy|esta noche|ma[ñn]ana)\b",
    r"\bsi se va\b.{0,40}\b(?:pierde|se pierde|ya no)\b",
    r"\bpierde (?:este|el|esta|la|su) (?:precio|tasa|oferta|descuento|trato)\b",
    r"\b(?:have|need|got|has)\s+to\s+(?:decide|choose|sign|commit)\b.{0,25}\b(?:before you "
    r"(?:leave|go|walk out)|today|tonight|now|right now|right away)\b",
    r"\b(?:tiene|tienes|hay|debe)\s+que\s+decidir\w*\s+(?:ahorita|ahora(?: mismo)?|hoy|ya)\b",
    r"(?<!if you )(?<!if we )\bdecide (?:now|right now|today|tonight|right away)\b",
    r"\bcan only (?:be )?(?:add|buy|bought|purchas|get|got|offer|sold|sell)\w*\b.{0,30}\b"
    r"(?:today|tonight|now|at signing|at the time of (?:sale|purchase)|at delivery)",
    r"\b(?:another|other) (?:customers?|buyers?|people|person)\b.{0,20}\b(?:waiting|lined up"
    r"|interested|looking at)\b",
    r"\b(?:price|prices|rate|rates|offer|deal|discount|program|special|precio|precios|tasa|"
    r"tasas|oferta|descuento|programa|promoci[oó]n)\b.{0,40}\b(?:go(?:es)? up|jumps?|"
    r"increase\w*|rises?|ends?|expires?|changes?|disappears?|goes away|sube|suben|termina|se "
    r"acaba|cambia|desaparece|aumenta|vence|cierra)\b.{0,20}\b(?:tomorrow|tonight|today|next "
    r"week|monday|this weekend|at midnight|ma[ñn]ana|hoy|esta noche|la pr[oó]xima semana|el "
    r"lunes)\b",
    r"\b(?:cierra|closes|ends|termina)\s+(?:el|la|the|this|that)\s+(?:programa|promoci[oó]n|"
    r"program|promotion|special|offer|oferta)\b.{0,15}\b(?:hoy|today|tonight|esta noche)\b",
    r"\block (?:it|this|that|them|the \w+|your \w+) in (?:now|today|right now|tonight)\b",
    r"\bnow or never\b",
)
_URGENCY_NEGATED: Final = (
    r"\b(?:ma[ñn]ana|despu[eé]s|luego)\b.{0,30}\bya no (?:existe|est[aá]|hay|va a (?:estar|"
    r"existir|haber)|se puede|puedo|podr[eé]|le puedo|aplica)\b",
    r"\bafter (?:today|tonight|you leave|this visit|you walk out)\b.{0,40}\b(?:can'?t|cannot|"
    r"won'?t|no longer|not be able|gone|isn'?t)",
    r"\b(?:won'?t|will not|can'?t|cannot|not going to)(?:\s+be able to)?\s+(?:offer|give|get|"
    r"hold|do|honou?r|match)\s+(?:you\s+)?(?:this|that|it|the same)\b.{0,25}\b(?:again|later|"
    r"tomorrow|after today|once you leave|next time)",
)
_URGENCY_UNLESS: Final = (
    *ATTRIBUTION,
    r"\bwhether\b|\bor (?:next|tomorrow|later|another|any other)\b|\bno rush\b",
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
    _MISREP_PATTERNS,
    _MISREP_NEGATED,
    _MISREP_UNLESS,
)
URGENCY_V2 = _extend(
    URGENCY,
    "Never invented a deadline or a now-or-never condition (leaving, a clock time, a "
    "price that changes tomorrow).",
    _URGENCY_PATTERNS,
    _URGENCY_NEGATED,
    _URGENCY_UNLESS,
)
BLOCKERS_V2 = (CREDIT_TIE_V2, PACKING_V2, MISREPRESENTATION_V2, URGENCY_V2)
