"""template.yaml as the local stack sees it: the resources to create and the functions to run.

The template is the single source of truth for local runs and for AWS. What the local stack
cannot emulate stops it with a named error; what it deliberately does not enforce (IAM,
alarms, ...) is listed in `Stack.not_emulated` and printed at start.
"""

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from samlocal.intrinsics import Intrinsics, UnsupportedConstructError
from samlocal.yaml_loader import load_template

if TYPE_CHECKING:
    from samlocal.resources.dynamodb_table import TableSpec
    from samlocal.resources.sqs_queue import QueueSpec

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"

# Function properties the local runtime applies, and those it accepts without applying
# (with the reason shown at start).
_FUNCTION_PROPERTIES = {
    "Handler",
    "Runtime",
    "CodeUri",
    "MemorySize",
    "Timeout",
    "Environment",
    "Events",
    "ReservedConcurrentExecutions",
    "EventInvokeConfig",
    "Description",
    "FunctionName",
}
_FUNCTION_PROPERTIES_NOT_EMULATED = {
    "Policies": "IAM policies are not enforced locally",
    "Role": "IAM roles are not enforced locally",
    "Tracing": "X-Ray segments are collected locally, not sent; every call is sampled; Lambda's own are not made",
    "Architectures": "functions run on the host's architecture",
    "Layers": "dependencies come from the project's virtual environment",
    "AutoPublishAlias": "versions and aliases are not emulated",
    "SnapStart": "SnapStart is not emulated; every cold start is a full init",
    "LoggingConfig": "logs go to the terminal, not CloudWatch",
    "DeadLetterQueue": "not used by this emulator",
    "VpcConfig": "functions reach loopback services directly",
    "KmsKeyArn": "environment encryption is not emulated",
}
IMPLICIT_API = "ServerlessRestApi"
_API_PROPERTIES_NOT_EMULATED = {
    "TracingEnabled": "API Gateway's own X-Ray segments are not made; the functions' are collected locally",
    "MethodSettings": "stage throttling and metrics are not emulated",
    "EndpointConfiguration": "the API is served on 127.0.0.1",
    "AccessLogSetting": "access logs are not written",
}
_NOT_EMULATED_TYPES = {
    "AWS::CloudWatch::Alarm": "CloudWatch alarms",
    "AWS::Logs::LogGroup": "CloudWatch log groups",
    "AWS::SQS::QueuePolicy": "SQS queue policies",
    "AWS::SNS::Subscription": "SNS subscriptions",
    "AWS::KMS::Key": "KMS keys",
    "AWS::KMS::Alias": "KMS aliases",
    "AWS::ApiGateway::Account": "API Gateway account settings",
    "AWS::IAM::Role": "IAM roles",
}


T = TypeVar("T")


@dataclass(frozen=True)
class ApiSpec:
    """A REST API: its stage, and the authorizer every method gets unless a route says otherwise."""

    logical_id: str
    stage: str
    authorizer: str | None


@dataclass(frozen=True)
class ApiRoute:
    method: str
    path: str
    api: ApiSpec


@dataclass(frozen=True)
class SqsSource:
    name: str
    queue_arn: str
    batch_size: int
    batching_window_seconds: int
    report_item_failures: bool
    maximum_concurrency: int | None


@dataclass(frozen=True)
class StreamSource:
    name: str
    table_logical_id: str
    starting_position: str
    batch_size: int
    batching_window_seconds: int
    bisect_on_error: bool
    maximum_retry_attempts: int
    maximum_record_age_seconds: int
    report_item_failures: bool
    on_failure_arn: str | None
    # Batches of one shard handled at once, each partition key always in the same one.
    parallelization_factor: int = 1


@dataclass(frozen=True)
class RuleSource:
    name: str
    bus_name: str
    pattern: Mapping[str, Any]
    # The rule target's dead-letter queue: created (it is a queue of the template), never fed,
    # since delivering a matched event to Lambda's async queue never fails locally.
    dead_letter_arn: str | None = None


@dataclass(frozen=True)
class ScheduleSource:
    name: str
    period_seconds: int


_RATE_UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}


def rate_seconds(expression: str, where: str) -> int:
    """`rate(5 minutes)` -> 300. Cron expressions are not emulated."""
    if not (expression.startswith("rate(") and expression.endswith(")")):
        raise UnsupportedConstructError(f"schedule expression {expression}", where, "only rate(...) is emulated")
    value, _, unit = expression[5:-1].strip().partition(" ")
    if unit not in _RATE_UNITS or not value.isdigit():
        raise UnsupportedConstructError(f"schedule expression {expression}", where)
    return int(value) * _RATE_UNITS[unit]


