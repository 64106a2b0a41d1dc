"""What a job's handler gets (`JobRun`) and the exceptions it raises to be tried again or
given up on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class RetryLater(Exception):
    """Raised by a handler to be tried again; `reason` is logged and must hold no secrets.

    With `keep_schedule`, `after_seconds` is a schedule of the handler's own, not a backoff:
    the peer answered and refused for now (a full door), so its answering again says nothing
    about this job. Such a job is not counted as waiting on its peer: neither the peer probe
    nor a wake brings it forward (else a probe would re-run a doomed call every few seconds).
    """

    def __init__(
        self, reason: str, *, after_seconds: float | None = None, keep_schedule: bool = False
    ) -> None:
        if keep_schedule and after_seconds is None:
            raise ValueError("keep_schedule needs after_seconds")
        super().__init__(reason)
        self.reason = reason
        self.after_seconds = after_seconds
        self.keep_schedule = keep_schedule


class GiveUp(Exception):
    """Raised by a handler when trying again can never help; the job is kept as `dead`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class JobRun:
    """What a handler gets: the job's payload and how often it has been tried (1 = first).

    `claim` is the token of this run's claim: the row is this run's only while it holds it.
    """

    job_id: str
    kind: str
    payload: dict[str, Any]
    attempt: int
    claim: str = ""
    peer: str | None = None

    def listed(self, key: str, one: str) -> list[str]:
        """Returns the ids the payload lists under `key`, or (a job queued before its kind
        took several) the one it names under `one`."""
        listed = self.payload.get(key)
        if isinstance(listed, list):
            return [str(item) for item in listed]
        return [str(self.payload[one])]
