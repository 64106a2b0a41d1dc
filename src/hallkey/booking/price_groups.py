"""Price groups: the tenant's groups of customers priced alike (private, organisation, youth,
business). Prices refer to a group by its `key`, which never changes; a group may require every
booking of its customers to be approved by a case officer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from hallkey.booking import office_repository as office_repo
from hallkey.booking.models import PriceGroup
from hallkey.booking.office_schemas import PriceGroupIn, PriceGroupOut, PriceGroupPatch
from hallkey.core.errors import Conflict, InvalidInput, NotFound
from hallkey.core.ids import new_id

if TYPE_CHECKING:
    from hallkey.booking.context import BookingContext


def group_out(group: PriceGroup) -> PriceGroupOut:
    """Returns the API view of a price group."""
    return PriceGroupOut(
        id=group.id, key=group.key, name=group.name, requires_approval=group.requires_approval
    )


def list_groups(session: Session, tenant_id: str) -> list[PriceGroupOut]:
    """Returns the tenant's price groups by key."""
    return [group_out(group) for group in office_repo.price_groups(session, tenant_id)]


def create_group(
    ctx: BookingContext, session: Session, tenant_id: str, body: PriceGroupIn
) -> PriceGroupOut:
    """Returns a new price group; its key is unique in the tenant (409 otherwise)."""
    if office_repo.price_group(session, tenant_id, body.key) is not None:
        raise Conflict("a price group with this key exists", code="price_group_exists", field="key")
    now = ctx.clock.now()
    group = PriceGroup(
        id=new_id("prg"),
        tenant_id=tenant_id,
        key=body.key,
        name=body.name,
        requires_approval=body.requires_approval,
        created_at=now,
        updated_at=now,
    )
    session.add(group)
    session.flush()
    return group_out(group)


def update_group(
    ctx: BookingContext, session: Session, tenant_id: str, key: str, body: PriceGroupPatch
) -> PriceGroupOut:
    """Returns the price group with its name or approval rule changed (its key stays)."""
    group = office_repo.price_group(session, tenant_id, key)
    if group is None:
        raise NotFound("unknown price group", field="key")
    if body.name is not None:
        group.name = body.name
    if body.requires_approval is not None:
        group.requires_approval = body.requires_approval
    group.updated_at = ctx.clock.now()
    session.flush()
    return group_out(group)


def check_group(session: Session, tenant_id: str, key: str | None, field: str) -> None:
    """Raises InvalidInput (naming `field`) unless `key` is None or one of the tenant's groups."""
    if key is not None and office_repo.price_group(session, tenant_id, key) is None:
        raise InvalidInput("unknown price group", field=field)
