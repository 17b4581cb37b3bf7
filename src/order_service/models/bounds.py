"""Every bound on what an order may hold, defined once.

The request model, the stored order, the events, the notification and the SQL schema all
take their limits from here (the schema's CHECK constraints are tested against these
numbers), so an order the API accepts is one every later stage can carry.
"""

from typing import Final

MAX_ITEMS_PER_ORDER: Final = 50
MAX_QUANTITY: Final = 1_000

# A price as the client writes it: up to 12 integer digits, and at most as many fraction
# digits as the largest ISO 4217 exponent (4).
AMOUNT_INTEGER_DIGITS: Final = 12
AMOUNT_FRACTION_DIGITS: Final = 4
MAX_PRICE_TEXT_LENGTH: Final = AMOUNT_INTEGER_DIGITS + 1 + AMOUNT_FRACTION_DIGITS

# Every amount in minor units (a unit price, a line total, the order total) is below 10^18:
# it fits a signed 64-bit integer in any consumer, and PostgreSQL's numeric(20, 0).
MAX_MINOR_UNITS: Final = 10**18 - 1
# The longest decimal string of such an amount: 18 digits and a decimal point.
MAX_AMOUNT_TEXT_LENGTH: Final = len(str(MAX_MINOR_UNITS)) + 1

ID_MAX_LENGTH: Final = 64  # order ids, customer ids, SKUs
# RFC 5321: a local part of at most 64 octets, a path of at most 256 (254 for the address).
EMAIL_LOCAL_PART_MAX_LENGTH: Final = 64
EMAIL_DOMAIN_LABEL_MAX_LENGTH: Final = 63
EMAIL_MAX_LENGTH: Final = 254
REASON_MAX_LENGTH: Final = 500
IDEMPOTENCY_KEY_MAX_LENGTH: Final = 128
# `<order id>:<final status>`
NOTIFICATION_ID_MAX_LENGTH: Final = ID_MAX_LENGTH + 1 + len("completed")
# A `next_token` as the API hands it out is a few hundred characters; anything longer is not one.
PAGE_TOKEN_MAX_LENGTH: Final = 2048
