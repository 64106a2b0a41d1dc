"""One contract for every message sender (outbox, SMTP with STARTTLS and with TLS, the generic
SMS gateway, Twilio), each against a real server on loopback speaking its protocol."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hallkey.core.clock import ManualClock
from hallkey.core.messaging import (
    ChannelSender,
    JsonGatewaySender,
    MessageSender,
    OutboxFolderSender,
    OutgoingMessage,
    SendError,
    SmtpSender,
    TwilioSender,
    senders_from_settings,
)
from hallkey.core.messaging.smtp import parse_smtp_url
from hallkey.core.settings import Settings
from tests.messaging_servers import (
    GATEWAY_TOKEN,
    REFUSED_EMAIL,
    REFUSED_NUMBER,
    TWILIO_SID,
    TWILIO_TOKEN,
    Received,
    sms_server,
    smtp_server,
)
from tests.servers import free_port

NOW = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)
PHONE = "+4791234567"
EMAIL = "guest@example.org"
TEXT = "Koden din til Hovedinngang på Sentrum kulturhus er 482915#. Gyldig 1. desember."
SENDER = "Fjellby kommune <booking@fjellby.example>"


@dataclass
class Provider:
    """A sender, what its server received, and how to make one that cannot reach it."""

    name: str
    sender: MessageSender
    channel: str
    to: str
    refused: str
    received: Callable[[], list[Received]]
    unreachable: Callable[[], MessageSender]


def _outbox(tmp_path: Path) -> Provider:
    clock = ManualClock(NOW)
    folder = tmp_path / "outbox"

    def received() -> list[Received]:
        files = sorted(folder.glob("*.txt")) if folder.exists() else []
        return [Received(to=PHONE, text=p.read_text(), key=p.name) for p in files]

    def unreachable() -> MessageSender:
        blocked = tmp_path / "blocked"
        blocked.write_text("a file where the folder should be")
        return OutboxFolderSender(blocked / "outbox", clock)

    return Provider(
        "outbox", OutboxFolderSender(folder, clock), "sms", PHONE, "bad id", received, unreachable
    )


@pytest.fixture(params=["outbox", "smtp_starttls", "smtps", "generic", "twilio"])
def provider(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Provider]:
    """Each sender against its server."""
    kind = str(request.param)
    clock = ManualClock(NOW)
    closed = free_port()
    if kind == "outbox":
        yield _outbox(tmp_path)
    elif kind in ("smtp_starttls", "smtps"):
        with smtp_server(tmp_path, implicit_tls=kind == "smtps") as server:
            context = server.client_context()
            yield Provider(
                kind,
                SmtpSender(server.url, default_sender=SENDER, clock=clock, tls_context=context),
                "email",
                EMAIL,
                REFUSED_EMAIL,
                server.received,
                lambda: SmtpSender(
                    server.url.replace(str(server.port), str(closed)),
                    default_sender=SENDER,
                    clock=clock,
                    timeout=2,
                ),
            )
    elif kind == "generic":
        with sms_server("generic") as server:
            yield Provider(
                kind,
                JsonGatewaySender(f"{server.base_url}/sms", GATEWAY_TOKEN, sender="Fjellby"),
                "sms",
                PHONE,
                REFUSED_NUMBER,
                server.received,
                lambda: JsonGatewaySender(
                    f"http://127.0.0.1:{closed}/sms", GATEWAY_TOKEN, sender="Fjellby", timeout=2
                ),
            )
    else:
        with sms_server("twilio") as server:
            yield Provider(
                kind,
                TwilioSender(
                    TWILIO_SID, TWILIO_TOKEN, sender="+4759440000", base_url=server.base_url
                ),
                "sms",
                PHONE,
                REFUSED_NUMBER,
                server.received,
                lambda: TwilioSender(
                    TWILIO_SID,
                    TWILIO_TOKEN,
                    sender="+4759440000",
                    base_url=f"http://127.0.0.1:{closed}",
                    timeout=2,
                ),
            )


def _message(p: Provider, delivery_id: str = "dlv_1", to: str | None = None) -> OutgoingMessage:
    return OutgoingMessage(
        delivery_id=delivery_id,
        channel=p.channel,
        to=to or p.to,
        subject="Din kode" if p.channel == "email" else None,
        body=TEXT,
        html="<p>Koden din er <b>482915#</b></p>" if p.channel == "email" else None,
    )


def test_sender__sends_the_text_to_its_recipient(provider: Provider) -> None:
    provider.sender.send(_message(provider))
    (received,) = provider.received()
    assert TEXT in received.text
    if provider.name != "outbox":
        assert received.to == provider.to


def test_sender__refused_for_good__not_retryable_and_names_no_address(provider: Provider) -> None:
    refused = provider.refused
    message = _message(provider, to=refused)
    if provider.name == "outbox":
        message = _message(provider, delivery_id=refused)
    with pytest.raises(SendError) as caught:
        provider.sender.send(message)
    assert caught.value.retryable is False
    assert re.fullmatch(r"[a-z0-9_]{3,64}", caught.value.reason)
    for shown in (caught.value.reason, str(caught.value)):
        assert refused not in shown and "482915" not in shown
    assert provider.received() == []


def test_sender__server_unreachable__retryable(provider: Provider) -> None:
    with pytest.raises(SendError) as caught:
        provider.unreachable().send(_message(provider))
    assert caught.value.retryable is True


def test_sender__same_delivery_twice__one_message_or_one_key(
    provider: Provider, request: pytest.FixtureRequest
) -> None:
    if provider.name == "twilio":
        request.applymarker(
            pytest.mark.xfail(
                strict=True, reason="Twilio's API has no idempotency key (README: residual risk)"
            )
        )
    provider.sender.send(_message(provider))
    provider.sender.send(_message(provider))
    received = provider.received()
    # One message, or two the recipient's side can tell are one (SMTP: the same Message-ID).
    keys = {r.key for r in received}
    assert len(received) == 1 or (len(keys) == 1 and None not in keys)


def test_sender__purge__returns_a_count(provider: Provider) -> None:
    provider.sender.send(_message(provider))
    assert provider.sender.purge_older_than(NOW + timedelta(days=1)) >= 0


# --- what only one sender does -----------------------------------------------------------


def test_smtp__email_has_both_parts_and_the_contract_headers(tmp_path: Path) -> None:
    clock = ManualClock(NOW)
    with smtp_server(tmp_path) as server:
        sender = SmtpSender(
            server.url,
            default_sender="x@y.example",
            clock=clock,
            tls_context=server.client_context(),
        )
        sender.send(
            OutgoingMessage(
                "dlv_abc", "email", EMAIL, "Din kode", "Koden er 482915#\n",
                html="<p>Koden er <b>482915#</b></p>", sender=SENDER,
            )
        )  # fmt: skip
        (received,) = server.received()
    email = received.email
    assert email is not None
    assert email["Message-ID"] == "<dlv_abc@fjellby.example>"
    assert email["Auto-Submitted"] == "auto-generated"
    assert email["From"] == SENDER
    assert email["Subject"] == "Din kode"
    assert email["Date"].datetime == NOW
    assert received.sender == "booking@fjellby.example"
    html = email.get_body(("html",))
    assert html is not None and "<b>482915#</b>" in html.get_content()
    assert "482915#" in received.text


def test_smtp__wrong_password__retryable_login_failure(tmp_path: Path) -> None:
    with smtp_server(tmp_path) as server:
        url = server.url.replace("s3cret-smtp", "wrong")
        sender = SmtpSender(
            url, default_sender=SENDER, clock=ManualClock(NOW), tls_context=server.client_context()
        )
        with pytest.raises(SendError) as caught:
            sender.send(OutgoingMessage("dlv_1", "email", EMAIL, "S", "B"))
        assert server.received() == []
    assert caught.value.retryable is True
    assert caught.value.reason == "smtp_auth_535"
    assert "wrong" not in str(caught.value)


def test_smtp__untrusted_certificate__not_sent(tmp_path: Path) -> None:
    with smtp_server(tmp_path) as server:
        sender = SmtpSender(server.url, default_sender=SENDER, clock=ManualClock(NOW))
        with pytest.raises(SendError) as caught:
            sender.send(OutgoingMessage("dlv_1", "email", EMAIL, "S", "B"))
        assert server.received() == []
    assert caught.value.reason == "smtp_tls"


def test_twilio__wrong_token__retryable_with_twilios_code() -> None:
    with sms_server("twilio") as server:
        sender = TwilioSender(TWILIO_SID, "wrong", sender="+4759440000", base_url=server.base_url)
        with pytest.raises(SendError) as caught:
            sender.send(OutgoingMessage("dlv_1", "sms", PHONE, None, "Hei"))
    assert (caught.value.retryable, caught.value.reason) == (True, "twilio_20003")


def test_twilio__invalid_number__reason_is_twilios_code_without_the_number() -> None:
    with sms_server("twilio") as server:
        sender = TwilioSender(
            TWILIO_SID, TWILIO_TOKEN, sender="+4759440000", base_url=server.base_url
        )
        with pytest.raises(SendError) as caught:
            sender.send(OutgoingMessage("dlv_1", "sms", REFUSED_NUMBER, None, "Hei"))
    assert (caught.value.retryable, caught.value.reason) == (False, "twilio_21211")


@pytest.mark.parametrize("kind", ["generic", "twilio"])
def test_sms_gateway__down__retryable(kind: str) -> None:
    with sms_server(kind) as server:
        server.state["down"] = True
        sender: MessageSender = (
            JsonGatewaySender(f"{server.base_url}/sms", GATEWAY_TOKEN, sender="Fjellby")
            if kind == "generic"
            else TwilioSender(TWILIO_SID, TWILIO_TOKEN, sender="x", base_url=server.base_url)
        )
        with pytest.raises(SendError) as caught:
            sender.send(OutgoingMessage("dlv_1", "sms", PHONE, None, "Hei"))
    assert caught.value.retryable is True


def test_sms_gateway__text_over_two_segments__refused_unsent() -> None:
    with sms_server("generic") as server:
        sender = JsonGatewaySender(f"{server.base_url}/sms", GATEWAY_TOKEN, sender="Fjellby")
        with pytest.raises(SendError) as caught:
            sender.send(OutgoingMessage("dlv_1", "sms", PHONE, None, "x" * 307))
        assert server.received() == []
    assert caught.value.reason == "too_long"


def test_factory__outbox_unless_configured__smtp_and_each_gateway_by_setting(
    tmp_path: Path,
) -> None:
    clock = ManualClock(NOW)

    def senders(**values: object) -> dict[str, type]:
        settings = Settings(data_dir=tmp_path, secret_key="x", **values)  # type: ignore[arg-type]
        routed = senders_from_settings(settings, tmp_path / "outbox", clock)
        assert isinstance(routed, ChannelSender)
        return {channel: type(s) for channel, s in routed.senders.items()}

    assert senders() == {"sms": OutboxFolderSender, "email": OutboxFolderSender}
    assert (
        senders(smtp_url="smtps://u:p@mail.example:465", sms_url="https://gw.example/sms")["email"]
        is SmtpSender
    )
    # A gateway without its token is not configured: texts stay in the outbox.
    assert senders(sms_url="https://gw.example/sms")["sms"] is OutboxFolderSender
    assert senders(sms_url="https://gw.example/sms", sms_token="t")["sms"] is JsonGatewaySender
    twilio = senders(sms_provider="twilio", twilio_account_sid=TWILIO_SID, sms_token="t")
    assert twilio == {"sms": TwilioSender, "email": OutboxFolderSender}


def test_smtp_url__bad_scheme_or_host__refused_naming_the_setting_not_the_password() -> None:
    for url in ("http://u:secret@host", "smtp://u:secret@:25"):
        with pytest.raises(ValueError, match="HALLKEY_SMTP_URL") as caught:
            parse_smtp_url(url)
        assert "secret" not in str(caught.value)
    server = parse_smtp_url("smtp://us%40er:p%3Ass@mail.example?starttls=false")
    assert (server.username, server.password, server.port, server.starttls) == (
        "us@er",
        "p:ss",
        587,
        False,
    )
