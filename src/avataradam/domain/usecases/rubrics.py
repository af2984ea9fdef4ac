"""Rubrics: the built-ins plus a dealership's own, read by everyone of the dealership,
written by its admins (built-ins are read-only: RubricReadOnly).

An own rubric is created at version 1 (`CreateRubric`) and changed only by publishing
its next version (`PublishRubricVersion`), a new row: versions are immutable, so every
scorecard keeps reading the version it was scored with. There is no deletion: a
version may be frozen on scorecards, and one nobody used yet costs nothing to keep.
What an admin may write is `domain/training/authoring.py`'s (no regular expressions).
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

from avataradam.domain.access import Principal, dealership_scope, require_role
from avataradam.domain.errors import ConcurrentUpdate, NotFound, RubricIdTaken, RubricReadOnly
from avataradam.domain.model import Role
from avataradam.domain.model.rubrics import RubricBody, StoredRubric
from avataradam.domain.ports.repositories.uow import UnitOfWork, UnitOfWorkFactory
from avataradam.domain.ports.system import Clock
from avataradam.domain.training.authoring import RubricDraft, check_rubric_id, compose
from avataradam.domain.training.builtin import BUILT_IN_RUBRICS
from avataradam.domain.training.rubrics import Rubric, UnknownRubric
from avataradam.domain.usecases.rubric_catalog import RubricCatalog


class RubricEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One version of a rubric as the API shows it. `draft`, `created_at`: an own
    rubric's (None for a built-in)."""

    rubric: Rubric
    versions: tuple[int, ...]
    built_in: bool
    draft: RubricDraft | None = None
    created_at: datetime | None = None


def _own_entry(stored: StoredRubric, versions: tuple[int, ...]) -> RubricEntry:
    return RubricEntry(
        rubric=stored.body.rubric,
        versions=versions,
        built_in=False,
        draft=stored.body.draft,
        created_at=stored.created_at,
    )


def _reach(principal: Principal, dealership_id: UUID | None) -> UUID | None:
    """Whose own rubrics `principal` reads: a super admin without `dealership_id`
    reads the built-ins only (None)."""
    if principal.is_super_admin and dealership_id is None:
        return None
    return dealership_scope(principal, dealership_id)


class ListRubrics:
    def __init__(self, uow: UnitOfWorkFactory, catalog: RubricCatalog) -> None:
        self._uow, self._catalog = uow, catalog

    async def __call__(
        self, principal: Principal, *, dealership_id: UUID | None = None
    ) -> list[RubricEntry]:
        """The latest version of every built-in (by id), then of the dealership's own
        (by id)."""
        registry = self._catalog.built_in
        entries = [
            RubricEntry(
                rubric=registry.latest(i), versions=tuple(registry.versions(i)), built_in=True
            )
            for i in registry.ids()
        ]
        scope = _reach(principal, dealership_id)
        if scope is None:
            return entries
        async with self._uow(read_only=True) as uow:
            own = await uow.rubrics.list_latest(dealership_id=scope)
        return entries + [_own_entry(o.latest, o.versions) for o in own]


class GetRubric:
    def __init__(self, uow: UnitOfWorkFactory, catalog: RubricCatalog) -> None:
        self._uow, self._catalog = uow, catalog

    async def __call__(
        self,
        principal: Principal,
        rubric_id: str,
        *,
        version: int | None = None,
        dealership_id: UUID | None = None,
    ) -> RubricEntry:
        """`version` (None: the latest) of a built-in or of the dealership's own
        rubric; NotFound for an unknown id or version, or another dealership's."""
        registry = self._catalog.built_in
        if self._catalog.is_built_in(rubric_id):
            try:
                found = (
                    registry.latest(rubric_id)
                    if version is None
                    else registry.get(rubric_id, version)
                )
            except UnknownRubric:
                raise NotFound("rubric not found") from None
            return RubricEntry(
                rubric=found, versions=tuple(registry.versions(rubric_id)), built_in=True
            )
        scope = _reach(principal, dealership_id)
        if scope is None:
            raise NotFound("rubric not found")
        async with self._uow(read_only=True) as uow:
            stored = await uow.rubrics.get(
                dealership_id=scope, rubric_id=rubric_id, version=version
            )
            versions = await uow.rubrics.versions(dealership_id=scope, rubric_id=rubric_id)
        if stored is None:
            raise NotFound("rubric not found")
        return _own_entry(stored, tuple(versions))


