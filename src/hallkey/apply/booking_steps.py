"""The apply's steps in the booking system: the tenant with its API tokens, price groups,
venues and resources (staff: `staff`)."""

from __future__ import annotations

from typing import Any

from hallkey.apply.errors import ApplyError
from hallkey.apply.file import ResourceSpec
from hallkey.apply.run import Run, by_name, error_of


def tenant(run: Run) -> bool:
    spec = run.setup.tenant
    path = f"/api/v1/tenants/{spec.slug}"
    response = run.booking.client.get(path)
    if response.status_code not in (200, 404):
        raise ApplyError(f"GET {path}: {response.status_code} {error_of(response)}")
    wanted: dict[str, Any] = {
        "name": spec.name,
        "timezone": spec.timezone,
        "hub_url": run.hub.public_url,
        "hostnames": sorted(h.lower().rstrip(".") for h in spec.hostnames),
    }
    run.tenant_body = wanted
    if response.status_code == 404:
        if run.client is not None and run.hub_api_key is None:
            raise ApplyError(
                f"the hub client {run.setup.hub.client!r} exists but the tenant "
                f"{spec.slug!r} does not, and a client's key is shown only when it is made: "
                "name a new hub client in the file (or give the tenant the key by hand)"
            )
        if not run.change(f"+ tenant {spec.slug!r}"):
            tokens(run, set())
            return False
        made = run.call(run.booking, "PUT", path, {**wanted, "hub_api_key": run.hub_api_key})
        run.out.ids["tenant"] = made["id"]
        tokens(run, set())
        return True
    have = response.json()
    run.out.ids["tenant"] = have["id"]
    run.tenant_has_webhook_secret = bool(have.get("has_hub_webhook_secret"))
    differs = sorted(key for key, value in wanted.items() if have[key] != value)
    if run.hub_api_key is not None:
        differs.append("hub_api_key")
    if differs and run.change(f"~ tenant {spec.slug!r}: {', '.join(differs)}"):
        key = {"hub_api_key": run.hub_api_key} if run.hub_api_key else {}
        run.call(run.booking, "PUT", path, {**wanted, **key})
    tokens(run, {token["name"] for token in have["tokens"]})
    return True


def tokens(run: Run, have: set[str]) -> None:
    slug = run.setup.tenant.slug
    for token in run.setup.tokens:
        if token.name in have or not run.change(f"+ booking API token {token.name!r}"):
            continue
        made = run.call(
            run.booking,
            "POST",
            f"/api/v1/tenants/{slug}/tokens",
            {"name": token.name, "scopes": token.scopes},
        )
        run.out.keys.setdefault("booking_tokens", {})[token.name] = made["token"]


def price_groups(run: Run, tenant_exists: bool) -> None:
    """Creates the file's price groups and brings their names and approval rule to it;
    groups the file does not name are left alone (prices may refer to them)."""
    params = {"tenant": run.setup.tenant.slug}
    listed = (
        run.call(run.booking, "GET", "/api/v1/price-groups", params=params) if tenant_exists else []
    )
    have = {group["key"]: group for group in listed}
    for spec in run.setup.price_groups:
        wanted = spec.model_dump()
        group = have.get(spec.key)
        if group is None:
            if run.change(f"+ price group {spec.key!r}"):
                run.call(run.booking, "POST", "/api/v1/price-groups", wanted, params)
            continue
        patch = {k: v for k, v in wanted.items() if k != "key" and group[k] != v}
        if patch and run.change(f"~ price group {spec.key!r}: {', '.join(sorted(patch))}"):
            path = f"/api/v1/price-groups/{spec.key}"
            run.call(run.booking, "PATCH", path, patch, params)


def venues(run: Run, tenant_exists: bool) -> None:
    params = {"tenant": run.setup.tenant.slug}
    listed = (
        run.call(run.booking, "GET", "/api/v1/venues", params=params) if (tenant_exists) else []
    )
    venues = by_name(listed, "venues")
    resources = by_name([r for v in listed for r in v["resources"]], "resources")
    run.out.ids["resources"] = {}
    run.out.ids["venues"] = {name: venue["id"] for name, venue in venues.items()}
    for spec in run.setup.venues:
        venue = venues.get(spec.name)
        wanted = {"name": spec.name, "address": spec.address}
        if spec.timezone is not None:
            wanted["timezone"] = spec.timezone
        if venue is None:
            if run.change(f"+ venue {spec.name!r}"):
                venue = run.call(run.booking, "POST", "/api/v1/venues", wanted, params)
                run.out.ids["venues"][spec.name] = venue["id"]
        else:
            patch = {key: value for key, value in wanted.items() if venue[key] != value}
            if patch and run.change(f"~ venue {spec.name!r}: {', '.join(sorted(patch))}"):
                run.call(run.booking, "PATCH", f"/api/v1/venues/{venue['id']}", patch, params)
        for resource_spec in spec.resources:
            resource(run, resource_spec, venue, resources.pop(resource_spec.name, None))
    for name, left in sorted(resources.items()):
        if left["active"] and run.change(f"- resource {name!r} deactivated (kept)"):
            run.call(
                run.booking,
                "PATCH",
                f"/api/v1/resources/{left['id']}",
                {"active": False},
                params,
            )


def resource(
    run: Run, spec: ResourceSpec, venue: dict[str, Any] | None, have: dict[str, Any] | None
) -> None:
    params = {"tenant": run.setup.tenant.slug}
    wanted = spec.model_dump(mode="json", by_alias=True, exclude={"doors"}) | {
        "door_ids": list(spec.doors)
    }
    if have is None:
        if run.change(f"+ resource {spec.name!r}"):
            assert venue is not None
            body = {k: v for k, v in wanted.items() if v is not None} | {"venue_id": venue["id"]}
            made = run.call(run.booking, "POST", "/api/v1/resources", body, params)
            run.out.ids["resources"][spec.name] = made["id"]
        return
    run.out.ids["resources"][spec.name] = have["id"]
    if venue is not None and have["venue_id"] != venue["id"]:
        raise ApplyError(
            f"resource {spec.name!r} belongs to another venue: a resource keeps its venue"
        )
    patch = {key: value for key, value in wanted.items() if have[key] != value}
    if not have["active"]:
        patch["active"] = True
    if not patch or not run.change(f"~ resource {spec.name!r}: {', '.join(sorted(patch))}"):
        return
    if "opening_hours" in patch and patch["opening_hours"] is None:
        del patch["opening_hours"]
        patch["clear_opening_hours"] = True
    run.call(run.booking, "PATCH", f"/api/v1/resources/{have['id']}", patch, params)
