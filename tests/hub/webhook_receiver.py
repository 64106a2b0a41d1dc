"""A webhook receiver on loopback: verifies each message with `standardwebhooks` and records
it; it can be told to fail the next tries with a status."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request, Response
from standardwebhooks import Webhook, WebhookVerificationError


@dataclass
class Receiver:
    """What the receiver took (verified messages) and was tried with."""

    secret: str = ""
    fail_with: list[int] = field(default_factory=list)
    tries: list[str] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)
    taken: list[dict[str, Any]] = field(default_factory=list)
    unverified: int = 0
    # Called (in the server's thread) after a message is taken, before it is answered.
    on_take: Callable[[], None] | None = None

    def app(self) -> FastAPI:
        """Returns the receiving app (`POST /hook`)."""
        app = FastAPI()

        @app.post("/hook")
        async def hook(request: Request) -> Response:
            body = await request.body()
            self.tries.append(request.headers.get("webhook-id", ""))
            self.hosts.append(request.headers.get("host", ""))
            if self.fail_with:
                return Response(status_code=self.fail_with.pop(0))
            try:
                message = Webhook(self.secret).verify(body, dict(request.headers))
            except WebhookVerificationError:
                self.unverified += 1
                return Response(status_code=401)
            self.taken.append({"id": request.headers["webhook-id"], **message})
            if self.on_take is not None:
                self.on_take()
            return Response(status_code=204)

        return app
