"""Passwords are hashed with Argon2id at the library's recommended cost (RFC 9106's second
profile); the suite itself hashes cheaply (`tests/conftest.py`), so the product's cost is
checked here, on the hasher the product builds."""

from __future__ import annotations

from argon2 import PasswordHasher, extract_parameters
from argon2.profiles import RFC_9106_LOW_MEMORY

from hallkey.core import security
from tests.conftest import CHEAP_PASSWORD_HASHER


def test_password_hashes__the_product_hashes_at_the_recommended_cost() -> None:
    product = security.PRODUCT_PASSWORD_HASHER
    assert isinstance(product, PasswordHasher)
    parameters = extract_parameters(product.hash("correct horse battery staple"))
    assert parameters.type.name == "ID"
    assert parameters.memory_cost >= RFC_9106_LOW_MEMORY.memory_cost
    assert parameters.time_cost >= RFC_9106_LOW_MEMORY.time_cost


def test_password_hashes__a_cheap_hash__still_verifies_right_and_wrong() -> None:
    # What the suite uses: the same checks, only cheaper.
    assert security._password_hasher is CHEAP_PASSWORD_HASHER
    stored = security.hash_password("s3cret-enough")
    assert security.verify_password("s3cret-enough", stored)
    assert not security.verify_password("s3cret-enougH", stored)
    assert not security.verify_password("anything", "not-a-hash")
