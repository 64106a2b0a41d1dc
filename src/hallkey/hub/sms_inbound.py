"""SMS access: the gateway's webhook `POST /hub/v1/sms/inbound` for a guest's text.

The gateway signs the raw body (HMAC-SHA256 with `HALLKEY_SMS_INBOUND_SECRET`, header
`X-Hallkey-Signature: sha256=<hex>`); the signature is checked before the body is read, and an
unsigned or wrongly signed request changes nothing (401). The hub then finds the sender's SMS
grants by the keyed hash of their number, picks the door by the text's keyword (or the only
door), pulses it as GrantPulseAccess does (audited), and answers the guest by SMS through the
deliver job. Neither the number nor the text is logged.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from hallkey.core.errors import AppError, InvalidInput, Unauthorized
from hallkey.core.schemas import ERROR_RESPONSES, RequestModel
from hallkey.core.throttle import Rate, Throttle
from hallkey.hub import pulse, service
from hallkey.hub import repository as repo
from hallkey.hub.context import HubContext
from hallkey.hub.credentials.sms import door_keyword, phone_digest, text_keyword
from hallkey.hub.domain import valid_at
from hallkey.hub.models import Client, Grant
from hallkey.hub.schemas import PulseIn, _e164

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Hallkey-Signature"
SENDER_RATE = Rate(limit=6, per_seconds=300)
"""Texts per sender number: a guest opens a door now and then; each text costs an answer."""
ADDRESS_RATE = Rate(limit=120, per_seconds=60)
"""Requests per source address (the gateway): bounds guessing the signature."""

Outcome = Literal["opened", "not_valid", "which_door", "failed", "unknown", "ignored"]


class SmsInboundIn(RequestModel):
    """A guest's text as the gateway forwards it."""

    sender: str = Field(alias="from", min_length=1, max_length=32)
    to: str = Field(min_length=1, max_length=32)
    text: str = Field(max_length=1600)


class SmsInboundOut(BaseModel):
    """What the hub did with a text."""

    outcome: Outcome


@dataclass
class SmsThrottles:
    """The rates of the webhook, kept per process."""

    senders: Throttle
    addresses: Throttle


def signature_valid(secret: str | None, body: bytes, header: str | None) -> bool:
    """Tells whether `header` is `sha256=<hex>` of HMAC-SHA256(secret, body) (in constant time)."""
    if not secret or not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.removeprefix("sha256=").encode())


def _parse(body: bytes) -> SmsInboundIn:
    try:
        return SmsInboundIn.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "body"
        # The message names the field only: the input may be a phone number.
        raise InvalidInput(f"{field} is missing or malformed", field=field) from None


def _answer(ctx: HubContext, session: Session, phone: str, template: str, locale: str) -> None:
    """Queues the answer to a text (sent by the deliver job, purged after retention)."""
    service.add_loose_delivery(
        ctx, session, to=phone, channel="sms", template=template, locale=locale
    )


def _choose(
    ctx: HubContext, session: Session, grants: list[Grant], text: str
) -> tuple[Grant, str] | Outcome:
    """Returns the grant and door the text opens, or why it opens none."""
    now = ctx.clock.now()
    candidates: list[tuple[Grant, str]] = []
    for grant in grants:
        if grant.state != "active" or not valid_at(repo.grant_windows(session, grant.id), now):
            continue
        candidates += [
            (grant, row.door_id)
            for row in repo.grant_doors(session, grant.id)
            if row.action == "program"
        ]
    if not candidates:
        return "not_valid"
    doors = repo.doors_by_id(session, {door_id for _, door_id in candidates})
    asked = text_keyword(text)
    named = [
        (grant, door_id)
        for grant, door_id in candidates
        if door_id in doors and door_keyword(doors[door_id][0].name) == asked
    ]
    if named:
        return named[0]
    if len({door_id for _, door_id in candidates}) == 1:
        return candidates[0]
    return "which_door"


def handle_text(ctx: HubContext, throttles: SmsThrottles, message: SmsInboundIn) -> Outcome:
    """Opens the door a guest's text asks for, if their grant is valid there now, and queues
    the answer; raises 429 for a sender over its rate (no answer then)."""
    try:
        phone = _e164(message.sender)
    except ValueError:
        log.info("inbound sms: the sender is not a phone number; ignored")
        return "ignored"
    digest = phone_digest(ctx, phone)
    throttles.senders.hit(digest, "too many texts from this number; try again later")
    plan: service.PulsePlan | None = None
    locale = "nb"
    with ctx.database.transaction() as session:
        grants = repo.grants_by_phone_digest(session, digest)
        if not grants:
            _answer(ctx, session, phone, "sms_unknown", locale)
            log.info("inbound sms: unknown number")
            return "unknown"
        locale = grants[-1].locale
        chosen = _choose(ctx, session, grants, message.text)
        if isinstance(chosen, tuple):
            grant, door_id = chosen
            locale = grant.locale
            client = session.get(Client, grant.client_id)
            try:
                if client is None:
                    raise InvalidInput("the grant has no client")
                asked = PulseIn(ref=grant.ref, door=door_id)
                plan = service.plan_pulse(ctx, session, client, asked)
                outcome: Outcome = "opened"
            except AppError as exc:
                log.info("inbound sms for ref %s not opened: %s", grant.ref, exc.code)
                outcome = "failed"
        else:
            outcome = chosen
            _answer(ctx, session, phone, f"sms_{outcome}", locale)
    if plan is not None:
        try:
            pulse.send_pulse(ctx, plan)
        except AppError as exc:
            log.info("inbound sms for ref %s: pulse failed: %s", plan.ref, exc.code)
            outcome = "failed"
    if isinstance(chosen, tuple):
        with ctx.database.transaction() as session:
            _answer(ctx, session, phone, f"sms_{outcome}", locale)
    log.info("inbound sms: %s", outcome)
    return outcome


def build_sms_router(ctx: HubContext) -> APIRouter:
    """Returns the router of the SMS gateway's webhook (public: signed, not keyed)."""
    throttles = SmsThrottles(
        senders=Throttle("hub_sms_senders", SENDER_RATE, ctx.clock),
        addresses=Throttle("hub_sms_addresses", ADDRESS_RATE, ctx.clock),
    )
    router = APIRouter(prefix="/hub/v1", tags=["hub"], responses=ERROR_RESPONSES)

    @router.post(
        "/sms/inbound",
        response_model=SmsInboundOut,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": SmsInboundIn.model_json_schema()}},
            },
            "parameters": [
                {
                    "name": SIGNATURE_HEADER,
                    "in": "header",
                    "required": True,
                    "schema": {"type": "string", "pattern": "^sha256=[0-9a-f]{64}$"},
                }
            ],
        },
    )
    async def sms_inbound(request: Request) -> SmsInboundOut:
        """Takes a guest's text from the SMS gateway (signed with the gateway's secret)."""
        client = request.client
        throttles.addresses.hit(client.host if client else "unknown")
        body = await request.body()
        secret = ctx.settings.sms_inbound_secret
        if not signature_valid(secret, body, request.headers.get(SIGNATURE_HEADER)):
            log.info("inbound sms refused: missing or wrong signature")
            raise Unauthorized("missing or wrong signature", field=SIGNATURE_HEADER)
        message = _parse(body)
        outcome = await run_in_threadpool(handle_text, ctx, throttles, message)
        return SmsInboundOut(outcome=outcome)

    return router
