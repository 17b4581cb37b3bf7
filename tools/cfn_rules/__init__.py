"""cfn-lint rules for what AWS refuses at deploy, or what breaks once deployed, that cfn-lint's
own rules and `sam validate --lint` let through.

`make check-template` runs them (`cfn-lint --append-rules tools/cfn_rules`, with the project's
root on PYTHONPATH so that each rule finds `tools.cfn_rules._template`). cfn-lint loads every
module here whose name starts with a letter: one rule (or one check's error and warning) each,
ids E9001-E9007 and W9001. `_template.py` is what they share.

cfn-lint executes each rule module from its file without registering it in `sys.modules`, where
a dataclass looks its postponed annotations up: the rule modules therefore don't postpone them
(no `from __future__ import annotations`).
"""
