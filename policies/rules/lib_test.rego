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

# --- Accounts and the org tree ----------------------------------------------------------------

azure_prod_subscription := "8f6c1c7e-2f0a-4c53-9a39-5b7d2b6a0c11"

aws_account(id) := td.input_for(td.spec_with({"target": {"account": id}}))

azure_subscription(id) := td.input_for(td.patched_spec(td.azure_intent, {"target": {"subscription": id}}))

test_account_id_is_account_on_aws if {
	lib.account_id == "444444444444" with input as td.input_for(td.intent)
	lib.account_path == "spec.target.account" with input as td.input_for(td.intent)
	lib.account.name == "workloads-prod" with input as td.input_for(td.intent)
}

test_account_id_is_subscription_on_azure if {
	azure_in := azure_subscription(azure_prod_subscription)
	lib.account_id == azure_prod_subscription with input as azure_in
	lib.account_path == "spec.target.subscription" with input as azure_in
	lib.account.name == "azure-workloads-prod" with input as azure_in
}

test_account_is_undefined_outside_the_org if {
	lib.account_id == "999999999999" with input as aws_account("999999999999")
	not lib.account with input as aws_account("999999999999")
	lib.ancestors == [] with input as aws_account("999999999999")
	lib.guardrails == [] with input as aws_account("999999999999")
}

test_ancestors_are_nearest_first if {
	lib.ancestors == ["ou-workloads-prod", "ou-workloads", "root"] with input as td.input_for(td.intent)
	lib.ancestors == ["ou-workloads-prod", "ou-workloads", "root"] with input as azure_subscription(azure_prod_subscription)
	lib.ancestors == ["ou-sandbox", "root"] with input as aws_account("666666666666")
}

test_ancestors_of_an_account_under_the_root if {
	lib.ancestors == ["root"] with input as aws_account("000000000000")
}

# Units without guardrails (ou-workloads) are skipped; the others keep the nearest-first order.
test_guardrails_are_nearest_first if {
	lib.guardrails == [
		["ou-workloads-prod", {"allowed_environments": ["prod"]}],
		["root", {"denied_regions": ["ap-*", "sa-*"]}],
	] with input as td.input_for(td.intent)
}

test_guardrails_of_an_account_whose_units_have_none_but_the_root if {
	lib.guardrails == [["root", {"denied_regions": ["ap-*", "sa-*"]}]] with input as aws_account("111111111111")
}

# A chain of `n` org units u1 (nearest) .. un (the root) with one account under u1.
chain(n) := {
	"units": {sprintf("u%d", [i]): {"name": sprintf("U%d", [i]), "parent": parent(i, n), "guardrails": {"denied_regions": [sprintf("r%d", [i])]}} |
		some i in numbers.range(1, n)
	},
	"accounts": {"100000000001": {"name": "deep", "cloud": "aws", "kind": "workload", "parent": "u1"}},
}

parent(i, n) := sprintf("u%d", [i + 1]) if i < n

parent(i, n) := null if i == n

test_walk_reaches_the_root_eight_levels_up if {
	org := chain(8)
	lib.ancestors == ["u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8"] with input as aws_account("100000000001")
		with data.governance.org as org
	lib.guardrails[7] == ["u8", {"denied_regions": ["r8"]}] with input as aws_account("100000000001")
		with data.governance.org as org
}

# The walk is unrolled to 8 levels: a ninth is not seen. org_data_test.rego keeps the real org
# within that depth.
test_walk_stops_after_eight_levels if {
	org := chain(9)
	lib.ancestors == ["u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8"] with input as aws_account("100000000001")
		with data.governance.org as org
}
