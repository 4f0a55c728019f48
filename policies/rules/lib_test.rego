package gatehouse.lib_test

import data.gatehouse.lib
import data.gatehouse.testdata as td

test_region_is_region_on_aws if {
	lib.region == "eu-west-1" with input as td.input_for(td.intent)
	lib.region_path == "spec.target.region" with input as td.input_for(td.intent)
}

test_region_is_location_on_azure if {
	lib.region == "westeurope" with input as td.input_for(td.azure_intent)
	lib.region_path == "spec.target.location" with input as td.input_for(td.azure_intent)
}

# The Azure fixture must not keep the AWS fields, or the region tests above would prove nothing.
test_azure_fixture_has_only_azure_target_fields if {
	td.azure_intent.spec.target == {"cloud": "azure", "subscription": "0b1f6471-1bf0-4dda-aec3-cb9272f09590", "location": "westeurope"}
}

test_resource_path if {
	lib.resource_path(3, "size") == "spec.resources[3].size"
}

test_is_blank if {
	lib.is_blank("")
	lib.is_blank(" \t\n")
	not lib.is_blank("x")
	not lib.is_blank(" x ")
}

test_violation_shape if {
	lib.violation("p", "spec.x", "m", {"e": 1}) == {"policy": "p", "path": "spec.x", "message": "m", "evidence": {"e": 1}}
}

# --- Patterns and digests ---------------------------------------------------------------------

test_matches_pattern_prefix_glob if {
	lib.matches_pattern("ap-southeast-2", "ap-*")
	lib.matches_pattern("database.postgres", "database.*")
	lib.matches_pattern("ap-", "ap-*")
	lib.matches_pattern("anything", "*")
}

# A glob matches only at the start, and the text before `*` must match whole.
test_matches_pattern_prefix_glob_does_not_match_elsewhere if {
	not lib.matches_pattern("eu-ap-1", "ap-*")
	not lib.matches_pattern("ap", "ap-*")
	not lib.matches_pattern("databases.postgres", "database.*")
	not lib.matches_pattern("database", "database.*")
}

test_matches_pattern_exact if {
	lib.matches_pattern("eu-central-1", "eu-central-1")
}

test_matches_pattern_exact_needs_the_whole_value if {
	not lib.matches_pattern("eu-central-1a", "eu-central-1")
	not lib.matches_pattern("eu-central", "eu-central-1")
	not lib.matches_pattern("EU-CENTRAL-1", "eu-central-1")
}

test_artifact_digest_of_a_pinned_reference if {
	want := concat("", ["sha256:", td.digest])
	lib.artifact_digest(td.artifact) == want
	lib.artifact_digest(concat("", ["registry.example.com/payments/api:1.4.2@sha256:", td.digest])) == want
	lib.artifact_digest(concat("", ["ghcr.io/acme/other@sha256:", td.digest])) == want
}

test_artifact_digest_is_undefined_when_not_pinned if {
	not lib.artifact_digest("registry.example.com/payments/api:1.4.2")
	not lib.artifact_digest("registry.example.com/payments/api")
	not lib.artifact_digest(concat("", ["registry.example.com/payments/api@sha512:", td.digest]))
	not lib.artifact_digest(concat("", [td.artifact, "@sha256:", td.digest]))
}

# Pipeline evidence is not schema-checked: a missing or non-string artifact has no digest (and
# does not stop the evaluation with a type error).
test_artifact_digest_is_undefined_for_non_strings if {
	not lib.artifact_digest(null)
	not lib.artifact_digest(42)
	not lib.artifact_digest({"artifact": td.artifact})
}

# --- Accounts and the target -----------------------------------------------------------------

azure_prod_subscription := "8f6c1c7e-2f0a-4c53-9a39-5b7d2b6a0c11"

aws_account(id) := td.input_for(td.spec_with({"target": {"account": id}}))

azure_subscription(id) := td.input_for(td.patched_spec(td.azure_intent, {"target": {"subscription": id}}))

test_account_id_is_account_on_aws if {
	lib.account_id == "444444444444" with input as td.input_for(td.intent)
	lib.account_path == "spec.target.account" with input as td.input_for(td.intent)
}

test_account_id_is_subscription_on_azure if {
	azure_in := azure_subscription(azure_prod_subscription)
	lib.account_id == azure_prod_subscription with input as azure_in
	lib.account_path == "spec.target.subscription" with input as azure_in
}

# The release gates read these.
test_spec_metadata_and_reference_data if {
	requester := td.requester
	reference := data.governance.reference
	lib.spec.service == "payments-api" with input as td.input_for(td.intent)
	lib.metadata.requested_by == requester with input as td.input_for(td.intent)
	lib.env == "prod" with input as td.input_for(td.intent)
	lib.ref == reference with input as td.input_for(td.intent)
}
