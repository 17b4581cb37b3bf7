"""DynamoDB tables, with their streams and time to live."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from samlocal.intrinsics import UnsupportedConstructError
from samlocal.provision import Provisioned, aws_client
from samlocal.resources import Declaration, Names, Resource
from samlocal.template import ACCOUNT_ID, REGION, Stack

TYPE = "AWS::DynamoDB::Table"
_TABLE_PROPERTIES = {
    "AttributeDefinitions",
    "KeySchema",
    "BillingMode",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
    "StreamSpecification",
    "TimeToLiveSpecification",
    "ProvisionedThroughput",
}
_TABLE_NOT_EMULATED = {
    "PointInTimeRecoverySpecification": "point-in-time recovery is not emulated",
    "SSESpecification": "encryption at rest is not emulated",
    "DeletionProtectionEnabled": "deletion protection is not emulated",
    "Tags": "tags are not applied locally",
}


@dataclass(frozen=True)
class TableSpec:
    logical_id: str
    name: str
    properties: Mapping[str, Any]


def names(declared: Declaration) -> Names:
    return Names(declared.name, {"Arn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{declared.name}"})


def tables(stack: Stack) -> list[TableSpec]:
    return [
        TableSpec(logical_id, stack.intrinsics.refs[logical_id], stack.resolved(logical_id, properties))
        for logical_id, properties in stack.of_type(TYPE).items()
    ]


def provision(stack: Stack, endpoint_url: str, done: Provisioned) -> None:
    dynamodb = aws_client("dynamodb", endpoint_url)
    for table in tables(stack):
        properties = dict(table.properties)
        for name in properties:
            if name in _TABLE_NOT_EMULATED:
                stack.not_emulated[f"{table.logical_id}.{name}"] = _TABLE_NOT_EMULATED[name]
            elif name not in _TABLE_PROPERTIES and name != "TableName":
                raise UnsupportedConstructError(f"table property {name}", table.logical_id)
        request: dict[str, Any] = {
            key: properties[key]
            for key in _TABLE_PROPERTIES - {"StreamSpecification", "TimeToLiveSpecification"}
            if key in properties
        }
        request["TableName"] = table.name
        request.setdefault("BillingMode", "PROVISIONED")
        if request["BillingMode"] == "PROVISIONED":
            request.setdefault("ProvisionedThroughput", {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5})
        stream = properties.get("StreamSpecification")
        if stream is not None:
            request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
        description = dynamodb.create_table(**request)["TableDescription"]
        done.tables[table.logical_id] = table.name
        if stream is not None:
            done.stream_arns[table.logical_id] = description["LatestStreamArn"]
            stack.set_stream_arn(table.logical_id, description["LatestStreamArn"])
        ttl = properties.get("TimeToLiveSpecification")
        if ttl is not None and ttl.get("Enabled"):
            dynamodb.update_time_to_live(
                TableName=table.name,
                TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
            )
            stack.not_emulated[f"{table.logical_id}.TimeToLiveSpecification"] = (
                "items are never expired locally (moto keeps them)"
            )


RESOURCE = Resource((TYPE,), names, provision)
