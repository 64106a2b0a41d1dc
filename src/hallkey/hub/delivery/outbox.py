"""The embedded default sender: one text file per message in a local outbox folder."""

from __future__ import annotations

import os
import secrets
from datetime import UTC, datetime
from pathlib import Path

from hallkey.core.clock import Clock
from hallkey.hub.delivery.base import OutgoingMessage, SendError

_STAMP = "%Y%m%dT%H%M%S%fZ"


class OutboxFolderSender:
    """Writes each message atomically to `<folder>/<UTC stamp>-<delivery id>-<channel>.txt`."""

    def __init__(self, folder: Path, clock: Clock) -> None:
        self.folder = folder
        self.clock = clock

    def send(self, message: OutgoingMessage) -> None:
        """Writes the message file (a temporary file renamed into place)."""
        stamp = self.clock.now().strftime(_STAMP)
        name = f"{stamp}-{message.delivery_id}-{message.channel}.txt"
        lines = [f"To: {message.to}"]
        if message.subject is not None:
            lines.append(f"Subject: {message.subject}")
        text = "\n".join(lines) + "\n\n" + message.body.rstrip("\n") + "\n"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = self.folder / f".{name}.{secrets.token_hex(4)}.tmp"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            tmp.replace(self.folder / name)
        except OSError as exc:
            raise SendError(f"outbox not writable: {type(exc).__name__}", retryable=True) from exc

    def purge_older_than(self, cutoff: datetime) -> int:
        """Deletes the message files written before `cutoff` (by the stamp in their name)."""
        if not self.folder.exists():
            return 0
        removed = 0
        for path in self.folder.glob("*.txt"):
            try:
                written = datetime.strptime(path.name.split("-", 1)[0], _STAMP)
            except ValueError:
                continue  # not a message of ours
            if written.replace(tzinfo=UTC) < cutoff:
                path.unlink(missing_ok=True)
                removed += 1
        return removed
