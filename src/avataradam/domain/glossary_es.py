"""Spanish F&I terms and their English equivalents, for the keyword search of a Spanish
question over English documents.

Dense and sparse vectors of multilingual-e5-small carry a Spanish question across to
English passages, but they lean towards passages in the question's own language: a
dealership with one Spanish GAP policy sees it ranked first for every Spanish
question. Full-text search cannot cross languages at all. So a question's F&I terms
(products, finance, compliance: the vocabulary of a bilingual F&I office) are rendered
in English and searched as a keyword query of their own, fused with the other rankings
(`domain.fusion`). Only terms of the trade are listed, not everyday words: the English
rendering is searched with every term required, as any keyword query.

Sources: the English names are the industry's (CFPB, FTC and state-AG usage: "vehicle
service contract", "GAP waiver", "dealer reserve", "adverse action notice"); the
Spanish ones are those of Spanish-language F&I menus, lender and regulator material
(CFPB's Spanish consumer pages: "contrato de servicio", "aviso de acción adversa",
"aviso de privacidad", "capital negativo").
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

TERMS: Final[dict[str, str]] = {
    # Products on the menu.
    "contrato de servicio": "service contract",
    "contratos de servicio": "service contract",
    "garantia extendida": "extended warranty",
    "proteccion de llantas y rines": "tire wheel",
    "llantas y rines": "tire wheel",
    "llanta": "tire",
    "llantas": "tire",
    "rines": "wheel",
    "proteccion de llaves": "key replacement",
    "reemplazo de llaves": "key replacement",
    "reemplazo de llave": "key replacement",
    "llave inteligente": "smart key",
    "mantenimiento prepagado": "prepaid maintenance",
    "cambio de aceite": "oil change",
    "cambios de aceite": "oil change",
    "proteccion de pintura": "paint protection",
    "proteccion de apariencia": "appearance protection",
    "proteccion contra robo": "theft protection",
    "grabado de ventanas": "etch",
    "seguro de vida de credito": "credit life",
    "seguro de credito": "credit insurance",
    # Finance.
    "tasa de compra": "buy rate",
    "reserva del concesionario": "dealer reserve",
    "reserva del distribuidor": "dealer reserve",
    "margen de la tasa": "rate markup",
    "capital negativo": "negative equity",
    "patrimonio negativo": "negative equity",
    "pago inicial": "down payment",
    "cuota inicial": "down payment",
    "enganche": "down payment",
    "pago mensual": "monthly payment",
    "empaquetar pagos": "payment packing",
    "empaque de pagos": "payment packing",
    "monto financiado": "amount financed",
    "cargo financiero": "finance charge",
    "tasa de porcentaje anual": "annual percentage rate",
    "perdida total": "total loss",
    "deducible": "deductible",
    "deducibles": "deductible",
    "reembolso": "refund",
    "reembolsos": "refund",
    "prorrateado": "prorated",
    "efectivo": "cash",
    "formulario 8300": "form 8300",
    # Compliance.
    "aviso de accion adversa": "adverse action notice",
    "carta de rechazo": "adverse action",
    "rechazo de credito": "adverse action",
    "aviso de privacidad": "privacy notice",
    "robo de identidad": "identity theft",
    "senales de alerta": "red flags",
    "banderas rojas": "red flags",
    "veracidad en los prestamos": "truth in lending",
    "divulgacion": "disclosure",
    "divulgaciones": "disclosure",
    "igualdad de oportunidades de credito": "equal credit opportunity",
    "venta condicionada": "tied sale",
}
"""Spanish term (accents and case folded) → its English equivalent."""

_PATTERN: Final = re.compile(
    r"\b(" + "|".join(re.escape(t) for t in sorted(TERMS, key=len, reverse=True)) + r")\b"
)


def _folded(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def english_terms(question: str) -> str | None:
    """The English equivalents of the F&I terms `question` holds, in order, each once,
    as one keyword query (`"service contract deductible"`); None when it holds none.
    Longest terms win ("protección de llaves" before "llave")."""
    found: list[str] = []
    for match in _PATTERN.finditer(_folded(question)):
        english = TERMS[match.group(1)]
        if english not in found:
            found.append(english)
    return " ".join(found) or None
