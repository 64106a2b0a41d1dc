"""Setting a tenant up through the API: the operator's tenants and tokens (venues and
resources: `venue_setup`). Services only: the request owns the transaction.

Two identities may set a tenant up: the booking operator (an `hkbo_` key, any tenant, named by
slug) and a tenant's own token with the `setup` scope (its tenant only).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from hallkey.booking import domain, provisioning, scopes, tokens
from hallkey.booking import repository as repo
from hallkey.booking.models import ApiToken, Tenant, operator_keys_table
from hallkey.booking.setup_schemas import (
    IssuedTokenOut,
    TenantOut,
    TenantPut,
    TokenIn,
    TokenSummary,
)
from hallkey.core import operators
from hallkey.core.errors import BadRequest, Forbidden, NotFound
from hallkey.core.messaging.smtp import checked_sender
from hallkey.core.security import parse_api_key

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from hallkey.booking.context import BookingContext

OPERATOR_PREFIX = "hkbo"


def issue_operator_key(ctx: BookingContext, session: Session, *, name: str) -> tuple[str, str]:
    """Stores a new booking operator key; returns (its id, the key, shown only now)."""
    return operators.issue_operator_key(
        session, operator_keys_table, OPERATOR_PREFIX, name=name, now=ctx.clock.now()
    )


def revoke_operator_key(ctx: BookingContext, session: Session, *, key_id: str) -> None:
    """Deletes a booking operator key."""
    operators.revoke_operator_key(session, operator_keys_table, key_id)


def authenticate_operator(session: Session, token: str) -> str:
    """Returns the id of the booking operator key presented; raises Unauthorized."""
    return operators.authenticate_operator(session, operator_keys_table, OPERATOR_PREFIX, token)


def is_operator_key(token: str) -> bool:
    """Tells whether a presented key has the operator's form (not whether it is valid)."""
    return parse_api_key(token, OPERATOR_PREFIX) is not None


def verify_setup_key(session: Session, token: str) -> tokens.Principal | None:
    """Raises Unauthorized unless the key is a valid operator key or booking API token;
    returns the token's holder (None for the operator)."""
    if is_operator_key(token):
        authenticate_operator(session, token)
        return None
    return tokens.verify(session, token)


def setup_tenant(session: Session, token: str, tenant_slug: str | None) -> str:
    """Returns the tenant a set-up request acts for: the operator names it (`tenant`), a
    tenant's token with the `setup` scope is its own."""
    if is_operator_key(token):
        authenticate_operator(session, token)
        if tenant_slug is None:
            raise BadRequest("the operator names the tenant", field="tenant")
        return _tenant_by_slug(session, tenant_slug).id
    tenant_id = tokens.authenticate(session, token, scopes.SETUP)
    if tenant_slug is not None and _tenant_by_slug(session, tenant_slug).id != tenant_id:
        raise Forbidden("this token belongs to another tenant", field="tenant")
    return tenant_id


def _tenant_by_slug(session: Session, slug: str) -> Tenant:
    tenant = session.scalars(select(Tenant).where(Tenant.slug == slug)).first()
    if tenant is None:
        raise NotFound("unknown tenant", field="tenant")
    return tenant


# --- tenants and their tokens (operator) ------------------------------------------------


def tenant_view(session: Session, slug: str) -> TenantOut:
    """Returns a tenant with its host names and its integrations' live tokens (never their
    secrets)."""
    tenant = _tenant_by_slug(session, slug)
    # Integrations' tokens only: staff members' personal tokens are theirs to see and revoke.
    live = session.scalars(
        select(ApiToken)
        .where(
            ApiToken.tenant_id == tenant.id,
            ApiToken.revoked_at.is_(None),
            ApiToken.staff_user_id.is_(None),
        )
        .order_by(ApiToken.name, ApiToken.id)
    )
    return TenantOut(
        id=tenant.id,
        slug=tenant.slug,
        name=tenant.name,
        timezone=tenant.timezone,
        hub_url=tenant.hub_url,
        hostnames=sorted(repo.hostnames_of(session, tenant.id)),
        tokens=[TokenSummary(id=t.id, name=t.name, scopes=list(t.scopes)) for t in live],
        has_hub_webhook_secret=tenant.hub_webhook_secret_sealed is not None,
        email_from=tenant.email_from,
    )


def put_tenant(
    ctx: BookingContext, session: Session, slug: str, body: TenantPut
) -> tuple[TenantOut, bool]:
    """Creates the tenant of this slug or brings it to `body`; returns it and whether it is new."""
    tenant = session.scalars(select(Tenant).where(Tenant.slug == slug)).first()
    sender = checked_sender(body.email_from or "", field="email_from")
    if tenant is None:
        if body.hub_api_key is None:
            raise BadRequest("a new tenant needs its hub_api_key", field="hub_api_key")
        provisioning.create_tenant(
            ctx,
            session,
            name=body.name,
            slug=slug,
            hub_url=body.hub_url,
            hub_api_key=body.hub_api_key,
            timezone=body.timezone,
            hostnames=body.hostnames or (),
        )
        created = session.scalars(select(Tenant).where(Tenant.slug == slug)).one()
        if body.hub_webhook_secret is not None:
            created.hub_webhook_secret_sealed = ctx.box.seal(body.hub_webhook_secret)
        created.email_from = sender
        session.flush()
        return tenant_view(session, slug), True
    domain.zone(body.timezone)
    tenant.name = body.name
    tenant.timezone = body.timezone
    tenant.hub_url = body.hub_url.rstrip("/")
    if body.hub_api_key is not None:
        tenant.hub_api_key_sealed = ctx.box.seal(body.hub_api_key)
    if body.hub_webhook_secret is not None:
        tenant.hub_webhook_secret_sealed = ctx.box.seal(body.hub_webhook_secret)
    if body.email_from is not None:
        tenant.email_from = sender
    if body.hostnames is not None:
        provisioning.set_tenant_hostnames(
            ctx, session, tenant_id=tenant.id, hostnames=body.hostnames
        )
    session.flush()
    return tenant_view(session, slug), False


def issue_token(ctx: BookingContext, session: Session, slug: str, body: TokenIn) -> IssuedTokenOut:
    """Issues a tenant's API token with these scopes; the plaintext is in this answer only."""
    tenant = _tenant_by_slug(session, slug)
    plaintext = provisioning.issue_api_token(
        ctx, session, tenant_id=tenant.id, name=body.name, scopes=body.scopes
    )
    parsed = parse_api_key(plaintext, "hkb")
    assert parsed is not None
    token = session.scalars(select(ApiToken).where(ApiToken.key_id == parsed[0])).one()
    return IssuedTokenOut(id=token.id, name=token.name, scopes=list(token.scopes), token=plaintext)
