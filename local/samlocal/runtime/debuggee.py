"""A worker's entry point under the debugger: debugpy listens, then the runtime client runs.

The worker runner starts a debugged function's worker as
`python -Xfrozen_modules=off -m samlocal.runtime.debuggee HANDLER` instead of
`python -m awslambdaric HANDLER`; everything after debugpy is the same runtime client, run as
`-m awslambdaric` runs it. This module imports nothing of the local stack, so the function's
process holds no more than debugpy on top of what it holds anyway.
"""

import os
import runpy
import sys
from pathlib import Path

# Where the worker tells the runner which port its debug adapter listens on.
PORT_FILE_VARIABLE = "ORDERS_DEBUG_PORT_FILE"
# "1": hold the runtime client back until a debugger client has attached and sent its breakpoints.
WAIT_VARIABLE = "ORDERS_DEBUG_WAIT"


def main() -> None:
    # Imported here: the runner imports this module for its constants, and needs no debugpy.
    import debugpy

    # A port of the system's choosing: the runner relays the port the user configured to it, so
    # a replacement worker never races its predecessor's adapter for the same port.
    _, port = debugpy.listen(("127.0.0.1", 0))
    report = Path(os.environ[PORT_FILE_VARIABLE])
    partial = report.with_name(f"{report.name}.partial")
    partial.write_text(str(port), encoding="ascii")
    partial.replace(report)  # the runner never reads half a number
    if os.environ.get(WAIT_VARIABLE) == "1":
        # Returns once a client has attached and sent configurationDone: its breakpoints are set
        # before the runtime client asks for the first invocation.
        debugpy.wait_for_client()
    sys.argv = ["awslambdaric", *sys.argv[1:]]
    runpy.run_module("awslambdaric", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
