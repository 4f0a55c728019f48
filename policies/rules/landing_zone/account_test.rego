package gatehouse.policies.landing_zone_account_test

import data.gatehouse.policies.landing_zone_account
import data.gatehouse.testdata as td

azure_prod := "8f6c1c7e-2f0a-4c53-9a39-5b7d2b6a0c11"

azure_nonprod := "2d3b7a51-6a0e-4b8e-8d3a-0f6f1a9c7e22"

# The baseline intent aimed at another AWS account / Azure subscription.
aws_account(id) := td.input_for(td.spec_with({"target": {"account": id}}))

azure_subscription(id) := td.input_for(td.patched_spec(td.azure_intent, {"target": {"subscription": id}}))

kind_violation(id, name, kind) := {
	"policy": "landing-zone.account-kind",
	"path": "spec.target.account",
	"message": sprintf("account `%s` (%s) is a %s account; only workload accounts accept deployments", [id, name, kind]),
	"evidence": {"value": kind, "allowed": ["workload"], "account": id},
}

# --- landing-zone.account-known -------------------------------------------------------------

test_baseline_is_allowed if {
	count(landing_zone_account.deny) == 0 with input as td.input_for(td.intent)
}

test_unknown_aws_account_is_denied if {
	landing_zone_account.deny == {{
		"policy": "landing-zone.account-known",
		"path": "spec.target.account",
		"message": "aws account `999999999999` is not part of the organisation",
		"evidence": {"value": "999999999999"},
	}} with input as aws_account("999999999999")
}

test_every_aws_workload_account_is_allowed if {
	every id in ["444444444444", "555555555555", "666666666666"] {
		count(landing_zone_account.deny) == 0 with input as aws_account(id)
	}
}

test_azure_workload_subscriptions_are_allowed if {
	every id in [azure_prod, azure_nonprod] {
		count(landing_zone_account.deny) == 0 with input as azure_subscription(id)
	}
}

# The Azure test fixture's subscription is not enrolled in the org.
test_unknown_azure_subscription_is_denied if {
	landing_zone_account.deny == {{
		"policy": "landing-zone.account-known",
		"path": "spec.target.subscription",
		"message": "azure account `0b1f6471-1bf0-4dda-aec3-cb9272f09590` is not part of the organisation",
		"evidence": {"value": "0b1f6471-1bf0-4dda-aec3-cb9272f09590"},
	}} with input as td.input_for(td.azure_intent)
}

# Subscription ids are matched exactly (the schema asks for lowercase).
test_uppercase_azure_subscription_is_unknown if {
	id := upper(azure_prod)
	some v in landing_zone_account.deny with input as azure_subscription(id)
	v.policy == "landing-zone.account-known"
	v.path == "spec.target.subscription"
	v.evidence == {"value": id}
}

# --- cloud mismatch -------------------------------------------------------------------------

# An Azure intent naming an AWS account: known, but registered for the other cloud.
test_azure_intent_on_an_aws_account_is_denied if {
	landing_zone_account.deny == {{
		"policy": "landing-zone.account-known",
		"path": "spec.target.cloud",
		"message": "account `444444444444` (workloads-prod) is registered as aws, but the intent targets azure",
		"evidence": {"value": "azure", "expected": "aws", "account": "444444444444"},
	}} with input as azure_subscription("444444444444")
}

test_aws_intent_on_an_azure_subscription_is_denied if {
	landing_zone_account.deny == {{
		"policy": "landing-zone.account-known",
		"path": "spec.target.cloud",
		"message": "account `8f6c1c7e-2f0a-4c53-9a39-5b7d2b6a0c11` (azure-workloads-prod) is registered as azure, but the intent targets aws",
		"evidence": {"value": "aws", "expected": "azure", "account": azure_prod},
	}} with input as aws_account("8f6c1c7e-2f0a-4c53-9a39-5b7d2b6a0c11")
}

# A mismatch and a non-workload kind are both reported.
test_cloud_mismatch_on_a_management_account_reports_both if {
	landing_zone_account.deny == {
		{
			"policy": "landing-zone.account-known",
			"path": "spec.target.cloud",
			"message": "account `000000000000` (management) is registered as aws, but the intent targets azure",
			"evidence": {"value": "azure", "expected": "aws", "account": "000000000000"},
		},
		{
			"policy": "landing-zone.account-kind",
			"path": "spec.target.subscription",
			"message": "account `000000000000` (management) is a management account; only workload accounts accept deployments",
			"evidence": {"value": "management", "allowed": ["workload"], "account": "000000000000"},
		},
	} with input as azure_subscription("000000000000")
}

# --- landing-zone.account-kind ----------------------------------------------------------------

test_management_account_is_denied if {
	landing_zone_account.deny == {kind_violation("000000000000", "management", "management")} with input as aws_account("000000000000")
}

test_log_archive_account_is_denied if {
	landing_zone_account.deny == {kind_violation("111111111111", "log-archive", "log-archive")} with input as aws_account("111111111111")
}

test_security_account_is_denied if {
	landing_zone_account.deny == {kind_violation("222222222222", "security-tooling", "security")} with input as aws_account("222222222222")
}

test_shared_services_account_is_denied if {
	landing_zone_account.deny == {kind_violation("333333333333", "shared-services", "shared-services")} with input as aws_account("333333333333")
}

# The real org has no Azure platform subscription; a synthetic one shows the violation points at
# `spec.target.subscription`.
azure_org := object.union(data.governance.org, {"accounts": {"3c2e0d9a-5b1f-4e7a-9c6d-1a2b3c4d5e6f": {
	"name": "azure-connectivity",
	"cloud": "azure",
	"kind": "shared-services",
	"parent": "ou-infrastructure",
}}})

test_azure_shared_services_subscription_is_denied if {
	org := azure_org
	landing_zone_account.deny == {{
		"policy": "landing-zone.account-kind",
		"path": "spec.target.subscription",
		"message": "account `3c2e0d9a-5b1f-4e7a-9c6d-1a2b3c4d5e6f` (azure-connectivity) is a shared-services account; only workload accounts accept deployments",
		"evidence": {"value": "shared-services", "allowed": ["workload"], "account": "3c2e0d9a-5b1f-4e7a-9c6d-1a2b3c4d5e6f"},
	}} with input as azure_subscription("3c2e0d9a-5b1f-4e7a-9c6d-1a2b3c4d5e6f")
		with data.governance.org as org
}

test_azure_workload_subscription_in_the_synthetic_org_is_allowed if {
	org := azure_org
	count(landing_zone_account.deny) == 0 with input as azure_subscription(azure_prod)
		with data.governance.org as org
}
