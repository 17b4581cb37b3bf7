"""Money as integer minor units of an ISO 4217 currency; never a float.

Amounts enter and leave the service as decimal strings ("12.50") and are held as integers
of the currency's minor unit (1250 cents), so sums are exact and a JSON float never
touches a price.
"""

from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

from order_service.models.bounds import AMOUNT_FRACTION_DIGITS, AMOUNT_INTEGER_DIGITS, MAX_PRICE_TEXT_LENGTH
from order_service.models.currencies import MINOR_UNIT_EXPONENTS, minor_unit_exponent

# Bounded so a hostile payload cannot ask for a 10,000-digit Decimal.
DECIMAL_AMOUNT_PATTERN = rf"^(0|[1-9][0-9]{{0,{AMOUNT_INTEGER_DIGITS - 1}}})(\.[0-9]{{1,{AMOUNT_FRACTION_DIGITS}}})?$"


def _known_currency(code: str) -> str:
    if code not in MINOR_UNIT_EXPONENTS:
        raise ValueError(f"'{code}' is not an ISO 4217 currency code")
    return code


CurrencyCode = Annotated[
    str,
    StringConstraints(min_length=3, max_length=3, pattern=r"^[A-Z]{3}$"),
    AfterValidator(_known_currency),
]
DecimalAmount = Annotated[str, StringConstraints(max_length=MAX_PRICE_TEXT_LENGTH, pattern=DECIMAL_AMOUNT_PATTERN)]


class AmountPrecisionError(ValueError):
    """An amount has more fraction digits than its currency's minor unit allows."""


def to_minor_units(amount: str | Decimal, currency: str) -> int:
    """'12.5' EUR -> 1250. Refuses amounts finer than the currency's minor unit."""
    exponent = minor_unit_exponent(currency)
    scaled = Decimal(amount).scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise AmountPrecisionError(f"{currency} amounts have at most {exponent} digits after the decimal point")
    return int(scaled)


def format_minor_units(minor_units: int, currency: str) -> str:
    """1250 EUR -> '12.50'; 1250 JPY -> '1250'."""
    exponent = minor_unit_exponent(currency)
    return f"{Decimal(minor_units).scaleb(-exponent):.{exponent}f}"
