package gatehouse.policies.release_promotion_path_test

import data.gatehouse.policies.release_promotion_path as promotion
import data.gatehouse.testdata as td

# td.digest as a digest. A literal: the expected violations must not use td's rules, which the
# inputs built from td.intent evaluate inside `with` (see the regorus quirk in testdata_test.rego).
digest := "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

other_digest := "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

# A staging deployment of the baseline artifact that reached SUCCESS.
proven := {
	"deployment_id": "dep-0091",
	"service": "payments-api",
	"environment": "staging",
	"artifact": td.artifact,
	"state": "SUCCESS",
	"finished_at": "2026-11-22T16:00:00Z",
}

# The intent with a context holding `history`.
with_history(intent, history) := {"intent": intent, "context": object.union(td.context, {"history": history})}

# The baseline prod intent with `proven` changed by `patch`.
history_entry(patch) := object.union(proven, patch)

not_proven(entries) := {
	"policy": "release.promotion-path",
	"path": "spec.artifact",
	"message": sprintf("prod needs artifact %s of `payments-api` to have reached SUCCESS in staging first; no such deployment in the history", [digest]),
	"evidence": {"value": digest, "required_environment": "staging", "history_entries": entries},
}

# --- prod needs the same digest in staging --------------------------------------------------

test_prod_proven_in_staging_is_allowed if {
	count(promotion.deny) == 0 with input as with_history(td.intent, [proven])
}

test_prod_without_history_is_denied if {
	promotion.deny == {{
		"policy": "release.promotion-path",
		"path": "spec.artifact",
		"message": "prod needs artifact sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 of `payments-api` to have reached SUCCESS in staging first; no such deployment in the history",
		"evidence": {"value": "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "required_environment": "staging", "history_entries": 0},
	}} with input as td.input_for(td.intent)
}

test_prod_with_empty_history_is_denied if {
	promotion.deny == {not_proven(0)} with input as with_history(td.intent, [])
}

test_prod_without_a_context_is_denied if {
	promotion.deny == {not_proven(0)} with input as {"intent": td.intent}
}

test_failed_staging_deployment_does_not_count if {
	promotion.deny == {not_proven(1)} with input as with_history(td.intent, [history_entry({"state": "FAILED"})])
}

# Only the terminal SUCCESS state counts, spelled as the lifecycle spells it.
test_other_states_do_not_count if {
	every state in ["RUNNING", "PENDING", "ROLLED_BACK", "success"] {
		promotion.deny == {not_proven(1)} with input as with_history(td.intent, [history_entry({"state": state})])
	}
}

test_other_digest_does_not_count if {
	a := concat("", ["registry.example.com/payments/api@sha256:", other_digest])
	promotion.deny == {not_proven(1)} with input as with_history(td.intent, [history_entry({"artifact": a})])
}

# The same tag with another digest is another artifact.
test_same_tag_other_digest_does_not_count if {
	intent := td.spec_with({"artifact": concat("", ["registry.example.com/payments/api:1.4.2@sha256:", td.digest])})
	a := concat("", ["registry.example.com/payments/api:1.4.2@sha256:", other_digest])
	promotion.deny == {not_proven(1)} with input as with_history(intent, [history_entry({"artifact": a})])
}

# A staging deployment of an unpinned artifact proves nothing about a digest.
test_unpinned_staging_deployment_does_not_count if {
	promotion.deny == {not_proven(1)} with input as with_history(td.intent, [history_entry({"artifact": "registry.example.com/payments/api:1.4.2"})])
}

test_other_service_does_not_count if {
	promotion.deny == {not_proven(1)} with input as with_history(td.intent, [history_entry({"service": "ledger"})])
}

test_other_environments_do_not_count if {
	every environment in ["dev", "prod", "Staging"] {
		promotion.deny == {not_proven(1)} with input as with_history(td.intent, [history_entry({"environment": environment})])
	}
}

test_near_misses_together_do_not_count if {
	promotion.deny == {not_proven(4)} with input as with_history(td.intent, [
		history_entry({"state": "FAILED"}),
		history_entry({"service": "ledger"}),
		history_entry({"environment": "dev"}),
		history_entry({"artifact": concat("", ["registry.example.com/payments/api@sha256:", other_digest])}),
	])
}

# The promotion is traced by digest: tags (and the reference's other parts) may differ.
test_tag_differences_with_the_same_digest_count if {
	tagged := concat("", ["registry.example.com/payments/api:1.4.2@sha256:", td.digest])
	count(promotion.deny) == 0 with input as with_history(td.intent, [history_entry({"artifact": tagged})])
	count(promotion.deny) == 0 with input as with_history(td.spec_with({"artifact": tagged}), [proven])
}

# One SUCCESS is enough, whatever else the history holds.
test_one_success_among_failures_counts if {
	count(promotion.deny) == 0 with input as with_history(td.intent, [
		history_entry({"state": "FAILED", "deployment_id": "dep-0090"}),
		proven,
		history_entry({"state": "FAILED", "deployment_id": "dep-0092"}),
	])
}

# --- prod artifacts must be pinned ----------------------------------------------------------

pinned_violation(a) := {
	"policy": "release.promotion-path",
	"path": "spec.artifact",
	"message": "prod releases must be pinned by digest so their promotion from staging can be traced",
	"evidence": {"value": a, "required_environment": "staging"},
}

test_unpinned_prod_artifact_must_be_pinned if {
	a := "registry.example.com/payments/api:1.4.2"
	promotion.deny == {pinned_violation(a)} with input as with_history(td.spec_with({"artifact": a}), [proven])
}

# Even a staging SUCCESS of the very same tag cannot be traced.
test_unpinned_prod_artifact_with_the_same_tag_in_staging_must_be_pinned if {
	a := "registry.example.com/payments/api:1.4.2"
	promotion.deny == {pinned_violation(a)} with input as with_history(td.spec_with({"artifact": a}), [history_entry({"artifact": a})])
}

test_two_digests_are_not_a_pin if {
	a := concat("", [td.artifact, "@sha256:", td.digest])
	promotion.deny == {pinned_violation(a)} with input as with_history(td.spec_with({"artifact": a}), [proven])
}

# --- other environments ---------------------------------------------------------------------

test_non_prod_needs_no_promotion if {
	every environment in ["dev", "staging"] {
		count(promotion.deny) == 0 with input as td.input_for(td.spec_with({"environment": environment}))
	}
}

test_non_prod_needs_no_pin if {
	every environment in ["dev", "staging"] {
		count(promotion.deny) == 0 with input as td.input_for(td.spec_with({"environment": environment, "artifact": "registry.example.com/payments/api:1.4.2"}))
	}
}

# A promotion map with a staging step shows the rule follows the data, not a hard-coded prod.
test_promotion_follows_the_data if {
	promotion_map := {"prod": "staging", "staging": "dev"}
	some v in promotion.deny with input as td.input_for(td.spec_with({"environment": "staging"}))
		with data.governance.release.promotion as promotion_map
	v.policy == "release.promotion-path"
	v.path == "spec.artifact"
	v.evidence == {"value": digest, "required_environment": "dev", "history_entries": 0}
	count(promotion.deny) == 0 with input as with_history(td.spec_with({"environment": "staging"}), [history_entry({"environment": "dev"})])
		with data.governance.release.promotion as promotion_map
}

test_digest_literal_is_the_fixture_digest if {
	digest == concat("", ["sha256:", td.digest])
}
