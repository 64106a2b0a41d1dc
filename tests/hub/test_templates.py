"""Message templates: Jinja2 files per type and locale, babel's dates, times and lists in the
venue's time zone, texts kept in GSM-7 within two segments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hallkey.core.messaging import sms_length
from hallkey.hub.delivery.templates import (
    ALERTS,
    TEMPLATES,
    TEXTS,
    Rendered,
    format_moment,
    format_time_frame,
    join_names,
    render,
    render_alert,
    render_sms_answer,
)
from hallkey.hub.domain import Window

OSLO = "Europe/Oslo"
# 18:00-19:00 in Oslo on 1 December (winter time, UTC+1).
A = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)
B = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)


def _render(template: str, locale: str, **overrides: object) -> Rendered:
    values: dict[str, object] = {
        "doors": ["Hovedinngang", "Sideinngang"],
        "place": "Sentrum kulturhus",
        "windows": [Window(A, B)],
        "timezone": OSLO,
        "code": "482915#",
    }
    values.update(overrides)
    return render(template, locale, **values)  # type: ignore[arg-type]


def test_every_message_type_has_a_file_per_locale() -> None:
    names = {p.name for p in TEXTS.glob("*.j2")}
    for template in (*TEMPLATES, *ALERTS, "sms_answer"):
        assert {f"{template}.nb.j2", f"{template}.en.j2"} <= names


def test_time_frame__babel_month_names_and_24_hour_clock_in_both_locales() -> None:
    window = [Window(A, B)]
    assert format_time_frame(window, OSLO, "nb") == "1. desember 18:00\u201319:00"
    assert format_time_frame(window, OSLO, "en") == "1 December 18:00\u201319:00"
    assert format_time_frame(window, "America/New_York", "en") == "1 December 12:00\u201313:00"


def test_time_frame__across_the_dst_change_in_oslo() -> None:
    # 29 March 2026: 02:00 becomes 03:00. 00:30 to 04:30 local is three hours.
    start = datetime(2026, 3, 28, 23, 30, tzinfo=UTC)
    window = [Window(start, start + timedelta(hours=3))]
    assert format_time_frame(window, OSLO, "nb") == "29. mars 00:30\u201304:30"
    # In summer time 18:00 local is 16:00 UTC.
    summer = datetime(2026, 6, 1, 16, 0, tzinfo=UTC)
    assert format_time_frame([Window(summer, summer + timedelta(hours=1))], OSLO, "en") == (
        "1 June 18:00\u201319:00"
    )


def test_time_frame__over_midnight_and_more_windows_than_shown() -> None:
    night = [Window(A, B + timedelta(hours=6))]
    assert format_time_frame(night, OSLO, "nb") == "1. desember 18:00 \u2013 2. desember 01:00"
    week = [Window(A + n * timedelta(days=7), B + n * timedelta(days=7)) for n in range(6)]
    assert format_time_frame(week, OSLO, "en").endswith("and 2 more")
    assert format_time_frame(week, OSLO, "nb").endswith("og 2 tidsrom til")


def test_lists__joined_by_babel() -> None:
    assert join_names(["A", "B", "C"], "nb") == "A, B og C"
    assert join_names(["A", "B"], "en") == "A and B"
    assert join_names([], "en") == ""


def test_moment__in_the_venues_zone() -> None:
    assert format_moment(A, OSLO, "nb") == "01.12.2026, 18:00"
    assert format_moment(A, OSLO, "en") == "01/12/2026, 18:00"


@pytest.mark.parametrize("locale", ["nb", "en"])
@pytest.mark.parametrize("template", TEMPLATES)
def test_templates__all_parts_filled_in_with_the_code(template: str, locale: str) -> None:
    rendered = _render(template, locale)
    subject, sms, email, html = rendered.subject, rendered.sms, rendered.email, rendered.html
    assert "Sentrum kulturhus" in subject
    for text in (sms, email, html):
        assert "Sentrum kulturhus" in text and "{" not in text
        assert ("482915#" in text) == (template != "access_revoked")
    assert sms_length(sms).encoding == "gsm7"
    assert html.startswith("<!doctype html>") and f'lang="{locale}"' in html


def test_templates__unknown_locale_falls_back_to_norwegian() -> None:
    assert _render("access_granted", "de").subject == "Din kode til Sentrum kulturhus"


def test_templates__html_escapes_what_a_client_named() -> None:
    rendered = _render("access_granted", "nb", place="Hall <b>&</b>")
    assert "Hall &lt;b&gt;&amp;&lt;/b&gt;" in rendered.html
    assert "Hall <b>&</b>" in rendered.email


def test_templates__link_and_sms_access_wording() -> None:
    link = _render("access_granted", "en", code=None, link="https://k.example/u/abc")
    assert "https://k.example/u/abc" in link.sms
    assert 'href="https://k.example/u/abc"' in link.html
    sms = _render("access_granted", "nb", code=None, sms_number="+4759440000", keywords=["A1"])
    assert "send A1 på SMS til +4759440000" in sms.sms


def test_sms__a_long_series_shows_fewer_windows_to_stay_within_two_segments() -> None:
    week = [Window(A + n * timedelta(days=7), B + n * timedelta(days=7)) for n in range(30)]
    long_place = "Idrettshallen ved Fjellby ungdomsskole, inngang fra parkeringsplassen"
    rendered = _render("access_granted", "nb", windows=week, place=long_place)
    assert sms_length(rendered.sms).segments <= 2
    assert "482915#" in rendered.sms
    assert "og 2" in rendered.sms or "tidsrom til" in rendered.sms
    assert rendered.email.count("desember") + rendered.email.count("januar") >= 4


@pytest.mark.parametrize("locale", ["nb", "en"])
def test_alerts__name_door_place_and_error(locale: str) -> None:
    values = {
        "door": "Hovedinngang",
        "place": "Sentrum",
        "at": "01.12.2026, 18:00",
        "ref": "rsv_1",
        "error": "door_offline",
        "action": "program",
    }
    for template in ALERTS:
        rendered = render_alert(template, locale, values)
        assert "Hovedinngang" in rendered.subject
        assert "Sentrum" in rendered.email and "01.12.2026, 18:00" in rendered.email
    failed = render_alert("programming_failed", locale, values)
    assert "rsv_1" in failed.email and "door_offline" in failed.email


def test_sms_answers__in_both_locales() -> None:
    assert render_sms_answer("sms_opened", "en") == "The door is open now. Welcome!"
    assert render_sms_answer("sms_opened", None) == "Døren er åpen nå. Velkommen!"
    assert render_sms_answer("sms_unknown", "en").startswith("Sorry, we find no access")
