"""The desk's list of reservations (filters, pages) and calendar, and the staff sign-in at
`/login` (right, wrong, throttled, no open redirect)."""

from __future__ import annotations

from tests.booking.pages.desk_world import PASSWORD, Desk, request_on_stage

# --- the list and the calendar --------------------------------------------------------------


def test_list__filters_and_pages(desk: Desk) -> None:
    made = [
        desk.book(
            desk.booking.resource_id, f"2026-05-05T{h:02d}:00:00Z", f"2026-05-05T{h:02d}:30:00Z"
        )
        for h in range(6, 9)
    ]
    stage = request_on_stage(desk, 7)
    officer = desk.signed_in("officer")
    requested = officer.get("/admin/reservations", status="requested").text
    assert stage["id"] in requested and made[0]["id"] not in requested
    one_day = officer.get("/admin/reservations", **{"from": "2026-05-07", "to": "2026-05-07"}).text
    assert stage["id"] in one_day and made[0]["id"] not in one_day
    bad = officer.get("/admin/reservations", **{"from": "2026-05-07", "to": "2026-05-06"})
    assert bad.status_code == 422 and 'aria-describedby="to-error"' in bad.text
    worse = officer.get("/admin/reservations", status="maybe")
    assert worse.status_code == 422 and 'aria-describedby="status-error"' in worse.text
    # Pages: 50 a page; the link carries the filters and the cursor.
    for h in range(9, 24):
        for m in (0, 30):
            start = f"2026-05-06T{h:02d}:{m:02d}:00Z"
            end = f"2026-05-06T{h:02d}:{m + 29:02d}:00Z"
            desk.book(desk.booking.resource_id, start, end)
    for h in range(0, 24):
        start, end = f"2026-05-08T{h:02d}:00:00Z", f"2026-05-08T{h:02d}:29:00Z"
        desk.book(desk.booking.resource_id, start, end)
    first = officer.get("/admin/reservations", status="confirmed")
    assert first.text.count('<tr data-reservation="') == 50
    assert 'rel="next"' in first.text
    link = first.text.split('<p><a href="')[-1].split('"')[0].replace("&amp;", "&")
    assert "status=confirmed" in link and "cursor=" in link
    second = officer.get(link)
    assert second.status_code == 200
    assert second.text.count('<tr data-reservation="') == 3 + 30 + 24 - 50
    assert officer.get("/admin/reservations", cursor="nonsense").status_code == 400


def test_calendar__a_venues_week_in_its_zone_with_today_marked(desk: Desk) -> None:
    made = desk.book(desk.booking.resource_id, "2026-05-06T20:30:00Z", "2026-05-06T22:00:00Z")
    stage = request_on_stage(desk, 7)
    officer = desk.signed_in("officer")
    page = officer.get("/admin/calendar")  # the clock's week: T0 is Monday 4 May 2026
    assert page.status_code == 200
    text = page.text
    assert 'aria-current="date"' in text and "mandag 4. mai 2026" in text
    # 20:30Z is 22:30 on Wednesday in Oslo; the request shows with its status.
    wednesday = text.split("onsdag 6. mai 2026")[1].split("torsdag")[0]
    assert made["id"] in wednesday and "22:30" in wednesday and "Kari Nordmann" in wednesday
    assert stage["id"] in text and "Forespurt" in text
    assert "week=2026-W18" in text and "week=2026-W20" in text
    later = officer.get("/admin/calendar", week="2026-W20").text
    assert made["id"] not in later and 'aria-current="date"' not in later
    assert officer.get("/admin/calendar", week="soon").status_code == 422


# --- staff sign-in at /login ----------------------------------------------------------------


def test_login__right_wrong_throttled_and_no_open_redirect(desk: Desk) -> None:
    desk.add_staff("officer")
    desk.add_staff("admin")
    person = desk.browser()
    person.get("/login")
    wrong = person.post("/login/staff", {"username": "officer", "password": "nope"})
    assert wrong.status_code == 401 and 'id="staff-error"' in wrong.text
    assert "hallkey_session" not in person.client.cookies
    right = person.post(
        "/login/staff",
        {"username": "officer", "password": PASSWORD, "next": "//evil.example/admin"},
    )
    assert right.status_code == 303 and right.headers["location"] == "/admin"
    assert person.get("/admin").headers["location"] == "/admin/requests"
    back = desk.browser()
    back.get("/login")
    signed = back.post(
        "/login/staff",
        {"username": "officer", "password": PASSWORD, "next": "/admin/calendar?week=2026-W19"},
    )
    assert signed.headers["location"] == "/admin/calendar?week=2026-W19"
    # After the limit of wrong passwords for a name, even the right one is refused a while.
    limit = desk.booking.ctx.settings.sign_in_failures_per_username
    guesser = desk.browser()
    guesser.get("/login")
    answers = [
        guesser.post("/login/staff", {"username": "admin", "password": f"guess {n}"}).status_code
        for n in range(limit + 1)
    ]
    assert answers == [401] * limit + [429]
    blocked = guesser.post("/login/staff", {"username": "admin", "password": PASSWORD})
    assert blocked.status_code == 429 and "retry-after" in blocked.headers
