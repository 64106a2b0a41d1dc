"""The `hallkey` command: serve, worker, migrate, demo, apply, operator-key, jobs."""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer
import uvicorn

from hallkey import processes, setup_cli
from hallkey.app import Contexts, build_app, build_contexts
from hallkey.apply import ApplyError
from hallkey.core.collector import settle_after_startup
from hallkey.core.errors import Conflict
from hallkey.core.jobs import JobQueue
from hallkey.core.logs import configure_logging
from hallkey.core.memory import limit_malloc_arenas
from hallkey.core.security import SecretKeyMismatch
from hallkey.core.settings import (
    CONTEXT_NAMES,
    BadSettings,
    ContextName,
    Settings,
    load_settings,
)
from hallkey.demo import DemoUrls, demo_is_seeded, seed_demo, write_demo_file

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
log = logging.getLogger("hallkey.cli")


class Role(StrEnum):
    booking = "booking"
    hub = "hub"
    locks = "locks"


DataDirOption = Annotated[
    Path | None, typer.Option("--data-dir", help="Data folder (default: HALLKEY_DATA_DIR or ./var)")
]


def _settings(data_dir: Path | None, host: str | None = None, port: int | None = None) -> Settings:
    overrides: dict[str, Any] = {"data_dir": data_dir}
    if port is not None and "HALLKEY_BASE_URL" not in os.environ:
        public_host = "127.0.0.1" if host in (None, "0.0.0.0", "::") else host  # noqa: S104
        overrides["base_url"] = f"http://{public_host}:{port}"
    settings = load_settings(**overrides)
    configure_logging(settings.log_level)
    return settings


def _roles(role: Role | None) -> tuple[ContextName, ...]:
    return (role.value,) if role is not None else CONTEXT_NAMES


def _contexts(settings: Settings, roles: Sequence[ContextName]) -> Contexts:
    """Builds the contexts, or exits with the reason when one must not start (no traceback)."""
    try:
        return build_contexts(settings, roles=roles)
    except SecretKeyMismatch as exc:
        typer.echo(f"hallkey: {exc}", err=True)
        raise typer.Exit(1) from None


WORKERS_HELP = (
    "Server processes on the port, the kernel spreading connections over them (Linux), each "
    "with its own job workers. On SQLite the processes take turns to write (a lock file beside "
    "each database); they share the reading and the work outside the database."
)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    data_dir: DataDirOption = None,
    demo: Annotated[bool, typer.Option("--demo", help="Seed the demo municipality")] = False,
    role: Annotated[Role | None, typer.Option(help="Run one context alone")] = None,
    workers: Annotated[int, typer.Option(min=1, help=WORKERS_HELP)] = 1,
) -> None:
    """Serves the contexts over HTTP (all three unless --role), with their workers."""
    limit_malloc_arenas()  # before the server's threads: memory stays flat under load
    settings = _settings(data_dir, host, port)
    if demo and role is not None:
        raise typer.BadParameter("--demo seeds all three contexts: run `hallkey demo` instead")
    contexts = _contexts(settings, _roles(role))  # migrates, in this process only
    if demo:
        _ensure_demo(contexts, settings)
    server_options: dict[str, Any] = {
        "access_log": False,
        "log_level": settings.log_level.lower(),
        "server_header": False,  # announce no server software and version
        # uvicorn's 5 s equalled httpx's idle expiry: a client reusing a connection at 5 s
        # sent its request into the server's close and read a reset (ReadError, no 5xx).
        "timeout_keep_alive": settings.http_keep_alive_seconds,
        # A request that never ends must not hold a deploy: in flight at most this long.
        "timeout_graceful_shutdown": settings.shutdown_grace_seconds,
    }
    if workers == 1:
        web = build_app(contexts, run_workers=settings.run_workers)
        settle_after_startup()
        uvicorn.run(web, host=host, port=port, **server_options)
        return
    contexts.close()  # each server process builds its own from the environment
    os.environ.update(processes.child_environment(settings, role.value if role else None))
    try:
        code = processes.run_processes(workers, host, port, server_options)
    except OSError as exc:
        typer.echo(f"hallkey: cannot serve on {host}:{port}: {exc}", err=True)
        raise typer.Exit(1) from None
    raise typer.Exit(code)


@app.command()
def worker(
    role: Annotated[Role, typer.Option(help="Whose background work to run")],
    data_dir: DataDirOption = None,
) -> None:
    """Runs one context's background work alone (start as many as you like; on SQLite, on the
    database's machine)."""
    limit_malloc_arenas()
    settings = _settings(data_dir)
    contexts = _contexts(settings, _roles(role))
    (job_worker,) = contexts.workers()
    settle_after_startup()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: stopping after the current job", signum)
        job_worker.stop(timeout=0)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info("worker for %s started", role.value)
    job_worker.run_forever()
    contexts.close()


