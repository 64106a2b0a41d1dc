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
from dataclasses import dataclass, field
from typing import Any

import httpx

from hallkey.apply.errors import ApplyError
from hallkey.apply.file import ResourceSpec, SetupFile, SiteSpec
from hallkey.apply.staff import Passwords, apply_staff, staff_usernames

HUB_EVENTS_TOKEN_NAME = "hub door events"  # noqa: S105 - a token's name, not a token


@dataclass(frozen=True)
class Endpoint:
    """How one context is reached (a client with its operator key) and where it is seen from
    the others (`public_url`, written into the links between them)."""

    client: httpx.Client
    public_url: str


@dataclass
class Outcome:
    """What an apply changed (or, in a dry run, would change), and the keys it made."""

    dry_run: bool
    changes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    keys: dict[str, Any] = field(default_factory=dict)
    ids: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Controller:
    id: str | None
    hub_events_url: str | None
    doors: dict[str, dict[str, Any]]
    """The controller's doors by their own id (a hub door's remote_id)."""
    new_key: str | None = None


class _Run:
    def __init__(
        self,
        setup: SetupFile,
        booking: Endpoint,
        hub: Endpoint,
        locks: Endpoint,
        dry_run: bool,
        passwords: Passwords,
    ) -> None:
        self.passwords = passwords
        self.setup = setup
        self.booking = booking
        self.hub = hub
        self.locks = locks
        self.out = Outcome(dry_run=dry_run)
        self.hub_api_key: str | None = None
        self.client_id: str | None = None
        self.client: dict[str, Any] | None = None
        self.tenant_body: dict[str, Any] = {}
        self.tenant_has_webhook_secret = False

    def change(self, text: str) -> bool:
        """Records a change; tells whether to make it (not in a dry run)."""
        self.out.changes.append(text)
        return not self.out.dry_run

    def call(
        self,
        endpoint: Endpoint,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        *,
        missing_ok: bool = False,
    ) -> Any:
        """Returns the answer's JSON; raises ApplyError on a 4xx or 5xx (`missing_ok`: None
        for a 404)."""
        try:
            response = endpoint.client.request(method, path, json=body, params=params)
        except httpx.HTTPError as exc:
            raise ApplyError(
                f"{method} {path}: cannot reach {endpoint.public_url} ({exc})"
            ) from None
        if missing_ok and response.status_code == 404:
            return None
        if response.status_code >= 400:
            raise ApplyError(f"{method} {path}: {response.status_code} {_error_of(response)}")
        return response.json() if response.content else None

    # --- the door controllers -------------------------------------------------------

    def controllers(self) -> dict[str, _Controller]:
        existing = _by_name(
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
        clients = _by_name(self.call(self.hub, "GET", "/hub/v1/operator/clients"), "hub clients")
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
        mine = _by_name([s for s in listed if s["client_id"] == self.client_id], "sites")
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

    # --- the booking system -------------------------------------------------------------

    def tenant(self) -> bool:
        spec = self.setup.tenant
        path = f"/api/v1/tenants/{spec.slug}"
        response = self.booking.client.get(path)
        if response.status_code not in (200, 404):
            raise ApplyError(f"GET {path}: {response.status_code} {_error_of(response)}")
        wanted: dict[str, Any] = {
            "name": spec.name,
            "timezone": spec.timezone,
            "hub_url": self.hub.public_url,
            "hostnames": sorted(h.lower().rstrip(".") for h in spec.hostnames),
        }
        self.tenant_body = wanted
        if response.status_code == 404:
            if self.client is not None and self.hub_api_key is None:
                raise ApplyError(
                    f"the hub client {self.setup.hub.client!r} exists but the tenant "
                    f"{spec.slug!r} does not, and a client's key is shown only when it is made: "
                    "name a new hub client in the file (or give the tenant the key by hand)"
                )
            if not self.change(f"+ tenant {spec.slug!r}"):
                self.tokens(set())
                return False
            made = self.call(self.booking, "PUT", path, {**wanted, "hub_api_key": self.hub_api_key})
            self.out.ids["tenant"] = made["id"]
            self.tokens(set())
            return True
        have = response.json()
        self.out.ids["tenant"] = have["id"]
        self.tenant_has_webhook_secret = bool(have.get("has_hub_webhook_secret"))
        differs = sorted(key for key, value in wanted.items() if have[key] != value)
        if self.hub_api_key is not None:
            differs.append("hub_api_key")
        if differs and self.change(f"~ tenant {spec.slug!r}: {', '.join(differs)}"):
            key = {"hub_api_key": self.hub_api_key} if self.hub_api_key else {}
            self.call(self.booking, "PUT", path, {**wanted, **key})
        self.tokens({token["name"] for token in have["tokens"]})
        return True

    def tokens(self, have: set[str]) -> None:
        slug = self.setup.tenant.slug
        for token in self.setup.tokens:
            if token.name in have or not self.change(f"+ booking API token {token.name!r}"):
                continue
            made = self.call(
                self.booking,
                "POST",
                f"/api/v1/tenants/{slug}/tokens",
                {"name": token.name, "scopes": token.scopes},
            )
            self.out.keys.setdefault("booking_tokens", {})[token.name] = made["token"]

    def price_groups(self, tenant_exists: bool) -> None:
        """Creates the file's price groups and brings their names and approval rule to it;
        groups the file does not name are left alone (prices may refer to them)."""
        params = {"tenant": self.setup.tenant.slug}
        listed = (
            self.call(self.booking, "GET", "/api/v1/price-groups", params=params)
            if tenant_exists
            else []
        )
        have = {group["key"]: group for group in listed}
        for spec in self.setup.price_groups:
            wanted = spec.model_dump()
            group = have.get(spec.key)
            if group is None:
                if self.change(f"+ price group {spec.key!r}"):
                    self.call(self.booking, "POST", "/api/v1/price-groups", wanted, params)
                continue
            patch = {k: v for k, v in wanted.items() if k != "key" and group[k] != v}
            if patch and self.change(f"~ price group {spec.key!r}: {', '.join(sorted(patch))}"):
                path = f"/api/v1/price-groups/{spec.key}"
                self.call(self.booking, "PATCH", path, patch, params)

    def venues(self, tenant_exists: bool) -> None:
        params = {"tenant": self.setup.tenant.slug}
        listed = (
            self.call(self.booking, "GET", "/api/v1/venues", params=params)
            if (tenant_exists)
            else []
        )
        venues = _by_name(listed, "venues")
        resources = _by_name([r for v in listed for r in v["resources"]], "resources")
        self.out.ids["resources"] = {}
        self.out.ids["venues"] = {name: venue["id"] for name, venue in venues.items()}
        for spec in self.setup.venues:
            venue = venues.get(spec.name)
            wanted = {"name": spec.name, "address": spec.address}
            if spec.timezone is not None:
                wanted["timezone"] = spec.timezone
            if venue is None:
                if self.change(f"+ venue {spec.name!r}"):
                    venue = self.call(self.booking, "POST", "/api/v1/venues", wanted, params)
                    self.out.ids["venues"][spec.name] = venue["id"]
            else:
                patch = {key: value for key, value in wanted.items() if venue[key] != value}
                if patch and self.change(f"~ venue {spec.name!r}: {', '.join(sorted(patch))}"):
                    self.call(self.booking, "PATCH", f"/api/v1/venues/{venue['id']}", patch, params)
            for resource in spec.resources:
                self.resource(resource, venue, resources.pop(resource.name, None))
        for name, left in sorted(resources.items()):
            if left["active"] and self.change(f"- resource {name!r} deactivated (kept)"):
                self.call(
                    self.booking,
                    "PATCH",
                    f"/api/v1/resources/{left['id']}",
                    {"active": False},
                    params,
                )

    def resource(
        self, spec: ResourceSpec, venue: dict[str, Any] | None, have: dict[str, Any] | None
    ) -> None:
        params = {"tenant": self.setup.tenant.slug}
        wanted = spec.model_dump(mode="json", by_alias=True, exclude={"doors"}) | {
            "door_ids": list(spec.doors)
        }
        if have is None:
            if self.change(f"+ resource {spec.name!r}"):
                assert venue is not None
                body = {k: v for k, v in wanted.items() if v is not None} | {
                    "venue_id": venue["id"]
                }
                made = self.call(self.booking, "POST", "/api/v1/resources", body, params)
                self.out.ids["resources"][spec.name] = made["id"]
            return
        self.out.ids["resources"][spec.name] = have["id"]
        if venue is not None and have["venue_id"] != venue["id"]:
            raise ApplyError(
                f"resource {spec.name!r} belongs to another venue: a resource keeps its venue"
            )
        patch = {key: value for key, value in wanted.items() if have[key] != value}
        if not have["active"]:
            patch["active"] = True
        if not patch or not self.change(f"~ resource {spec.name!r}: {', '.join(sorted(patch))}"):
            return
        if "opening_hours" in patch and patch["opening_hours"] is None:
            del patch["opening_hours"]
            patch["clear_opening_hours"] = True
        self.call(self.booking, "PATCH", f"/api/v1/resources/{have['id']}", patch, params)


def _by_name(items: list[dict[str, Any]], what: str) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = {}
    for item in items:
        if item["name"] in result:
            raise ApplyError(f"two {what} are named {item['name']!r}: rename one first")
        result[item["name"]] = item
    return result


def _error_of(response: httpx.Response) -> str:
    try:
        error = response.json()["error"]
        field_note = f" (field {error['field']})" if error.get("field") else ""
        return f"{error['message']}{field_note}"
    except (ValueError, KeyError, TypeError):
        return response.reason_phrase


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
    tenant_exists = run.tenant()
    run.price_groups(tenant_exists)
    run.venues(tenant_exists)
    apply_staff(run, tenant_exists)
    run.client_events(tenant_exists)
    run.client_webhook(tenant_exists)
    return run.out
