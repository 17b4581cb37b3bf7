"""Reload on save: `samlocal up` watches every function's code folder and the template.

A saved `.py` file retires the workers of every function whose code folder holds it (the idle
ones at once, busy ones when their invocation ends), so the next invocation cold-starts the code
as it is on disk, as after a deploy. A file that no longer imports fails that function's
invocations as its init would fail on AWS, and the next good save recovers: the stack never
stops for it.

A saved template is loaded again and compared with the running one. A function's settings
(environment, timeout, memory, handler, reserved concurrency) and its event sources' settings
(batch size, batching window, ...) are applied live; what cannot be (a table's key schema, a
new resource, a new or removed event source or route) is said in one line: restart to apply it.
"""

import contextlib
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import watchfiles

from samlocal.intrinsics import UnsupportedConstructError
from samlocal.runtime.workers import WorkerRunner
from samlocal.template import FunctionSpec, Stack

if TYPE_CHECKING:
    from samlocal.local_stack import LocalStack

# A function's settings a new worker picks up: nothing else needs to change for them.
_WORKER_SETTINGS = {
    "handler": "handler",
    "runtime": "runtime",
    "timeout_seconds": "timeout",
    "memory_mb": "memory",
    "environment": "environment",
    "reserved_concurrency": "reserved concurrency",
}
_SOURCES = ("sqs_sources", "stream_sources", "rule_sources", "schedule_sources")


@dataclass
class TemplateChanges:
    """What a saved template changes in the running stack."""

    functions: dict[str, FunctionSpec] = field(default_factory=dict)  # to apply live
    applied: list[str] = field(default_factory=list)
    needs_restart: list[str] = field(default_factory=list)

    def summary(self) -> list[str]:
        lines = [f"applied {line}" for line in self.applied]
        if self.needs_restart:
            lines.append(f"restart `samlocal up` to apply: {'; '.join(self.needs_restart)}")
        if not lines:
            lines.append("template.yaml saved: nothing the local stack runs changed")
        return lines


def _source_key(source: object) -> object:
    """What identifies an event source: the queue, table, bus or name it is bound to."""
    for attribute in ("queue_arn", "table_logical_id", "bus_name"):
        if hasattr(source, attribute):
            return getattr(source, attribute)
    return getattr(source, "name", None)


def _compare_function(old: FunctionSpec, new: FunctionSpec, changes: TemplateChanges) -> None:
    changed = [label for name, label in _WORKER_SETTINGS.items() if getattr(old, name) != getattr(new, name)]
    if old.api_routes != new.api_routes:
        changes.needs_restart.append(f"{new.logical_id}'s API routes")
    if old.async_config != new.async_config:
        changed.append("asynchronous invocation settings")
    for kind in _SOURCES:
        before, after = getattr(old, kind), getattr(new, kind)
        if before == after:
            continue
        if [_source_key(source) for source in before] != [_source_key(source) for source in after]:
            changes.needs_restart.append(f"{new.logical_id}'s {kind.replace('_', ' ')} (added or removed)")
        else:
            changed.append(f"{kind.removesuffix('_sources')} event source settings")
    if changed:
        changes.functions[new.logical_id] = new
        changes.applied.append(f"{new.logical_id}: {', '.join(changed)}")


def compare(old_stack: Stack, old: dict[str, FunctionSpec], new_stack: Stack) -> TemplateChanges:
    """What `new_stack` changes in the running `old_stack` (whose functions are `old`)."""
    changes = TemplateChanges()
    for kind, label in (("tables", "table"), ("queues", "queue")):
        before = {spec.logical_id: spec for spec in getattr(old_stack, kind)()}
        after = {spec.logical_id: spec for spec in getattr(new_stack, kind)()}
        for logical_id in sorted(after.keys() - before.keys()):
            changes.needs_restart.append(f"new {label} {logical_id}")
        for logical_id in sorted(before.keys() - after.keys()):
            changes.needs_restart.append(f"{label} {logical_id} removed")
        for logical_id in sorted(before.keys() & after.keys()):
            if before[logical_id] != after[logical_id]:
                changes.needs_restart.append(f"{label} {logical_id}'s definition (e.g. its key schema)")
    new = {function.logical_id: function for function in new_stack.functions()}
    for logical_id in sorted(new.keys() - old.keys()):
        changes.needs_restart.append(f"new function {logical_id}")
    for logical_id in sorted(old.keys() - new.keys()):
        changes.needs_restart.append(f"function {logical_id} removed")
    for logical_id in sorted(old.keys() & new.keys()):
        _compare_function(old[logical_id], new[logical_id], changes)
    return changes


