"""The console's views: each is a name, what its template gets, and where its template lives.

A view is one entry of a list: the engine's own below; an application's profile adds its own
and hands the whole list to `WebConsole`. A view's template is
`_<name>.html` in the `templates` folder of its package; `attach` runs once when a console
starts (to follow the log lines, say) and keeps what it needs in `console.state`.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from samlocal.console import model

if TYPE_CHECKING:
    from samlocal.console.server import WebConsole

Query = Mapping[str, list[str]]


@dataclass(frozen=True)
class View:
    name: str
    context: Callable[["WebConsole", Query], dict[str, Any]]
    package: str = "samlocal.console"  # whose templates/ folder holds _<name>.html
    tab: bool = True  # listed in the page's navigation
    parent: str | None = None  # the tab shown as current (a detail page's list)
    keeps: tuple[str, ...] = ()  # query parameters its fragment is fetched again with
    fragment: bool = True  # False: the page builds itself (Swagger UI)
    attach: Callable[["WebConsole"], None] | None = None
    label: str | None = None  # the tab's text, if not the name capitalised


def _functions(console: "WebConsole", _query: Query) -> dict[str, Any]:
    return {"functions": model.functions(console.stack)}


def _mailbox(console: "WebConsole", _query: Query) -> dict[str, Any]:
    middleware = console.stack.emulator.middleware
    return {"sent": list(reversed(middleware.sent_emails)), "refused": list(reversed(middleware.refused_emails))}


def _queues(console: "WebConsole", _query: Query) -> dict[str, Any]:
    return {"queues": model.queues(console.stack)}


def _none(_console: "WebConsole", _query: Query) -> dict[str, Any]:
    return {}


ENGINE_VIEWS: tuple[View, ...] = (
    View("functions", _functions),
    View("mailbox", _mailbox),
    View("queues", _queues),
    View("api", _none, fragment=False, label="API"),
)
