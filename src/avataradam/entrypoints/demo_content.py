"""What `avataradam demo` seeds: the demo dealership's people, its knowledge base (the
Markdown files of `avataradam/demo_kb/<topic>/`, shipped with the package) and the
trainees' side of a few roleplay sessions with built-in scenarios.

The sessions are written for the customers' scripted lines (the extractive chat model
says a persona's opening line, then its script, mixed with customer lines of the
dealership's objection documents once they are ready); a generative model answers in
its own words, which the trainee's next turn may then not address exactly. One session
fails a compliance blocker on purpose (false urgency), so that a manager's first look
at team progress shows what a blocker does to a score.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable

import msgspec

from avataradam.domain.model import Role, Topic

DEALERSHIP_NAME = "Demo Motors"
"""How a second run finds the dealership it seeded (by exact name)."""


class DemoAccount(msgspec.Struct, frozen=True, kw_only=True):
    email: str
    role: Role
    first_name: str
    last_name: str

    @property
    def label(self) -> str:
        return {
            Role.SUPER_ADMIN: "super admin",
            Role.DEALERSHIP_ADMIN: "dealership admin",
            Role.USER: "trainee",
        }[self.role]


MANAGER = DemoAccount(
    email="dana.reyes@demo-motors.example",
    role=Role.DEALERSHIP_ADMIN,
    first_name="Dana",
    last_name="Reyes",
)
TRAINEES = (
    DemoAccount(
        email="casey.brooks@demo-motors.example",
        role=Role.USER,
        first_name="Casey",
        last_name="Brooks",
    ),
    DemoAccount(
        email="luis.ortega@demo-motors.example",
        role=Role.USER,
        first_name="Luis",
        last_name="Ortega",
    ),
)
SUPER_ADMIN = DemoAccount(
    email="superadmin@demo-motors.example",
    role=Role.SUPER_ADMIN,
    first_name="Avery",
    last_name="Platform",
)
"""Created only when the database has no super admin at all."""


class DemoSession(msgspec.Struct, frozen=True, kw_only=True):
    trainee: str
    """The trainee's email (one of TRAINEES)."""
    scenario: str
    """A built-in scenario's slug (`domain/training/library.py`)."""
    turns: tuple[str, ...]
    """What the trainee says, one message each; the customer answers every one."""


SESSIONS = (
    DemoSession(
        trainee="casey.brooks@demo-motors.example",
        scenario="tire_wheel_think_about_it",
        turns=(
            "Hi Taylor, congratulations on the new car! I'm Casey and I'll take care of your "
            "paperwork today. Before we start, how long do you plan to keep this one, and "
            "roughly how many miles a year do you drive, mostly city streets or highway?",
            "That's completely fair, it's a real decision and I'd want to think it over too. "
            "Can I ask what part you'd want to think about, is it the monthly cost or whether "
            "you'd actually use it?",
            "Of course, you can take it with you. Those 20-inch low-profile tires look great, "
            "but one pothole on a city route can bend a wheel, and a wheel and tire for this "
            "car run about $900 to replace. Tire and wheel protection repairs or replaces a "
            "tire or wheel damaged by road hazards like potholes, nails and glass, including "
            "mounting and balancing, with no deductible.",
            "I hear you, and I hope it stays that way. Here's everything on one sheet. Your "
            "base payment, with no products, is $512 a month. Tire and wheel for five years "
            "puts you at $526, and tire and wheel with the service contract is $569. Every "
            "product is optional; you can choose any of them or none. Which option works best "
            "for you?",
        ),
    ),
    DemoSession(
        trainee="luis.ortega@demo-motors.example",
        scenario="payment_focused",
        turns=(
            "Hi Jordan, I'm Luis, I'll finish up your paperwork. What monthly payment were "
            "you hoping to stay under?",
            "Okay. The service contract covers major repairs like the transmission and the "
            "air conditioning after the factory warranty ends, and GAP covers what you'd "
            "still owe if the car is totaled.",
            "Your payment for the car alone, with no products, is $486 a month. GAP takes it "
            "to $501, and the service contract with GAP is $544.",
            "We could go to 84 months, which lowers the payment, but you'd pay more interest "
            "in total. Do you want to add the service contract and GAP today?",
        ),
    ),
    DemoSession(
        trainee="luis.ortega@demo-motors.example",
        scenario="time_pressured",
        turns=(
            "Hi Alex, thanks for waiting, I'm Luis. I just need a few signatures and a quick "
            "look at your protection options.",
            "I understand, I'll keep it short. The one I'd recommend is the service contract: "
            "it pays for covered breakdowns after your factory warranty ends, and it's "
            "$2,495, about $43 a month.",
            "Sure. Just so you know, this price is only good today. Once you drive off the "
            "lot you can never add it again.",
            "Then let's add it and get you out the door. Can I put the service contract on "
            "your contract?",
        ),
    ),
)


class DemoDocument(msgspec.Struct, frozen=True, kw_only=True):
    topic: Topic
    filename: str
    content: bytes


def knowledge_base(root: Traversable | None = None) -> list[DemoDocument]:
    """Every `<topic>/<name>.md` under `root` (default: the package's `demo_kb`), by
    topic then name. Raises ValueError for a folder that names no topic."""
    root = root if root is not None else files("avataradam") / "demo_kb"
    documents: list[DemoDocument] = []
    for folder in sorted(root.iterdir(), key=lambda entry: entry.name):
        if not folder.is_dir():
            continue
        try:
            topic = Topic(folder.name)
        except ValueError:
            raise ValueError(f"demo_kb/{folder.name} is not a topic") from None
        documents.extend(
            DemoDocument(topic=topic, filename=entry.name, content=entry.read_bytes())
            for entry in sorted(folder.iterdir(), key=lambda entry: entry.name)
            if entry.name.endswith(".md")
        )
    return documents