@dataclass(frozen=True)
class AsyncInvokeConfig:
    maximum_retry_attempts: int = 2
    maximum_event_age_seconds: int = 21600
    on_failure_arn: str | None = None


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    name: str
    handler: str
    runtime: str
    timeout_seconds: int
    memory_mb: int
    environment: Mapping[str, str]
    reserved_concurrency: int | None
    code_path: Path = Path()
    # What its Events declare, each as its trigger reads it (sources/registry.py), in order.
    sources: tuple[object, ...] = ()
    async_config: AsyncInvokeConfig = field(default_factory=AsyncInvokeConfig)

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.name}"

    def _of(self, kind: type[T]) -> tuple[T, ...]:
        return tuple(source for source in self.sources if isinstance(source, kind))

    @property
    def api_routes(self) -> tuple[ApiRoute, ...]:
        return self._of(ApiRoute)

    @property
    def sqs_sources(self) -> tuple[SqsSource, ...]:
        return self._of(SqsSource)

    @property
    def stream_sources(self) -> tuple[StreamSource, ...]:
        return self._of(StreamSource)

    @property
    def rule_sources(self) -> tuple[RuleSource, ...]:
        return self._of(RuleSource)

    @property
    def schedule_sources(self) -> tuple[ScheduleSource, ...]:
        return self._of(ScheduleSource)


