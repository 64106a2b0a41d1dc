"""The page tests' booking with staff of every role (see `desk_world`)."""

from __future__ import annotations

import pytest

from tests.booking.conftest import Booking
from tests.booking.pages.desk_world import Desk, make_desk


@pytest.fixture
def desk(booking: Booking) -> Desk:
    """Returns the seeded booking with a second venue; its staff sign in at `/login`."""
    return make_desk(booking)
