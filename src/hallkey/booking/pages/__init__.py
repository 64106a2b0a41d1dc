"""The booking context's pages: the public front (`/`, `/resources/{id}`), sign-in
(`/login`), a customer's own page (`/my`) and the staff's `/admin/…`. Server-rendered with
`hallkey.core.pages`; see `kit` for what they share."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hallkey.booking.pages import (
    caretaker_pages,
    customer_pages,
    desk_pages,
    login,
    my_pages,
    price_pages,
    public_pages,
    reservation_pages,
    season_pages,
    season_rounds,
    setup_pages,
    staff_pages,
)
from hallkey.core.pages import static_router

if TYPE_CHECKING:
    from fastapi import APIRouter

    from hallkey.booking.context import BookingContext

STATIC_PREFIX = "/static"


def build_routers(ctx: BookingContext) -> list[APIRouter]:
    """Returns the routers of every booking page (and the stylesheet)."""
    return [
        static_router(STATIC_PREFIX),
        login.build_router(ctx),
        my_pages.build_router(ctx),
        desk_pages.build_router(ctx),
        reservation_pages.build_router(ctx),
        season_pages.build_router(ctx),
        season_rounds.build_router(ctx),
        customer_pages.build_router(ctx),
        public_pages.build_router(ctx),
        setup_pages.build_router(ctx),
        price_pages.build_router(ctx),
        staff_pages.build_router(ctx),
        caretaker_pages.build_router(ctx),
    ]
