"""The built-in customers' scripts in Spanish, for the extractive model (a generative
model writes its own lines from the persona and the prompt's language instruction).

Written as a Spanish-speaking customer in a US dealership would say them, not word for
word from the English script: "usted" to the F&I manager, everyday US Spanish for the
products ("el GAP", "el contrato de servicio", "el pago mensual").
"""

from __future__ import annotations

SPANISH_LINES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "price_focused": (
        (
            "Antes de empezar: ya peleé mucho este precio. No voy a agregar nada más.",
            "¿Cuánto me va a subir todo esto sobre lo que ya acordamos?",
        ),
        (
            "Es mucho dinero por algo que a lo mejor nunca uso.",
            "En internet vi un contrato de servicio por la mitad de eso.",
            "Si lo agrego, ¿me puede bajar algo del precio?",
            "¿Por qué tengo que pagarlo ahora y no más adelante?",
            "Dígame el total y ya. ¿Cuánto es al final?",
        ),
    ),
    "skeptical": (
        (
            "He leído que con estos extras es donde el concesionario gana su dinero. Convénzame.",
            "A ver si adivino: me va a vender algo que no necesito.",
        ),
        (
            "¿Qué es exactamente lo que no cubre? Enséñeme la letra pequeña.",
            "Mi vecino compró uno de esos y le rechazaron el reclamo.",
            "¿Quién paga el reclamo en realidad, ustedes o otra compañía?",
            "¿Lo puedo cancelar después y recuperar mi dinero?",
            "Eso suena a frase de vendedor. ¿Dónde está la trampa?",
        ),
    ),
    "time_pressured": (
        (
            "Tengo veinte minutos antes de ir a recoger a mis hijos. ¿Dónde firmo?",
            "¿Nos podemos saltar la presentación? Solo necesito los papeles.",
        ),
        (
            "Deme la versión corta, de verdad me tengo que ir.",
            "¿Puedo decidir eso después y firmar solo el préstamo ahora?",
            "No tengo tiempo de leer todo eso.",
            "¿Es obligatorio o no? Sí o no.",
            "Bueno, ¿qué es lo único que de verdad necesito?",
        ),
    ),
    "payment_focused": (
        (
            "Mi límite es el pago que hablamos. Ni un dólar más al mes.",
            "¿Y esto cuánto le hace a mi pago mensual?",
        ),
        (
            "¿Puede alargar el plazo para que el pago quede igual?",
            "¿Exactamente cuánto más sería al mes?",
            "Si pierdo el trabajo, ¿qué pasa con todo esto?",
            "Mi presupuesto está muy apretado. ¿De verdad vale la pena algo de esto?",
            "¿Qué quitaría primero para que no me suba el pago?",
        ),
    ),
    "already_covered": (
        (
            "Mi agente de seguros dice que tengo cobertura completa, así que no necesito "
            "nada de esto.",
            "El carro ya viene con garantía. ¿Para qué voy a comprar otra?",
        ),
        (
            "Si el carro queda pérdida total, mi seguro paga, ¿no?",
            "La garantía de fábrica es de tres años. Con eso me basta.",
            "¿No es lo mismo que ya me da mi tarjeta de crédito?",
            "Voy a llamar primero a mi agente y luego le aviso.",
            "¿Qué cubre esto que mi póliza no cubra?",
        ),
    ),
}
"""By scenario: (opening lines, script), the same beats as the English script."""
