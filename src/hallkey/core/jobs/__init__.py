"""Durable background jobs kept in a context's own database; also its outbox.

A job is a row written in the same transaction as the change that causes it, so a message
to another context is never lost and never sent for a change that was rolled back.
Workers claim a due job by moving its `run_at` one lease ahead and writing a claim token of
their own into `locked_by` (on PostgreSQL with `FOR UPDATE SKIP LOCKED`, so any number of
workers never take the same job). While the job runs, its worker renews the lease; a worker
that dies stops renewing, and another takes the job over within one lease. A job that
succeeds is deleted; one that fails is retried with exponential backoff until it succeeds or
gives up. Handlers must therefore be idempotent.

A job may name its `peer` (another context, a site's lock system) and a `priority`. Due jobs
run by priority, then by due time. When a job of a peer succeeds, the peer's jobs that sit out
a backoff are made due at once; and while any wait, the worker makes one of each peer due every
few seconds (a probe), so a peer's recovery is noticed in seconds whatever the backoff.

A job with a fixed id, made by `enqueue_once`, is queued at most once at a time. A recurring
job (a purge, a reconciler) is such a job whose handler returns the wait until its next run:
the row is rescheduled, never copied, so neither concurrent start-ups nor a retry after a crash
can fork the chain.
"""

from hallkey.core.jobs.queue import (
    PRIORITY_REVOKE,
    Handler,
    JobInfo,
    JobQueue,
    claim_token,
    job_table,
    once_id,
    worker_name,
)
from hallkey.core.jobs.runs import GiveUp, JobRun, RetryLater
from hallkey.core.jobs.worker import JOBS_PROCESSED, Worker

__all__ = [
    "JOBS_PROCESSED",
    "PRIORITY_REVOKE",
    "GiveUp",
    "Handler",
    "JobInfo",
    "JobQueue",
    "JobRun",
    "RetryLater",
    "Worker",
    "claim_token",
    "job_table",
    "once_id",
    "worker_name",
]