class _Writer:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, catalog: RubricCatalog) -> None:
        self._uow, self._clock, self._catalog = uow, clock, catalog

    async def _store(
        self,
        uow: UnitOfWork,
        principal: Principal,
        scope: UUID,
        rubric: Rubric,
        draft: RubricDraft,
        earlier: list[int],
    ) -> RubricEntry | None:
        """Stores and commits `rubric`; None when its version was taken meanwhile."""
        stored = StoredRubric(
            dealership_id=scope,
            rubric_id=rubric.id,
            version=rubric.version,
            body=RubricBody(draft=draft, rubric=rubric),
            created_at=self._clock.now(),
            created_by=principal.user_id,
        )
        if not await uow.rubrics.add(stored):
            return None
        await uow.commit()
        return _own_entry(stored, (*earlier, rubric.version))


class CreateRubric(_Writer):
    async def __call__(
        self,
        principal: Principal,
        rubric_id: str,
        draft: RubricDraft,
        *,
        dealership_id: UUID | None = None,
    ) -> RubricEntry:
        """Version 1 of a new own rubric `rubric_id`. PermissionDenied below dealership
        admin; InvalidInput for a draft that breaks a rule (`compose`); RubricIdTaken
        when a built-in or another own rubric of the dealership has the id."""
        require_role(principal, Role.SUPER_ADMIN, Role.DEALERSHIP_ADMIN)
        scope = dealership_scope(principal, dealership_id)
        check_rubric_id(rubric_id)
        if self._catalog.is_built_in(rubric_id):
            raise RubricIdTaken("a built-in rubric has this id", field="id")
        rubric = compose(draft, rubric_id=rubric_id, version=1, built_in=self._catalog.built_in)
        async with self._uow() as uow:
            if await uow.dealerships.get(scope) is None:
                raise NotFound("dealership not found")
            if await uow.rubrics.versions(dealership_id=scope, rubric_id=rubric_id):
                raise RubricIdTaken("the dealership already has a rubric with this id", field="id")
            entry = await self._store(uow, principal, scope, rubric, draft, [])
        if entry is None:
            raise RubricIdTaken("the dealership already has a rubric with this id", field="id")
        return entry


class PublishRubricVersion(_Writer):
    async def __call__(
        self,
        principal: Principal,
        rubric_id: str,
        draft: RubricDraft,
        *,
        dealership_id: UUID | None = None,
    ) -> RubricEntry:
        """The next version of the dealership's own rubric, `draft` whole (nothing is
        kept from the previous version). Sessions completed from now on are scored with
        it; those completed before keep theirs. RubricReadOnly for a built-in; NotFound
        for an unknown id or another dealership's; ConcurrentUpdate when another
        publication took the same version number at the same moment."""
        require_role(principal, Role.SUPER_ADMIN, Role.DEALERSHIP_ADMIN)
        if self._catalog.is_built_in(rubric_id):
            raise RubricReadOnly(
                "built-in rubrics are read-only; create an own rubric instead",
                rubric_id=rubric_id,
            )
        scope = dealership_scope(principal, dealership_id)
        async with self._uow() as uow:
            versions = await uow.rubrics.versions(dealership_id=scope, rubric_id=rubric_id)
            if not versions:
                raise NotFound("rubric not found")
            rubric = compose(
                draft,
                rubric_id=rubric_id,
                version=versions[-1] + 1,
                built_in=self._catalog.built_in,
            )
            entry = await self._store(uow, principal, scope, rubric, draft, versions)
        if entry is None:
            raise ConcurrentUpdate("another version was published at the same moment; repeat")
        return entry


class RubricUseCases:
    """The rubric use cases, wired together (the container holds this one object)."""

    def __init__(
        self, uow: UnitOfWorkFactory, clock: Clock, catalog: RubricCatalog | None = None
    ) -> None:
        """`catalog`: the built-in rubrics of the product (`BUILT_IN_RUBRICS`) unless
        given (tests add versions)."""
        catalog = catalog or RubricCatalog(BUILT_IN_RUBRICS)
        self.catalog = catalog
        self.list = ListRubrics(uow, catalog)
        self.get = GetRubric(uow, catalog)
        self.create = CreateRubric(uow, clock, catalog)
        self.publish = PublishRubricVersion(uow, clock, catalog)
