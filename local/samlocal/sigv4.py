"""SigV4 for the local API: clients sign with the local credentials, the gateway verifies.

API Gateway's AWS_IAM authorizer checks the signature and then the caller's IAM policy. The
local stack does the first half, with botocore's own signer, against the one local key pair;
it evaluates no IAM policy.
"""

import hmac
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from samlocal.provision import LOCAL_CREDENTIALS
from samlocal.template import ACCOUNT_ID, REGION

SERVICE = "execute-api"
LOCAL_CALLER_ARN = f"arn:aws:iam::{ACCOUNT_ID}:user/local"
_MAX_SKEW = timedelta(minutes=15)


def _credentials() -> Credentials:
    return Credentials(LOCAL_CREDENTIALS["aws_access_key_id"], LOCAL_CREDENTIALS["aws_secret_access_key"])


def sign(method: str, url: str, headers: Mapping[str, str], body: bytes | None) -> dict[str, str]:
    """The headers of a request signed for execute-api with the local credentials."""
    request = AWSRequest(method=method, url=url, headers=dict(headers), data=body or b"")
    SigV4Auth(_credentials(), SERVICE, REGION).add_auth(request)
    return dict(request.headers.items())


def verify(method: str, url: str, headers: Mapping[str, str], body: bytes) -> str | None:
    """None if the request carries a valid local signature, else why not (API Gateway's words)."""
    lowered = {name.lower(): value for name, value in headers.items()}
    authorization = lowered.get("authorization", "")
    if not authorization.startswith("AWS4-HMAC-SHA256 "):
        return "Missing Authentication Token"
    fields = dict(part.strip().split("=", 1) for part in authorization[len("AWS4-HMAC-SHA256 ") :].split(","))
    try:
        access_key, _, region, service, _ = fields["Credential"].split("/")
        signed_headers = fields["SignedHeaders"].split(";")
        signature = fields["Signature"]
        stamp = datetime.strptime(lowered["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except (KeyError, ValueError):
        return "Authorization header requires 'Credential', 'Signature', 'SignedHeaders' and X-Amz-Date"
    if access_key != LOCAL_CREDENTIALS["aws_access_key_id"]:
        return "The security token included in the request is invalid."
    if (region, service) != (REGION, SERVICE):
        return f"Credential should be scoped to a valid region and service '{SERVICE}'"
    if abs(datetime.now(UTC) - stamp) > _MAX_SKEW:
        return "Signature expired"
    request = AWSRequest(
        method=method, url=url, headers={name: lowered[name] for name in signed_headers if name in lowered}, data=body
    )
    request.context["timestamp"] = lowered["x-amz-date"]
    signer = SigV4Auth(_credentials(), SERVICE, REGION)
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    if not hmac.compare_digest(expected, signature):
        return "The request signature we calculated does not match the signature you provided."
    return None
