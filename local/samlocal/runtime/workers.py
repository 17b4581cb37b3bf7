"""Runs each function in worker processes, through awslambdaric and a local Runtime API.

A worker is a real process started with the function's environment (as Lambda sets it,
plus the template's variables), so a cold start is a real process start and import. Warm
workers are reused; concurrent invocations start more, up to the function's reserved
concurrency (or a small default). A worker that overruns the function's timeout is killed
and the invocation fails as on AWS; a failed init is reported with its traceback.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import IO, Any

from samlocal.logs import LogBook
from samlocal.runtime.debugging import Debugger, DebugTarget, HeldClock, context_timeout, start_debuggers
from samlocal.runtime.invocation import FunctionStats, Invocation, new_request_id
from samlocal.runtime.runtime_api import PendingInvocation, RuntimeApi, trace_header
from samlocal.template import REGION, FunctionSpec

DEFAULT_CONCURRENCY = 4
# Lambda's init phase may take 10 s; past that, init is retried within the invoke phase, under
# the function's timeout (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html).
INIT_LIMIT_SECONDS = 10.0
# Nothing listens here unless the stack's trace collector is given instead (LocalStack does).
DEFAULT_DAEMON_ADDRESS = "127.0.0.1:2000"


def xray_daemon_environment(address: str) -> dict[str, str]:
    """The variables through which Lambda tells the X-Ray SDK where the daemon listens (`host:port`)."""
    host, _, port = address.rpartition(":")
    return {"AWS_XRAY_DAEMON_ADDRESS": address, "_AWS_XRAY_DAEMON_ADDRESS": host, "_AWS_XRAY_DAEMON_PORT": port}


def lambda_environment(function: FunctionSpec, task_root: Path, runtime_api: str) -> dict[str, str]:
    """The variables the Lambda runtime sets for a Python function.

    The X-Ray daemon's address is a default: the stack's base environment overrides it with
    its trace collector's (see `samlocal.traces`).
    """
    version = function.runtime.removeprefix("python")
    return {
        "AWS_LAMBDA_FUNCTION_NAME": function.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function.name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": f"local/[$LATEST]{new_request_id().replace('-', '')}",
        "AWS_LAMBDA_RUNTIME_API": runtime_api,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_python{version}",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        **xray_daemon_environment(DEFAULT_DAEMON_ADDRESS),
        "_HANDLER": function.handler,
        "LAMBDA_TASK_ROOT": str(task_root),
        "LAMBDA_RUNTIME_DIR": str(Path(sys.executable).parent),
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    }


class Worker:
    def __init__(
        self,
        function: FunctionSpec,
        environment: Mapping[str, str],
        logs: LogBook,
        python: str = sys.executable,
        debugger: Debugger | None = None,
    ) -> None:
        """`python`: the interpreter to run (by default this one, with the project's environment).
        `debugger`: run it under debugpy, for that debugger's clients."""
        self.function = function
        self.debugger = debugger
        task_root = function.code_path
        self.api = RuntimeApi()
        self.started = time.perf_counter()
        self.invocations = 0
        self.current_event: bytes | None = None
        env = {**lambda_environment(function, task_root, self.api.address), **environment, **function.environment}
        command = [python, "-m", "awslambdaric", function.handler]
        if debugger is not None:
            command, debug_environment = debugger.launch(python, function.handler)
            env.update(debug_environment)
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and the template's handler
            command,
            cwd=task_root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read_output, args=(self.process.stdout, logs), daemon=True)
        self._reader.start()
        if debugger is not None:
            debugger.started(self.alive)

    @property
    def pid(self) -> int:
        return self.process.pid

    def _read_output(self, stream: IO[str] | None, logs: LogBook) -> None:
        if stream is None:
            return
        for line in stream:
            logs.write(self.function.logical_id, line)

    def alive(self) -> bool:
        return self.process.poll() is None

    def max_memory_mb(self) -> float:
        """Peak resident memory of the process (VmHWM), as Lambda's REPORT line shows it."""
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return 0.0

    def invoke(self, payload: bytes, request_id: str) -> tuple[Any, dict[str, Any] | None, bool]:
        """(result, error, timed out) of one invocation on this worker."""
        pending = PendingInvocation(
            request_id=request_id,
            event=payload,
            timeout_seconds=context_timeout(self.function.timeout_seconds, self.debugger),
            function_arn=self.function.arn,
            trace_id=trace_header(request_id),
        )
        self.api.submit(pending)
        self.invocations += 1
        self.current_event = payload
        try:
            return self._wait(pending, request_id)
        finally:
            self.current_event = None

    def _wait(self, pending: PendingInvocation, request_id: str) -> tuple[Any, dict[str, Any] | None, bool]:
        # Until the runtime takes the invocation (a cold worker is still initialising), Lambda's
        # init limit applies; from then on, the function's timeout.
        init_deadline = time.time() + INIT_LIMIT_SECONDS + self.function.timeout_seconds
        # While a debugger client holds it, neither limit runs down: a breakpoint is not a timeout.
        held = HeldClock(self.debugger)
        while not pending.done.wait(0.02):
            if self.api.init_failed.is_set():
                self.api.abandon(request_id)
                return None, {**(self.api.init_error or {}), "phase": "init"}, False
            if not self.alive():
                self.api.abandon(request_id)
                return (
                    None,
                    {
                        "errorType": "Runtime.ExitError",
                        "errorMessage": f"RequestId: {request_id} Error: Runtime exited ({self.process.returncode})",
                    },
                    False,
                )
            # The function's timeout from when the runtime took the invocation (under a debugger,
            # its context may have been given a later deadline: see runtime/debugging.py).
            taken = pending.deadline_ms / 1000 - pending.timeout_seconds
            deadline = taken + self.function.timeout_seconds if pending.deadline_ms else init_deadline
            deadline += held.seconds(phase=bool(pending.deadline_ms))
            if time.time() > deadline:
                self.kill()
                self.api.abandon(request_id)
                message = (
                    f"RequestId: {request_id} Error: Task timed out after {self.function.timeout_seconds:.2f} seconds"
                )
                return None, {"errorType": "Sandbox.Timedout", "errorMessage": message}, True
        return pending.result, pending.error, False

    def kill(self) -> None:
        if self.alive():
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def freeze(self) -> None:
        """SIGSTOP the worker: a function stuck in its own code, which only its timeout ends."""
        if self.alive():
            os.killpg(self.process.pid, signal.SIGSTOP)

    def stop(self) -> None:
        if self.alive():
            self.process.terminate()
            try:
                self.process.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.kill()
        self.api.close()


