"""The built-in rubrics, by (id, version): `BUILT_IN_RUBRICS.latest("fi-office")`."""

from __future__ import annotations

from avataradam.domain.training.fi_office import FI_OFFICE_V1
from avataradam.domain.training.rubrics import RubricRegistry

BUILT_IN_RUBRICS = RubricRegistry((FI_OFFICE_V1,))
