"""Builds the order repository the settings ask for. psycopg is imported only for PostgreSQL,
so the DynamoDB functions do not pay for it at cold start."""

from order_service.adapters.aws_clients import dynamodb_client
from order_service.adapters.dynamodb_orders import DynamoDbOrderRepository
from order_service.ports import OrderRepository
from order_service.settings import OrderStoreSettings


def order_repository(settings: OrderStoreSettings) -> OrderRepository:
    if settings.order_store == "postgres":
        from order_service.adapters.postgres.credentials import database_from_settings
        from order_service.adapters.postgres.orders import PostgresOrderRepository
        from order_service.observability import trace_psycopg

        trace_psycopg()
        return PostgresOrderRepository(database_from_settings(settings))
    assert settings.orders_table_name is not None  # the settings validated it
    return DynamoDbOrderRepository(dynamodb_client(settings), settings.orders_table_name)
