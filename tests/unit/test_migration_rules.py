"""The rules every migration after 0003 follows, so that it can run while the service writes.

A statement that takes a strong lock for long (a table rewrite, a scan under ACCESS
EXCLUSIVE, an index built with writes blocked) stops every write to its table while it
runs; each rule names one such statement and the form that does the same without it. A
table created in the same file has no rows and no other users yet: the rules leave it alone.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from order_service.adapters.postgres.migrate import Migration, migrations, statements

_FLAGS = re.IGNORECASE | re.DOTALL


def _matches(pattern: str) -> Callable[[str], bool]:
    compiled = re.compile(pattern, _FLAGS)
    return lambda statement: compiled.search(statement) is not None


def _alter_table_adding(pattern: str, *, unless: str) -> Callable[[str], bool]:
    adding, exempt = re.compile(pattern, _FLAGS), re.compile(unless, _FLAGS)
    return lambda statement: (
        statement.upper().startswith("ALTER TABLE")
        and adding.search(statement) is not None
        and exempt.search(statement) is None
    )


@dataclass(frozen=True)
class Rule:
    name: str
    why: str
    breaks: Callable[[str], bool]


RULES = (
    Rule(
        "index-not-concurrent",
        "a plain CREATE INDEX blocks writes to the table for the whole build: CREATE INDEX CONCURRENTLY",
        _matches(r"^CREATE\s+(UNIQUE\s+)?INDEX\s+(?!CONCURRENTLY\b)"),
    ),
    Rule(
        "index-not-rerunnable",
        "a run cut short after the build runs it again: CREATE INDEX CONCURRENTLY IF NOT EXISTS name",
        _matches(r"^CREATE\s+(UNIQUE\s+)?INDEX\s+CONCURRENTLY\s+(?!IF\s+NOT\s+EXISTS\b)"),
    ),
    Rule(
        "constraint-validated-at-once",
        "adding a CHECK or a foreign key scans the table under its lock: add it NOT VALID, VALIDATE it later",
        _alter_table_adding(r"\b(CHECK|FOREIGN\s+KEY|REFERENCES)\b", unless=r"\bNOT\s+VALID\b"),
    ),
    Rule(
        "unique-builds-an-index",
        "UNIQUE or PRIMARY KEY builds its index under ACCESS EXCLUSIVE: build it CONCURRENTLY, then USING INDEX",
        _alter_table_adding(r"\b(UNIQUE|PRIMARY\s+KEY)\b", unless=r"\bUSING\s+INDEX\b"),
    ),
    Rule(
        "column-type-change",
        "ALTER COLUMN ... TYPE rewrites (or rescans) the table under ACCESS EXCLUSIVE: add a column, backfill it",
        _matches(r"^ALTER\s+TABLE\b.*\bALTER\s+(COLUMN\s+)?\S+\s+(SET\s+DATA\s+)?TYPE\b"),
    ),
    Rule(
        "column-rewrites-the-table",
        "a column whose default differs row by row (volatile, serial, identity, stored generated) is written"
        " into every row under ACCESS EXCLUSIVE: add it nullable, backfill it in batches",
        _alter_table_adding(
            r"\bADD\s+(COLUMN\s+)?.*("
            r"\bDEFAULT\b.*\b(clock_timestamp|random|gen_random_uuid|uuid_generate_v\w+|nextval|timeofday)\s*\("
            r"|\b(small|big)?serial\b|\bGENERATED\b.*\b(IDENTITY|STORED)\b)",
            unless=r"$^",
        ),
    ),
)

_CREATED_TABLE = re.compile(r"^CREATE\s+TABLE\s+(IF\s+NOT\s+EXISTS\s+)?(?P<table>[\w.\"]+)", _FLAGS)
_TARGET = re.compile(
    r"^(ALTER\s+TABLE\s+(IF\s+EXISTS\s+)?(ONLY\s+)?|CREATE\s+(UNIQUE\s+)?INDEX\b.*?\bON\s+(ONLY\s+)?)(?P<table>[\w.\"]+)",
    _FLAGS,
)
_ADDED_NOT_VALID = re.compile(r"\bADD\s+CONSTRAINT\s+(?P<name>[\w\"]+)\b.*\bNOT\s+VALID\b", _FLAGS)
_VALIDATED = re.compile(r"\bVALIDATE\s+CONSTRAINT\s+(?P<name>[\w\"]+)", _FLAGS)


def violations(files: list[Migration]) -> list[str]:
    """What breaks the rules in these files, each as `file: statement N: rule: why`."""
    found: list[str] = []
    # Where each constraint is validated: (file index, statement index).
    validated = {
        match["name"]: (number, position)
        for number, migration in enumerate(files)
        for position, statement in enumerate(statements(migration.sql))
        if (match := _VALIDATED.search(statement))
    }
    for number, migration in enumerate(files):
        created: set[str] = set()
        for position, statement in enumerate(statements(migration.sql)):
            where = f"{migration.path.name}: statement {position + 1}"
            if (table := _CREATED_TABLE.search(statement)) is not None:
                created.add(table["table"])
            target = _TARGET.search(statement)
            if target is not None and target["table"] in created:
                continue
            found += [f"{where}: {rule.name}: {rule.why}" for rule in RULES if rule.breaks(statement)]
            if migration.in_one_transaction and re.search(r"\bCONCURRENTLY\b", statement, _FLAGS):
                found.append(
                    f"{where}: concurrently-in-a-transaction: runs only outside a transaction:"
                    " say `-- migrate: no-transaction` in the file's header"
                )
            if (added := _ADDED_NOT_VALID.search(statement)) is not None:
                later = validated.get(added["name"])
                if later is None or later <= (number, position):
                    found.append(
                        f"{where}: constraint-never-validated: {added['name']} holds only for rows written from"
                        " now on: VALIDATE CONSTRAINT it in a later statement"
                    )
                elif later[0] == number and migration.in_one_transaction:
                    found.append(
                        f"{where}: validated-under-the-add-lock: in one transaction the VALIDATE scans the table"
                        " under the ADD's lock: a no-transaction file, or a later file"
                    )
    return found


def migration_files(directory: Path, **files: str) -> list[Migration]:
    for name, sql in files.items():
        (directory / f"{name}.sql").write_text(sql, encoding="utf-8")
    return migrations(directory)


def test_every_migration_after_0003_can_run_while_orders_are_written() -> None:
    newer = [migration for migration in migrations() if int(migration.version[:4]) > 3]

    assert newer, "the rules apply to every migration after 0003"
    assert violations(newer) == []


NO_TRANSACTION = "-- migrate: no-transaction\n"


@pytest.mark.parametrize(
    ("sql", "rule"),
    [
        ("CREATE INDEX orders_by_total ON orders (total_minor);", "index-not-concurrent"),
        ("CREATE UNIQUE INDEX orders_by_key ON orders (idempotency_key);", "index-not-concurrent"),
        (NO_TRANSACTION + "CREATE INDEX CONCURRENTLY orders_by_total ON orders (total_minor);", "index-not-rerunnable"),
        (
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_by_total ON orders (total_minor);",
            "concurrently-in-a-transaction",
        ),
        ("ALTER TABLE orders ADD CONSTRAINT total_bound CHECK (total_minor < 10);", "constraint-validated-at-once"),
        ("ALTER TABLE order_items ADD CHECK (quantity < 10);", "constraint-validated-at-once"),
        (
            "ALTER TABLE order_outbox ADD CONSTRAINT outbox_order FOREIGN KEY (order_id) REFERENCES orders;",
            "constraint-validated-at-once",
        ),
        ("ALTER TABLE orders ADD COLUMN note text CHECK (length(note) < 10);", "constraint-validated-at-once"),
        ("ALTER TABLE orders ADD CONSTRAINT t CHECK (total_minor < 10) NOT VALID;", "constraint-never-validated"),
        (
            "ALTER TABLE orders ADD CONSTRAINT t CHECK (total_minor < 10) NOT VALID;\n"
            "ALTER TABLE orders VALIDATE CONSTRAINT t;",
            "validated-under-the-add-lock",
        ),
        ("ALTER TABLE orders ADD CONSTRAINT one_key UNIQUE (idempotency_key);", "unique-builds-an-index"),
        ("ALTER TABLE orders ALTER COLUMN reason TYPE varchar(500);", "column-type-change"),
        ("ALTER TABLE orders ALTER reason SET DATA TYPE varchar(500);", "column-type-change"),
        ("ALTER TABLE orders ADD COLUMN token uuid DEFAULT gen_random_uuid();", "column-rewrites-the-table"),
        (
            "ALTER TABLE orders ADD COLUMN seen timestamptz NOT NULL DEFAULT clock_timestamp();",
            "column-rewrites-the-table",
        ),
        ("ALTER TABLE orders ADD COLUMN serial_number bigserial;", "column-rewrites-the-table"),
        ("ALTER TABLE orders ADD COLUMN n bigint GENERATED ALWAYS AS IDENTITY;", "column-rewrites-the-table"),
        (
            "ALTER TABLE orders ADD COLUMN t numeric GENERATED ALWAYS AS (total_minor * 2) STORED;",
            "column-rewrites-the-table",
        ),
    ],
)
def test_each_rule_refuses_the_statement_it_names(tmp_path: Path, sql: str, rule: str) -> None:
    files = migration_files(tmp_path, **{"0001_unsafe": sql})

    found = violations(files)

    assert [line.split(": ")[2] for line in found] == [rule], found


@pytest.mark.parametrize(
    "files",
    [
        {"0001_index": NO_TRANSACTION + "CREATE INDEX CONCURRENTLY IF NOT EXISTS by_total ON orders (total_minor);"},
        {
            "0001_check": NO_TRANSACTION + "ALTER TABLE orders ADD CONSTRAINT t CHECK (total_minor < 10) NOT VALID;\n"
            "ALTER TABLE orders VALIDATE CONSTRAINT t;"
        },
        {
            "0001_add": "ALTER TABLE order_outbox ADD CONSTRAINT outbox_order FOREIGN KEY (order_id)"
            " REFERENCES orders NOT VALID;",
            "0002_validate": "ALTER TABLE order_outbox VALIDATE CONSTRAINT outbox_order;",
        },
        {
            "0001_unique": NO_TRANSACTION + "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS one_key ON orders (k);\n"
            "ALTER TABLE orders ADD CONSTRAINT one_key UNIQUE USING INDEX one_key;"
        },
        {"0001_columns": "ALTER TABLE orders ADD COLUMN note text, ADD COLUMN seen timestamptz DEFAULT now();"},
        {
            "0001_new_table": "CREATE TABLE refunds (id bigint GENERATED ALWAYS AS IDENTITY, order_id text);\n"
            "CREATE INDEX refunds_by_order ON refunds (order_id);\n"
            "ALTER TABLE refunds ADD CONSTRAINT refunds_order FOREIGN KEY (order_id) REFERENCES orders;"
        },
        {"0001_commented": "-- CREATE INDEX by_total ON orders (total_minor);\nSELECT 'ALTER COLUMN x TYPE int';"},
    ],
    ids=[
        "concurrent-index",
        "check-then-validate",
        "validated-in-a-later-file",
        "unique-using-index",
        "stable-default",
        "a-new-table",
        "comments-and-strings",
    ],
)
def test_the_forms_that_keep_writes_going_pass(tmp_path: Path, files: dict[str, str]) -> None:
    assert violations(migration_files(tmp_path, **files)) == []


def test_a_file_splits_into_statements_at_semicolons_outside_quotes_and_comments() -> None:
    sql = "-- header; not a statement\nSELECT 'a;b', \"c;d\"; /* e; */ DO $body$ BEGIN PERFORM 1; END $body$;\nSELECT 2"

    assert statements(sql) == ["SELECT 'a;b', \"c;d\"", "DO $body$ BEGIN PERFORM 1; END $body$", "SELECT 2"]


@pytest.mark.parametrize(
    ("sql", "in_one_transaction"),
    [
        ("-- migrate: no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t (c);", False),
        ("-- Why this file exists.\n--\n-- migrate: no-transaction\n\nSELECT 1;", False),
        ("SELECT 1;\n-- migrate: no-transaction\n", True),
        ("-- An ordinary file.\nSELECT 1;", True),
    ],
)
def test_only_a_header_line_takes_a_file_out_of_its_transaction(
    tmp_path: Path, sql: str, in_one_transaction: bool
) -> None:
    (migration,) = migration_files(tmp_path, **{"0001_file": sql})

    assert migration.in_one_transaction is in_one_transaction
