"""Messages a second through a real SMTP server (aiosmtpd on loopback, login required), as the
hub's `deliver` jobs send them: one connection, TLS handshake and login per message.

Run alone with `python -m bench.smtp` (or as the last part of `python -m bench`). Prints
figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.messaging_servers import smtp_server

from hallkey.core.clock import SystemClock
from hallkey.core.messaging import OutgoingMessage, SmtpSender

BODY = "Hei!\n\nDu har fått tilgang til Hovedinngang på Sentrum kulturhus.\n\nKode: 482915#\n"
HTML = "<p>Hei!</p><p>Kode: <strong>482915#</strong></p>"


def _rate(sender: SmtpSender, messages: int, threads: int, prefix: str) -> float:
    """Sends `messages` emails from `threads` threads; returns messages a second."""

    def one(n: int) -> None:
        sender.send(
            OutgoingMessage(
                f"{prefix}{n}", "email", f"guest{n}@example.org", "Din kode", BODY, html=HTML
            )
        )

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, range(messages)))
    return messages / (time.perf_counter() - started)


def bench_smtp(messages: int = 300, threads: tuple[int, ...] = (1, 4)) -> None:
    """Prints messages a second over STARTTLS and over TLS, at each thread count."""
    print(f"\nSMTP: {messages} emails (text + HTML) per row, login required, aiosmtpd on loopback")
    print(f"{'mode':>10} {'threads':>8} {'msg/s':>8}")
    with tempfile.TemporaryDirectory() as folder:
        for mode in ("starttls", "tls"):
            with smtp_server(Path(folder), implicit_tls=mode == "tls") as server:
                sender = SmtpSender(
                    server.url,
                    default_sender="Fjellby kommune <booking@fjellby.example>",
                    clock=SystemClock(),
                    tls_context=server.client_context(),
                )
                for count in threads:
                    rate = _rate(sender, messages, count, f"dlv_{mode}_{count}_")
                    print(f"{mode:>10} {count:>8} {rate:>8.0f}", flush=True)
                received = len(server.received())
                if received != messages * len(threads):
                    print(f"  the server received {received} of {messages * len(threads)}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.smtp", description=__doc__)
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 4])
    args = parser.parse_args()
    bench_smtp(args.messages, tuple(args.threads))


if __name__ == "__main__":
    main()
