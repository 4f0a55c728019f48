# Gatehouse tasks. `make help` lists them; CI runs `make test` through .ci/run. Each test-* target
# is one step of the suite (`bash scripts/test.sh STEP...`), with the same output as in `make test`.
.PHONY: help demo examples test fmt lint test-rust test-rego test-python test-http test-postgres \
	test-workflows test-wasm test-ui fuzz-smoke wheel wasm bench bench-http

help: ## List the tasks
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

demo: ## Main job: the control plane (gatehouse serve) on embedded defaults, http://127.0.0.1:8080
	@bash scripts/demo.sh

examples: ## Check every example intent in policies/examples/ against the bundled policies
	@bash scripts/examples.sh

test: ## Whole test suite: every step below from fmt to fuzz-smoke, in that order
	@bash scripts/test.sh

fmt: ## Step `format`: cargo fmt --check
	@bash scripts/test.sh format

lint: ## Step `lint`: clippy on every crate and target, warnings denied
	@bash scripts/test.sh lint

test-rust: ## Steps `unit` and `doc`: unit, conformance, property and CLI tests; doctests
	@bash scripts/test.sh unit doc

test-rego: ## Step `rego`: the bundle's Rego tests with coverage of at least 90 %
	@bash scripts/test.sh rego

test-python: ## Step `python`: the wheel, pytest, mypy and stubtest
	@bash scripts/test.sh python

test-http: ## Step `http`: the control plane on SQLite, schemathesis, the crash test
	@bash scripts/test.sh http

test-postgres: ## Step `postgres`: the control plane on PostgreSQL, two replicas
	@bash scripts/test.sh postgres

test-workflows: ## Step `workflows`: the GitHub workflows and the Action, linted and run locally
	@bash scripts/test.sh workflows

test-wasm: ## Step `wasm`: the WebAssembly build and its Node and browser tests
	@bash scripts/test.sh wasm

test-ui: ## Step `ui`: the web UI against a running control plane
	@bash scripts/test.sh ui

fuzz-smoke: ## Step `fuzz`: each fuzz target for a short run on its seeded corpus
	@bash scripts/test.sh fuzz

wheel: ## Release wheel of the Python bindings (gatehouse-policy) into <target>/wheels/release
	@bash scripts/wheel.sh

wasm: ## The WebAssembly packages (bindings/wasm/pkg, pkg-node, pkg-npm)
	@bash bindings/wasm/build.sh

bench: ## Benchmarks: criterion (decisions, scaling, lifecycle, load, process), OPA side by side, HTTP on SQLite and PostgreSQL
	@bash scripts/bench.sh

bench-http: ## HTTP benchmarks only: wrk against the control plane on SQLite and PostgreSQL
	@bash scripts/bench-http.sh