def _concurrency(function: FunctionSpec, debugger: Debugger | None) -> int:
    # Under a debugger, one worker: the one the client is attached to, where its breakpoints are.
    return 1 if debugger is not None else function.reserved_concurrency or DEFAULT_CONCURRENCY


class FunctionPool:
    """The warm and busy workers of one function."""

    def __init__(
        self, function: FunctionSpec, environment: Mapping[str, str], logs: LogBook, debugger: Debugger | None = None
    ) -> None:
        self.function = function
        self.debugger = debugger
        self.limit = _concurrency(function, debugger)
        self._environment = environment
        self._logs = logs
        self._idle: list[Worker] = []
        self._all: set[Worker] = set()
        self._count = 0
        self._condition = threading.Condition()
        self.pids_seen: list[int] = []
        self.peak_memory_mb = 0.0
        self._closed = False
        # Bumped by `retire`: a worker of an older generation runs old code or settings, and
        # is stopped instead of being reused.
        self.generation = 0
        self._generations: dict[Worker, int] = {}

    def acquire(self) -> tuple[Worker, bool]:
        """A warm worker, or a new one (cold) while under the concurrency limit; else wait."""
        with self._condition:
            while True:
                if self._closed:
                    raise RuntimeError("the stack is stopping")
                while self._idle:
                    worker = self._idle.pop()
                    if worker.alive():
                        return worker, False
                    self._count -= 1
                if self._count < self.limit:
                    self._count += 1
                    function, generation = self.function, self.generation
                    break
                self._condition.wait()
        try:
            worker = Worker(function, self._environment, self._logs, debugger=self.debugger)
        except Exception:
            with self._condition:
                self._count -= 1
                self._condition.notify()
            raise
        with self._condition:
            self._all.add(worker)
            self._generations[worker] = generation
        self.pids_seen.append(worker.pid)
        return worker, True

    def release(self, worker: Worker) -> None:
        self.peak_memory_mb = max(self.peak_memory_mb, worker.max_memory_mb())
        with self._condition:
            current = self._generations.get(worker) == self.generation
            if worker.alive() and current and not self._closed:
                self._idle.append(worker)
            else:
                self._count -= 1
                self._all.discard(worker)
                self._generations.pop(worker, None)
                worker.stop()
            self._condition.notify()

    def busy(self) -> int:
        """Workers in an invocation (or starting for one)."""
        with self._condition:
            return self._count - len(self._idle)

    def retire(self, function: FunctionSpec | None = None) -> int:
        """Retire every worker: the idle ones now, the busy ones when their invocation ends.
        The next invocation cold-starts the code as it is now, with `function`'s settings if
        given (environment, timeout, memory, handler). Returns how many workers were idle."""
        with self._condition:
            self.generation += 1
            if function is not None:
                self.function = function
                self.limit = _concurrency(function, self.debugger)
            idle, self._idle = self._idle, []
            for worker in idle:
                self._all.discard(worker)
                self._generations.pop(worker, None)
            self._count -= len(idle)
            self._condition.notify_all()
        for worker in idle:
            worker.stop()
        return len(idle)

    def kill_busy(self, handling: bytes) -> int | None:
        """SIGKILL the worker whose current event contains `handling`; its process id, if any."""
        with self._condition:
            busy = [worker for worker in self._all if worker.current_event and handling in worker.current_event]
        for worker in busy:
            worker.kill()
            return worker.pid
        return None

    def freeze_busy(self, handling: bytes) -> int | None:
        """SIGSTOP the worker whose current event contains `handling`; its process id, if any."""
        with self._condition:
            busy = [worker for worker in self._all if worker.current_event and handling in worker.current_event]
        for worker in busy:
            worker.freeze()
            return worker.pid
        return None

    def close(self) -> None:
        with self._condition:
            self._closed = True
            workers, self._idle = list(self._all), []
            self._condition.notify_all()
        for worker in workers:
            worker.stop()


