"""SES email identities: verified as soon as they are created (sandbox rules: `ses_sandbox.py`)."""

from samlocal.provision import Provisioned, aws_client
from samlocal.resources import Declaration, Names, Resource
from samlocal.template import Stack

TYPE = "AWS::SES::EmailIdentity"


def names(declared: Declaration) -> Names:
    return Names(str(declared.stack.intrinsics.resolve(declared.properties["EmailIdentity"], declared.logical_id)))


def email_identities(stack: Stack) -> list[str]:
    return [stack.intrinsics.refs[logical_id] for logical_id in stack.of_type(TYPE)]


def provision(stack: Stack, endpoint_url: str, done: Provisioned) -> None:
    ses = aws_client("ses", endpoint_url)
    for identity in email_identities(stack):
        ses.verify_email_identity(EmailAddress=identity)


RESOURCE = Resource((TYPE,), names, provision)
