from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from order_service.models.currencies import MINOR_UNIT_EXPONENTS
from order_service.models.money import AmountPrecisionError, format_minor_units, to_minor_units


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [("12.50", "EUR", 1250), ("12.5", "EUR", 1250), ("1500", "JPY", 1500), ("1.234", "KWD", 1234), ("0", "USD", 0)],
)
def test_amounts_become_integer_minor_units_of_their_currency(amount: str, currency: str, minor: int) -> None:
    assert to_minor_units(amount, currency) == minor


def test_an_amount_finer_than_the_minor_unit_is_refused() -> None:
    with pytest.raises(AmountPrecisionError, match="JPY amounts have at most 0 digits"):
        to_minor_units("10.5", "JPY")


def test_minor_units_are_shown_with_the_currency_exponent() -> None:
    assert format_minor_units(1250, "EUR") == "12.50"
    assert format_minor_units(1500, "JPY") == "1500"
    assert format_minor_units(5, "BHD") == "0.005"


@given(
    minor=st.integers(min_value=0, max_value=10**15),
    currency=st.sampled_from(sorted(MINOR_UNIT_EXPONENTS)),
)
def test_formatting_and_parsing_round_trip_exactly(minor: int, currency: str) -> None:
    text = format_minor_units(minor, currency)
    assert to_minor_units(text, currency) == minor
    assert Decimal(text) == Decimal(minor).scaleb(-MINOR_UNIT_EXPONENTS[currency])
