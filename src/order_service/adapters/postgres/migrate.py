"""Applies the SQL migrations in `migrations/`, in order, each once, while the service runs.

    python -m order_service.adapters.postgres.migrate [--lock-timeout-ms 2000] [--attempts 5] URL

A plain runner rather than Alembic or yoyo: the schema is a handful of SQL files, the
service uses no ORM, and this keeps the Lambda layer free of a migration framework. One
runner at a time (an advisory lock; a second one waits for the first); a file that changed
after it was applied is refused, not silently skipped.

The functions keep writing while a migration runs, so no statement of one may stop them:
- Every statement waits at most `lock_timeout` for its locks. A statement waiting for a lock
  makes every later request for a conflicting lock queue behind it, the service's writes
  included; cut short, it holds them up for that long at most, instead of for as long as
  whatever it waits for (a long read, say). The file's step is then rolled back and tried
  again after a pause, a bounded number of times, and the run fails naming the file.
- A file is one transaction, unless its header says `-- migrate: no-transaction`: then each
  statement is a step of its own, committed with a record of the progress, so a run cut
  short resumes after the last step done. That is how a constraint is added `NOT VALID` (a
  moment's lock) and validated in a later step (which reads the table without blocking
  writes), and how an index is built `CONCURRENTLY` (which cannot run in a transaction).
- A concurrent index build that failed leaves an invalid index behind, which `IF NOT EXISTS`
  would take for the finished one: before each attempt the runner drops an invalid index
  of the name it builds.
"""

import argparse
import hashlib
import logging
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import psycopg

MIGRATIONS = Path(__file__).parent / "migrations"
_LOCK_ID = 0x0D3E5_0001  # any constant shared by every runner of this schema
_WAIT_FOR_RUNNER_SECONDS = 0.5
# Kept below the functions' statement timeout (3 s by default), so a write queued behind a
# migration statement waiting for its lock still finishes in time.
DEFAULT_LOCK_TIMEOUT_MS = 2_000
DEFAULT_ATTEMPTS = 5
DEFAULT_BACKOFF_SECONDS = 1.0
_MAX_BACKOFF_SECONDS = 30.0

_NO_TRANSACTION = re.compile(r"^--\s*migrate:\s*no-transaction\s*$", re.IGNORECASE)
# Statements PostgreSQL refuses inside a transaction block.
_OUTSIDE_A_TRANSACTION = re.compile(r"\bCONCURRENTLY\b|^VACUUM\b", re.IGNORECASE)
_NAME = r'(?:"[^"]+"|[A-Za-z_][\w$]*)'
_CONCURRENT_INDEX = re.compile(
    rf"^CREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY\s+(?:IF\s+NOT\s+EXISTS\s+)?({_NAME}(?:\.{_NAME})?)\s",
    re.IGNORECASE,
)
# What splits a file into statements: a `;` outside quotes, dollar quotes and comments.
_TOKEN = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|(\$\w*\$)|--[^\n]*|/\*.*?\*/|;", re.DOTALL)

log = logging.getLogger(__name__)


class MigrationError(RuntimeError):
    """A migration did not apply; the message names its file."""


class MigrationChangedError(MigrationError):
    """An applied migration's file no longer has the content that was applied."""


class MigrationLockTimeoutError(MigrationError):
    """A migration's locks were held by others at each of its attempts."""


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

    @property
    def in_one_transaction(self) -> bool:
        header = []
        for line in self.sql.splitlines():
            if line.strip() and not line.lstrip().startswith("--"):
                break
            header.append(line.strip())
        return not any(_NO_TRANSACTION.match(line) for line in header)


@dataclass(frozen=True)
class Retries:
    """How long each statement waits for its locks, and how often a step is tried."""

    lock_timeout_ms: int = DEFAULT_LOCK_TIMEOUT_MS
    attempts: int = DEFAULT_ATTEMPTS
    backoff_seconds: float = DEFAULT_BACKOFF_SECONDS

    def __post_init__(self) -> None:
        if self.lock_timeout_ms < 1 or self.attempts < 1 or self.backoff_seconds < 0:
            raise ValueError("the lock timeout and the attempts must be at least 1, the backoff not negative")

    def pause(self, attempt: int) -> float:
        return float(min(self.backoff_seconds * 2 ** (attempt - 1), _MAX_BACKOFF_SECONDS))


