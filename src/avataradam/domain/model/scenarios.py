"""Roleplay scenarios: a customer persona to practise on, the F&I product in play, what
the trainee should accomplish and the rubric the session is scored against.

Two kinds share one shape. **Built-in** scenarios are the library written with the
product (`domain/training/scenarios.py`): their public id is their slug
(`"price_focused"`), they belong to no dealership and are read-only. A dealership's
**own** scenarios are created by its admins: their public id is their UUID. A slug is
never shaped like a UUID, so one `scenario_id` string tells the two apart.
"""

from __future__ import annotations

import enum
import re
from datetime import datetime
from uuid import UUID

import msgspec

from avataradam.domain.personas import CustomerPersona


class Product(enum.StrEnum):
    """The F&I product a scenario practises (`menu`: the whole menu, no single one)."""

    VSC = "vsc"
    """Vehicle service contract (an "extended warranty")."""
    GAP = "gap"
    """Guaranteed asset protection: the loan balance above the insurer's payout on a total loss."""
    TIRE_WHEEL = "tire_wheel"
    APPEARANCE_PROTECTION = "appearance_protection"
    PREPAID_MAINTENANCE = "prepaid_maintenance"
    KEY_REPLACEMENT = "key_replacement"
    THEFT_PROTECTION = "theft_protection"
    MENU = "menu"


MIN_DIFFICULTY, MAX_DIFFICULTY = 1, 3
"""1: a cooperative customer with one objection; 3: several objections, hostile."""

MAX_TITLE_CHARS = 200
MAX_PERSONA_NAME_CHARS = 80
MAX_DESCRIPTION_CHARS = 1000
MAX_CONCERNS_CHARS = 500
MAX_TRAITS, MAX_TRAIT_CHARS = 12, 200
MAX_OPENING_LINES, MAX_SCRIPT_LINES, MAX_LINE_CHARS = 10, 30, 500
MAX_OBJECTIVES, MAX_OBJECTIVE_CHARS = 12, 300
"""Bounds of an own scenario's text, what a trainer writes and a prompt can carry: the
persona goes whole into every roleplay turn's system prompt."""

SLUG_PATTERN = r"^[a-z][a-z0-9_]{1,63}$"
"""Lowercase letters, digits and `_`, starting with a letter, 2 to 64 characters: never a
UUID's shape (a UUID's canonical form has `-`), so slugs and UUID ids cannot collide."""
_SLUG = re.compile(SLUG_PATTERN)


def is_slug(value: str) -> bool:
    return _SLUG.fullmatch(value) is not None


class Scenario(msgspec.Struct, frozen=True, kw_only=True):
    """One scenario, built-in (`dealership_id` None) or a dealership's own.

    `id` is the storage key: an own scenario's UUID, or for a built-in a UUID derived from
    its slug (`uuid5`), which orders and pages built-ins with own ones but is never shown:
    `public_id` is what the API answers and accepts. `persona.scenario` is the slug.
    `deleted_at`: an own scenario deleted by an admin is kept (conversations that
    practised it still need its persona) but is no longer listed, read or startable.
    """

    id: UUID
    dealership_id: UUID | None
    slug: str
    title: str
    product: Product
    difficulty: int
    persona: CustomerPersona
    objectives: tuple[str, ...]
    rubric_id: str
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None

    @property
    def built_in(self) -> bool:
        return self.dealership_id is None

    @property
    def public_id(self) -> str:
        """The `scenario_id` of the API: the slug of a built-in, the UUID of an own one."""
        return self.slug if self.built_in else str(self.id)
