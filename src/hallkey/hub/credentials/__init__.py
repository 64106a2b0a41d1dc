"""The credential types a grant can carry, one module each behind `CredentialType`."""

from __future__ import annotations

from hallkey.hub.credentials.base import CredentialType, Shown
from hallkey.hub.credentials.mobile_key import MobileKeyCredential
from hallkey.hub.credentials.pin import PinCredential
from hallkey.hub.credentials.sms import SmsCredential
from hallkey.hub.credentials.url_key import UrlKeyCredential

CREDENTIALS: dict[str, CredentialType] = {
    kind.name: kind
    for kind in (PinCredential(), UrlKeyCredential(), MobileKeyCredential(), SmsCredential())
}
"""The credential types the hub issues, by the name GrantAccess gives."""


def credential_type(name: str) -> CredentialType | None:
    """Returns the credential type of that name, if the hub issues it."""
    return CREDENTIALS.get(name)


__all__ = ["CREDENTIALS", "CredentialType", "Shown", "credential_type"]
