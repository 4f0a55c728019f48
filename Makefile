# Gatehouse tasks. `make help` lists them; CI runs `make test` through .ci/run.
.PHONY: help demo test bench

help: ## List the tasks
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

demo: ## Main job: check every example intent against the bundled policies
	@bash scripts/demo.sh

test: ## Whole test suite (format, lint, unit/conformance/property tests, Rego tests, wasm build)
	@bash scripts/test.sh

bench: ## Criterion benchmarks (release build)
	cargo bench -p gatehouse-benches
