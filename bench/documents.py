"""Synthetic but realistic inputs: F&I training text, questions, and a 5 MB PDF.

The PDF is written by hand (no PDF library needed): text pages in Helvetica plus one
embedded photo-like image of incompressible bytes, which is what makes real 5 MB
training PDFs big. A fixed-width nonce comment in the header gives every copy a
different sha256 (uploads of identical files answer 409) without moving any offset.
"""

from __future__ import annotations

import random

PRODUCTS = [
    "GAP insurance",
    "vehicle service contract",
    "tire and wheel protection",
    "prepaid maintenance",
    "key replacement",
    "paint and fabric protection",
    "credit life insurance",
    "theft deterrent etching",
]
OBJECTIONS = [
    "the payment is too high",
    "I need to talk to my spouse",
    "my credit union offers it cheaper",
    "I never buy extended warranties",
    "I am in a hurry",
    "the car is new so nothing will break",
    "I already have full coverage",
    "I do not trust dealership add-ons",
]
MOVES = [
    "acknowledge the concern before answering it",
    "compare the monthly cost with the loss it covers",
    "present every product on one menu with three options",
    "ask which payment the customer is comfortable with",
    "tell a short story about a customer who needed the coverage",
    "disclose the full price and the cancellation terms",
    "confirm understanding and ask for the decision",
    "stay silent after presenting the price",
]


def sentence(rng: random.Random) -> str:
    product, objection, move = rng.choice(PRODUCTS), rng.choice(OBJECTIONS), rng.choice(MOVES)
    forms = [
        f"When a customer says {objection} about {product}, {move}.",
        f"A good F&I manager will {move} whenever {product} comes up.",
        f"For {product}, the usual objection is that {objection}; {move}.",
        f"Compliance requires that you {move} for {product} on every deal.",
        f"Trainees practise {product} until they can {move} without notes.",
    ]
    return rng.choice(forms)


def paragraphs(count: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(sentence(rng) for _ in range(rng.randint(4, 9))) for _ in range(count)]


def questions(count: int, seed: int = 11) -> list[str]:
    """`count` distinct questions a trainee might ask."""
    rng = random.Random(seed)
    seen: set[str] = set()
    out: list[str] = []
    forms = [
        "How do I handle '{o}' when presenting {p}?",
        "What should I say about {p} if the customer says {o}?",
        "Best way to {m} for {p}?",
        "Is it compliant to {m} when selling {p}?",
        "Customer objection: {o}. How to answer for {p}?",
    ]
    while len(out) < count:
        text = rng.choice(forms).format(
            o=rng.choice(OBJECTIONS), p=rng.choice(PRODUCTS), m=rng.choice(MOVES)
        )
        text += f" (case {len(out)})" if text in seen else ""
        if text not in seen:
            seen.add(text)
            out.append(text)
    return out


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


NONCE_DIGITS = 12


def make_pdf(*, pages: int, target_bytes: int, seed: int = 3) -> bytes:
    """A valid PDF of about `target_bytes`: `pages` pages of text plus one image."""
    rng = random.Random(seed)
    objects: list[bytes] = []
    page_ids = [5 + 2 * i for i in range(pages)]

    def obj(body: bytes) -> None:
        objects.append(body)

    obj(b"<< /Type /Catalog /Pages 2 0 R >>")
    kids = b" ".join(f"{pid} 0 R".encode() for pid in page_ids)
    obj(b"<< /Type /Pages /Kids [" + kids + b"] /Count " + str(pages).encode() + b" >>")
    obj(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    # Object 4: the image, sized so the whole file reaches target_bytes.
    text_budget = pages * 4200 + 2000
    side = max(8, int(((target_bytes - text_budget) / 3) ** 0.5))
    pixels = rng.randbytes(side * side * 3)
    obj(
        f"<< /Type /XObject /Subtype /Image /Width {side} /Height {side} /ColorSpace "
        f"/DeviceRGB /BitsPerComponent 8 /Length {len(pixels)} >>\nstream\n".encode()
        + pixels
        + b"\nendstream"
    )
    for index in range(pages):
        lines = []
        words: list[str] = []
        for para in paragraphs(3, seed=seed * 1000 + index):
            for word in para.split():
                words.append(word)
                if sum(len(w) + 1 for w in words) > 88:
                    lines.append(" ".join(words))
                    words = []
            if words:
                lines.append(" ".join(words))
                words = []
            lines.append("")
        ops = ["BT /F1 10 Tf 12 TL 50 780 Td"]
        ops += [f"({_escape(line)}) '" for line in lines[:60]]
        ops.append("ET")
        if index == 0:
            ops.append("q 200 0 0 200 200 100 cm /Im1 Do Q")
        content = "\n".join(ops).encode("latin-1")
        obj(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font "
            b"<< /F1 3 0 R >> /XObject << /Im1 4 0 R >> >> /Contents "
            + f"{page_ids[index] + 1} 0 R >>".encode()
        )
        obj(f"<< /Length {len(content)} >>\nstream\n".encode() + content + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n%" + b"0" * NONCE_DIGITS + b"\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return bytes(out)


def with_nonce(pdf: bytes, nonce: int) -> bytes:
    """The same PDF with a different header comment, hence a different sha256."""
    start = len(b"%PDF-1.4\n%")
    return pdf[:start] + f"{nonce:0{NONCE_DIGITS}d}".encode() + pdf[start + NONCE_DIGITS :]
