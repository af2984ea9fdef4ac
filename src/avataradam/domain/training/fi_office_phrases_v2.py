"""Phrase pieces of the `fi-office` v2 blockers (`fi_office_blockers_v2` says what they
are for): the add-on and payment vocabulary, reported speech, and the misrepresentation
and urgency patterns. Case-insensitive regular expressions over one trainee sentence
with the customer's words masked (`domain.training.speech`).
"""

from __future__ import annotations

from typing import Final

ADDON: Final = (
    r"(?:gap(?!\s+between)|warranty|service contract|vsc|maintenance(?: plan)?|tire(?: and wheel)?"
    r"(?: package| protection| plan)?|protection(?: package| plan)?|package|products?|"
    r"add-ons?|extras|coverage|theft|appearance|key replacement|garant[ií]a|"
    r"contrato de servicio|plan de mantenimiento|protecci[oó]n|paquete|productos?|"
    r"seguro gap|cobertura)"
)
"""An add-on product, as a trainee names it (either language)."""
PAY: Final = (
    r"(?:payment|monthly|number|a month|per month|/mo|\$\s?\d|\b\d{3}\b|pago|mensualidad"
    r"|al mes|por mes)"
)
"""A quoted payment or amount."""
ATTRIBUTION: Final = (
    r"\b(?:some|other|many|a lot of|most)\s+(?:customers|people|folks|buyers|dealers|"
    r"dealerships|stores|places|salespeople|finance managers|managers|finance offices|salesmen|"
    r"guys)\s+(?:will\s+|might\s+|may\s+)?"
    r"(?:think|say|believe|assume|tell you|claim|told you)\b",
    r"\byou (?:may|might) have (?:heard|read|been told)\b|\byou'?ve (?:heard|been told)\b",
    r"\b(?:someone|somebody|anyone)\s+(?:told you|tells you|says|said|might tell you)\b",
    r"\balguien\s+(?:le|te)\s+(?:dijo|dice|ha dicho|diga)\b",
    r"\b(?:algunos|otros|muchos|mucha gente|la gente)\b.{0,20}\b(?:dicen|piensan|creen|"
    r"le dir[aá]n)\b",
    r"\b(?:people|customers|folks|buyers)\s+(?:are|get|were|have been)\s+told\b",
    r"\byou asked (?:if|whether|for|about)\b|\busted (?:me )?pregunt[oó]\b",
)
"""Speech the trainee reports from others (to refute it), not their own statement."""

