"""The compliance blockers of `fi-office` v1 and what tells a customer objection.

Every blocker check is `forbidden` and `negatable`: it fails on a trainee sentence that
makes the prohibited statement, unless a negation comes before the end of the match in
the same clause ("I would never tell you it's required for your approval", "the bank
doesn't need it to approve you" do not fail; "it's required for your approval" does).
`negated_patterns` hold a negation of their own (a double negative: "you won't get
approved without it"): only a negation before such a match cancels it. Sources of each
prohibition: docs/rubrics.md.
"""

from __future__ import annotations

from avataradam.domain.training.rubrics import Check, Criterion

_PRODUCT_NAMES = (
    r"(?:gap|warranty|service contract|protection|product|coverage|package"
    r"|garant[ií]a|contrato|protecci[oó]n|producto|cobertura|seguro)"
)
_PRODUCT = (
    r"(?:gap|warranty|service contract|protection|product|coverage|package|it|them|this"
    r"|garant[ií]a|contrato|protecci[oó]n|producto|cobertura|seguro)"
)

CREDIT_TIE = Criterion(
    id="optional_not_tied_to_credit",
    title="Products are optional and never tied to credit approval",
    title_es="Los productos son opcionales y nunca condicionan el crédito",
    weight=0.0,
    blocker=True,
    advice="Never say or imply that a product is required to get approved or financed: "
    "every product is optional.",
    advice_es="Nunca diga ni insinúe que un producto es necesario para aprobar el "
    "crédito: todos son opcionales.",
    checks=(
        Check(
            id="not_tied_to_credit",
            description="Never said or implied that a product is required for the credit "
            "approval or the financing.",
            forbidden=True,
            negatable=True,
            patterns=(
                r"\b(?:required|mandatory|a requirement|have to (?:have|take|buy|get|carry)|"
                r"need(?:s)? to (?:have|take|buy|get|carry))\b.{0,50}\b(?:approv\w*|financ\w*|"
                r"the loan|qualif\w*|fund\w*|the bank|the lender)",
                r"\b(?:approv\w*|financ\w*|the loan|the bank|the lender)\b.{0,50}\b(?:requires?|"
                r"required|conditional on|contingent on)\b",
                r"\bonly\s+(?:approve|finance|fund|qualify|do the loan)\w*\b.{0,50}\b(?:if|with)\b",
                r"\bpara que\b.{0,30}\b(?:aprueb|financ)\w*.{0,60}\b(?:tiene que|debe|necesita|"
                r"obligatori)",
                r"\b(?:obligatori[oa]|requisito|requerid[oa])\b.{0,50}\b(?:aprob|cr[eé]dito|"
                r"pr[eé]stamo|financ)",
                r"\b(?:bank|lender|banco|financiera)\b.{0,20}\b(?:wants|requires|needs|insists on|"
                r"pide|exige|requiere)\b.{0,30}\b" + _PRODUCT_NAMES,
                r"\b(?:bank|lender)\b.{0,30}\b(?:asks? for|wants?|needs?|insists? on)\b.{0,40}"
                r"\b(?:approv|financ|fund)\w*",
                r"\b(?:banco|financiera|prestamista)\b.{0,30}\b(?:pide|exige|requiere|necesita)\b"
                r".{0,40}\b(?:aprob|financ|cr[eé]dito|pr[eé]stamo)",
            ),
            negated_patterns=(
                r"\b(?:won'?t|will not|can'?t|cannot|not going to|wouldn'?t)\s+(?:get\s+|be\s+)?"
                r"(?:approv|financ|fund|qualif)\w*.{0,40}\bwithout\b",
                r"\bsin\s+(?:el|la|los|las|este|esta|ese|esa)\s+\w+.{0,40}\bno\s+(?:le\s"
                r"+|te\s+|se\s+)?"
                r"(?:aprueb|financ|autoriz)\w*",
            ),
            exemplars=(
                "The bank will only approve your loan if you take the warranty.",
                "GAP is required to get your financing approved.",
                "El banco solo aprueba el préstamo si lleva la garantía.",
            ),
        ),
    ),
)

