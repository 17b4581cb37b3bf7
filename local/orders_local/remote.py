"""A deployed stack as `orders soak --api-url` finds it: the caller's AWS credentials (boto3's
default chain), the CloudFormation stack's outputs, and a client that signs every request to
the API with SigV4 for execute-api, as the API's AWS_IAM authorizer requires.

Nothing here knows whether the stack is on AWS or in the local stack's emulator: with
AWS_ENDPOINT_URL pointing at the emulator, the local stack's own published outputs are found
the same way (local_stack.py, `publish_stack_outputs`).
"""

import http.client
import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import BotoCoreError, ClientError
from samlocal.http_client import JsonClient

SERVICE = "execute-api"
# The outputs the accounting reads, and what for. A stack deployed before one was declared in
# template.yaml lacks it: the soak refuses to start rather than check less than it says.
REQUIRED_OUTPUTS = {
    "IdempotencyTableName": "each notification's delivery record",
    "SendNotificationFunctionName": "the key of those records (Powertools prefixes it with the function's name)",
    "NotificationQueueUrl": "that every notification was consumed",
    "NotificationDeadLetterQueueUrl": "dead-lettered notifications",
    "ProcessOrderFailureQueueUrl": "OrderPlaced events process_order failed on",
    "OrderPlacedRuleDeadLetterQueueUrl": "OrderPlaced events EventBridge could not deliver",
    "AnnouncerFailureQueueUrl": "stream batches the announcer gave up on",
    "UnannouncedChangesQueueUrl": "changes set aside as never announceable",
}
# A stack in any other state is being deployed, rolled back or deleted: a soak would measure that.
_SETTLED = re.compile(r"^(CREATE|UPDATE|IMPORT)_COMPLETE$|^UPDATE_ROLLBACK_COMPLETE$|^IMPORT_ROLLBACK_COMPLETE$")
_API_HOST = re.compile(r"^[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$")
_AWS_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=30)


class RefusedError(Exception):
    """The soak cannot run against this stack with these credentials: the message says why."""


def region_of_api(url: str) -> str | None:
    """The region in an API Gateway URL (https://abc123.execute-api.eu-west-1.amazonaws.com/v1)."""
    match = _API_HOST.match(urlsplit(url).hostname or "")
    return match.group(1) if match else None


class SignedJsonClient(JsonClient):
    """A keep-alive JSON client over HTTP or HTTPS that signs each request with the current
    credentials (refreshed by botocore when they are temporary). One connection; not shared
    between threads."""

    def __init__(self, base_url: str, credentials: Credentials, region: str, timeout: float = 30.0) -> None:
        super().__init__(base_url, timeout)
        parts = urlsplit(base_url)
        self._https = parts.scheme == "https"
        self._port = parts.port or (443 if self._https else 80)
        self._netloc = parts.netloc
        self._credentials = credentials
        self._region = region

    def _connect(self) -> http.client.HTTPConnection:
        if self._https:
            return http.client.HTTPSConnection(
                self._host, self._port, timeout=self._timeout, context=ssl.create_default_context()
            )
        return super()._connect()

    def _headers(self, method: str, path: str, headers: dict[str, str], payload: bytes | None) -> dict[str, str]:
        url = f"{'https' if self._https else 'http'}://{self._netloc}{self._prefix}{path}"
        request = AWSRequest(method=method, url=url, headers=dict(headers), data=payload or b"")
        # Frozen per request: a set of temporary credentials is never half refreshed. A session
        # token, when there is one, goes in X-Amz-Security-Token.
        SigV4Auth(self._credentials.get_frozen_credentials(), SERVICE, self._region).add_auth(request)
        return dict(request.headers.items())


@dataclass
class DeployedStack:
    name: str
    region: str
    api_url: str
    outputs: Mapping[str, str]
    parameters: Mapping[str, str]
    session: boto3.session.Session
    credentials: Credentials
    caller: str = "?"
    notes: list[str] = field(default_factory=list)

    def client(self, service: str) -> Any:
        return self.session.client(service, config=_AWS_CONFIG)  # type: ignore[call-overload]

    def api_client(self) -> SignedJsonClient:
        return SignedJsonClient(self.api_url, self.credentials, self.region)