def functions_holding(functions: Iterable[FunctionSpec], paths: Iterable[Path]) -> dict[str, int]:
    """For each function whose code folder holds some of `paths`: how many."""
    held: dict[str, int] = {}
    resolved = [path.resolve() for path in paths]
    for function in functions:
        root = function.code_path.resolve()
        count = sum(1 for path in resolved if path.is_relative_to(root))
        if count:
            held[function.logical_id] = count
    return held


def forget_bytecode(sources: Iterable[Path]) -> None:
    """Delete the cached bytecode of saved files. Python trusts a .pyc whose recorded source
    mtime (in whole seconds) and size match: a file saved twice within a second at the same size
    would run its old code."""
    for source in sources:
        for compiled in (source.parent / "__pycache__").glob(f"{source.stem}.*.pyc"):
            with contextlib.suppress(OSError):
                compiled.unlink()


class CodeReloader:
    """Watches the functions' code folders and the template of a running LocalStack."""

    def __init__(self, stack: "LocalStack", say: Callable[[str], None]) -> None:
        self.stack = stack
        self.say = say
        self.template = stack.options.template.resolve()
        self._template_seen = self._template_text()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.ready = threading.Event()

    @property
    def watched(self) -> list[Path]:
        # The template itself, not its folder: that is the project, virtual environment included.
        folders = {function.code_path.resolve() for function in self.stack.functions.values()}
        return sorted(folders | {self.template})

    def _wanted(self, change: watchfiles.Change, path: str) -> bool:
        return path.endswith(".py") or Path(path) == self.template

    def start(self) -> "CodeReloader":
        self._thread = threading.Thread(target=self._watch, name="code-reloader", daemon=True)
        self._thread.start()
        return self

    def _template_text(self) -> str | None:
        try:
            return self.template.read_text()
        except OSError:
            return None

    def _watch(self) -> None:
        while not self._stop.is_set():
            if not self.template.exists():  # an editor replacing it: wait for the new file
                self._stop.wait(0.05)
                continue
            if self._template_text() != self._template_seen:  # saved while no watch was on it
                for line in self.apply({self.template}):
                    self.say(line)
            watching = watchfiles.watch(
                *self.watched,
                watch_filter=self._wanted,
                stop_event=self._stop,
                debounce=100,
                step=20,
                yield_on_timeout=True,
                rust_timeout=200,
            )
            for changes in watching:
                self.ready.set()
                if changes:
                    for line in self.apply({Path(path) for _, path in changes}):
                        self.say(line)
                # Editors that save by writing a new file and renaming it over the template end
                # the watch on the old one: watch the new one.
                if any(change == watchfiles.Change.deleted and Path(path) == self.template for change, path in changes):
                    break

    def apply(self, paths: set[Path]) -> list[str]:
        """Reload what `paths` (saved files) change; the lines to tell the developer."""
        lines: list[str] = []
        if self.template in {path.resolve() for path in paths}:
            lines += self._apply_template()
        sources = [path for path in paths if path.suffix == ".py"]
        if not sources:
            return lines
        if not isinstance(self.stack.runner, WorkerRunner):
            return [*lines, "reload on save needs worker processes (`--runner workers`): restart to run the new code"]
        forget_bytecode(sources)
        for logical_id, count in functions_holding(self.stack.functions.values(), sources).items():
            self.stack.runner.reload(logical_id)
            lines.append(f"reloaded {logical_id} ({count} file{'s' if count > 1 else ''})")
        return lines

    def _apply_template(self) -> list[str]:
        self._template_seen = self._template_text()
        try:
            saved = self.stack.load_template()
        except (UnsupportedConstructError, ValueError, KeyError, OSError) as error:
            return [f"template.yaml not applied, the stack runs on as it was: {error}"]
        except Exception as error:  # a half-written YAML file among them: never stop the stack for it
            return [f"template.yaml not applied, the stack runs on as it was: {type(error).__name__}: {error}"]
        changes = compare(self.stack.stack, self.stack.functions, saved)
        for function in changes.functions.values():
            self.stack.update_function(function)
        return changes.summary()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
