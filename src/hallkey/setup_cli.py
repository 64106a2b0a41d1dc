"""`hallkey apply`, `hallkey operator-key` and `hallkey hub-admin`: setting up from a file, and
the identities that do the setting up."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, cast

import httpx
import typer

from hallkey import hub
from hallkey.app import build_contexts, issue_operator_key
from hallkey.apply import (
    ApplyError,
    Endpoint,
    Outcome,
    SetupFileError,
    apply_setup,
    load_setup_file,
)
from hallkey.core.errors import AppError
from hallkey.core.settings import ContextName, load_settings
from hallkey.demo import write_demo_file

ROLES = ("booking", "hub", "locks")


def _endpoint(url: str, key: str | None, role: str, timeout: float) -> Endpoint:
    if not key:
        typer.echo(
            f"hallkey apply: set HALLKEY_{role.upper()}_OPERATOR_KEY "
            f"(made by `hallkey operator-key --role {role}`)",
            err=True,
        )
        raise typer.Exit(2)
    url = url.rstrip("/")
    headers = {"Authorization": f"Bearer {key}"}
    return Endpoint(httpx.Client(base_url=url, headers=headers, timeout=timeout), url)


def report(outcome: Outcome) -> None:
    """Prints what an apply changed (or would change), one line each, and its warnings."""
    for line in outcome.changes:
        typer.echo(line)
    for warning in outcome.warnings:
        typer.echo(f"warning: {warning}", err=True)
    count = len(outcome.changes)
    if outcome.dry_run:
        typer.echo(f"dry run: {count} change(s) would be made, none was" if count else "no changes")
    else:
        typer.echo(f"{count} change(s) made" if count else "no changes")


def apply_command(
    file: Annotated[Path, typer.Argument(help="The municipality's set-up (TOML)")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print what would change; change nothing")
    ] = False,
    booking_url: Annotated[str | None, typer.Option(help="Where the booking context runs")] = None,
    hub_url: Annotated[str | None, typer.Option(help="Where the hub runs")] = None,
    locks_url: Annotated[str | None, typer.Option(help="Where the door controller runs")] = None,
    keys_out: Annotated[
        Path | None,
        typer.Option(
            "--keys-out",
            help="Write the keys made (JSON, 0600) here, not to stdout; needed for staff "
            "passwords to be generated (they are never printed)",
        ),
    ] = None,
) -> None:
    """Brings a municipality's set-up to what FILE describes, through the contexts' APIs."""
    settings = load_settings()
    try:
        setup = load_setup_file(file)
    except SetupFileError as exc:
        for problem in exc.problems:
            typer.echo(f"{file}: {problem}", err=True)
        raise typer.Exit(2) from None
    base = settings.base_url
    timeout = settings.http_timeout_seconds
    booking = _endpoint(booking_url or base, settings.booking_operator_key, "booking", timeout)
    hub = _endpoint(hub_url or base, settings.hub_operator_key, "hub", timeout)
    locks = _endpoint(locks_url or base, settings.locks_operator_key, "locks", timeout)
    try:
        outcome = apply_setup(
            setup,
            booking=booking,
            hub=hub,
            locks=locks,
            dry_run=dry_run,
            generate_passwords=keys_out is not None,
        )
    except ApplyError as exc:
        typer.echo(f"hallkey apply: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        for endpoint in (booking, hub, locks):
            endpoint.client.close()
    report(outcome)
    if outcome.keys:
        if keys_out is not None:
            write_demo_file(keys_out, {"keys": outcome.keys, "ids": outcome.ids})
            typer.echo(f"the keys made are in {keys_out} (shown only once)")
        else:
            typer.echo("keys made (shown only once):")
            json.dump(outcome.keys, sys.stdout, indent=2, ensure_ascii=False)
            typer.echo("")


def operator_key_command(
    role: Annotated[str, typer.Option(help="booking, hub or locks")],
    name: Annotated[str, typer.Option(help="Whose key it is")] = "operator",
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Data folder")] = None,
) -> None:
    """Makes an operator key of one context (stored hashed in its database) and prints it."""
    if role not in ROLES:
        raise typer.BadParameter("role must be booking, hub or locks")
    context = cast(ContextName, role)
    settings = load_settings(data_dir=data_dir)
    contexts = build_contexts(settings, roles=(context,))
    try:
        _, key = issue_operator_key(contexts, context, name)
    finally:
        contexts.close()
    typer.echo(key)


def hub_admin_command(
    username: Annotated[str, typer.Argument(help="The operator's username")],
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Data folder")] = None,
) -> None:
    """Makes a hub operator who signs in at /hub/admin; the password (12 characters at least)
    is read from HALLKEY_NEW_PASSWORD or asked for, never taken as an argument."""
    password = os.environ.get("HALLKEY_NEW_PASSWORD") or typer.prompt(
        "Password", hide_input=True, confirmation_prompt=True
    )
    settings = load_settings(data_dir=data_dir)
    contexts = build_contexts(settings, roles=("hub",))
    try:
        assert contexts.hub is not None
        with contexts.hub.database.transaction() as session:
            hub.create_admin(contexts.hub, session, username=username, password=password)
    except AppError as exc:
        typer.echo(f"hallkey hub-admin: {exc.message}", err=True)
        raise typer.Exit(2) from exc
    finally:
        contexts.close()
    typer.echo(f"hub operator {username} can now sign in at /hub/admin")
