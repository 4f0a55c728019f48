# Gatehouse tasks. `make help` lists them; CI runs `make test` through .ci/run.
.PHONY: help demo examples test bench

help: ## List the tasks
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

demo: ## Main job: the control plane (gatehouse serve) on embedded defaults, http://127.0.0.1:8080
	@bash scripts/demo.sh

examples: ## Check every example intent in policies/examples/ against the bundled policies
	@bash scripts/examples.sh

test: ## Whole test suite (format, lint, unit/conformance/property tests, Rego tests, HTTP on SQLite and PostgreSQL, wasm build)
	@bash scripts/test.sh

bench: ## Benchmarks: criterion (decisions, scaling, lifecycle, load, process), OPA side by side, HTTP on SQLite and PostgreSQL
	@bash scripts/bench.sh
