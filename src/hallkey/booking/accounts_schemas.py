"""What the accounts export answers as JSON (`GET /api/v1/accounts?format=json`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from hallkey.core.schemas import UtcDatetime


class AccountRowOut(BaseModel):
    """One billable reservation: who pays, for what, and how much (øre; net + vat = gross).
    `date`, `local_start` and `local_end` are the venue's wall time; `hours` is `minutes` / 60
    rounded to two decimals (`minutes` is exact)."""

    reservation_id: str
    ref: str
    status: str
    start: UtcDatetime
    end: UtcDatetime
    date: str
    local_start: str
    local_end: str
    resource_id: str
    resource: str
    venue: str
    customer: str
    org_number: str
    price_group: str
    minutes: int
    hours: float
    net_ore: int
    vat_ore: int
    gross_ore: int
    vat_basis_points: int


class AccountTotals(BaseModel):
    count: int = 0
    minutes: int = 0
    hours: float = 0.0
    net_ore: int = 0
    vat_ore: int = 0
    gross_ore: int = 0


class AccountsOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: UtcDatetime = Field(alias="from")
    to: UtcDatetime
    currency: str = "NOK"
    rows: list[AccountRowOut]
    totals: AccountTotals
