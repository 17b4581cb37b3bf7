"""The workload's always-failing recipients, refused by SES and then accepted again.

Outside the sandbox they are on the emulator's suppression list. In the sandbox, the demo and
the soak verify their customers' addresses one by one and leave the always-failing recipients
unverified: what SES refuses them is what the suppression list refuses them otherwise. Their
refusal is lifted by verifying them.
"""

from samlocal.local_stack import LocalStack
from samlocal.ses_sandbox import verify

from orders_local.workload import FAILING_RECIPIENT_DOMAIN, WorkloadPlan


def refuse_failing_recipients(stack: LocalStack, plan: WorkloadPlan) -> None:
    """Make SES refuse the plan's always-failing recipients, and only them: on the suppression
    list, or, in the sandbox, by verifying every other recipient and not them."""
    middleware = stack.emulator.middleware
    if not middleware.ses_sandbox:
        middleware.rejected_domains.add(FAILING_RECIPIENT_DOMAIN)
        return
    verify(order.body["customer_email"] for order in plan.orders if not order.failing_recipient)


def accept_failing_recipients(stack: LocalStack, plan: WorkloadPlan) -> None:
    """Lift what `refuse_failing_recipients` set up: off the suppression list, or verified."""
    middleware = stack.emulator.middleware
    middleware.rejected_domains.clear()
    if middleware.ses_sandbox:
        verify(order.body["customer_email"] for order in plan.orders if order.failing_recipient)
