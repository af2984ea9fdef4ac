"""Who is acting, and which dealership an action is confined to."""

from __future__ import annotations

from uuid import UUID

import msgspec

from avataradam.domain.errors import InvalidInput, NotFound, PermissionDenied
from avataradam.domain.model import Role


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    user_id: UUID
    role: Role
    dealership_id: UUID | None

    @property
    def is_super_admin(self) -> bool:
        return self.role is Role.SUPER_ADMIN


def require_role(principal: Principal, *roles: Role) -> None:
    if principal.role not in roles:
        raise PermissionDenied("this action needs the role " + " or ".join(r.value for r in roles))


def dealership_scope(principal: Principal, requested: UUID | None) -> UUID:
    """The dealership an action applies to.

    A super admin names it; everyone else acts on their own, and naming another one
    answers NotFound, exactly as an object of another dealership would.
    """
    if principal.is_super_admin:
        if requested is None:
            raise InvalidInput("a super admin must pass dealership_id", field="dealership_id")
        return requested
    if principal.dealership_id is None:
        raise PermissionDenied("this account belongs to no dealership")
    if requested is not None and requested != principal.dealership_id:
        raise NotFound("dealership not found")
    return principal.dealership_id


def visible_dealership(principal: Principal, owner: UUID | None) -> bool:
    """Whether an object owned by `owner` may be seen at all by `principal`."""
    return principal.is_super_admin or (owner is not None and owner == principal.dealership_id)


def administered_dealership(principal: Principal, dealership_id: UUID) -> UUID:
    """`dealership_id`, when `principal` administers it: a super admin any dealership, a
    dealership admin their own (another one is NotFound, as in `dealership_scope`);
    any other role is PermissionDenied."""
    require_role(principal, Role.SUPER_ADMIN, Role.DEALERSHIP_ADMIN)
    return dealership_scope(principal, dealership_id)
