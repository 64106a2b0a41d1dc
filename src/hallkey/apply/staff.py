"""Applying the file's `[[staff]]`: made when missing, role, venues and disabled flag kept as
the file says. Staff the file does not name are left as they are (the admin pages and the
staff API manage people too); to take someone's access away, keep them with `disabled = true`.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hallkey.apply.errors import ApplyError
from hallkey.apply.file import SetupFile, StaffSpec

if TYPE_CHECKING:
    from hallkey.apply.run import Run


@dataclass(frozen=True)
class Passwords:
    """Where the passwords of new staff come from: their `password_env`, or generated (only
    when the caller keeps the keys somewhere safe; never printed)."""

    environ: Mapping[str, str]
    generate: bool

    def check(self, setup: SetupFile, existing: Callable[[], set[str]]) -> None:
        """Raises ApplyError, before anything changes, if a member still to be made would get
        no password: its variable is not set, or it names none and none may be generated.
        `existing` (the usernames there are) is asked only then: a member already made needs
        no password, so an edited file applies without them."""
        lacking = {
            spec.username.lower(): spec
            for spec in setup.staff
            if (spec.password_env is None and not self.generate)
            or (spec.password_env is not None and not self.environ.get(spec.password_env))
        }
        if not lacking:
            return
        have = existing()
        new = [spec for username, spec in lacking.items() if username not in have]
        for spec in new:
            if spec.password_env is None:
                self.password_of(spec)  # raises: no password_env and none generated
        missing = sorted({spec.password_env for spec in new if spec.password_env is not None})
        if missing:
            raise ApplyError(f"staff passwords: set the environment variables {', '.join(missing)}")

    def password_of(self, spec: StaffSpec) -> str:
        """Returns the password a new staff member gets; raises ApplyError if there is none."""
        if spec.password_env is not None:
            return self.environ[spec.password_env]
        if not self.generate:
            raise ApplyError(
                f"staff {spec.username!r} has no password_env: give one, or --keys-out to have "
                "a password generated and written there"
            )
        return secrets.token_urlsafe(18)


def staff_usernames(run: Run) -> set[str]:
    """Returns the usernames of the tenant's staff (none while the tenant is not made)."""
    slug = run.setup.tenant.slug
    if run.call(run.booking, "GET", f"/api/v1/tenants/{slug}", missing_ok=True) is None:
        return set()
    listed = run.call(run.booking, "GET", "/api/v1/staff", params={"tenant": slug})
    return {member["username"] for member in listed}


def apply_staff(run: Run, tenant_exists: bool) -> None:
    """Brings the tenant's staff named in the file to what it says."""
    params = {"tenant": run.setup.tenant.slug}
    listed = run.call(run.booking, "GET", "/api/v1/staff", params=params) if tenant_exists else []
    have = {member["username"]: member for member in listed}
    venue_ids: dict[str, str] = run.out.ids.get("venues", {})
    for spec in run.setup.staff:
        username = spec.username.lower()
        found = have.get(username)
        wanted: dict[str, Any] = {
            "role": spec.role,
            # A venue made in a dry run has no id yet: its name stands in.
            "venue_ids": sorted(venue_ids.get(name, name) for name in spec.venues),
            "disabled": spec.disabled,
        }
        if found is None:
            _new_staff(run, spec, username, wanted, params)
            continue
        patch = {key: value for key, value in wanted.items() if found[key] != value}
        if patch and run.change(f"~ staff {username!r}: {', '.join(sorted(patch))}"):
            run.call(run.booking, "PATCH", f"/api/v1/staff/{found['id']}", patch, params)


def _new_staff(
    run: Run, spec: StaffSpec, username: str, wanted: dict[str, Any], params: dict[str, str]
) -> None:
    if not run.change(f"+ staff {username!r} ({spec.role})"):
        return
    password = run.passwords.password_of(spec)
    body: dict[str, Any] = {"username": username, "password": password, "role": spec.role}
    if wanted["venue_ids"]:
        body["venue_ids"] = wanted["venue_ids"]
    made = run.call(run.booking, "POST", "/api/v1/staff", body, params)
    if spec.disabled:
        run.call(run.booking, "PATCH", f"/api/v1/staff/{made['id']}", {"disabled": True}, params)
    if spec.password_env is None:
        run.out.keys.setdefault("staff_passwords", {})[username] = password
