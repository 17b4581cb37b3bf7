"""moto's SES judges an address the same on every Python.

moto refuses a recipient whose `email.utils.parseaddr` finds no domain ("Missing domain").
Python 3.13's parser is strict: it gives up on a quoted local part holding a character such
as `[` (`"a[b"@x.co`, a valid RFC 5321 mailbox) and returns nothing, so the same order
that is sent on 3.11 came back `InvalidParameterValue` on 3.13 and was dead-lettered. The
check keeps moto's meaning (an address needs a domain) with the lenient parse older Pythons
always made.
"""

from email.utils import parseaddr

import moto.ses.models

# The name moto's SES backend calls; a private helper of moto, so set by name.
_MOTOS_CHECK = "is_valid_address"


def missing_domain(address: str) -> str | None:
    """moto's message for an address with no domain, or None when it has one."""
    try:
        _, bare = parseaddr(address, strict=False)  # type: ignore[call-arg,unused-ignore]
    except TypeError:  # A Python from before the strict parser: lenient already.
        _, bare = parseaddr(address)
    parts = bare.split("@")
    if len(parts) != 2 or not parts[1]:
        return "Missing domain"
    return None


def judge_ses_addresses_alike_on_every_python() -> None:
    """Put the lenient check where moto's SES backend looks it up (again is harmless)."""
    setattr(moto.ses.models, _MOTOS_CHECK, missing_domain)
