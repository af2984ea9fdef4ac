"""The built-in rubrics, by (id, version): `BUILT_IN_RUBRICS.latest("fi-office")` is v3;
v1 and v2 stay registered so their scorecards re-read (and rescore) against the rubric
they were scored with."""

from __future__ import annotations

from avataradam.domain.training.fi_office import FI_OFFICE_V1
from avataradam.domain.training.fi_office_v2 import FI_OFFICE_V2
from avataradam.domain.training.fi_office_v3 import FI_OFFICE_V3
from avataradam.domain.training.rubrics import RubricRegistry

BUILT_IN_RUBRICS = RubricRegistry((FI_OFFICE_V1, FI_OFFICE_V2, FI_OFFICE_V3))
