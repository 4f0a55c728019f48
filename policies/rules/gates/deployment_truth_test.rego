package gatehouse.gates.deployment_truth_test

import data.gatehouse.gates.deployment_truth as truth
import data.gatehouse.testdata as td

# td.artifact as a literal: the expected violations must not use td's rules, which the inputs
# built from td.intent evaluate inside `with` (see the regorus quirk in testdata_test.rego).
approved_artifact := "registry.example.com/payments/api@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

other_artifact := "registry.example.com/payments/api@sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

azure_prod := "8f6c1c7e-2f0a-4c53-9a39-5b7d2b6a0c11"

# What the pipeline reports for the baseline intent when it deployed what was approved. Inputs
# built from it evaluate `approved_artifact` inside `with`: bind that to a local first when the
# expected value uses it too.
as_approved := {"artifact": approved_artifact, "account": "444444444444", "region": "eu-west-1"}

# The intent with the pipeline's observed deployment as evidence.
observed(intent, o) := {"intent": intent, "context": object.union(td.context, {"evidence": {"observed": o}})}

differs(field, got, want) := {
	"policy": "gate.deployment-truth",
	"path": sprintf("evidence.observed.%s", [field]),
	"message": sprintf("observed %s `%v` differs from the approved `%s`", [field, got, want]),
	"evidence": {"field": field, "observed": got, "approved": want},
}

test_approved_artifact_literal_is_the_fixture if {
	approved_artifact == td.artifact
}

# --- artifact ---------------------------------------------------------------------------------

test_deployment_as_approved_is_allowed if {
	count(truth.deny) == 0 with input as observed(td.intent, as_approved)
}