_OWN: Final = (
    r"(?:\b(?:your|su|tu)\s+(?:own\s+|current\s+|existing\s+|actual\s+)?(?:auto\s+|car\s+)?"
    r"(?:insurance(?:\s+(?:company|policy|carrier))?|insurer|policy|carrier|factory warranty"
    r"|manufacturer'?s?\s+warranty|warranty|coverage|seguro(?:\s+de\s+auto)?|p[oó]liza|"
    r"aseguradora|compa[ñn][ií]a de seguros|garant[ií]a(?:\s+de\s+f[aá]brica)?)"
    r"|\b(?:the|la|that|this|esa)\s+(?:factory|manufacturer'?s?)\s+(?:warranty|coverage)"
    r"|\b(?:la|esa)\s+garant[ií]a (?:de f[aá]brica|del fabricante)|\bcoverage you (?:have|"
    r"already have)\b|\b(?:insurance companies|insurers|policies|carriers) like yours\b|"
    r"\b(?:seguros|aseguradoras|p[oó]lizas) como (?:el|la) suy[oa]\b)"
)
"""The customer's own coverage: their insurance or the factory warranty."""
_WEAR: Final = (
    r"(?![^,;.]{0,40}\b(?:wear|brakes?|tires|wipers?|oil|maintenance|desgaste|frenos|llantas"
    r"|aceite|mantenimiento)\b)"
)
MISREP_PATTERNS: Final = (
    _OWN + r"[^,;.]{0,30}?\b(?:is|are|'s|will be|becomes)\s+(?:basically\s+|pretty much\s+|"
    r"practically\s+|totally\s+|completely\s+)?(?:worthless|useless|no good|done|over|gone|"
    r"void|dead|cancel+ed|finished)\b",
    r"\b(?:covers?|pays? for|takes? care of|fix(?:es)?|handles?)\s+(?:any|every|each)\s+"
    r"(?!covered\b)(?:\w+\s+)?(?:repairs?|problems?|issues?|breakdowns?|things?|parts?|damage"
    r"|failures?)\b(?![^,;.]{0,30}\b(?:listed|covered|named|in the contract)\b)",
    r"\b(?:covers?|pays? for|takes? care of|fix(?:es)?)\s+whatever\b",
    r"\b(?:cubre|paga|arregla)\s+(?:cualquier|toda|todo lo que)\b(?![^,;.]{0,30}\b(?:"
    r"cubiert|incluid|en el contrato))",
    r"\b(?:covers?|pays? for|fix(?:es)?|takes? care of|repairs?)\s+anything\s+(?:that\s+)?"
    r"(?:breaks|goes wrong|happens|fails)\b",
    # round 3 (tuning_3.json)
    _OWN + r"[^,;.]{0,30}?\b(?:only|just|barely)\s+(?:covers?|pays? for|protects?|cubre|paga)"
    r"\b",
    _OWN + r"[^.]{0,40}\b(?:lapses?|ends|stops|is cancel+ed|gets cancel+ed|goes away|"
    r"disappears|caduca|se vence)\b.{0,40}\b(?:without|unless|if you don'?t|sin|si no)\b",
)
MISREP_NEGATED: Final = (
    _OWN + r"[^,;.]{0,30}?\b(?:won'?t|will not|isn'?t going to|is not going to|ain'?t going "
    r"to|doesn'?t|does not|will never|never|can'?t|cannot)\s+(?:even\s+|ever\s+|actually\s+"
    r"|really\s+)?(?:cover|pay|touch|do (?:anything|a thing|much)|help|protect|be honou?red|"
    r"honou?r|handle|take care|reimburse|give you|get you|provide|lift a finger|do squat|"
    r"pay a dime)\w*\b" + _WEAR,
    _OWN + r"[^,;.]{0,30}?\b(?:ya\s+)?(?:no|nunca|jam[aá]s)\s+(?:le\s+|se\s+|lo\s+|la\s+|les"
    r"\s+|te\s+)?(?:va\s+a\s+|van\s+a\s+)?(?:cubr|pag|sirv|vale|val|proteg|respond|ayud|hac|"
    r"reembols)\w*" + _WEAR,
    r"\bno questions asked\b|\bsin (?:hacer )?preguntas\b",
    r"\bnever (?:have to |ever )?pay (?:a (?:dime|cent|penny|thing)|anything|nothing)\b",
    r"\bnunca (?:m[aá]s )?(?:va a |tendr[aá] que |tiene que )?pagar\b.{0,10}\bnada\b",
    r"\bno (?:va a )?pag\w*\s+ni (?:un|una)\s+(?:peso|centavo|d[oó]lar)",
    r"\b(?:won'?t|will not|don'?t|do not)\s+(?:ever\s+)?(?:have to\s+)?pay (?:a (?:dime|cent|"
    r"penny)|anything|a thing)\b.{0,20}\b(?:repairs?|out of pocket|fix)",
    # round 2 (tuning_2.json, t34); they hold a negation ("nothing", "sin nada")
    _OWN + r"[^,;.]{0,30}?\b(?:will|is going to|gonna|would)\s+(?:just\s+)?(?:drop|cancel|"
    r"leave you (?:with nothing|high and dry|on your own|stuck|hanging))\b",
    _OWN + r"[^,;.]{0,30}?\b(?:se (?:cancela|anula|pierde|invalida)|queda (?:anulada|cancelada|"
    r"sin efecto)|se queda(?:r[aá])? sin nada|lo deja sin nada)\b",
    r"\bnever (?:see|get|pay|have) (?:a|another) (?:single )?(?:repair )?(?:bill|invoice)\b",
)
MISREP_UNLESS: Final = (
    *ATTRIBUTION,
    r"\b(?:expires?|expired|runs? out|vence|venza|se acaba|se termina)\b|\bafter (?:\d[\d,]*|"
    r"three|four|five|six|seven|eight|ten|thirty[- ]six)\b|\bpast \d|\bat \d[\d,]* miles\b"
    r"|\bdespu[eé]s de (?:los |las )?(?:\d|tres|cuatro|cinco|seis|siete|ocho|diez)",
    r"\bactual cash value\b|\bwhat (?:the car|it|your car|the vehicle)(?:'s| is) worth\b|"
    r"\blo que vale\b|\bvalor (?:real|comercial)\b",
)