def migrations(directory: Path = MIGRATIONS) -> list[Migration]:
    return [Migration(path.stem, path) for path in sorted(directory.glob("*.sql"))]


def statements(sql: str) -> list[str]:
    """The statements of a file, without their comments."""
    found: list[str] = []
    current: list[str] = []
    position = 0
    while (match := _TOKEN.search(sql, position)) is not None:
        current.append(sql[position : match.start()])
        text, position = match.group(0), match.end()
        if (tag := match.group(1)) is not None:
            end = sql.find(tag, position)
            end = len(sql) if end < 0 else end + len(tag)
            text, position = sql[match.start() : end], end
        if text == ";":
            found.append("".join(current))
            current = []
        elif not text.startswith(("--", "/*")):
            current.append(text)
    current.append(sql[position:])
    found.append("".join(current))
    return [statement.strip() for statement in found if statement.strip()]


Connection = psycopg.Connection[tuple[object, ...]]


def migrate(connection: Connection, *, directory: Path = MIGRATIONS, retries: Retries | None = None) -> list[str]:
    """Apply what is missing; return the versions applied now."""
    retries = retries or Retries()
    connection.autocommit = True
    # Polled rather than waited for: a session blocked in pg_advisory_lock() holds a snapshot,
    # and the other runner's concurrent index build would wait for it to end.
    while connection.execute("SELECT pg_try_advisory_lock(%s)", (_LOCK_ID,)).fetchone() != (True,):
        time.sleep(_WAIT_FOR_RUNNER_SECONDS)
    row = connection.execute("SELECT current_setting('lock_timeout')").fetchone()
    previous_lock_timeout = str(row[0]) if row else "0"
    try:
        connection.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        connection.execute(
            "CREATE TABLE IF NOT EXISTS schema_migration_progress ("
            " version text PRIMARY KEY, checksum text NOT NULL, steps_done integer NOT NULL)"
        )
        connection.execute("SELECT set_config('lock_timeout', %s, false)", (f"{retries.lock_timeout_ms}ms",))
        applied = {
            str(version): str(checksum)
            for version, checksum in connection.execute("SELECT version, checksum FROM schema_migrations").fetchall()
        }
        done = []
        for migration in migrations(directory):
            if migration.version in applied:
                if applied[migration.version] != migration.checksum:
                    raise MigrationChangedError(f"{migration.path.name} changed after it was applied")
                continue
            _apply(connection, migration, retries)
            done.append(migration.version)
        return done
    finally:
        connection.execute("SELECT set_config('lock_timeout', %s, false)", (previous_lock_timeout,))
        connection.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_ID,))


def _apply(connection: Connection, migration: Migration, retries: Retries) -> None:
    if migration.in_one_transaction:

        def whole_file() -> None:
            with connection.transaction():
                connection.execute(migration.sql.encode())
                _record(connection, migration, steps_done=1, last=True)

        _attempt(migration, "", whole_file, retries)
        return
    steps = statements(migration.sql)
    row = connection.execute(
        "SELECT checksum, steps_done FROM schema_migration_progress WHERE version = %s", (migration.version,)
    ).fetchone()
    done = 0
    if row is not None:
        if row[0] != migration.checksum:
            raise MigrationChangedError(f"{migration.path.name} changed after it was partly applied")
        done = int(str(row[1]))
    if not steps:
        with connection.transaction():
            _record(connection, migration, steps_done=0, last=True)
    for number in range(done + 1, len(steps) + 1):
        step = partial(_step, connection, migration, steps[number - 1], number, last=number == len(steps))
        _attempt(migration, f" (statement {number} of {len(steps)})", step, retries)