test_other_digest_is_denied if {
	truth.deny == {{
		"policy": "gate.deployment-truth",
		"path": "evidence.observed.artifact",
		"message": "observed artifact `registry.example.com/payments/api@sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb` differs from the approved `registry.example.com/payments/api@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08`",
		"evidence": {
			"field": "artifact",
			"observed": "registry.example.com/payments/api@sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
			"approved": "registry.example.com/payments/api@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		},
	}} with input as observed(td.intent, object.union(as_approved, {"artifact": other_artifact}))
}

# Artifacts are compared by digest: a tag next to the same digest is the same artifact.
test_same_digest_with_a_tag_is_allowed if {
	a := "registry.example.com/payments/api:1.4.2@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	count(truth.deny) == 0 with input as observed(td.intent, object.union(as_approved, {"artifact": a}))
}

test_same_tag_with_another_digest_is_denied if {
	a := "registry.example.com/payments/api:1.4.2@sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	want := approved_artifact
	truth.deny == {differs("artifact", a, want)} with input as observed(td.intent, object.union(as_approved, {"artifact": a}))
}

# A tag proves nothing about the digest that was approved.
test_observed_tag_without_a_digest_is_denied if {
	a := "registry.example.com/payments/api:1.4.2"
	want := approved_artifact
	truth.deny == {differs("artifact", a, want)} with input as observed(td.intent, object.union(as_approved, {"artifact": a}))
}

# dev may deploy an unpinned artifact (artifact.pinned is advisory there): the same reference
# is the same artifact, another one is not.
test_unpinned_approved_artifact_observed_as_is_is_allowed if {
	a := "registry.example.com/payments/api:1.4.2"
	count(truth.deny) == 0 with input as observed(td.spec_with({"environment": "dev", "artifact": a}), object.union(as_approved, {"artifact": a}))
}

test_unpinned_approved_artifact_observed_as_another_tag_is_denied if {
	a := "registry.example.com/payments/api:1.4.2"
	b := "registry.example.com/payments/api:1.4.3"
	truth.deny == {differs("artifact", b, a)} with input as observed(td.spec_with({"environment": "dev", "artifact": a}), object.union(as_approved, {"artifact": b}))
}

# --- account and region ---------------------------------------------------------------------

test_other_account_is_denied if {
	truth.deny == {{
		"policy": "gate.deployment-truth",
		"path": "evidence.observed.account",
		"message": "observed account `555555555555` differs from the approved `444444444444`",
		"evidence": {"field": "account", "observed": "555555555555", "approved": "444444444444"},
	}} with input as observed(td.intent, object.union(as_approved, {"account": "555555555555"}))
}

test_other_region_is_denied if {
	truth.deny == {differs("region", "eu-central-1", "eu-west-1")} with input as observed(td.intent, object.union(as_approved, {"region": "eu-central-1"}))
}

test_account_and_region_mismatches_are_both_reported if {
	truth.deny == {
		differs("account", "555555555555", "444444444444"),
		differs("region", "us-west-2", "eu-west-1"),
	} with input as observed(td.intent, {"artifact": approved_artifact, "account": "555555555555", "region": "us-west-2"})
}

# Account ids are strings; a number is not the approved account.
test_account_as_a_number_is_denied if {
	truth.deny == {differs("account", 444444444444, "444444444444")} with input as observed(td.intent, object.union(as_approved, {"account": 444444444444}))
}

test_extra_observed_fields_are_ignored if {
	count(truth.deny) == 0 with input as observed(td.intent, object.union(as_approved, {"cluster": "prod-eu-1"}))
}

# --- missing evidence -----------------------------------------------------------------------

no_observation := {
	"policy": "gate.deployment-truth",
	"path": "evidence.observed",
	"message": "the pipeline reported no observed deployment (artifact, account, region); nothing proves what runs",
	"evidence": {"approved": {
		"artifact": "registry.example.com/payments/api@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		"account": "444444444444",
		"region": "eu-west-1",
	}},
}

test_no_evidence_is_denied if {
	truth.deny == {no_observation} with input as td.input_for(td.intent)
}

test_no_context_is_denied if {
	truth.deny == {no_observation} with input as {"intent": td.intent}
}

test_evidence_without_an_observation_is_denied if {
	truth.deny == {no_observation} with input as {"intent": td.intent, "context": object.union(td.context, {"evidence": {"smoke": [{"name": "health", "passed": true}]}})}
}

test_null_observation_is_denied if {
	truth.deny == {no_observation} with input as observed(td.intent, null)
}

# Evidence is not schema-checked: missing fields are mismatches (not a type error).
test_observation_without_an_artifact_is_denied if {
	truth.deny == {differs("artifact", null, approved_artifact)} with input as observed(td.intent, {"account": "444444444444", "region": "eu-west-1"})
}

test_empty_observation_is_denied_for_every_field if {
	truth.deny == {
		differs("artifact", null, approved_artifact),
		differs("account", null, "444444444444"),
		differs("region", null, "eu-west-1"),
	} with input as observed(td.intent, {})
}

# --- Azure: subscription and location -------------------------------------------------------

azure_intent := td.patched_spec(td.azure_intent, {"target": {"subscription": azure_prod}})

azure_as_approved := {"artifact": approved_artifact, "account": azure_prod, "region": "westeurope"}

test_azure_deployment_as_approved_is_allowed if {
	intent := azure_intent
	count(truth.deny) == 0 with input as observed(intent, azure_as_approved)
}

test_azure_other_subscription_is_denied if {
	intent := azure_intent
	truth.deny == {differs("account", "2d3b7a51-6a0e-4b8e-8d3a-0f6f1a9c7e22", "8f6c1c7e-2f0a-4c53-9a39-5b7d2b6a0c11")} with input as observed(intent, object.union(azure_as_approved, {"account": "2d3b7a51-6a0e-4b8e-8d3a-0f6f1a9c7e22"}))
}

test_azure_other_location_is_denied if {
	intent := azure_intent
	truth.deny == {differs("region", "northeurope", "westeurope")} with input as observed(intent, object.union(azure_as_approved, {"region": "northeurope"}))
}

test_azure_no_evidence_names_subscription_and_location if {
	intent := azure_intent
	some v in truth.deny with input as td.input_for(intent)
	v.path == "evidence.observed"
	v.evidence.approved == {"artifact": approved_artifact, "account": azure_prod, "region": "westeurope"}
}

# --- attestation (the control plane's verdict, with `[attestations] require_for_truth`) -------

with_verdict(verdict) := {"intent": td.intent, "context": object.union(td.context, {"evidence": object.union({"observed": as_approved}, verdict)})}

test_verified_attestation_is_allowed if {
	count(truth.deny) == 0 with input as with_verdict({"attestation_verified": true})
}

test_no_verdict_says_nothing_about_attestations if {
	count(truth.deny) == 0 with input as with_verdict({})
}

test_failed_attestation_is_denied_with_the_problem if {
	truth.deny == {{
		"policy": "gate.deployment-truth",
		"path": "evidence.observed.attestation",
		"message": "the deployed artifact has no verified PASSED attestation for this environment: attestation is for environment `staging`, not `prod`",
		"evidence": {"attestation_verified": false, "problem": "attestation is for environment `staging`, not `prod`"},
	}} with input as with_verdict({"attestation_verified": false, "attestation_problem": "attestation is for environment `staging`, not `prod`"})
}

test_failed_attestation_without_a_problem_is_denied if {
	denied := truth.deny with input as with_verdict({"attestation_verified": false})
	some v in denied
	v.path == "evidence.observed.attestation"
	v.evidence.problem == "the control plane did not verify it"
}

# Only `true` passes: a verdict of another type is no verdict.
test_a_verdict_that_is_not_true_is_denied if {
	denied := truth.deny with input as with_verdict({"attestation_verified": "true"})
	some v in denied
	v.path == "evidence.observed.attestation"
}
