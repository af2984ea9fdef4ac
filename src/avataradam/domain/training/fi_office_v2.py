"""The built-in F&I office rubric, `fi-office` v2: v1's criteria (`fi_office`) with the
compliance blockers of `fi_office_blockers_v2` (the wordings v1 missed, and `unless`
patterns for what only looks like a violation). Everything else is v1's, value for
value; v1 stays registered unchanged, so a scorecard of v1 re-reads and rescores as it
was (docs/rubrics.md).
"""

from __future__ import annotations

from avataradam.domain.training import FI_OFFICE_RUBRIC_ID
from avataradam.domain.training.fi_office import CLOSE, DISCOVERY, MENU, OBJECTIONS, VALUE
from avataradam.domain.training.fi_office_blockers import (
    OBJECTION_EXEMPLARS,
    OBJECTION_PATTERNS,
)
from avataradam.domain.training.fi_office_blockers_v2 import BLOCKERS_V2
from avataradam.domain.training.rubrics import Rubric

FI_OFFICE_V2 = Rubric(
    id=FI_OFFICE_RUBRIC_ID,
    version=2,
    title="F&I office: menu selling with compliance",
    description="Discovery, objection handling, value before price, menu presentation "
    "and a clear ask, with four compliance blockers (products optional and never tied "
    "to credit, no payment packing, no misrepresented coverage, no false urgency); v2 "
    "recognises more violating wordings than v1.",
    criteria=(DISCOVERY, OBJECTIONS, VALUE, MENU, CLOSE, *BLOCKERS_V2),
    objection_patterns=OBJECTION_PATTERNS,
    objection_exemplars=OBJECTION_EXEMPLARS,
)