PACKING = Criterion(
    id="no_payment_packing",
    title="No payment packing",
    title_es="Sin empaquetar productos en el pago",
    weight=0.0,
    blocker=True,
    advice="Never quote a payment that already holds products the customer has not seen "
    "itemised and chosen; show the base payment first, then each product.",
    advice_es="Nunca dé un pago que ya incluya productos que el cliente no ha visto "
    "desglosados y elegido; muestre primero el pago base.",
    checks=(
        Check(
            id="no_packed_payment",
            description="Never quoted a payment with products built in without itemising "
            "and disclosing them.",
            forbidden=True,
            negatable=True,
            patterns=(
                r"\balready\s+(?:has|have|includes?|got)\b.{0,40}\b" + _PRODUCT + r"\b",
                r"\b(?:built|rolled|baked|packed|bundled|tucked|folded)\s+(?:right\s+)?in(?:to)?\b",
                r"\bwith everything (?:already )?(?:included|in it|in there|built in)",
                r"\b(?:roll|put|add|include)\w*\s+(?:it|them|everything|products?|extras?)\s+"
                r"(?:in|into)\s+(?:the|your)\s+payment",
                r"\b(?:ya|todo)\s+(?:va|viene|est[aá]|queda)\s+incluid[oa]s?\b",
                r"\b(?:metid|empaquetad|escondid)[oa]s?\s+en\s+(?:el|su)\s+pago",
                r"\bpayment\b.{0,40}\bwith (?:the |our |your )?(?:coverage|protection|warranty|"
                r"package|products?|extras?)\s+(?:already\s+)?(?:included|in it|built in)",
                r"\bwent ahead and (?:put|add|added|include|included|threw)\b",
                r"\b(?:slipped|snuck|sneaked|tucked|threw|hid)\b.{0,60}\b(?:into|in)\s+("
                r"?:that|the|your|this)"
                r"\s+(?:number|payment|monthly)",
                r"\bse (?:lo|la|los|las) (?:puse|agregu[eé]|inclu[ií]) (?:ya )?(?:en|a)l"
                r"? (?:su )?pago",
            ),
            negated_patterns=(
                r"\bdon'?t worry about (?:the|what'?s in)\s*(?:breakdown|details|numbers|it|"
                r"itemi[sz]ation)?",
                r"\bno se preocupe por (?:el desglose|los detalles|lo que incluye)",
                r"\b(?:don'?t|do not|no)\s+(?:need|have) to (?:look at|see|read|worry about) the "
                r"(?:line items|breakdown|details)",
            ),
            exemplars=(
                "I've got you at $548 a month with the protection package already built in.",
                "Don't worry about the breakdown, it's all in the payment.",
                "Su pago ya incluye todo, no se preocupe por el desglose.",
            ),
        ),
    ),
)

MISREPRESENTATION = Criterion(
    id="no_misrepresentation",
    title="No misrepresentation of coverage",
    title_es="Sin tergiversar la cobertura",
    weight=0.0,
    blocker=True,
    advice="Describe coverage as the contract does: what it covers and what it excludes. "
    'Never promise "everything", "no exceptions" or a voided factory warranty.',
    advice_es="Describa la cobertura como dice el contrato, con sus exclusiones; nunca "
    'prometa que "cubre todo" o "sin excepciones".',
    checks=(
        Check(
            id="no_misrepresented_coverage",
            description="Never overstated what a product covers nor misstated the factory "
            "warranty.",
            forbidden=True,
            negatable=True,
            patterns=(
                r"\bcovers?\s+(?:absolutely\s+|literally\s+|just about\s+)?(?:everything|anything|"
                r"it all|all of it)\b",
                r"\bwarranty\b.{0,20}\b(?:is|will be|becomes|gets)\s+void",
                r"\bvoids?\s+(?:your|the)\s+(?:factory\s+)?warranty",
                r"\b(?:give|buy) you a (?:brand[- ])?new (?:car|truck|vehicle|one)\b",
                r"\b(?:cubre|cubrimos)\s+(?:absolutamente\s+)?(?:todo|cualquier cosa)\b",
                r"\bsin excepci[oó]n(?:es)?\b",
                r"\ble damos (?:uno|un auto|un carro|una camioneta) nuev[oa]",
                r"\bgarant[ií]a\b.{0,30}\b(?:se anula|queda anulada|pierde)",
                r"\b(?:brakes?|tires?|wiper|wear[- ]and[- ]tear|wear items?|frenos|llant"
                r"as)\b.{0,60}"
                r"\b(?:(?:is|are) covered|taken care of|included|cubiert[oa]s?|incluid[oa]s?)",
                r"\b(?:covers?|cubre)\b.{0,20}\b(?:wear[- ]and[- ]tear|wear items?|desgaste)",
            ),
            negated_patterns=(
                r"\bsin importar (?:nada|qu[eé]|lo que)",
                r"\bno exceptions?\b",
                r"\bno matter what\b",
                r"\bnever (?:have to )?pay for (?:a|any|another) (?:single )?repair",
                r"\bnunca (?:m[aá]s )?(?:va a )?pagar(?:[aá])? (?:por )?(?:una |ninguna )?reparaci",
            ),
            exemplars=(
                "This covers absolutely everything on the car, no exceptions.",
                "You'll never pay for a repair again.",
                "Le cubre todo, sin excepciones.",
            ),
        ),
    ),
)

