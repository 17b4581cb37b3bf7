"""The ports the services depend on. Adapters implement them; tests use in-memory fakes."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from order_service.models.events import Notification, OrderPlaced
from order_service.models.order import Order, OrderStatus

Clock = Callable[[], datetime]


class OrderNotFoundError(LookupError):
    def __init__(self, order_id: str) -> None:
        super().__init__(f"order {order_id} does not exist")
        self.order_id = order_id


class OrderAlreadyExistsError(Exception):
    def __init__(self, order_id: str) -> None:
        super().__init__(f"order {order_id} already exists")
        self.order_id = order_id


class TransitionConflictError(Exception):
    """The order was not in the expected status when the guarded update ran."""

    def __init__(self, current: Order) -> None:
        super().__init__(f"order {current.order_id} is {current.status.value}")
        self.current = current


class InvalidPageTokenError(ValueError):
    """A `next_token` that this store did not hand out for this customer."""


class PublishError(RuntimeError):
    """The event bus did not accept an event; `code` is the bus's error code for it."""

    def __init__(self, message: str, *, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class StoreUnavailableError(RuntimeError):
    """The order store could not be reached, or lost the connection mid-transaction.

    Nothing of the failed unit of work was written; the caller may retry."""


@dataclass(frozen=True)
class OrderChange:
    """One stored change: `before` is None for a new order."""

    before: Order | None
    after: Order


@dataclass(frozen=True)
class UnreadableOrder:
    """A stored order that no longer reads as an order (a bound tightened since it was stored,
    a corrupted item): a reader of many rows sets it aside, reports it, and goes on.

    It names the order and which fields failed how (names and error types); never a value,
    which may be customer data. The row itself stays as it is in the store, for an operator."""

    order_id: str
    reason: str


@dataclass(frozen=True)
class OrderPage:
    orders: tuple[Order, ...]
    next_token: str | None
    # Orders of this page that were skipped: the listing goes on without them.
    unreadable: tuple[UnreadableOrder, ...] = ()


@dataclass(frozen=True)
class PendingOrders:
    """The orders still pending, oldest first, and those of them that no longer read."""

    orders: tuple[Order, ...]
    unreadable: tuple[UnreadableOrder, ...] = ()


class OrderRepository(Protocol):
    def add(self, order: Order) -> None:
        """Store a new order; OrderAlreadyExistsError if its id is taken."""

    def get(self, order_id: str) -> Order | None: ...

    def list_by_customer(self, customer_id: str, limit: int, page_token: str | None) -> OrderPage:
        """Newest first. InvalidPageTokenError for a token this store did not issue. An order
        that no longer reads is left out of `orders` and named in `unreadable`."""

    def transition(
        self,
        order_id: str,
        *,
        expected: OrderStatus,
        new: OrderStatus,
        reason: str | None,
        at: datetime,
    ) -> Order:
        """Move `expected -> new` atomically; TransitionConflictError or OrderNotFoundError otherwise."""

    def pending_before(self, cutoff: datetime, limit: int) -> PendingOrders:
        """Up to `limit` orders still pending that were created before `cutoff`, oldest first.

        An order that no longer reads does not count against `limit`: it is named in
        `unreadable`, and the orders behind it are still listed."""


class OrderEventPublisher(Protocol):
    def publish_order_placed(self, event: OrderPlaced) -> None:
        """Raise PublishError unless the bus accepted the event."""


class NotificationQueue(Protocol):
    def enqueue(self, notification: Notification) -> None: ...


@dataclass(frozen=True)
class Email:
    sender: str
    recipient: str
    subject: str
    body: str


@dataclass(frozen=True)
class UnannouncedChange:
    """A stored change that can never be announced as it is, kept for an operator.

    It names the order and where the change sits in the store's change log, and why it
    failed; it carries no customer data (the order itself is in the store)."""

    order_id: str | None
    change: str
    position: str
    reason: str


class SetAside(Protocol):
    def set_aside(self, change: UnannouncedChange) -> None:
        """Keep the change for an operator (a failure queue); raise if it could not be kept."""


@dataclass(frozen=True)
class RelayedBatch:
    """What one pass over the outbox did: changes taken, published, and set aside."""

    taken: int
    published: int
    set_aside: int


class ChangeOutbox(Protocol):
    """Stored changes not yet announced (the PostgreSQL store's outbox)."""

    def publish_pending(
        self, limit: int, publish: Callable[[OrderChange], object], *, time_left: Callable[[], bool] = ...
    ) -> RelayedBatch:
        """Hand up to `limit` changes to `publish`, oldest first, marking each once it returned.

        No change is handed out once `time_left()` is false. A change that fails for a reason
        retrying cannot fix is marked failed, with its reason, and the batch goes on; any other
        failure stops the batch and is raised, so the change is retried first next time. Each
        change is marked as soon as it is done: a batch cut short keeps what it did."""


class SendingThrottledError(Exception):
    """The e-mail provider refused to send now: its sending rate is exceeded. Nothing was sent."""


class SendOutcomeUnknownError(Exception):
    """The request to send went out and no answer came back (a read timeout, a connection lost):
    the provider may have sent the e-mail, or not. Nothing tells which."""


class NotificationDeferrals(Protocol):
    def defer(self, notification: Notification, *, delay_seconds: int, deferrals: int) -> None:
        """Queue the notification again, to be delivered after `delay_seconds`; `deferrals`: how
        many times it has been deferred, this time included."""


class EmailSender(Protocol):
    def send(self, email: Email) -> str:
        """Send and return the provider's message id."""
