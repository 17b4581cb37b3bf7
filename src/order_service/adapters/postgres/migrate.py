"""Applies the SQL migrations in `migrations/`, in order, each once.

    python -m order_service.adapters.postgres.migrate postgresql://user@host/db

A plain runner rather than Alembic or yoyo: the schema is a handful of SQL files, the
service uses no ORM, and this keeps the Lambda layer free of a migration framework. Each
file runs in its own transaction under an advisory lock, so concurrent runs wait for each
other; a file that changed after it was applied is refused, not silently skipped.
"""

import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path

import psycopg

MIGRATIONS = Path(__file__).parent / "migrations"
_LOCK_ID = 0x0D3E5_0001  # any constant shared by every runner of this schema


class MigrationChangedError(RuntimeError):
    """An applied migration's file no longer has the content that was applied."""


@dataclass(frozen=True)
class Migration:
    version: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def migrations() -> list[Migration]:
    return [Migration(path.stem, path) for path in sorted(MIGRATIONS.glob("*.sql"))]


def migrate(connection: psycopg.Connection[tuple[object, ...]]) -> list[str]:
    """Apply what is missing; return the versions applied now."""
    connection.autocommit = True
    connection.execute("SELECT pg_advisory_lock(%s)", (_LOCK_ID,))
    try:
        connection.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        applied = {
            str(version): str(checksum)
            for version, checksum in connection.execute("SELECT version, checksum FROM schema_migrations").fetchall()
        }
        done = []
        for migration in migrations():
            if migration.version in applied:
                if applied[migration.version] != migration.checksum:
                    raise MigrationChangedError(f"{migration.path.name} changed after it was applied")
                continue
            with connection.transaction():
                connection.execute(migration.sql.encode())
                connection.execute(
                    "INSERT INTO schema_migrations (version, checksum) VALUES (%s, %s)",
                    (migration.version, migration.checksum),
                )
            done.append(migration.version)
        return done
    finally:
        connection.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_ID,))


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with psycopg.connect(argv[1]) as connection:
        applied = migrate(connection)
    print(f"applied {', '.join(applied)}" if applied else "schema up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
