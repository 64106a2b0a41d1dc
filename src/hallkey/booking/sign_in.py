"""Customers sign in with a one-time link sent to their e-mail: no password to forget.

Asking for a link (`request_link`) always does the same work and answers the same way,
whether or not the address belongs to a customer: it only queues the `send_sign_in_link` job,
with the address and a fresh token sealed in its payload. The job looks the customer up; for
a known one it stores the link (the token's SHA-256 only, 15 minutes, single use) and emails
it through the booking's sender, with the link's id as the delivery id, so a retried job sends
the same link once, in the language the link was asked for in (the page's; through the API,
the customer's latest booking's), bokmål by default. Redeeming the link (`redeem`) marks
it used and opens a session whose token, too, is stored only as its hash. The link points at
the tenant's own host name (or the installation's base URL), never at the host a request
named: a forged Host header cannot send a customer's token elsewhere.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from sqlalchemy.orm import Session

from hallkey.booking import office_repository as office_repo
from hallkey.booking import repository as repo
from hallkey.booking import sign_in_texts
from hallkey.booking.models import Customer, CustomerSignIn
from hallkey.core.errors import Unauthorized
from hallkey.core.ids import new_id
from hallkey.core.jobs import GiveUp, RetryLater
from hallkey.core.messaging import OutgoingMessage, SendError
from hallkey.core.security import hash_secret

if TYPE_CHECKING:
    from hallkey.booking.context import BookingContext

log = logging.getLogger(__name__)

SEND_SIGN_IN_LINK = "send_sign_in_link"
LINK_MINUTES = 15
SESSION_DAYS = 14
LINK = "link"
SESSION = "session"
COOKIE = "hallkey_customer"


def _token() -> str:
    return secrets.token_urlsafe(32)  # 256 bits


def request_link(
    ctx: BookingContext, session: Session, tenant_id: str, email: str, lang: str | None = None
) -> None:
    """Queues the sign-in e-mail for `email` in the tenant (sent only if it is a customer's),
    in `lang` (`nb`, `en`; None: the language of the customer's latest booking)."""
    payload = {
        "tenant_id": tenant_id,
        "link_id": new_id("lnk"),
        "email_sealed": ctx.box.seal(email),
        "token_sealed": ctx.box.seal(_token()),
    }
    if lang in sign_in_texts.LOCALES:
        payload["lang"] = str(lang)
    ctx.jobs.enqueue(session, SEND_SIGN_IN_LINK, payload)


@dataclass(frozen=True)
class _Letter:
    """What one sign-in e-mail needs (holds an address and a token: never log)."""

    to: str
    url: str
    token: str
    locale: str


def _link_url(ctx: BookingContext, session: Session, tenant_id: str, token: str) -> str:
    hostnames = sorted(repo.hostnames_of(session, tenant_id))
    base = f"https://{hostnames[0]}" if hostnames else ctx.settings.base_url.rstrip("/")
    return f"{base}/login?token={quote(token)}"


def _prepare(ctx: BookingContext, payload: dict[str, Any]) -> _Letter | None:
    tenant_id = str(payload["tenant_id"])
    link_id = str(payload["link_id"])
    token = ctx.box.open(str(payload["token_sealed"]))
    email = ctx.box.open(str(payload["email_sealed"]))
    now = ctx.clock.now()
    with ctx.database.transaction() as session:
        office_repo.delete_expired_sign_ins(session, now)
        link = session.get(CustomerSignIn, link_id)
        customer_id = link.customer_id if link is not None else None
        if link is None:
            customer = repo.customer_by_email(session, tenant_id, email)
            if customer is None or customer.erased_at is not None:
                return None  # not a customer: nothing is sent, and the asker is not told
            customer_id = customer.id
            session.add(
                CustomerSignIn(
                    id=link_id,
                    tenant_id=tenant_id,
                    customer_id=customer.id,
                    kind=LINK,
                    token_hash=hash_secret(token),
                    expires_at=now + timedelta(minutes=LINK_MINUTES),
                    created_at=now,
                )
            )
        locale = payload.get("lang")
        if locale not in sign_in_texts.LOCALES and customer_id is not None:
            locale = office_repo.latest_locale(session, customer_id)
        url = _link_url(ctx, session, tenant_id, token)
        return _Letter(to=email, url=url, token=token, locale=str(locale or "nb"))


def run_send_link(ctx: BookingContext, job_id: str, payload: dict[str, Any]) -> None:
    """Stores and e-mails a customer's sign-in link (the `send_sign_in_link` job)."""
    letter = _prepare(ctx, payload)
    if letter is None:
        return
    text = sign_in_texts.render(letter.locale, letter.url, letter.token, LINK_MINUTES)
    message = OutgoingMessage(
        delivery_id=str(payload["link_id"]),
        channel="email",
        to=letter.to,
        subject=text.subject,
        body=text.text,
    )
    try:
        ctx.sender.send(message)
    except SendError as exc:
        if exc.retryable:
            raise RetryLater(f"sign-in link not sent: {exc}") from None
        raise GiveUp(f"sign-in link not sent: {exc}") from None
    log.info("sign-in link %s sent (job %s)", payload["link_id"], job_id)


def redeem(ctx: BookingContext, session: Session, token: str) -> tuple[str, CustomerSignIn]:
    """Returns a new session (its token, shown only now, and its record) for a valid unused
    link, which is then used up; raises Unauthorized (`invalid_link`) otherwise, alike for an
    unknown, used or expired link."""
    now = ctx.clock.now()
    link = office_repo.sign_in_by_hash(session, hash_secret(token), LINK, lock=True)
    if link is None or link.used_at is not None or link.expires_at <= now:
        raise Unauthorized(
            "the sign-in link is not valid (used, expired or unknown)", code="invalid_link"
        )
    customer = repo.customer(session, link.customer_id)
    if customer is None or customer.erased_at is not None:
        raise Unauthorized(
            "the sign-in link is not valid (used, expired or unknown)", code="invalid_link"
        )
    link.used_at = now
    session_token = _token()
    record = CustomerSignIn(
        id=new_id("css"),
        tenant_id=link.tenant_id,
        customer_id=link.customer_id,
        kind=SESSION,
        token_hash=hash_secret(session_token),
        expires_at=now + timedelta(days=SESSION_DAYS),
        created_at=now,
    )
    session.add(record)
    session.flush()
    log.info("customer %s signed in (session %s)", link.customer_id, record.id)
    return session_token, record


def signed_in(
    ctx: BookingContext, session: Session, token: str | None
) -> tuple[Customer, CustomerSignIn]:
    """Returns the customer whose session the cookie holds; raises Unauthorized otherwise."""
    record = None
    if token and len(token) <= 128:
        record = office_repo.sign_in_by_hash(session, hash_secret(token), SESSION)
    if record is not None and record.expires_at > ctx.clock.now():
        customer = repo.customer(session, record.customer_id)
        if customer is not None and customer.erased_at is None:
            return customer, record
    raise Unauthorized("sign in first", code="not_signed_in")


def sign_out(session: Session, record: CustomerSignIn) -> None:
    """Ends a customer's session."""
    session.delete(record)