class Stack:
    """A parsed template with its parameters applied, ready to be provisioned and run."""

    def __init__(
        self,
        document: Mapping[str, Any],
        *,
        stack_name: str = "samlocal",
        parameter_overrides: Mapping[str, str] | None = None,
        parameter_stand_ins: Mapping[str, str] | None = None,
        endpoint_url: str = "http://127.0.0.1:0",
        base_directory: Path = Path(),
    ) -> None:
        """`parameter_stand_ins`: values for parameters that have no default and were not given
        (what a deploy must set); those used are in `stand_ins_used`."""
        self.document = document
        self.base_directory = base_directory
        self.stack_name = stack_name
        self.endpoint_url = endpoint_url
        self.not_emulated: dict[str, str] = {}
        self.stand_ins_used: dict[str, str] = {}
        self.parameters = _parameters(
            document, parameter_overrides or {}, parameter_stand_ins or {}, used=self.stand_ins_used
        )
        self.intrinsics = Intrinsics(
            pseudo={
                "AWS::Region": REGION,
                "AWS::AccountId": ACCOUNT_ID,
                "AWS::StackName": stack_name,
                "AWS::Partition": "aws",
                "AWS::URLSuffix": "amazonaws.com",
                "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT_ID}:stack/{stack_name}/local",
            },
            parameters=self.parameters,
        )
        for name, expression in document.get("Conditions", {}).items():
            self.intrinsics.conditions[name] = bool(self.intrinsics.resolve(expression, f"Conditions.{name}"))
        self.resources = {
            logical_id: resource
            for logical_id, resource in document["Resources"].items()
            if "Condition" not in resource or self.intrinsics.condition(resource["Condition"], logical_id)
        }
        self._name_resources()

    @classmethod
    def from_file(cls, path: Path, **options: Any) -> "Stack":
        return cls(load_template(path), base_directory=path.resolve().parent, **options)

    def of_type(self, *resource_types: str) -> dict[str, Mapping[str, Any]]:
        """The properties, unresolved, of the resources of those types, by logical id."""
        return {
            logical_id: resource.get("Properties", {})
            for logical_id, resource in self.resources.items()
            if resource["Type"] in resource_types
        }

    def _name_resources(self) -> None:
        """Deterministic physical names, and the Refs and attributes they imply: a kind the
        engine creates (resources/registry.py) names its own; functions, APIs and secrets are
        named here."""
        from samlocal.resources import Declaration
        from samlocal.resources.registry import resource_for_type

        refs, attributes = self.intrinsics.refs, self.intrinsics.attributes
        for logical_id, resource in self.resources.items():
            kind = resource["Type"]
            name = f"{self.stack_name}-{logical_id}"
            created = resource_for_type(kind)
            if created is not None:
                names = created.names(Declaration(logical_id, resource.get("Properties", {}), name, self))
                refs[logical_id] = names.ref
                for attribute, value in names.attributes.items():
                    attributes[(logical_id, attribute)] = value
            elif kind == "AWS::SecretsManager::Secret":
                refs[logical_id] = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT_ID}:secret:{name}"
            elif kind == "AWS::Serverless::Function":
                refs[logical_id] = name
                attributes[(logical_id, "Arn")] = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}"
            elif kind == "AWS::Serverless::Api":
                refs[logical_id] = logical_id  # the local "rest api id"
                attributes[(logical_id, "RootResourceId")] = f"{logical_id}-root"
            elif kind in _NOT_EMULATED_TYPES:
                refs[logical_id] = name
                self.not_emulated[logical_id] = f"{_NOT_EMULATED_TYPES[kind]} are not emulated"
            else:
                raise UnsupportedConstructError(f"resource type {kind}", logical_id)

    def apis(self) -> dict[str, ApiSpec]:
        """Declared APIs, plus SAM's implicit one (stage Prod) for events without RestApiId."""
        defaults = self.document.get("Globals", {}).get("Api", {})
        declared: dict[str, Mapping[str, Any]] = {IMPLICIT_API: {}, **self.of_type("AWS::Serverless::Api")}
        specs = {}
        for logical_id, raw in declared.items():
            properties = self.resolved(logical_id, _merge_globals(defaults, raw))
            for name in properties:
                if name in _API_PROPERTIES_NOT_EMULATED:
                    self.not_emulated[f"{logical_id}.{name}"] = _API_PROPERTIES_NOT_EMULATED[name]
                elif name not in {"StageName", "Auth", "Name", "Description"}:
                    raise UnsupportedConstructError(f"API property {name}", logical_id)
            auth = properties.get("Auth", {})
            for name in auth:
                if name == "ResourcePolicy":
                    self.not_emulated[f"{logical_id}.Auth.ResourcePolicy"] = (
                        "the resource policy is not evaluated: every request signed with the local key pair is let in"
                    )
                elif name not in {"DefaultAuthorizer", "InvokeRole"}:
                    raise UnsupportedConstructError(f"API Auth.{name}", logical_id)
            authorizer = auth.get("DefaultAuthorizer")
            if authorizer not in (None, "NONE", "AWS_IAM"):
                raise UnsupportedConstructError(f"authorizer {authorizer}", logical_id)
            specs[logical_id] = ApiSpec(
                logical_id, str(properties.get("StageName", "Prod")), None if authorizer == "NONE" else authorizer
            )
        return specs

    def set_stream_arn(self, table_logical_id: str, stream_arn: str) -> None:
        self.intrinsics.attributes[(table_logical_id, "StreamArn")] = stream_arn

    def resolved(self, logical_id: str, properties: Mapping[str, Any]) -> dict[str, Any]:
        resolved: dict[str, Any] = self.intrinsics.resolve(copy.deepcopy(dict(properties)), logical_id)
        return resolved

    def tables(self) -> "list[TableSpec]":
        """The tables, their properties resolved (what `resources/dynamodb_table.py` creates)."""
        from samlocal.resources.dynamodb_table import tables

        return tables(self)

    def queues(self) -> "list[QueueSpec]":
        """The queues, their properties resolved (what `resources/sqs_queue.py` creates)."""
        from samlocal.resources.sqs_queue import queues

        return queues(self)

    def table_logical_id_for_stream(self, stream_arn: str) -> str:
        for (logical_id, attribute), value in self.intrinsics.attributes.items():
            if attribute == "StreamArn" and value == stream_arn:
                return logical_id
        raise KeyError(stream_arn)

    def functions(self) -> list[FunctionSpec]:
        """The functions, with Globals applied. Call after the tables exist (StreamArn)."""
        defaults = self.document.get("Globals", {}).get("Function", {})
        return [
            self._function(logical_id, _merge_globals(defaults, properties))
            for logical_id, properties in self.of_type("AWS::Serverless::Function").items()
        ]

    def _function(self, logical_id: str, raw: Mapping[str, Any]) -> FunctionSpec:
        for name in raw:
            if name in _FUNCTION_PROPERTIES_NOT_EMULATED:
                self.not_emulated[f"{logical_id}.{name}"] = _FUNCTION_PROPERTIES_NOT_EMULATED[name]
            elif name not in _FUNCTION_PROPERTIES:
                raise UnsupportedConstructError(f"function property {name}", logical_id)
        properties = self.resolved(
            logical_id, {key: value for key, value in raw.items() if key in _FUNCTION_PROPERTIES}
        )
        from samlocal.sources import Declared
        from samlocal.sources.registry import trigger_for_event

        sources: list[object] = []
        for event_name, event in properties.get("Events", {}).items():
            where = f"{logical_id}.Events.{event_name}"
            kind = event["Type"]
            trigger = trigger_for_event(kind)
            if trigger is None:
                raise UnsupportedConstructError(f"event source type {kind}", where)
            binding = trigger.read(Declared(logical_id, event_name, event.get("Properties", {}), where, self))
            if binding is not None:
                sources.append(binding)
        return FunctionSpec(
            logical_id=logical_id,
            name=str(properties.get("FunctionName", self.intrinsics.refs[logical_id])),
            handler=str(properties["Handler"]),
            runtime=str(properties.get("Runtime", "python3.13")),
            timeout_seconds=int(properties.get("Timeout", 3)),
            memory_mb=int(properties.get("MemorySize", 128)),
            environment={
                key: str(value) for key, value in properties.get("Environment", {}).get("Variables", {}).items()
            },
            # A template parameter's value is a string here, as it is to CloudFormation.
            reserved_concurrency=optional_int(properties.get("ReservedConcurrentExecutions")),
            code_path=(self.base_directory / str(properties.get("CodeUri", "."))).resolve(),
            sources=tuple(sources),
            async_config=_async_config(properties.get("EventInvokeConfig", {}), logical_id),
        )

    def rule_delivery(self, spec: Mapping[str, Any], where: str) -> str | None:
        """A rule target's RetryPolicy and DeadLetterConfig: checked and listed as not emulated,
        because EventBridge's delivery of a matched event to Lambda's async queue never fails here."""
        retry = spec.get("RetryPolicy")
        if retry is not None:
            only_properties(retry, {"MaximumRetryAttempts", "MaximumEventAgeInSeconds"}, f"{where}.RetryPolicy")
            self.not_emulated[f"{where}.RetryPolicy"] = (
                "EventBridge's delivery to Lambda never fails locally, so it is never retried"
            )
        dead_letters = spec.get("DeadLetterConfig")
        if dead_letters is None:
            return None
        # SAM's `Type: SQS` (a queue SAM creates) is not: declare the queue in the template.
        only_properties(dead_letters, {"Arn"}, f"{where}.DeadLetterConfig")
        self.not_emulated[f"{where}.DeadLetterConfig"] = (
            "EventBridge's delivery to Lambda never fails locally, so nothing reaches this dead-letter "
            "queue (it is created, and `samlocal dlq` can inspect it)"
        )
        return str(dead_letters["Arn"])


def optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def only_properties(spec: Mapping[str, Any], supported: set[str], where: str) -> None:
    for name in spec:
        if name not in supported:
            raise UnsupportedConstructError(f"event source property {name}", where)


def _async_config(config: Mapping[str, Any], logical_id: str) -> AsyncInvokeConfig:
    only_properties(
        config,
        {"MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig"},
        f"{logical_id}.EventInvokeConfig",
    )
    destinations = config.get("DestinationConfig", {})
    if "OnSuccess" in destinations:
        raise UnsupportedConstructError("EventInvokeConfig OnSuccess destination", logical_id)
    on_failure = destinations.get("OnFailure", {})
    if on_failure and on_failure.get("Type", "SQS") != "SQS":
        raise UnsupportedConstructError(f"on-failure destination type {on_failure.get('Type')}", logical_id)
    return AsyncInvokeConfig(
        maximum_retry_attempts=int(config.get("MaximumRetryAttempts", 2)),
        maximum_event_age_seconds=int(config.get("MaximumEventAgeInSeconds", 21600)),
        on_failure_arn=on_failure.get("Destination"),
    )


def _merge_globals(defaults: Mapping[str, Any], properties: Mapping[str, Any]) -> dict[str, Any]:
    """SAM's Globals rule: maps merge (the function wins), lists and scalars are replaced."""
    merged = copy.deepcopy(dict(defaults))
    for key, value in properties.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping) and not _is_intrinsic(value):
            merged[key] = _merge_globals(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _is_intrinsic(value: Mapping[str, Any]) -> bool:
    return len(value) == 1 and next(iter(value)).startswith(("Fn::", "Ref"))


def _parameters(
    document: Mapping[str, Any], overrides: Mapping[str, str], stand_ins: Mapping[str, str], *, used: dict[str, str]
) -> dict[str, str]:
    declared = document.get("Parameters", {})
    unknown = set(overrides) - set(declared)
    if unknown:
        raise ValueError(f"unknown template parameter(s): {', '.join(sorted(unknown))}")
    values: dict[str, str] = {}
    for name, declaration in declared.items():
        if name in overrides:
            value = overrides[name]
        elif "Default" in declaration:
            default = declaration["Default"]
            value = default if isinstance(default, str) else json.dumps(default)
        elif name in stand_ins:
            value = used[name] = stand_ins[name]
        else:
            raise ValueError(f"template parameter {name} has no default: pass it with --parameter {name}=VALUE")
        allowed = declaration.get("AllowedValues")
        if allowed is not None and value not in [str(option) for option in allowed]:
            raise ValueError(f"template parameter {name}={value!r} is not one of {allowed}")
        values[name] = value
    return values
