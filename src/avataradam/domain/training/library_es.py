"""Spanish scripts of the library's scenarios written for it (the first five customers'
are in `domain/personas_es.py`), for the extractive model.

As there: written as a Spanish-speaking customer in a US dealership would say them,
"usted" to the F&I manager, everyday US Spanish for the products ("el GAP", "el
contrato de servicio", "el pago mensual"), the same beats as the English script.
"""

from __future__ import annotations

LIBRARY_SPANISH_LINES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "gap_negative_equity": (
        (
            "Ya sé que estoy pasando mi préstamo viejo a este. Terminemos de una vez.",
            "¿Para qué necesito el GAP? Si choco el carro, mi seguro paga.",
        ),
        (
            "¿Cuánto debo en realidad comparado con lo que vale el carro?",
            "Mi seguro paga lo que vale el carro. ¿No es suficiente?",
            "O sea, si el carro queda pérdida total el año que viene, ¿todavía debo dinero "
            "por un carro que ya no tengo?",
            "¿El GAP es obligatorio para que me aprueben el préstamo?",
            "¿No me sale más barato el GAP con mi compañía de seguros?",
        ),
    ),
    "tire_wheel_think_about_it": (
        (
            "Todo suena bien. Lo voy a pensar y le llamo.",
            "¿Me puedo llevar el folleto a la casa?",
        ),
        (
            "En mi vida se me ha ponchado una llanta.",
            "¿Y cuánto cuesta cambiar uno de estos rines, de todos modos?",
            "La verdad, no me gusta decidir las cosas en el momento.",
            "¿Lo puedo agregar después si cambio de opinión?",
            "¿Cubre también los rines o solo las llantas?",
        ),
    ),
    "appearance_spouse_not_present": (
        (
            "Mi pareja es quien maneja el presupuesto. No puedo decir que sí a nada sin hablarlo.",
            "Tenemos dos niños y un perro. Este carro no va a quedar limpio, pero eso es "
            "problema nuestro.",
        ),
        (
            "Mi pareja me va a preguntar por qué pagar por algo que hace un lavado de carros.",
            "¿Cubre los asientos si los niños derraman jugo?",
            "¿Me puede escribir lo que cubre para enseñárselo esta noche?",
            "¿Y si vendemos el carro en tres años?",
            "¿Puedo llamarle desde aquí?",
        ),
    ),
    "prepaid_maintenance_cash_buyer": (
        (
            "Voy a pagar de contado, así que no hay préstamo al que agregarle nada.",
            "Ya tengo el cheque listo. ¿Qué más hay que firmar?",
        ),
        (
            "Yo siempre le cambio el aceite yo mismo. ¿Para qué lo voy a pagar por adelantado?",
            "¿Qué pasa con el plan si me mudo a otro estado?",
            "¿El precio queda fijo o puede subir después?",
            "¿Sale más barato que pagar cada servicio por separado?",
            "¿Me hace un descuento si lo pago de contado hoy?",
        ),
    ),
    "key_replacement_price": (
        (
            "¿Un plan para la llave? En la ferretería me copian una llave por veinte dólares.",
            "Tengo las mismas llaves hace diez años y nunca he perdido una.",
        ),
        (
            "¿Cuánto puede costar una llave, en serio?",
            "¿Por qué la tienen que programar en el concesionario?",
            "Mi hijo adolescente va a manejar este carro a veces.",
            "Es demasiado por una llave. ¿Me puede mejorar el precio?",
            "¿Cubre el control si deja de funcionar, o solo si lo pierdo?",
        ),
    ),
    "theft_protection_insurance_covers": (
        (
            "Tengo cobertura amplia. Si me roban el carro, mi seguro paga.",
            "¿Grabar los vidrios? Eso no va a detener a nadie.",
        ),
        (
            "¿Qué paga esto que mi seguro no pague?",
            "Mi deducible es de mil dólares. ¿Esto me ayuda con eso?",
            "¿El banco me obliga a comprar esto?",
            "¿De verdad detiene a los ladrones o es solo una calcomanía?",
            "Si me roban el carro, ¿qué tan rápido me pagan?",
        ),
    ),
    "vsc_bad_claim_experience": (
        (
            "Compré uno de estos con mi carro anterior. Cuando se dañó la transmisión, me "
            "rechazaron el reclamo.",
            "Ni me hable de la garantía extendida. Ya me quemé una vez.",
        ),
        (
            "Me dijeron que no podía comprobar los cambios de aceite. ¡Los hice yo mismo!",
            "¿Quién decide si una reparación está cubierta, ustedes o la compañía?",
            "¿Qué es lo que no cubre? Dígamelo sin rodeos.",
            "Si me rechazan el reclamo, ¿usted me va a defender?",
            "Si lo cancelo en un mes, ¿me devuelven todo mi dinero?",
        ),
    ),
}
"""By slug: (opening lines, script), the same beats as the English script."""
