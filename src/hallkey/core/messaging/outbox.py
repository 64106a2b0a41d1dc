"""The embedded default sender: one text file per message in a local outbox folder."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from datetime import UTC, datetime
from pathlib import Path

from hallkey.core.clock import Clock
from hallkey.core.messaging.base import OutgoingMessage, SendError

_SAFE_PART = re.compile(r"^[A-Za-z0-9_]{1,64}$")
_UNSAFE_IN_NAME = re.compile(r"[^A-Za-z0-9_.-]")


class OutboxFolderSender:
    """Writes each message to `<folder>/<delivery id>-<channel>.txt`, once per delivery id.

    An email's HTML part and attachments go beside it, as `<delivery id>-<channel>.html` and
    `<delivery id>-<channel>.<n>.<attachment's file name>`, written before the text file, so
    that the text file's presence means the whole message is there.

    The file is written under a temporary name and then hard-linked to its final name, which
    fails if that name exists: a retry of a message already written (a crash between sending
    and recording it sent, or two workers on one lapsed job) leaves the first file alone, so a
    delivery never lands twice. The file's modification time is the send time on the
    context's clock; the purge goes by it.
    """

    def __init__(self, folder: Path, clock: Clock) -> None:
        self.folder = folder
        self.clock = clock

    def send(self, message: OutgoingMessage) -> None:
        """Writes the message file unless this delivery's file exists already."""
        if not (_SAFE_PART.match(message.delivery_id) and _SAFE_PART.match(message.channel)):
            raise SendError("delivery id or channel not usable in a file name", retryable=False)
        name = f"{message.delivery_id}-{message.channel}.txt"
        final = self.folder / name
        lines = [f"To: {message.to}"]
        if message.subject is not None:
            lines.append(f"Subject: {message.subject}")
        text = "\n".join(lines) + "\n\n" + message.body.rstrip("\n") + "\n"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            if final.exists():
                return  # sent before: the delivery id is the idempotency key
            extras: list[tuple[str, bytes]] = []
            if message.html is not None:
                extras.append(
                    (f"{message.delivery_id}-{message.channel}.html", message.html.encode())
                )
            for number, attachment in enumerate(message.attachments, start=1):
                safe = _UNSAFE_IN_NAME.sub("_", attachment.filename)[:80] or "attachment"
                extras.append(
                    (f"{message.delivery_id}-{message.channel}.{number}.{safe}", attachment.data)
                )
            for extra_name, data in extras:
                self._write_once(self.folder / extra_name, data)
            self._write_once(final, text.encode("utf-8"))
        except OSError as exc:
            raise SendError(f"outbox not writable: {type(exc).__name__}", retryable=True) from exc

    def _write_once(self, final: Path, data: bytes) -> None:
        """Writes `data` to `final` under a temporary name and links it in, unless it exists."""
        if final.exists():
            return
        tmp = self.folder / f".{final.name}.{secrets.token_hex(4)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            stamp = self.clock.now().timestamp()
            os.utime(tmp, (stamp, stamp))
            # link() never replaces: of two concurrent sends, exactly one lands.
            with contextlib.suppress(FileExistsError):
                os.link(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)

    def purge_older_than(self, cutoff: datetime) -> int:
        """Deletes the message files (and stray temporary files) written before `cutoff`."""
        if not self.folder.exists():
            return 0
        removed = 0
        limit = cutoff.astimezone(UTC).timestamp()
        for path in [*self.folder.glob("*"), *self.folder.glob(".*.tmp")]:
            if not path.is_file():
                continue
            try:
                written = path.stat().st_mtime
            except FileNotFoundError:
                continue
            if written < limit:
                path.unlink(missing_ok=True)
                if path.suffix == ".txt":
                    removed += 1
        return removed
