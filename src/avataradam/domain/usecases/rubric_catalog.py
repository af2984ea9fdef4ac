"""Where a rubric `(id, version)` is found: the built-ins, then the dealership's own.

Built-in rubrics (`domain/training/builtin.py`) are the same for every dealership and
live in code; a dealership's own are rows of `RubricRepository`. An own rubric's id is
never a built-in's (`CreateRubric` refuses it), so an id names one rubric in a
dealership. A version, once stored, never changes: a scorecard's frozen `(id, version)`
reads the same rubric forever, and `latest` is the highest version at the moment of
asking.
"""

from __future__ import annotations

from uuid import UUID

from avataradam.domain.ports.repositories.rubrics import RubricRepository
from avataradam.domain.training.rubrics import Rubric, RubricRegistry, UnknownRubric


class RubricCatalog:
    """Resolves rubrics for one dealership at a time. `built_in` is read live: a
    version registered on it later is found (tests register a second one)."""

    def __init__(self, built_in: RubricRegistry) -> None:
        self.built_in = built_in

    def is_built_in(self, rubric_id: str) -> bool:
        return rubric_id in self.built_in.ids()

    async def get(
        self, store: RubricRepository, dealership_id: UUID, rubric_id: str, version: int
    ) -> Rubric:
        """`rubric_id` at `version`; UnknownRubric when neither a built-in nor one of
        the dealership's own has it."""
        if self.is_built_in(rubric_id):
            return self.built_in.get(rubric_id, version)
        found = await store.get(dealership_id=dealership_id, rubric_id=rubric_id, version=version)
        if found is None:
            raise UnknownRubric(f"{rubric_id} v{version}")
        return found.body.rubric

    async def latest(self, store: RubricRepository, dealership_id: UUID, rubric_id: str) -> Rubric:
        """The highest version of `rubric_id` now; UnknownRubric when there is none."""
        if self.is_built_in(rubric_id):
            return self.built_in.latest(rubric_id)
        found = await store.get(dealership_id=dealership_id, rubric_id=rubric_id, version=None)
        if found is None:
            raise UnknownRubric(rubric_id)
        return found.body.rubric

    async def exists(self, store: RubricRepository, dealership_id: UUID, rubric_id: str) -> bool:
        """Whether the dealership may name `rubric_id` (e.g. in a scenario)."""
        if self.is_built_in(rubric_id):
            return True
        return bool(await store.versions(dealership_id=dealership_id, rubric_id=rubric_id))