@app.command()
def migrate(
    role: Annotated[Role | None, typer.Option(help="Migrate one context only")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Brings the databases to the newest schema (also done at every start)."""
    settings = _settings(data_dir)
    _contexts(settings, _roles(role)).close()
    typer.echo("migrated: " + ", ".join(_roles(role)))


@app.command("demo")
def demo_command(
    data_dir: DataDirOption = None,
    booking_url: Annotated[str | None, typer.Option(help="Where the booking context runs")] = None,
    hub_url: Annotated[str | None, typer.Option(help="Where the hub runs")] = None,
    locks_url: Annotated[str | None, typer.Option(help="Where the door controller runs")] = None,
) -> None:
    """Seeds the demo into all three databases, for contexts run as separate processes."""
    settings = _settings(data_dir)
    base = settings.base_url.rstrip("/")
    urls = DemoUrls(booking=booking_url or base, hub=hub_url or base, locks=locks_url or base)
    contexts = _contexts(settings, CONTEXT_NAMES)
    try:
        path = _ensure_demo(contexts, settings, urls)
    finally:
        contexts.close()
    typer.echo(str(path))


def _ensure_demo(contexts: Contexts, settings: Settings, urls: DemoUrls | None = None) -> Path:
    assert contexts.booking and contexts.hub and contexts.locks
    path = settings.data_dir / "demo.json"
    if demo_is_seeded(contexts.booking):
        if path.exists():
            return path
        typer.echo(
            f"the demo is in the databases but {path} is gone; its keys cannot be shown again. "
            "Remove the data folder to seed afresh.",
            err=True,
        )
        sys.exit(2)
    base = settings.base_url.rstrip("/")
    urls = urls or DemoUrls(booking=base, hub=base, locks=base)
    try:
        seeded = seed_demo(contexts.booking, contexts.hub, contexts.locks, urls)
    except (Conflict, ApplyError):
        # The seeding commits to three databases in turn; one was interrupted half-way.
        typer.echo(
            f"an earlier demo seeding in {settings.data_dir} was interrupted half-way. "
            "Remove the data folder (or its databases) to seed afresh.",
            err=True,
        )
        sys.exit(2)
    write_demo_file(path, seeded)
    log.info("demo seeded; ids, logins and keys in %s", path)
    return path


app.command("apply")(setup_cli.apply_command)
app.command("operator-key")(setup_cli.operator_key_command)
app.command("hub-admin")(setup_cli.hub_admin_command)

jobs_app = typer.Typer(no_args_is_help=True, help="Look at a context's background jobs.")
app.add_typer(jobs_app, name="jobs")
RoleOption = Annotated[Role, typer.Option(help="Whose jobs")]


def _queue(contexts: Contexts) -> JobQueue:
    (job_worker,) = contexts.workers()
    return job_worker.queue


@jobs_app.command("list")
def jobs_list(
    role: RoleOption,
    dead: Annotated[bool, typer.Option("--dead", help="Only the jobs given up on")] = False,
    data_dir: DataDirOption = None,
) -> None:
    """Lists a context's queued jobs (dead ones first), without their payloads."""
    settings = _settings(data_dir)
    contexts = _contexts(settings, _roles(role))
    try:
        queue = _queue(contexts)
        with queue.database.transaction() as session:
            jobs = queue.list_jobs(session, dead_only=dead)
    finally:
        contexts.close()
    typer.echo("id\tkind\tstatus\tattempts\trun_at\tpeer\tpriority\tlast_error")
    for job in jobs:
        fields = (job.id, job.kind, job.status, job.attempts, job.run_at.isoformat())
        more = (job.peer or "-", job.priority, job.last_error or "-")
        typer.echo("\t".join(str(value) for value in (*fields, *more)))


@jobs_app.command("retry")
def jobs_retry(
    role: RoleOption,
    kind: Annotated[str | None, typer.Option(help="Only dead jobs of this kind")] = None,
    job_id: Annotated[str | None, typer.Option("--id", help="Only the dead job of this id")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Brings dead jobs back to run now from their first try (e.g. after a key was fixed)."""
    settings = _settings(data_dir)
    contexts = _contexts(settings, _roles(role))
    try:
        queue = _queue(contexts)
        with queue.database.transaction() as session:
            revived = queue.retry_dead(session, kind=kind, job_id=job_id)
    finally:
        contexts.close()
    typer.echo(f"{role.value}: {revived} dead job(s) queued again")


keys_app = typer.Typer(no_args_is_help=True, help="The hub's keys that sign mobile keys.")
app.add_typer(keys_app, name="keys")


@keys_app.command("rotate")
def keys_rotate(data_dir: DataDirOption = None) -> None:
    """Makes a new signing key for mobile keys; the old ones stay published until the last
    mobile key they signed has expired."""
    from hallkey.hub import rotate_signing_key

    settings = _settings(data_dir)
    contexts = _contexts(settings, ("hub",))
    try:
        hub_ctx = contexts.hub
        if hub_ctx is None:
            raise typer.Exit(1)
        with hub_ctx.database.transaction() as session:
            kid = rotate_signing_key(hub_ctx, session)
    finally:
        contexts.close()
    typer.echo(f"hub: mobile keys are now signed with key {kid}")


def main() -> None:
    """The `hallkey` command: a setting that does not validate is told in one line per
    problem, naming its environment variable (exit code 2), not as a traceback."""
    try:
        app()
    except BadSettings as exc:
        typer.echo(f"hallkey: {exc}", err=True)
        raise SystemExit(2) from None


if __name__ == "__main__":  # pragma: no cover
    main()
