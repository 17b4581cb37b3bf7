"""SES's sandbox, as a new account's SES is: e-mail goes only to verified identities.

In the sandbox SES sends only to verified e-mail addresses and domains, and to its mailbox
simulator; any other recipient fails the whole SendEmail with `MessageRejected` ("Email address
is not verified. The following identities failed the check in region US-EAST-1: ..."). An
address is verified when it is an identity itself or when its domain, or a parent domain, is
one (SES: a verified domain covers its subdomains and every address in them).

The identities are moto's, so `aws ses verify-email-identity` and `aws sesv2
create-email-identity` against the emulator verify an address (or a domain) here too, at once:
nobody has a link to click locally.
"""

from collections.abc import Collection, Iterable

from moto.iam.models import get_account_id_from
from moto.ses.models import ses_backends

from samlocal.template import ACCOUNT_ID, REGION

# SES's mailbox simulator: every account may send to it, in the sandbox too.
MAILBOX_SIMULATOR_DOMAIN = "simulator.amazonses.com"


def verified_identities(access_key: str, region: str) -> set[str]:
    """The identities of the caller's account in `region`, as moto holds them (domains in
    lower case: a domain name's case does not matter)."""
    backend = ses_backends[get_account_id_from(access_key)][region]
    return {identity if "@" in identity else identity.lower() for identity in list(backend.email_identities)}


def is_verified(address: str, identities: Collection[str]) -> bool:
    """Whether SES may send to `address` in the sandbox: the address, or its domain or a parent
    of it, is a verified identity (domains in lower case), or it is the mailbox simulator's."""
    if address in identities:
        return True
    _, at, domain = address.rpartition("@")
    if not at:
        return False
    labels = domain.lower().split(".")
    parents = {".".join(labels[index:]) for index in range(len(labels))}
    return MAILBOX_SIMULATOR_DOMAIN in parents or any(parent in identities for parent in parents)


def unverified(addresses: Iterable[str], identities: Collection[str]) -> list[str]:
    """The addresses SES refuses in the sandbox, each once, in the order given."""
    return list(dict.fromkeys(address for address in addresses if not is_verified(address, identities)))


def rejection_message(region: str, identities: Iterable[str]) -> str:
    """SES's MessageRejected text for a sandbox send to these unverified identities."""
    return (
        "Email address is not verified. The following identities failed the check in region "
        f"{region.upper()}: {', '.join(identities)}"
    )


def verify(addresses: Iterable[str], *, account_id: str = ACCOUNT_ID, region: str = REGION) -> None:
    """Verify each address as `aws ses verify-email-identity` does, straight in the emulator's SES
    (the stack's own account and region): a soak's 2,000 calls would take half a minute."""
    backend = ses_backends[account_id][region]
    for address in dict.fromkeys(addresses):
        backend.verify_email_identity(address)
