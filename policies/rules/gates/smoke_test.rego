package gatehouse.gates.smoke_test

import data.gatehouse.gates.smoke
import data.gatehouse.testdata as td

health := {"name": "health", "passed": true}

synthetic := {"name": "synthetic-transaction", "passed": true}

prod_required := ["health", "synthetic-transaction"]

# The baseline intent in `environment`, with the pipeline's smoke checks as evidence.
checks(environment, reported) := {
	"intent": td.spec_with({"environment": environment}),
	"context": object.union(td.context, {"evidence": {"smoke": reported}}),
}

failed(i, name, message, passed) := {
	"policy": "gate.smoke",
	"path": sprintf("evidence.smoke[%d]", [i]),
	"message": message,
	"evidence": {"check": name, "passed": passed},
}

missing(environment, name, required) := {
	"policy": "gate.smoke",
	"path": "evidence.smoke",
	"message": sprintf("required smoke check `%s` for %s was not reported", [name, environment]),
	"evidence": {"check": name, "required": required},
}

# --- failed checks --------------------------------------------------------------------------

test_prod_with_every_required_check_passed_is_allowed if {
	count(smoke.deny) == 0 with input as checks("prod", [health, synthetic])
}

test_failed_check_with_details_is_denied if {
	smoke.deny == {{
		"policy": "gate.smoke",
		"path": "evidence.smoke[1]",
		"message": "smoke check `synthetic-transaction` failed: HTTP 502 from /v1/payments",
		"evidence": {"check": "synthetic-transaction", "passed": false},
	}} with input as checks("prod", [health, {"name": "synthetic-transaction", "passed": false, "details": "HTTP 502 from /v1/payments"}])
}

test_failed_check_without_details_is_denied if {
	smoke.deny == {failed(0, "health", "smoke check `health` failed", false)} with input as checks("prod", [{"name": "health", "passed": false}, synthetic])
}

# Empty details add nothing to the message.
test_failed_check_with_empty_details_is_denied if {
	smoke.deny == {failed(0, "health", "smoke check `health` failed", false)} with input as checks("prod", [{"name": "health", "passed": false, "details": ""}, synthetic])
}

# Details on a passed check do not matter.
test_passed_check_with_details_is_allowed if {
	count(smoke.deny) == 0 with input as checks("prod", [object.union(health, {"details": "200 OK in 41ms"}), synthetic])
}

# Only `passed: true` passes: a missing or non-boolean `passed` is a failure.
test_check_without_passed_is_denied if {
	smoke.deny == {failed(0, "health", "smoke check `health` failed", null)} with input as checks("prod", [{"name": "health"}, synthetic])
}

test_check_with_string_passed_is_denied if {
	smoke.deny == {failed(0, "health", "smoke check `health` failed", "true")} with input as checks("prod", [{"name": "health", "passed": "true"}, synthetic])
}

# A failed check that is not required still fails the gate.
test_failed_extra_check_is_denied if {
	smoke.deny == {failed(2, "latency-p99", "smoke check `latency-p99` failed: 2.4s > 1s", false)} with input as checks("prod", [health, synthetic, {"name": "latency-p99", "passed": false, "details": "2.4s > 1s"}])
}

test_passed_extra_check_is_allowed if {
	count(smoke.deny) == 0 with input as checks("prod", [health, synthetic, {"name": "latency-p99", "passed": true}])
}

# Evidence is not schema-checked: a failed check without a name must not slip through.
test_failed_check_without_a_name_is_denied if {
	smoke.deny == {failed(0, null, "smoke check `null` failed: timeout", false)} with input as checks("dev", [{"passed": false, "details": "timeout"}])
}

test_passed_check_without_a_name_is_allowed if {
	count(smoke.deny) == 0 with input as checks("dev", [{"passed": true}])
}

# A required check that ran and failed is reported once, as failed (not also as missing).
test_failed_required_check_is_reported_once if {
	smoke.deny == {failed(0, "health", "smoke check `health` failed", false)} with input as checks("staging", [{"name": "health", "passed": false}])
}

# A check reported twice must pass both times.
test_check_that_passed_once_and_failed_once_is_denied if {
	smoke.deny == {failed(1, "health", "smoke check `health` failed", false)} with input as checks("staging", [health, {"name": "health", "passed": false}])
}

# --- required checks per environment --------------------------------------------------------

test_missing_required_prod_check_is_denied if {
	smoke.deny == {{
		"policy": "gate.smoke",
		"path": "evidence.smoke",
		"message": "required smoke check `synthetic-transaction` for prod was not reported",
		"evidence": {"check": "synthetic-transaction", "required": ["health", "synthetic-transaction"]},
	}} with input as checks("prod", [health])
}

test_staging_requires_health if {
	smoke.deny == {missing("staging", "health", ["health"])} with input as checks("staging", [])
}

test_staging_with_health_is_allowed if {
	count(smoke.deny) == 0 with input as checks("staging", [health])
}

# Names are matched exactly.
test_required_check_under_another_name_is_missing if {
	smoke.deny == {missing("staging", "health", ["health"])} with input as checks("staging", [{"name": "Health", "passed": true}])
}

test_dev_requires_no_checks if {
	count(smoke.deny) == 0 with input as checks("dev", [])
}

test_failed_check_in_dev_is_denied if {
	smoke.deny == {failed(0, "health", "smoke check `health` failed", false)} with input as checks("dev", [{"name": "health", "passed": false}])
}

# --- no evidence ----------------------------------------------------------------------------

test_prod_without_smoke_checks_is_denied_for_each_required_check if {
	smoke.deny == {missing("prod", "health", prod_required), missing("prod", "synthetic-transaction", prod_required)} with input as checks("prod", [])
}

test_prod_without_evidence_is_denied if {
	smoke.deny == {missing("prod", "health", prod_required), missing("prod", "synthetic-transaction", prod_required)} with input as td.input_for(td.intent)
}

test_prod_with_evidence_but_no_smoke_is_denied if {
	smoke.deny == {missing("prod", "health", prod_required), missing("prod", "synthetic-transaction", prod_required)} with input as {
		"intent": td.intent,
		"context": object.union(td.context, {"evidence": {"observed": {"artifact": "x", "account": "444444444444", "region": "eu-west-1"}}}),
	}
}

test_prod_without_a_context_is_denied if {
	smoke.deny == {missing("prod", "health", prod_required), missing("prod", "synthetic-transaction", prod_required)} with input as {"intent": td.intent}
}

test_dev_without_evidence_is_allowed if {
	count(smoke.deny) == 0 with input as td.input_for(td.spec_with({"environment": "dev"}))
}

test_staging_without_evidence_is_denied if {
	smoke.deny == {missing("staging", "health", ["health"])} with input as td.input_for(td.spec_with({"environment": "staging"}))
}

# An environment the data does not list requires nothing.
test_required_checks_come_from_the_data if {
	required := {"dev": ["health"]}
	smoke.deny == {missing("dev", "health", ["health"])} with input as checks("dev", [])
		with data.governance.release.required_smoke_checks as required
	count(smoke.deny) == 0 with input as checks("prod", [])
		with data.governance.release.required_smoke_checks as required
}
