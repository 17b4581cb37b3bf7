"""The order service's stack: samlocal running template.yaml, with the order store chosen.

On the PostgreSQL store, a database of the stack's own is created and migrated before the
template is read, reached by the functions through an RDS-Proxy-like proxy (it refuses at
startup what RDS Proxy refuses, and counts what RDS Proxy would pin), and dropped at the end.
"""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from samlocal.local_stack import LocalStack, StackOptions
from samlocal.pg_proxy import PostgresProxy
from samlocal.template import ACCOUNT_ID

from orders_local.postgres import LocalDatabase, admin_url

StoreKind = Literal["dynamodb", "postgres"]
ORDERS_TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
# What stands in locally for the parameters a deploy must be given (no default in the template).
LOCAL_PARAMETER_VALUES = {
    "SenderEmail": "orders@example.com",
    "ApiCallerPrincipals": f"arn:aws:iam::{ACCOUNT_ID}:role/local-caller",
}


class PostgresStore:
    """The PostgreSQL order store as a stack add-on."""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self.database: LocalDatabase | None = None
        # Between the functions and the PostgreSQL server (the secret points at it): it can stall.
        self.proxy: PostgresProxy | None = None

    def start(self, stack: LocalStack) -> Mapping[str, str]:
        """A fresh database for this stack, its credentials in the emulator's Secrets Manager."""
        name = f"orders_{stack.options.stack_name.replace('-', '_')}_{uuid.uuid4().hex[:8]}"
        self.database = database = LocalDatabase(self.server_url, name)
        secret = database.secret_string()
        if not database.host.startswith("/"):  # a TCP server, not a Unix socket
            self.proxy = PostgresProxy(database.host, database.port, rds_proxy=True)
            secret = database.secret_string(host=self.proxy.host, port=self.proxy.port)
        arn = stack.client("secretsmanager").create_secret(
            Name=f"{stack.options.stack_name}/database", SecretString=secret
        )["ARN"]
        stack.notices.append(f"Orders are stored in PostgreSQL database {name} (dropped when the stack stops).")
        return {"OrderStore": "postgres", "DatabaseSecretArn": arn, "DatabaseName": name, "DatabaseSslMode": "prefer"}

    def in_flight(self) -> list[str]:
        pending = 0 if self.database is None else self.database.pending_outbox()
        return [f"the PostgreSQL outbox holds {pending} unrelayed change(s)"] if pending else []

    def close(self) -> None:
        if self.proxy is not None:
            self.proxy.close()
        if self.database is not None:
            self.database.drop()


@dataclass
class OrderStackOptions(StackOptions):
    template: Path = ORDERS_TEMPLATE
    stack_name: str = "orders-local"
    parameter_stand_ins: Mapping[str, str] = field(default_factory=lambda: dict(LOCAL_PARAMETER_VALUES))
    store: StoreKind = "dynamodb"
    database_url: str = field(default_factory=admin_url)


class OrderStack(LocalStack):
    """A LocalStack of the order service, on the store its options name."""

    def __init__(self, options: OrderStackOptions | None = None) -> None:
        options = options or OrderStackOptions()
        self.store = PostgresStore(options.database_url) if options.store == "postgres" else None
        if self.store is not None:
            options = replace(options, addons=[*options.addons, self.store])
        self.order_options = options
        super().__init__(options)
        self.notices.append(
            f"`orders soak --api-url {self.api_url if self.api else 'URL'} --stack-name {options.stack_name}` "
            "soaks it as a deployed stack."
        )

    @property
    def database(self) -> LocalDatabase | None:
        return None if self.store is None else self.store.database

    @property
    def database_proxy(self) -> PostgresProxy | None:
        return None if self.store is None else self.store.proxy

    def __enter__(self) -> "OrderStack":
        return self
