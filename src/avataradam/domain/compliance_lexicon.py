"""The words and patterns `domain.compliance` reads rules, facts and replies with
(English and Spanish); the module docstring there says what each kind means."""

from __future__ import annotations

import re

DEONTIC = re.compile(
    r"\b(?:must\s+(?:not|never)|mustn['\u2019]t|shall\s+(?:not|never)|shan['\u2019]t|"
    r"should\s+(?:not|never)|shouldn['\u2019]t|ought\s+not|(?:not|never)\s+(?:be\s+)?"
    r"(?:allowed|permitted)\s+to|illegal\s+to|unlawful\s+to|no\s+debe(?:s|n|mos)?|"
    r"nunca\s+debe(?:s|n|mos)?|no\s+se\s+debe(?:n)?|no\s+se\s+permite|se\s+proh[ií]be|"
    r"(?:no\s+one|nobody|nadie)\s+(?:may|can|should|must|shall|is\s+allowed\s+to|"
    r"puede|debe))\b",
    re.IGNORECASE,
)
IMPERATIVE = re.compile(
    r"^\W*(?:please\s+|por\s+favor,?\s+)?(?:never|do\s+not|don['\u2019]t|nunca|jam[aá]s|"
    r"no\s+(?:(?:le|les|lo|la|los|las|se|te)\s+)?(?:dig|promet|ofrezc|cobr|incluy|"
    r"presion|mencion|afirm|acept|entregu|env[ií]|modifiqu|cambi|alter|vend|firm|ocult|"
    r"agregu|añad|infl|asegur|garantic|aument|sub)(?:as|es|a|e|an|en))\b",
    re.IGNORECASE,
)
STAFF_NEGATION = re.compile(
    r"\b(?:never|do\s+not|does\s+not|don['\u2019]t|doesn['\u2019]t|cannot|can['\u2019]t|"
    r"can\s+not|may\s+not|will\s+not|won['\u2019]t|nunca|jam[aá]s|no\s+\w+)\b",
    re.IGNORECASE,
)
STAFF = frozenset(
    (
        "you",
        "we",
        "staff",
        "employee",
        "employees",
        "salesperson",
        "salespeople",
        "manager",
        "managers",
        "representative",
        "representatives",
        "member",
        "members",
        "person",
        "people",
        "dealer",
        "dealers",
        "dealership",
        "one",
        "nobody",
        "anyone",
        "usted",
        "ustedes",
        "nosotros",
        "vendedor",
        "vendedores",
        "asesor",
        "asesores",
        "gerente",
        "gerentes",
        "personal",
        "concesionario",
        "empleado",
        "empleados",
        "nadie",
    )
)
MAX_SUBJECT_WORDS = 5
FORBIDDEN_AFTER = re.compile(
    r"\b(?:is|are|es|está|están|son|queda|quedan)?\s*(?:forbidden|prohibited|"
    r"not\s+allowed|not\s+permitted|prohibid[oa]s?|no\s+permitid[oa]s?)\b",
    re.IGNORECASE,
)
NOT = (
    r"\b(?:not|no|never|none|nor|cannot|nunca|jam[aá]s|ni|tampoco|nadie|nada)\b"
    r"|\w*n['\u2019]t\b"
)
FACT_NEGATION = re.compile(NOT, re.IGNORECASE)
"""Negations that make a sentence a fact (a rule's own words, such as "forbidden", or a
product being "optional", do not)."""
NEGATION = re.compile(
    NOT + r"|\b(?:forbidden|prohibited|prohibid[oa]s?|optional|opcional)\b", re.IGNORECASE
)
EXCEPTION = re.compile(
    r"[,;]?\s*\b(?:unless|except\s+(?:when|if)|salvo\s+que|excepto\s+(?:si|cuando)|"
    r"a\s+menos\s+que)\b",
    re.IGNORECASE,
)
"""Where a rule's exception starts ("… unless it is the buy rate"): not part of what it
forbids."""
QUOTED = re.compile(r"[\"“«][^\"“”«»]*[\"”»]")
REPORTING = re.compile(
    r"\b(?:forbids?|forbidding|prohibits?|prohibiting|prohibition|bans?|banned|avoid\w*|"
    r"violat\w*|illegal|unlawful|false|untrue|incorrect|mislead\w*|myths?|"
    r"proh[ií]be(?:n)?|prohibici[oó]n|evit\w*|viola\w*|ilegal|fals[oa]|incorrect[oa]|"
    r"engañ\w*|mito|mentira)\b|\b(?:against|contra)\s+(?:the|our|company|dealership|la|"
    r"nuestra|las|nuestras)?\s*(?:policy|policies|rules?|law|pol[ií]tica|normas?|ley)\b",
    re.IGNORECASE,
)
CLAUSE = re.compile(r"[,;:\u2013\u2014]|\s-\s|\b(?:but|pero|however|sino)\b", re.IGNORECASE)
WORD = re.compile(r"[^\W\d_]{3,}", re.UNICODE)
ANY_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
IGNORED = frozenset(
    (
        # verbs of saying (a rule forbids saying P; a reply asserts P)
        "tell",
        "tells",
        "say",
        "says",
        "state",
        "states",
        "claim",
        "claims",
        "quote",
        "quotes",
        "suggest",
        "imply",
        "promise",
        "mention",
        "decir",
        "digas",
        "diga",
        "afirmar",
        "prometer",
        # words nearly every sentence shares
        "the",
        "and",
        "that",
        "this",
        "these",
        "those",
        "with",
        "for",
        "from",
        "into",
        "onto",
        "any",
        "are",
        "was",
        "were",
        "been",
        "being",
        "have",
        "has",
        "had",
        "get",
        "gets",
        "got",
        "its",
        "their",
        "them",
        "they",
        "you",
        "your",
        "our",
        "ours",
        "his",
        "her",
        "who",
        "whom",
        "which",
        "what",
        "when",
        "where",
        "why",
        "how",
        "all",
        "each",
        "every",
        "can",
        "may",
        "might",
        "must",
        "should",
        "would",
        "could",
        "will",
        "shall",
        "than",
        "then",
        "also",
        "just",
        "only",
        "very",
        "such",
        "about",
        "does",
        "did",
        "puede",
        "pueden",
        "puedes",
        "está",
        "están",
        "son",
        "ser",
        "hay",
        "dealership",
        "que",
        "los",
        "las",
        "una",
        "uno",
        "unos",
        "unas",
        "del",
        "con",
        "por",
        "para",
        "como",
        "pero",
        "sus",
        "este",
        "esta",
        "estos",
        "estas",
        "ese",
        "esa",
        "cliente",
        "customer",
        "customers",
        "client",
    )
)
