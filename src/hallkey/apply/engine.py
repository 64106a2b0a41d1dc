"""Applying a set-up file: read what each context has, change only what differs.

Everything goes through the contexts' HTTP APIs with their operator keys, so the same code
sets up three separate processes or the combined one. Keys that exist only when something is
made (a client's API key, a controller's locks key, a site's events token) are passed on to
the context that needs them at once; those meant for people are returned in `Outcome.keys`.
"""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hallkey.apply import booking_steps
from hallkey.apply.errors import ApplyError
from hallkey.apply.file import SetupFile, SiteSpec
from hallkey.apply.run import Endpoint, Outcome, Run, by_name
from hallkey.apply.staff import Passwords, apply_staff, staff_usernames

HUB_EVENTS_TOKEN_NAME = "hub door events"  # noqa: S105 - a token's name, not a token


@dataclass
class _Controller:
    id: str | None
    hub_events_url: str | None
    doors: dict[str, dict[str, Any]]
    """The controller's doors by their own id (a hub door's remote_id)."""
    new_key: str | None = None


class _Run(Run):
    """The apply's steps at the door controllers and the hub."""

    # --- the door controllers -------------------------------------------------------

    def controllers(self) -> dict[str, _Controller]:
        existing = by_name(
            self.call(self.locks, "GET", "/locks/v1/operator/controllers"), "controllers"
        )
        result: dict[str, _Controller] = {}
        for site in self.setup.sites:
            name = site.controller_name
            if name is None:
                continue
            found = existing.get(name)
            if found is None:
                controller = _Controller(None, None, {})
                if self.change(f"+ controller {name!r}"):
                    made = self.call(
                        self.locks, "POST", "/locks/v1/operator/controllers", {"name": name}
                    )
                    controller = _Controller(made["id"], None, {}, made["api_key"])
                    self.out.keys.setdefault("controllers", {})[name] = made["api_key"]
            else:
                doors = {door["id"]: door for door in found["doors"]}
                controller = _Controller(found["id"], found["hub_events_url"], doors)
            self.controller_doors(name, controller, site)
            result[name] = controller
        return result

    def controller_doors(self, name: str, controller: _Controller, site: SiteSpec) -> None:
        # The controller knows a door by the hub door's remote_id, and is told the hub's id,
        # which mobile keys name.
        for door in site.doors:
            own_id = door.remote_id or door.id
            have = controller.doors.get(own_id)
            if have is None:
                if self.change(f"+ controller {name!r}: door {own_id!r}"):
                    body = {
                        "controller_id": controller.id,
                        "id": own_id,
                        "name": door.name,
                        "hub_door_id": door.id,
                    }
                    self.call(self.locks, "POST", "/locks/v1/operator/doors", body)
                continue
            patch = {
                key: value
                for key, value in (("name", door.name), ("hub_door_id", door.id))
                if have.get(key) != value
            }
            if patch and self.change(
                f"~ controller {name!r}: door {own_id!r} {', '.join(sorted(patch))}"
            ):
                self.call(self.locks, "PATCH", f"/locks/v1/operator/doors/{own_id}", patch)

    # --- the hub ----------------------------------------------------------------------

    def hub_client(self) -> None:
        name = self.setup.hub.client
        clients = by_name(self.call(self.hub, "GET", "/hub/v1/operator/clients"), "hub clients")
        self.client = clients.get(name)
        if self.client is None and self.change(f"+ hub client {name!r}"):
            made = self.call(self.hub, "POST", "/hub/v1/operator/clients", {"name": name})
            self.client = made
            self.hub_api_key = made["api_key"]
            self.out.keys["hub_api_key"] = made["api_key"]
        self.client_id = None if self.client is None else self.client["id"]
        self.out.ids["hub_client"] = self.client_id

    def sites(self, controllers: dict[str, _Controller]) -> None:
        listed = self.call(self.hub, "GET", "/hub/v1/operator/sites")
        mine = by_name([s for s in listed if s["client_id"] == self.client_id], "sites")
        for spec in self.setup.sites:
            controller = controllers.get(spec.controller_name or "")
            site = mine.get(spec.name)
            events_token = None
            if site is None:
                site, events_token = self.new_site(spec, controller)
            else:
                self.update_site(spec, site, controller)
            self.site_doors(spec, site)
            if controller is not None:
                self.link_controller(spec, site, controller, events_token)

    def controller_config(self, controller: _Controller, name: str) -> dict[str, str]:
        # A key is shown only when made: the new site needs one, so the controller gets a new
        # one (its old one stops working; nothing but a site of ours should hold it).
        if (
            controller.new_key is None
            and controller.id is not None
            and self.change(f"~ controller {name!r}: new locks API key for its site")
        ):
            made = self.call(
                self.locks, "POST", f"/locks/v1/operator/controllers/{controller.id}/key"
            )
            controller.new_key = made["api_key"]
            self.out.keys.setdefault("controllers", {})[name] = made["api_key"]
        return {"base_url": self.locks.public_url, "api_key": controller.new_key or ""}

    def new_site(
        self, spec: SiteSpec, controller: _Controller | None
    ) -> tuple[dict[str, Any] | None, str | None]:
        config = dict(spec.config)
        if controller is not None:
            config = self.controller_config(controller, spec.controller_name or "")
        if not self.change(f"+ site {spec.name!r} ({spec.connector})"):
            return None, None
        body = {
            "client_id": self.client_id,
            "name": spec.name,
            "connector": spec.connector,
            "config": config,
            "timezone": spec.timezone,
            "pin_length": spec.pin_length,
        }
        made = self.call(self.hub, "POST", "/hub/v1/operator/sites", body)
        return made, made["events_token"]

    def update_site(
        self, spec: SiteSpec, site: dict[str, Any], controller: _Controller | None
    ) -> None:
        if site["connector"] != spec.connector:
            raise ApplyError(
                f"site {spec.name!r} uses the connector {site['connector']!r}, the file says "
                f"{spec.connector!r}: a site keeps its connector; name a new site instead"
            )
        patch: dict[str, Any] = {}
        if site["timezone"] != spec.timezone:
            patch["timezone"] = spec.timezone
        if site["pin_length"] != spec.pin_length:
            patch["pin_length"] = spec.pin_length
        if controller is not None and controller.new_key is not None:
            patch["config"] = {"base_url": self.locks.public_url, "api_key": controller.new_key}
        if patch and self.change(f"~ site {spec.name!r}: {', '.join(sorted(patch))}"):
            self.call(self.hub, "PATCH", f"/hub/v1/operator/sites/{site['id']}", patch)
        if spec.connector != "controller" and spec.config:
            self.out.warnings.append(
                f"site {spec.name!r}: the config of an existing site is not compared (it holds "
                "secrets the hub never shows); change it with PATCH /hub/v1/operator/sites/{id}"
            )

    def site_doors(self, spec: SiteSpec, site: dict[str, Any] | None) -> None:
        have = {door["id"]: door for door in (site or {}).get("doors", [])}
        for door in spec.doors:
            found = have.get(door.id)
            remote = door.remote_id or door.id
            if found is None:
                if self.change(f"+ door {door.id!r} at site {spec.name!r}"):
                    assert site is not None
                    body = {
                        "site_id": site["id"],
                        "id": door.id,
                        "name": door.name,
                        "remote_id": remote,
                    }
                    self.call(self.hub, "POST", "/hub/v1/operator/doors", body)
                continue
            if found["remote_id"] != remote:
                raise ApplyError(
                    f"door {door.id!r} is {found['remote_id']!r} in its lock system, the file "
                    f"says {remote!r}: a door keeps its remote_id; name a new door instead"
                )
            if found["name"] != door.name and self.change(
                f"~ door {door.id!r} renamed {door.name!r}"
            ):
                self.call(
                    self.hub, "PATCH", f"/hub/v1/operator/doors/{door.id}", {"name": door.name}
                )

    def link_controller(
        self,
        spec: SiteSpec,
        site: dict[str, Any] | None,
        controller: _Controller,
        events_token: str | None,
    ) -> None:
        url = f"{self.hub.public_url}/hub/v1/controller-events"
        if events_token is None and controller.hub_events_url == url:
            return
        if not self.change(f"~ controller {spec.controller_name!r}: pushes its events to the hub"):
            return
        assert site is not None and controller.id is not None
        if events_token is None:
            made = self.call(self.hub, "POST", f"/hub/v1/operator/sites/{site['id']}/events-key")
            events_token = made["events_token"]
        body = {"hub_events_url": url, "hub_events_token": events_token}
        self.call(self.locks, "PATCH", f"/locks/v1/operator/controllers/{controller.id}", body)

    def client_events(self, tenant_exists: bool) -> None:
        url = f"{self.booking.public_url}/api/v1/access-events"
        client = self.client
        if client is not None and client["events_url"] == url and client["has_events_token"]:
            return
        if not self.change(f"~ hub client {self.setup.hub.client!r}: sends its events to booking"):
            return
        assert tenant_exists and self.client_id is not None
        slug = self.setup.tenant.slug
        made = self.call(
            self.booking,
            "POST",
            f"/api/v1/tenants/{slug}/tokens",
            {"name": HUB_EVENTS_TOKEN_NAME, "scopes": ["events:write"]},
        )
        body = {"events_url": url, "events_token": made["token"]}
        self.call(self.hub, "PATCH", f"/hub/v1/operator/clients/{self.client_id}", body)

    def client_webhook(self, tenant_exists: bool) -> None:
        """Wires the hub client's webhook to the booking system: a new secret for both."""
        slug = self.setup.tenant.slug
        url = f"{self.booking.public_url}/api/v1/hub-webhook/{slug}"
        client = self.client
        wired = client is not None and client.get("webhook_url") == url
        if wired and self.tenant_has_webhook_secret:
            return
        if not self.change(f"~ hub client {self.setup.hub.client!r}: webhook to booking"):
            return
        assert tenant_exists and self.client_id is not None
        secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
        # The booking first: a hub signing with a secret the booking lacks would be refused.
        body = {**self.tenant_body, "hub_webhook_secret": secret}
        self.call(self.booking, "PUT", f"/api/v1/tenants/{slug}", body)
        # The operator's own file names the booking's address: it may be an inside one.
        hook = {"url": url, "secret": secret, "allow_private": True}
        self.call(self.hub, "PUT", f"/hub/v1/operator/clients/{self.client_id}/webhook", hook)