def _step(connection: Connection, migration: Migration, statement: str, number: int, *, last: bool) -> None:
    if not _OUTSIDE_A_TRANSACTION.search(statement):
        with connection.transaction():
            connection.execute(statement.encode())
            _record(connection, migration, steps_done=number, last=last)
        return
    # Not atomic with its record: if the run stops in between, the statement runs again, so
    # such a statement must be one that may (CREATE INDEX CONCURRENTLY IF NOT EXISTS).
    if (index := _CONCURRENT_INDEX.match(statement)) is not None:
        _drop_if_invalid(connection, index.group(1))
    connection.execute(statement.encode())
    with connection.transaction():
        _record(connection, migration, steps_done=number, last=last)


def _drop_if_invalid(connection: Connection, index: str) -> None:
    invalid = connection.execute(
        "SELECT 1 FROM pg_index WHERE indexrelid = to_regclass(%s) AND NOT indisvalid", (index,)
    ).fetchone()
    if invalid is not None:
        log.warning("dropping the invalid index %s that a failed concurrent build left", index)
        connection.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {index}".encode())


def _record(connection: Connection, migration: Migration, *, steps_done: int, last: bool) -> None:
    if last:
        connection.execute(
            "INSERT INTO schema_migrations (version, checksum) VALUES (%s, %s)", (migration.version, migration.checksum)
        )
        connection.execute("DELETE FROM schema_migration_progress WHERE version = %s", (migration.version,))
    else:
        connection.execute(
            "INSERT INTO schema_migration_progress (version, checksum, steps_done) VALUES (%s, %s, %s)"
            " ON CONFLICT (version) DO UPDATE SET steps_done = EXCLUDED.steps_done",
            (migration.version, migration.checksum, steps_done),
        )


def _attempt(migration: Migration, what: str, step: Callable[[], None], retries: Retries) -> None:
    """Run `step`, again after a pause while others hold the locks it needs."""
    name = migration.path.name + what
    for attempt in range(1, retries.attempts + 1):
        try:
            step()
            return
        except (psycopg.errors.LockNotAvailable, psycopg.errors.DeadlockDetected) as error:
            if attempt == retries.attempts:
                raise MigrationLockTimeoutError(
                    f"{name}: its locks were held by other sessions at each of {retries.attempts} attempts"
                    f" (lock_timeout {retries.lock_timeout_ms} ms); nothing of this step was applied."
                    " Find the holders in pg_locks and pg_stat_activity, then run the migration again"
                ) from error
            pause = retries.pause(attempt)
            log.warning(
                "%s: %s (SQLSTATE %s) at attempt %d of %d; trying again in %.1f s",
                name,
                "lock_timeout" if isinstance(error, psycopg.errors.LockNotAvailable) else "deadlock",
                error.sqlstate,
                attempt,
                retries.attempts,
                pause,
            )
            time.sleep(pause)
        except psycopg.Error as error:
            raise MigrationError(f"{name}: {error}") from error


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m order_service.adapters.postgres.migrate", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("url", help="postgresql://USER:PASSWORD@HOST:5432/DATABASE?sslmode=verify-full&...")
    parser.add_argument(
        "--lock-timeout-ms", type=int, default=DEFAULT_LOCK_TIMEOUT_MS, help="the longest a statement waits for a lock"
    )
    parser.add_argument("--attempts", type=int, default=DEFAULT_ATTEMPTS, help="tries of a step that hit it")
    parser.add_argument("--backoff-seconds", type=float, default=DEFAULT_BACKOFF_SECONDS, help="first pause, doubled")
    arguments = parser.parse_args(argv[1:])
    try:
        retries = Retries(arguments.lock_timeout_ms, arguments.attempts, arguments.backoff_seconds)
    except ValueError as error:
        parser.error(str(error))
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        with psycopg.connect(arguments.url) as connection:
            applied = migrate(connection, retries=retries)
    except MigrationError as error:
        print(f"migration failed: {error}", file=sys.stderr)
        return 1
    print(f"applied {', '.join(applied)}" if applied else "schema up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
