"""What `samlocal up` says about the template's parts it accepts but does not emulate.

By default a few lines, one per kind: whole resources by type ("CloudWatch alarms (14)"), then
properties by the kind of resource that declares them ("functions: Tracing (5), ..."). With
`--verbose`, every entry and why.
"""

from collections import Counter
from collections.abc import Mapping

from rich.console import RenderableType
from rich.markup import escape
from rich.padding import Padding
from rich.table import Table

from samlocal.template import IMPLICIT_API

# The kinds of resource whose properties can be listed, as the summary names them.
_KINDS = {
    "AWS::Serverless::Function": "functions",
    "AWS::Serverless::Api": "APIs",
    "AWS::DynamoDB::Table": "tables",
    "AWS::SQS::Queue": "queues",
}
_WHOLE_RESOURCE = " are not emulated"


def _entry_kind(what: str, why: str, types: Mapping[str, str]) -> tuple[str, str]:
    """(group, label) of one entry: `Logical` is a whole resource, `Logical.Property...` a property."""
    logical_id, _, path = what.partition(".")
    if not path:
        return "resources", why.removesuffix(_WHOLE_RESOURCE)
    if path.startswith("Events."):
        # Logical.Events.<EventName>.Property: a property of one of the function's event sources.
        return "event sources", path.split(".", 2)[-1]
    # SAM's implicit API (for events without RestApiId) is not among the template's resources.
    resource_type = "AWS::Serverless::Api" if logical_id == IMPLICIT_API else types.get(logical_id, "")
    return _KINDS.get(resource_type, "other"), path


def grouped(not_emulated: Mapping[str, str], types: Mapping[str, str]) -> list[tuple[str, str]]:
    """(group, "label (count), ...") lines: whole resources first, then properties by kind; the
    largest counts first within a line.

    `types`: each logical id's resource type, to tell a function's property from a table's."""
    counts: dict[str, Counter[str]] = {}
    for what, why in not_emulated.items():
        group, label = _entry_kind(what, why, types)
        counts.setdefault(group, Counter())[label] += 1
    order = ["resources", *_KINDS.values(), "event sources", "other"]
    return [
        (group, ", ".join(f"{label} ({count})" for label, count in sorted(counts[group].items(), key=_largest_first)))
        for group in order
        if group in counts
    ]


def _largest_first(item: tuple[str, int]) -> tuple[int, str]:
    label, count = item
    return -count, label


def summary(not_emulated: Mapping[str, str], types: Mapping[str, str], *, verbose: bool) -> list[RenderableType]:
    """What `samlocal up` prints; nothing when everything is emulated."""
    if not not_emulated:
        return []
    if verbose:
        return [
            "[yellow]Declared in the template but not emulated locally:[/yellow]",
            *(f"  [dim]{escape(what)}[/dim]: {escape(why)}" for what, why in sorted(not_emulated.items())),
        ]
    # A grid, so a line too long for the terminal wraps under its own column.
    groups = Table.grid(padding=(0, 2))
    groups.add_column(style="dim", no_wrap=True)
    groups.add_column()
    for group, labels in grouped(not_emulated, types):
        groups.add_row(group, labels)
    return [
        f"[yellow]Declared in the template but not emulated locally[/yellow] "
        f"({len(not_emulated)}; `samlocal up --verbose` lists each, and why):",
        Padding(groups, (0, 0, 0, 2)),
    ]
