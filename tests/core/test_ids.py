import re

from hallkey.core.ids import new_id, new_ref


def test_ids__have_their_prefix_and_26_lowercase_base32_characters() -> None:
    assert re.fullmatch(r"bkg_[0-9a-hjkmnp-tv-z]{26}", new_id("bkg"))
    assert re.fullmatch(r"rsv_[0-9a-hjkmnp-tv-z]{26}", new_ref())


def test_ref__made_with_an_id__shares_nothing_with_it() -> None:
    pairs = [(new_id("bkg")[4:], new_ref()[4:]) for _ in range(50)]
    # A ULID's first 10 characters are its millisecond timestamp; a ref has none.
    assert sum(booking[:10] == ref[:10] for booking, ref in pairs) == 0
    assert len({ref for _, ref in pairs}) == 50