def apply_setup(
    setup: SetupFile,
    *,
    booking: Endpoint,
    hub: Endpoint,
    locks: Endpoint,
    dry_run: bool = False,
    generate_passwords: bool = False,
    environ: Mapping[str, str] | None = None,
) -> Outcome:
    """Brings the three contexts to the set-up; returns what changed (or would, in a dry run).

    A new staff member's password comes from its `password_env` in `environ` (default: the
    process's environment) or, with `generate_passwords`, is generated and returned in
    `Outcome.keys["staff_passwords"]`. Raises ApplyError when a context refuses a change; what
    was applied before stays, and a second apply carries on from there.
    """
    passwords = Passwords(os.environ if environ is None else environ, generate_passwords)
    run = _Run(setup, booking, hub, locks, dry_run, passwords)
    # A dry run too, so that it does not promise changes the apply would refuse for want of a
    # password variable; a member without `password_env` passes (the apply may be given
    # `--keys-out` for its generated password).
    checked = Passwords(passwords.environ, generate=True) if dry_run else passwords
    checked.check(setup, lambda: staff_usernames(run))
    controllers = run.controllers()
    run.hub_client()
    run.sites(controllers)
    tenant_exists = booking_steps.tenant(run)
    booking_steps.price_groups(run, tenant_exists)
    booking_steps.venues(run, tenant_exists)
    apply_staff(run, tenant_exists)
    run.client_events(tenant_exists)
    run.client_webhook(tenant_exists)
    return run.out
