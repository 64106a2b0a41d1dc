"""The hub operator's pages in a real browser: the demo's operator signs in and sees a door go
offline when its controller stops answering."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import DatabaseUrlFactory
from tests.e2e.harness import Deployment, deployment
from tests.e2e.test_failures import catch_up, online
from tests.e2e.test_keys import NOW


@pytest.fixture
def split(database_url: DatabaseUrlFactory, tmp_path: Path) -> Iterator[Deployment]:
    with deployment("split", database_url, tmp_path / "var", NOW) as deployed:
        yield deployed


def test_hub_admin__operator_signs_in_and_sees_a_door_go_offline(
    split: Deployment, desktop: Page
) -> None:
    d = split
    door = d.demo["doors"][0]
    login = d.demo["hub_admin"]

    desktop.goto(f"{d.urls.hub}/hub/admin")
    expect(desktop).to_have_url(f"{d.urls.hub}/hub/admin/login?next=/hub/admin")
    desktop.get_by_label("Brukernavn").fill(login["username"])
    desktop.get_by_label("Passord").fill(login["password"])
    desktop.get_by_role("button", name="Logg inn").click()

    row = desktop.locator(f'tr[data-door="{door["id"]}"]')
    expect(row).to_contain_text(door["name"])
    expect(row).to_contain_text("tilkoblet")

    d.stop("locks")
    catch_up(d, lambda: online(d).get(door["id"]) is False, step_minutes=6)
    desktop.reload()

    expect(row).to_contain_text("frakoblet")
    expect(desktop.get_by_text("dører frakoblet")).to_be_visible()