def connect(api_url: str, stack_name: str, region: str | None = None) -> DeployedStack:
    """The stack, once the credentials, the stack's outputs and a signed call to the API all
    check out; RefusedError, saying which did not, otherwise."""
    parts = urlsplit(api_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RefusedError(f"--api-url must be an http(s) URL, e.g. the stack's ApiUrl output; got {api_url!r}")
    url_region = region_of_api(api_url)
    try:
        session = boto3.session.Session(region_name=region)
        resolved = region or session.region_name or url_region
    except BotoCoreError as error:  # a profile named in AWS_PROFILE that does not exist, say
        raise RefusedError(f"Cannot read the AWS configuration: {error}") from None
    if not resolved:
        raise RefusedError("No AWS region: pass --region, or set AWS_REGION / AWS_DEFAULT_REGION or a profile's region")
    if url_region is not None and url_region != resolved:
        raise RefusedError(f"The API is in {url_region} but the region is {resolved}: pass --region {url_region}")
    session = boto3.session.Session(region_name=resolved)
    try:
        credentials = session.get_credentials()
    except BotoCoreError as error:  # an expired SSO session, a role that cannot be assumed, ...
        raise RefusedError(f"Cannot load AWS credentials: {error}") from None
    if credentials is None:
        raise RefusedError(
            "No AWS credentials found in boto3's default chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, "
            "AWS_PROFILE, the shared credentials and config files, SSO, a container or instance role): "
            "the API only accepts SigV4-signed requests"
        )
    stack = _describe(session, stack_name, resolved)
    outputs = {str(output["OutputKey"]): str(output["OutputValue"]) for output in stack.get("Outputs", [])}
    missing = [key for key in REQUIRED_OUTPUTS if key not in outputs]
    if missing:
        raise RefusedError(
            f"Stack {stack_name!r} has no output {', '.join(missing)}: the accounting reads "
            + "; ".join(f"{key} for {REQUIRED_OUTPUTS[key]}" for key in missing)
            + ". Deploy it from this template.yaml, whose Outputs declare them"
        )
    parameters = {
        str(parameter["ParameterKey"]): str(parameter.get("ResolvedValue", parameter.get("ParameterValue", "")))
        for parameter in stack.get("Parameters", [])
    }
    deployed = DeployedStack(
        stack_name, resolved, api_url.rstrip("/"), outputs, parameters, session, credentials, _caller(session)
    )
    if outputs.get("ApiUrl", deployed.api_url).rstrip("/") != deployed.api_url:
        deployed.notes.append(f"--api-url differs from the stack's ApiUrl output ({outputs['ApiUrl']})")
    _check_api(deployed)
    return deployed


def _describe(session: boto3.session.Session, stack_name: str, region: str) -> dict[str, Any]:
    cloudformation = session.client("cloudformation", config=_AWS_CONFIG)
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as error:
        code, message = error.response["Error"].get("Code", "?"), error.response["Error"].get("Message", "")
        if code == "ValidationError" and "does not exist" in message:
            raise RefusedError(f"No CloudFormation stack {stack_name!r} in {region}") from None
        raise RefusedError(f"DescribeStacks of {stack_name!r} in {region} failed: {code}: {message}") from None
    except BotoCoreError as error:
        raise RefusedError(f"Cannot ask CloudFormation in {region} for stack {stack_name!r}: {error}") from None
    stack: dict[str, Any] = dict(stacks[0])
    status = str(stack.get("StackStatus", "?"))
    if not _SETTLED.match(status):
        raise RefusedError(f"Stack {stack_name!r} is {status}: soak it once it is deployed")
    return stack


def _caller(session: boto3.session.Session) -> str:
    """Who signs (an ARN, no secret): what the API's resource policy is checked against."""
    try:
        return str(session.client("sts", config=_AWS_CONFIG).get_caller_identity()["Arn"])
    except (ClientError, BotoCoreError):
        return "?"


def _check_api(stack: DeployedStack) -> None:
    """One signed read of an order that does not exist: 404 means signed and let in."""
    client = stack.api_client()
    try:
        answer = client.request("GET", "/orders/soak-preflight-0")
    except OSError as error:
        raise RefusedError(f"Cannot reach the API at {stack.api_url}: {error}") from None
    finally:
        client.close()
    if answer.status in (401, 403):
        message = answer.body.get("message", answer.body) if isinstance(answer.body, dict) else answer.body
        raise RefusedError(
            f"The API refused a request signed as {stack.caller} ({answer.status}: {message}): "
            "sign as one of the stack's ApiCallerPrincipals"
        )
