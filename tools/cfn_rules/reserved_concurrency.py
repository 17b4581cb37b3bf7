"""E9002: reserved concurrency that leaves the account fewer unreserved executions than Lambda keeps.

AWS, "Configuring reserved concurrency for a function"
(https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html): "You can reserve up
to the Unreserved account concurrency value that is shown, minus 100 for functions that don't have
reserved concurrency", i.e. at least 100 simultaneous executions stay unreserved. "Lambda quotas"
(https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html): the default quota of
concurrent executions is 1,000 a Region, and "New AWS accounts have reduced concurrency and memory
quotas". Lambda refuses a PutFunctionConcurrency that crosses the line ("Specified
ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below
its minimum value of [N]"), so the stack's deploy fails.

The template's functions together (ReservedConcurrentExecutions: a literal, a parameter's
default, or an `!If` the defaults decide; functions the defaults leave out don't count) may
reserve at most the quota minus what must stay unreserved: 900 on the default quota. An account
with another quota says so with `--configure-rule E9002:account_concurrency=N` (what must stay
unreserved is then the lesser of N and 100, as Lambda reports for reduced quotas, unless
`E9002:unreserved_minimum=M` says otherwise). This counts only this stack: other stacks' reserved
concurrency in the same account and Region comes out of the same pool.
"""

from cfnlint.rules._rule import CloudFormationLintRule, RuleMatch
from cfnlint.template.template import Template

from tools.cfn_rules._template import FUNCTIONS, DefaultDeploy, properties

DEFAULT_ACCOUNT_CONCURRENCY = 1000
UNRESERVED_MINIMUM = 100


class ReservedConcurrencyLeavesTooFewUnreserved(CloudFormationLintRule):
    """Reserved concurrency summed over the template's functions above what the account's quota
    allows to reserve (this module's docstring quotes AWS)."""

    id = "E9002"
    shortdesc = "Reserved concurrency leaves too few unreserved executions"
    description = (
        "The functions' ReservedConcurrentExecutions together must leave at least 100 concurrent "
        "executions unreserved on the account's quota (1,000 by default), or Lambda refuses them."
    )
    source_url = "https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html"
    tags = ["resources", "lambda", "concurrency"]  # noqa: RUF012 - cfn-lint declares it a plain list

    def __init__(self) -> None:
        super().__init__()
        self.config_definition = {
            "account_concurrency": {"default": DEFAULT_ACCOUNT_CONCURRENCY, "type": "integer"},
            # 0: Lambda's own minimum, the lesser of the quota and 100.
            "unreserved_minimum": {"default": 0, "type": "integer"},
        }

    def match(self, cfn: Template) -> list[RuleMatch]:
        deploy = DefaultDeploy(cfn.template)
        reserved: dict[str, int] = {}
        for name, function in deploy.of_type(*FUNCTIONS):
            value = properties(function).get("ReservedConcurrentExecutions")
            amount = None if value is None else deploy.integer(value)
            if amount is not None and deploy.deployed(function):
                reserved[name] = amount
        # cfn-lint configures every rule (config_definition's defaults, then --configure-rule) before it runs.
        quota = int(self.config.get("account_concurrency", DEFAULT_ACCOUNT_CONCURRENCY))
        minimum = int(self.config.get("unreserved_minimum", 0)) or min(quota, UNRESERVED_MINIMUM)
        total = sum(reserved.values())
        if not reserved or total <= quota - minimum:
            return []
        largest = max(reserved, key=lambda name: reserved[name])
        listed = ", ".join(f"{name} {amount}" for name, amount in sorted(reserved.items()))
        return [
            RuleMatch(
                ["Resources", largest, "Properties", "ReservedConcurrentExecutions"],
                f"The functions reserve {total} concurrent executions ({listed}): on a quota of {quota} "
                f"that leaves {quota - total} unreserved, and Lambda keeps at least {minimum} unreserved "
                f"(at most {max(quota - minimum, 0)} can be reserved).",
            )
        ]
