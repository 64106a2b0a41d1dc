"""Rate limits on the hub API: pulses and resends per ref, unknown refs per client."""

from __future__ import annotations

from datetime import timedelta

import httpx

from tests.hub.conftest import START, HubWorld


def _assert_429(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert response.json()["error"]["code"] == "too_many_requests"
    assert int(response.headers["Retry-After"]) >= 1


def test_grant_pulse_access__11th_pulse_of_a_ref_in_a_minute__429_with_retry_after(
    hub: HubWorld,
) -> None:
    hub.grant()
    hub.grant("rsv_two", recipient={}, deliver_via=[])
    hub.run_jobs()
    hub.clock.set(START + timedelta(minutes=5))
    body = {"ref": "rsv_one", "door": "door-a", "seconds": 1}
    for _ in range(10):
        assert hub.post("GrantPulseAccess", body).status_code == 200
    refused = hub.post("GrantPulseAccess", body)
    _assert_429(refused)
    pulses = len(hub.ctx.connectors.memory.door("door-a").pulses)
    assert pulses == 10  # the refused one never reached the door
    other_ref = {"ref": "rsv_two", "door": "door-a"}
    assert hub.post("GrantPulseAccess", other_ref).status_code == 200
    hub.clock.advance(timedelta(seconds=int(refused.headers["Retry-After"])))
    assert hub.post("GrantPulseAccess", body).status_code == 200


def test_resend_access__20_calls_in_an_hour__3_resends_and_never_40_sms(hub: HubWorld) -> None:
    hub.grant(deliver_via=["sms"])
    hub.run_jobs()
    statuses = [hub.post("ResendAccess", {"ref": "rsv_one"}).status_code for _ in range(20)]
    hub.run_jobs()
    assert statuses == [200] * 3 + [429] * 17
    _assert_429(hub.post("ResendAccess", {"ref": "rsv_one"}))
    assert len(hub.message_files()) == 4  # the code, then 3 resends
    hub.clock.advance(timedelta(hours=1))
    assert hub.post("ResendAccess", {"ref": "rsv_one"}).status_code == 200


def test_unknown_refs__31st_lookup_in_a_minute__429_for_known_refs_too(hub: HubWorld) -> None:
    hub.grant()
    lookups = [
        lambda n: hub.get(f"grants/rsv_nope{n}"),
        lambda n: hub.post("UpdateAccess", {"ref": f"rsv_nope{n}", "doors": ["door-a"]}),
        lambda n: hub.post("ResendAccess", {"ref": f"rsv_nope{n}"}),
        lambda n: hub.post("GrantPulseAccess", {"ref": f"rsv_nope{n}", "door": "door-a"}),
    ]
    for n in range(30):
        assert lookups[n % len(lookups)](n).status_code == 404
    _assert_429(hub.get("grants/rsv_nope99"))
    # Over the rate a known ref is refused alike: 429 tells a guesser nothing.
    _assert_429(hub.get("grants/rsv_one"))
    assert hub.get("grants/rsv_one", key=hub.other_key).status_code == 404  # per client
    # A revocation never waits on the throttle.
    assert hub.post("RevokeAccess", {"ref": "rsv_one"}).status_code == 200
    hub.clock.advance(timedelta(minutes=1))
    assert hub.get("grants/rsv_one").status_code == 200