class WorkerRunner:
    def __init__(
        self,
        functions: list[FunctionSpec],
        base_environment: Mapping[str, str],
        logs: LogBook,
        debug: Sequence[DebugTarget] = (),
    ) -> None:
        """`debug`: functions to run under debugpy (refused if the template lacks them)."""
        self.logs = logs
        self.debuggers = start_debuggers(debug, functions)
        self.pools = {
            function.logical_id: FunctionPool(function, base_environment, logs, self.debuggers.get(function.logical_id))
            for function in functions
        }
        self._stats = {function.logical_id: FunctionStats() for function in functions}
        self._lock = threading.Lock()
        for logical_id, debugger in self.debuggers.items():
            debugger.serve(partial(self._start_idle_worker, logical_id), partial(logs.write, logical_id))

    def _start_idle_worker(self, logical_id: str) -> None:
        """A worker waiting in the function's pool before any invocation: a debugger attaches to it."""
        pool = self.pools[logical_id]
        pool.release(pool.acquire()[0])

    def invoke(self, function: FunctionSpec, event: Mapping[str, Any]) -> Invocation:
        pool = self.pools[function.logical_id]
        request_id = new_request_id()
        started = time.perf_counter()
        worker, cold = pool.acquire()
        try:
            result, error, timed_out = worker.invoke(json.dumps(event).encode(), request_id)
        finally:
            pool.release(worker)
        duration = (time.perf_counter() - started) * 1000
        invocation = Invocation(
            function.logical_id, request_id, error is None, result, error, cold, duration, timed_out, worker.pid
        )
        self._report(worker, invocation)
        with self._lock:
            self._stats[function.logical_id].record(invocation, event)
        return invocation

    def _report(self, worker: Worker, invocation: Invocation) -> None:
        """Lambda's REPORT line, so a log reader sees each invocation's outcome and cost."""
        init = f" Init Duration: {invocation.duration_ms:.2f} ms (includes the invocation)" if invocation.cold else ""
        status = "" if invocation.ok else f" Status: {'timeout' if invocation.timed_out else 'error'}"
        self.logs.write(
            invocation.function,
            f"REPORT RequestId: {invocation.request_id} Duration: {invocation.duration_ms:.2f} ms "
            f"Memory Size: {worker.function.memory_mb} MB Max Memory Used: {worker.max_memory_mb():.0f} MB "
            f"Worker: {worker.pid}{init}{status}",
        )

    def stats(self) -> Mapping[str, FunctionStats]:
        return self._stats

    def reload(self, logical_id: str, function: FunctionSpec | None = None) -> None:
        """The function's next invocations run the code on disk now (and `function`'s settings)."""
        self.pools[logical_id].retire(function)

    def kill_worker_handling(self, logical_id: str, text: str) -> int | None:
        """Kill, mid-invocation, the worker of `logical_id` whose event mentions `text`."""
        return self.pools[logical_id].kill_busy(text.encode())

    def freeze_worker_handling(self, logical_id: str, text: str) -> int | None:
        """Freeze, mid-invocation, the worker of `logical_id` whose event mentions `text`: it
        overruns the function's timeout and is killed for it."""
        return self.pools[logical_id].freeze_busy(text.encode())

    def close(self) -> None:
        for pool in self.pools.values():
            pool.close()
        for debugger in self.debuggers.values():
            debugger.close()