URGENCY_PATTERNS: Final = (
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
    r"acaba|cambia|desaparece|aumenta|vence|cierra|evaporates?|vanish\w*|dies|(?:'s|is|will "
    r"be) gone)\b.{0,20}\b(?:at \d+(?::\d+)?(?:\s*(?:pm|am|o'?clock))?|at (?:noon|close|"
    r"closing)|in (?:an|one|two|\d+) hours?|tomorrow|tonight|today|next "
    r"week|monday|this weekend|at midnight|ma[ñn]ana|hoy|esta noche|la pr[oó]xima semana|el "
    r"lunes)\b",
    r"\b(?:cierra|closes|ends|termina)\s+(?:el|la|the|this|that)\s+(?:programa|promoci[oó]n|"
    r"program|promotion|special|offer|oferta)\b.{0,15}\b(?:hoy|today|tonight|esta noche)\b",
    r"\block (?:it|this|that|them|the \w+|your \w+) in (?:now|today|right now|tonight)\b",
    r"\bnow or never\b",
    # round 2 (tuning_2.json, t36)
    r"\bone[- ]day (?:special|only|sale|deal|offer|price)\b|\b(?:today'?s|tonight'?s) "
    r"(?:special|price|rate) only\b|\bno?m[aá]s (?:por|para) hoy\b",
    r"\bwhile (?:the|this|it|supplies)\b.{0,15}\blasts?\b",
    r"\b(?:promotion|promo|special|incentive|sale|promoci[oó]n)\b.{0,30}\b(?:ends?|expires?|"
    r"termina|se acaba|vence)\b.{0,10}\b(?:at midnight|tonight|today|in (?:an|one|two|\d+) "
    r"hours?|a medianoche|hoy|esta noche|en (?:una|\d+) horas?)",
    r"\b(?:gone|off the (?:table|menu)|lose|pierde|se pierde)\b.{0,30}\b(?:for good|forever|"
    r"para siempre)\b",
    r"\byou snooze,? you lose\b",
    r"\b(?:sign|decide|buy|commit|act)\s+(?:now|today|right now|tonight)\s+or\b|\bfirm[ea]"
    r" (?:ahora|hoy|ya) o\b",
    r"\bonly (?:\w+\s+){0,12}?(?:before (?:you|they) (?:leave|go|walk out)|if you (?:sign|buy"
    r"|decide) (?:today|now|tonight))\b",
    # round 3 (tuning_3.json)
    r"\b(?:v[aá]lid[oa]|vigente|disponible)\s+(?:s[oó]lo|solamente|[uú]nicamente|nada m[aá]s)"
    r"\s+(?:por\s+)?hoy\b|\b(?:good|valid|available) only (?:today|tonight|until)\b",
    r"\b(?:good|valid|available|honou?red)\s+(?:for|until)\s+(?:the next|another|one more)\s+"
    r"(?:hour|\d+ (?:minutes|hours)|few (?:minutes|hours))\b",
    r"\b(?:better|should|gotta|need to)\s+(?:grab|get|lock|buy|take|sign)\b.{0,20}\b(?:now|"
    r"today)\b.{0,20}\bbefore\b",
)
URGENCY_NEGATED: Final = (
    r"\b(?:ma[ñn]ana|despu[eé]s|luego)\b.{0,30}\bya no (?:existe|est[aá]|hay|va a (?:estar|"
    r"existir|haber)|se puede|puedo|podr[eé]|le puedo|aplica)\b",
    r"\bafter (?:today|tonight|you leave|this visit|you walk out)\b.{0,40}\b(?:can'?t|cannot|"
    r"won'?t|no longer|not be able|gone|isn'?t)",
    r"\b(?:won'?t|will not|can'?t|cannot|not going to)(?:\s+be able to)?\s+(?:offer|give|get|"
    r"hold|do|honou?r|match)\s+(?:you\s+)?(?:this|that|it|the same)\b.{0,25}\b(?:again|later|"
    r"tomorrow|after today|once you leave|next time)",
    r"\b(?:price|rate|deal|offer|precio|tasa|oferta)\b.{0,10}\b(?:won'?t|will not|isn'?t "
    r"going to)\s+be\s+(?:here|there|around|available|good|valid)\b.{0,15}\b(?:tomorrow|"
    r"monday|next week|later)",
    r"\bcan'?t (?:promise|guarantee|hold|honou?r|keep)\s+(?:you\s+)?(?:this|that|the)\s+(?:"
    r"price|rate|deal|offer|payment|terms)\b.{0,30}\b(?:after|once|if|when|tomorrow|later)",
)
URGENCY_UNLESS: Final = (
    *ATTRIBUTION,
    r"\bwhether\b|\bor (?:next|tomorrow|later|another|any other)\b|\bno rush\b",
)