URGENCY = Criterion(
    id="no_false_urgency",
    title="No false urgency",
    title_es="Sin urgencia falsa",
    weight=0.0,
    blocker=True,
    advice='Never pressure with deadlines that are not true ("only today", "you can '
    'never add it later"); tell the customer when a product can still be added.',
    advice_es='Nunca presione con plazos falsos ("solo hoy", "después ya no se '
    'puede"); diga cuándo se puede agregar después.',
    checks=(
        Check(
            id="no_false_urgency",
            description="Never invented a deadline or a now-or-never condition.",
            forbidden=True,
            negatable=True,
            patterns=(
                r"\bonly (?:good|valid|available|offer\w*)\s+(?:for\s+)?(?:today|tonight"
                r"|right now)",
                r"\b(?:today|tonight|right now) only\b",
                r"\b(?:last|only) chance\b",
                r"\bexpires?\s+(?:at\s+\w+\s+)?(?:today|tonight|when you leave)",
                r"\bbetter decide (?:now|today|right now)\b",
                r"\b(?:have|need) to decide (?:today|right now|now)\b",
                r"\bsolo (?:por |para )?hoy\b",
                r"\b[uú]ltima oportunidad\b",
                r"\b(?:price|rate|offer) (?:goes up|ends|expires|changes) (?:tomorrow|to"
                r"night|today)",
                r"\b(?:precio|oferta|tasa)\s+(?:sube|termina|se acaba|cambia)\s+(?:ma[ñn]ana|hoy)",
            ),
            negated_patterns=(
                r"\bahora o nunca\b",
                r"\bonce you (?:leave|drive off|walk out|sign)\b.{0,60}\b(?:never|can'?t|cannot|"
                r"won'?t|no longer|gone)",
                r"\b(?:never|can'?t|cannot|won'?t be able to)\s+(?:be able to\s+)?(?:add|get|buy|"
                r"purchase)\s+(?:it|this|them|that)\b.{0,30}\b(?:again|later|after today|after "
                r"you leave)",
                r"\b(?:ma[ñn]ana|despu[eé]s)\s+ya no\b",
                r"\bya no\s+(?:se\s+)?(?:la|lo|los|las|le)?\s*(?:puedo|podr[eé]|va a poder|"
                r"podemos)\s+(?:ofrecer|dar|agregar|vender)",
            ),
            exemplars=(
                "This price is only good today.",
                "Once you leave you can never add it again.",
                "Esta oferta es solo por hoy.",
            ),
        ),
    ),
)

BLOCKERS = (CREDIT_TIE, PACKING, MISREPRESENTATION, URGENCY)

OBJECTION_PATTERNS = (
    r"\b(?:think about it|think it over|sleep on it|not sure)\b",
    r"\b(?:too (?:much|expensive|high)|a lot of money|can'?t afford|cheaper|waste of money)",
    r"\bcan'?t (?:spend|pay|go) (?:any )?(?:more|higher|over)\b|\bover my budget\b",
    r"\b(?:don'?t|do not)\s+(?:really\s+)?(?:need|want|like)\b",
    r"\bno thanks?\b|\bnot interested\b|\bnot paying\b",
    r"\b(?:insurance|warranty)\s+(?:already\s+)?(?:covers?|would (?:pay|cover)|pays?)\b",
    r"\b(?:talk|check|speak|ask|run it by|consult)\b.{0,15}\b(?:my )?(?:wife|husband|spouse|"
    r"partner|him|her)\b",
    r"\b(?:never|won'?t) use\b|\bhate being\b|\brushed\b|\bonly care about\b",
    r"\b(?:denied|rejected|refused) (?:my |the )?claim|\bbad experience\b",
    r"\b(?:pensarlo|lo pienso|no estoy seguro|no (?:lo |la |los |las )?(?:quiero|necesito))\b",
    r"\b(?:muy caro|m[aá]s barato|mucho dinero|no me alcanza|ya (?:me )?cubre|consultarlo|mi "
    r"esposa|mi esposo|p[eé]rdida de dinero|me negaron)",
    r"\b(?:solo|lo [uú]nico que|lo que) me importa\b|\bprefiero\b|\bI'?d rather\b",
    r"\b(?:ya )?(?:le|te) dije que no\b|\bI (?:already )?said no\b",
)
"""Told on the customer's non-question sentences only: "Is GAP required?" or "¿Y si no
quiero nada?" asks, it does not object."""
OBJECTION_EXEMPLARS = (
    "I'll think about it.",
    "That's too expensive for me.",
    "My insurance already covers that.",
    "I don't need any extras.",
    "Déjeme pensarlo.",
)
