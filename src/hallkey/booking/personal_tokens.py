"""A staff member's personal API tokens: made, listed and revoked by their owner only.

A personal token acts as its maker: it holds at most what their role allows when it is made,
and at each use only what the role still allows (`scopes.effective`); it stops working while
its maker is disabled.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from hallkey.booking import scopes
from hallkey.booking.models import ApiToken
from hallkey.booking.staff_schemas import (
    IssuedPersonalTokenOut,
    PersonalTokenIn,
    PersonalTokenOut,
)
from hallkey.core.errors import Forbidden, InvalidInput, NotFound
from hallkey.core.ids import new_id
from hallkey.core.security import issue_api_key

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from hallkey.booking.context import BookingContext
    from hallkey.booking.tokens import Principal


def _out(token: ApiToken) -> PersonalTokenOut:
    return PersonalTokenOut(
        id=token.id, name=token.name, scopes=list(token.scopes), created_at=token.created_at
    )


def _owner(principal: Principal) -> str:
    if principal.staff_id is None or principal.role is None:
        raise Forbidden("only a staff member has personal tokens", code="staff_only")
    return principal.staff_id


def issue(
    ctx: BookingContext, session: Session, principal: Principal, body: PersonalTokenIn
) -> IssuedPersonalTokenOut:
    """Makes a personal token of the signed-in staff member; the plaintext is shown once."""
    owner = _owner(principal)
    if not principal.signed_in:
        # A token cannot breed tokens: whoever steals one must not make it outlive revocation.
        raise Forbidden("sign in to make a personal token", code="sign_in_required")
    try:
        wanted = scopes.validate(body.scopes)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="scopes") from None
    assert principal.role is not None
    if not scopes.within(wanted, principal.role):
        raise Forbidden(
            f"a {principal.role} may not hold every one of these scopes",
            code="insufficient_scope",
            field="scopes",
        )
    issued = issue_api_key("hkb")
    token = ApiToken(
        id=new_id("tok"),
        tenant_id=principal.tenant_id,
        name=body.name,
        key_id=issued.key_id,
        secret_hash=issued.secret_hash,
        scopes=wanted,
        created_at=ctx.clock.now(),
        staff_user_id=owner,
    )
    session.add(token)
    session.flush()
    return IssuedPersonalTokenOut(**_out(token).model_dump(), token=issued.plaintext)


def list_own(session: Session, principal: Principal) -> list[PersonalTokenOut]:
    """Returns the caller's live personal tokens, newest first."""
    owner = _owner(principal)
    found = session.scalars(
        select(ApiToken)
        .where(ApiToken.staff_user_id == owner, ApiToken.revoked_at.is_(None))
        .order_by(ApiToken.created_at.desc(), ApiToken.id)
    )
    return [_out(token) for token in found]


def revoke_own(ctx: BookingContext, session: Session, principal: Principal, token_id: str) -> None:
    """Revokes one of the caller's personal tokens; another's (or a revoked one) is a 404."""
    owner = _owner(principal)
    token = session.get(ApiToken, token_id)
    if token is None or token.staff_user_id != owner or token.revoked_at is not None:
        raise NotFound("unknown token", field="token_id")
    token.revoked_at = ctx.clock.now()
