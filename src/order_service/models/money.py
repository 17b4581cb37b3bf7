"""Money as integer minor units of an ISO 4217 currency; never a float.

Amounts enter and leave the service as decimal strings ("12.50") and are held as integers
of the currency's minor unit (1250 cents), so sums are exact and a JSON float never
touches a price.
"""

from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

from order_service.models.currencies import MINOR_UNIT_EXPONENTS, minor_unit_exponent

# At most 12 integer digits and 4 fraction digits (the largest ISO 4217 exponent):
# bounded so a hostile payload cannot ask for a 10,000-digit Decimal.
DECIMAL_AMOUNT_PATTERN = r"^(0|[1-9][0-9]{0,11})(\.[0-9]{1,4})?$"


def _known_currency(code: str) -> str:
    if code not in MINOR_UNIT_EXPONENTS:
        raise ValueError(f"'{code}' is not an ISO 4217 currency code")
    return code


CurrencyCode = Annotated[
    str,
    StringConstraints(min_length=3, max_length=3, pattern=r"^[A-Z]{3}$"),
    AfterValidator(_known_currency),
]
DecimalAmount = Annotated[str, StringConstraints(max_length=17, pattern=DECIMAL_AMOUNT_PATTERN)]


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
