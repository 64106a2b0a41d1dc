"""The route class of page routers: where the API answers JSON, a page answers a page.

A page handler raises `SignInNeeded` when its reader must sign in first (the reader is sent to
the sign-in page and back), or lets a service's `AppError` through (rendered as an error page
with its status). The handlers then hold only what they are about, not the same five lines of
"signed in, else to the sign-in page".
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute

from hallkey.core.errors import AppError, BadRequest

ErrorPage = Callable[[Request, AppError], Response]


class SignInNeeded(Exception):
    """Raised by a page its reader may see only signed in; `hint` is added to the sign-in
    page's query (e.g. `for=customer`)."""

    def __init__(self, hint: str = "") -> None:
        super().__init__("sign in first")
        self.hint = hint


def page_route(login_url: str, error_page: ErrorPage) -> type[APIRoute]:
    """Returns the route class of a context's pages: `SignInNeeded` → a redirect to
    `login_url?next=<this page>`, an `AppError` or bad parameters → `error_page`."""

    class PageRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handle = super().get_route_handler()

            async def handle_page(request: Request) -> Response:
                try:
                    return await handle(request)
                except SignInNeeded as needed:
                    target = request.url.path
                    if request.method == "GET" and request.url.query:
                        target += "?" + request.url.query
                    hint = f"&{needed.hint}" if needed.hint else ""
                    return RedirectResponse(
                        f"{login_url}?next={quote(target)}{hint}", status_code=303
                    )
                except AppError as exc:
                    return error_page(request, exc)
                except RequestValidationError:
                    return error_page(request, BadRequest("the address or form is not valid"))

            return handle_page

    return PageRoute
