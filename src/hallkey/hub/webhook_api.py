"""The webhook endpoints: a client's own (`/hub/v1/webhook`, its API key) and the operator's
(a client's webhook, the dead letters and their replay, under `/hub/v1/operator/…`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, Security
from sqlalchemy.orm import Session

from hallkey.core.errors import NotFound
from hallkey.core.schemas import ERROR_RESPONSES
from hallkey.hub import webhooks
from hallkey.hub.client_auth import client_key, request_client
from hallkey.hub.context import HubContext
from hallkey.hub.models import Client
from hallkey.hub.operator_api import operator_router
from hallkey.hub.webhook_schemas import (
    DeadLetterOut,
    NewWebhookOut,
    OperatorWebhookIn,
    WebhookIn,
    WebhookOut,
)


def build_client_router(ctx: HubContext) -> APIRouter:
    """Returns `/hub/v1/webhook`: a client sets, reads and removes its own webhook."""
    key = client_key(ctx.database)
    router = APIRouter(
        prefix="/hub/v1", tags=["hub"], responses=ERROR_RESPONSES, dependencies=[Security(key)]
    )

    @router.put("/webhook", response_model=NewWebhookOut)
    def put_webhook(body: WebhookIn, request: Request) -> NewWebhookOut:
        """Sets where door events and grant states are posted; the secret (made by the hub
        when none is given) is shown only in this answer."""
        with ctx.database.transaction() as session:
            client = request_client(session, request, key)
            return webhooks.set_webhook(ctx, session, client, url=body.url, secret=body.secret)

    @router.get("/webhook", response_model=WebhookOut)
    def get_webhook(request: Request) -> WebhookOut:
        """Returns the webhook's URL and state (never its secret)."""
        with ctx.database.read() as session:
            return webhooks.webhook_view(session, request_client(session, request, key))

    @router.delete("/webhook", status_code=204)
    def delete_webhook(request: Request) -> Response:
        """Removes the webhook: door events are forwarded as before, undelivered messages
        become dead letters."""
        with ctx.database.transaction() as session:
            webhooks.clear_webhook(ctx, session, request_client(session, request, key))
        return Response(status_code=204)

    return router


def build_operator_router(ctx: HubContext) -> APIRouter:
    """Returns the operator's webhook endpoints."""
    router = operator_router(ctx)

    def client_of(session: Session, client_id: str) -> Client:
        client = session.get(Client, client_id, with_for_update=True)
        if client is None:
            raise NotFound("unknown client", field="client_id")
        return client

    @router.put("/clients/{client_id}/webhook", response_model=NewWebhookOut)
    def put_webhook(client_id: str, body: OperatorWebhookIn) -> NewWebhookOut:
        """Sets a client's webhook; `allow_private` lets it point at an inside address."""
        with ctx.database.transaction() as session:
            return webhooks.set_webhook(
                ctx,
                session,
                client_of(session, client_id),
                url=body.url,
                secret=body.secret,
                allow_private=body.allow_private,
            )

    @router.get("/clients/{client_id}/webhook", response_model=WebhookOut)
    def get_webhook(client_id: str) -> WebhookOut:
        """Returns a client's webhook and its pending and dead message counts."""
        with ctx.database.transaction() as session:
            return webhooks.webhook_view(session, client_of(session, client_id))

    @router.delete("/clients/{client_id}/webhook", status_code=204)
    def delete_webhook(client_id: str) -> Response:
        """Removes a client's webhook."""
        with ctx.database.transaction() as session:
            webhooks.clear_webhook(ctx, session, client_of(session, client_id))
        return Response(status_code=204)

    @router.get("/webhooks/dead-letters", response_model=list[DeadLetterOut])
    def dead_letters(limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[DeadLetterOut]:
        """Lists the webhook messages that exhausted their retries, oldest first."""
        with ctx.database.read() as session:
            return webhooks.dead_letters(session, limit=limit)

    @router.post("/webhooks/dead-letters/{message_id}/replay", response_model=DeadLetterOut)
    def replay(message_id: str) -> DeadLetterOut:
        """Sends a dead letter again, on a fresh retry schedule."""
        with ctx.database.transaction() as session:
            return webhooks.replay(ctx, session, message_id)

    return router
