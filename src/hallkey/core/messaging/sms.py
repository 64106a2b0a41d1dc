"""SMS through an HTTP gateway: the generic JSON gateway, and Twilio's own API.

Twilio is the provider built in because it is the most widely used SMS API, reachable from
Norway and everywhere else with one account, documented openly, and spoken by many other
gateways' compatibility layers. Its Messages API has no idempotency key: a retry after a
crash between Twilio's "201" and the delivery being recorded sent can send the text twice.
The hub narrows that window (the job's lease is renewed while a send runs, a send times out
well within a lease) but cannot close it; the generic gateway gets the delivery id as its
`Idempotency-Key` and closes it if it honours that header.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

from hallkey.core.messaging.base import OutgoingMessage, SendError
from hallkey.core.messaging.segments import MAX_SEGMENTS, sms_length

TWILIO_API = "https://api.twilio.com"


def _check(message: OutgoingMessage) -> None:
    """Refuses what no gateway should get: an email, or a text over the contract's length."""
    if message.channel != "sms":
        raise SendError("an SMS sender sends SMS only", retryable=False, reason="channel")
    if sms_length(message.body).segments > MAX_SEGMENTS:
        raise SendError("text longer than two segments", retryable=False, reason="too_long")


def _post(client: httpx.Client, url: str, **kwargs: Any) -> httpx.Response:
    """POSTs, turning network failures into a retryable SendError."""
    try:
        return client.post(url, **kwargs)
    except httpx.TimeoutException:
        raise SendError("SMS gateway timed out", retryable=True, reason="timeout") from None
    except httpx.HTTPError as exc:
        raise SendError(
            f"SMS gateway unreachable: {type(exc).__name__}",
            retryable=True,
            reason="gateway_unreachable",
        ) from None


def _retryable(status: int) -> bool:
    # 401/403: the operator's credentials, mended without touching the message.
    return status in (401, 403, 408, 409, 425, 429) or status >= 500


class _HttpSmsSender:
    """Sends each text with one POST; subclasses say what to post and how to read a refusal."""

    url: str
    client: httpx.Client

    def _request(self, message: OutgoingMessage) -> dict[str, Any]:
        raise NotImplementedError

    def _refusal(self, response: httpx.Response) -> SendError:
        raise NotImplementedError

    def send(self, message: OutgoingMessage) -> None:
        """POSTs the text to the provider, or raises SendError."""
        _check(message)
        response = _post(self.client, self.url, **self._request(message))
        if not response.is_success:
            raise self._refusal(response)

    def purge_older_than(self, cutoff: datetime) -> int:
        """Keeps no copies: nothing to delete."""
        return 0


class JsonGatewaySender(_HttpSmsSender):
    """The generic JSON gateway: `POST {url}` with `{"to", "from", "text"}`.

    Authenticated with `Authorization: Bearer <token>`; the delivery id goes as the
    `Idempotency-Key` header. Any 2xx is success; 429, 5xx and network failures are retried;
    another 4xx refuses the message for good (`gateway_<status>`).
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        sender: str,
        timeout: float = 10.0,
        client: httpx.Client | None = None,
    ) -> None:
        self.url = url
        self.token = token
        self.sender = sender
        self.client = client or httpx.Client(timeout=timeout)

    def _request(self, message: OutgoingMessage) -> dict[str, Any]:
        return {
            "json": {"to": message.to, "from": self.sender, "text": message.body},
            "headers": {
                "Authorization": f"Bearer {self.token}",
                "Idempotency-Key": message.delivery_id,
            },
        }

    def _refusal(self, response: httpx.Response) -> SendError:
        return SendError(
            f"SMS gateway answered {response.status_code}",
            retryable=_retryable(response.status_code),
            reason=f"gateway_{response.status_code}",
        )


class TwilioSender(_HttpSmsSender):
    """Twilio's Messages API: `POST /2010-04-01/Accounts/{sid}/Messages.json`.

    A form with `To`, `From` and `Body`, authenticated with HTTP Basic (account SID and auth
    token). Twilio's refusal (a 400 with its numeric error `code`, e.g. 21211 for an invalid
    number) fails the message for good as `twilio_<code>`; 401, 429, 5xx and network failures
    are retried. Twilio's own `message` is never kept: it quotes the phone number.
    """

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        sender: str,
        base_url: str = TWILIO_API,
        timeout: float = 10.0,
        client: httpx.Client | None = None,
    ) -> None:
        self.url = f"{base_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self.auth = httpx.BasicAuth(account_sid, auth_token)
        self.sender = sender
        self.client = client or httpx.Client(timeout=timeout)

    def _request(self, message: OutgoingMessage) -> dict[str, Any]:
        return {
            "data": {"To": message.to, "From": self.sender, "Body": message.body},
            "auth": self.auth,
        }

    def _refusal(self, response: httpx.Response) -> SendError:
        code: object = None
        try:
            body = response.json()
            code = body.get("code") if isinstance(body, dict) else None
        except ValueError:
            pass
        status = response.status_code
        reason = f"twilio_{code}" if isinstance(code, int) else f"twilio_http_{status}"
        return SendError(f"Twilio answered {status}", retryable=_retryable(status), reason=reason)
