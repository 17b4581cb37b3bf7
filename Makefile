# Everything bootstraps itself: a fresh clone needs only Python 3.11+ and pip.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.8

export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)
export UV_PYTHON_DOWNLOADS := never
export AWS_DEFAULT_REGION ?= us-east-1
export SAM_CLI_TELEMETRY := 0

.PHONY: demo test test-runtime lint check-template unit soak bench package screenshots bootstrap clean

## demo: run the whole pipeline locally and print what happened
demo: bootstrap
	$(BIN)/orders demo

## test: lint, type-check, validate the template, run every test
test: bootstrap lint check-template unit

bootstrap: $(VENV)/.bootstrapped

$(VENV)/.bootstrapped: pyproject.toml uv.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(BIN)/uv sync --frozen --python $(BIN)/python
	@touch $@

lint: bootstrap
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## check-template: SAM's and cfn-lint's checks, and the project's deploy rules (tools/cfn_rules), on
##                 TEMPLATE (template.yaml by default)
TEMPLATE ?= template.yaml
check-template: bootstrap
	$(BIN)/sam validate --lint --template $(TEMPLATE)
	PYTHONPATH=$(CURDIR) $(BIN)/cfn-lint --append-rules $(CURDIR)/tools/cfn_rules -- $(TEMPLATE)
	$(BIN)/python -m tools.package --check

## soak: 2,000 orders under faults and hostile input, on both stores (DynamoDB's with SES in its sandbox), with the accounting
# Five notification pollers, not the sandbox's two: the soak places 2,000 orders in minutes, which
# a sandbox account (1 e-mail a second, 200 a day) could never mail; two would leave the drain
# waiting on the queue, not on anything the accounting checks (docs/capacity.md).
SOAK_PARAMETERS = -p NotificationMaxConcurrency=5
soak: bootstrap
	$(BIN)/orders soak --orders 2000 --store dynamodb --ses-sandbox $(SOAK_PARAMETERS)
	$(BIN)/orders soak --orders 2000 --store postgres $(SOAK_PARAMETERS)

## bench: cold start, memory, warm overhead, throughput and artifact sizes -> benchmarks/results.*
bench: bootstrap
	$(BIN)/python -m benchmarks

## screenshots: docs/screenshots/*.png, the console's views after a demo run (needs Debian's chromium)
screenshots: bootstrap
	$(BIN)/python -m tools.screenshots --out docs/screenshots

## package: build/function.zip, build/layer.zip (Python 3.13, with its bytecode) and build/template.yaml
##          for ARCH=arm64 (the default) or ARCH=x86_64; PYTHON_RUNTIME names a Python 3.13 if need be
ARCH ?= arm64
package: bootstrap
	$(BIN)/python -m tools.package --out build --arch $(ARCH) $(if $(PYTHON_RUNTIME),--python $(PYTHON_RUNTIME))

# Two processes, a test file each (its tests share a stack, in order): much of the suite waits on
# local stacks, so it runs in about two thirds of the time.
unit: bootstrap
	$(BIN)/pytest -n 2 --dist loadfile

## test-runtime: the test suite again under the Lambda runtime's Python (PYTHON_RUNTIME=python3.13)
test-runtime: bootstrap
	UV_PROJECT_ENVIRONMENT=$(CURDIR)/.venv-runtime $(BIN)/uv sync --frozen --python $(or $(PYTHON_RUNTIME),python3.13)
	.venv-runtime/bin/pytest -n 2 --dist loadfile -p no:cacheprovider -m "not soak"

clean:
	rm -rf $(VENV) .venv-runtime .pytest_cache .mypy_cache .ruff_cache .hypothesis build
