package gatehouse.policies.landing_zone_guardrails_test

import data.gatehouse.policies.landing_zone_guardrails as guardrails
import data.gatehouse.testdata as td

azure_prod := "8f6c1c7e-2f0a-4c53-9a39-5b7d2b6a0c11"

azure_nonprod := "2d3b7a51-6a0e-4b8e-8d3a-0f6f1a9c7e22"

compute := {"type": "compute.instance", "name": "api", "size": "m5.large", "count": 3}

database := {"type": "database.postgres", "name": "db", "size": "db.r6g.large", "encrypted": true, "public": false}

# The baseline intent in `account`, `environment` and `region`.
aws(account, environment, region) := td.input_for(td.spec_with({
	"environment": environment,
	"target": {"account": account, "region": region},
}))

azure(subscription, environment, location) := td.input_for(td.patched_spec(td.azure_intent, {
	"environment": environment,
	"target": {"subscription": subscription, "location": location},
}))

# The sandbox account in dev with the given resources.
sandbox(resources) := td.input_for(td.spec_with({
	"environment": "dev",
	"target": {"account": "666666666666"},
	"resources": resources,
}))

env_violation(environment, account, unit, allowed) := {
	"policy": "landing-zone.environment-allowed",
	"path": "spec.environment",
	"message": sprintf("environment `%s` is not allowed in account `%s`: org unit `%s` allows only %s", [environment, account, unit, concat(", ", allowed)]),
	"evidence": {"value": environment, "allowed": allowed, "account": account},
	"inherited_from": unit,
}

region_violation(path, region, unit, pattern) := {
	"policy": "landing-zone.guardrail",
	"path": path,
	"message": sprintf("region `%s` is denied by org unit `%s` (pattern `%s`)", [region, unit, pattern]),
	"evidence": {"value": region, "denied": pattern, "guardrail": "denied_regions"},
	"inherited_from": unit,
}

# --- landing-zone.environment-allowed (real org) ----------------------------------------------

test_baseline_is_allowed if {
	count(guardrails.deny) == 0 with input as td.input_for(td.intent)
}

test_prod_in_the_nonprod_ou_is_denied if {
	guardrails.deny == {{
		"policy": "landing-zone.environment-allowed",
		"path": "spec.environment",
		"message": "environment `prod` is not allowed in account `555555555555`: org unit `ou-workloads-nonprod` allows only dev, staging",
		"evidence": {"value": "prod", "allowed": ["dev", "staging"], "account": "555555555555"},
		"inherited_from": "ou-workloads-nonprod",
	}} with input as aws("555555555555", "prod", "eu-west-1")
}

test_dev_and_staging_in_the_nonprod_ou_are_allowed if {
	every environment in ["dev", "staging"] {
		count(guardrails.deny) == 0 with input as aws("555555555555", environment, "eu-west-1")
	}
}

test_dev_and_staging_in_the_prod_ou_are_denied if {
	every environment in ["dev", "staging"] {
		guardrails.deny == {env_violation(environment, "444444444444", "ou-workloads-prod", ["prod"])} with input as aws("444444444444", environment, "eu-west-1")
	}
}

test_azure_prod_in_the_nonprod_ou_is_denied if {
	subscription := azure_nonprod
	guardrails.deny == {env_violation("prod", subscription, "ou-workloads-nonprod", ["dev", "staging"])} with input as azure(subscription, "prod", "westeurope")
}

test_azure_staging_in_the_nonprod_ou_is_allowed if {
	count(guardrails.deny) == 0 with input as azure(azure_nonprod, "staging", "westeurope")
}

test_azure_prod_in_the_prod_ou_is_allowed if {
	count(guardrails.deny) == 0 with input as azure(azure_prod, "prod", "westeurope")
}

# The security OU restricts nothing, so only the root's guardrails apply (the account kind is
# landing-zone.account-kind's concern).
test_unrestricted_ou_allows_every_environment if {
	every environment in ["dev", "staging", "prod"] {
		count(guardrails.deny) == 0 with input as aws("222222222222", environment, "eu-west-1")
	}
}

# --- landing-zone.guardrail: denied regions at the root -------------------------------------

test_root_denies_ap_regions if {
	guardrails.deny == {region_violation("spec.target.region", "ap-southeast-2", "root", "ap-*")} with input as aws("444444444444", "prod", "ap-southeast-2")
}

test_root_denies_sa_regions if {
	guardrails.deny == {region_violation("spec.target.region", "sa-east-1", "root", "sa-*")} with input as aws("444444444444", "prod", "sa-east-1")
}

# The root's guardrails reach every account, whichever OU it sits in (compute only, so that the
# sandbox does not also deny the database).
test_root_denies_regions_in_every_ou if {
	every account in ["555555555555", "666666666666", "222222222222", "000000000000"] {
		guardrails.deny == {region_violation("spec.target.region", "ap-northeast-1", "root", "ap-*")} with input as td.input_for(td.spec_with({
			"environment": "dev",
			"target": {"account": account, "region": "ap-northeast-1"},
			"resources": [compute],
		}))
	}
}

test_regions_outside_the_patterns_are_allowed if {
	every region in ["us-east-1", "eu-west-1", "us-west-2", "eu-south-1"] {
		count(guardrails.deny) == 0 with input as aws("444444444444", "prod", region)
	}
}

# A region and an environment violation are both reported, each naming its own org unit.
test_denied_region_and_environment_are_both_reported if {
	guardrails.deny == {
		env_violation("prod", "555555555555", "ou-workloads-nonprod", ["dev", "staging"]),
		region_violation("spec.target.region", "ap-south-1", "root", "ap-*"),
	} with input as aws("555555555555", "prod", "ap-south-1")
}

# An account outside the org has no org units: landing-zone.account-known denies it instead.
test_unknown_account_has_no_guardrails if {
	count(guardrails.deny) == 0 with input as aws("999999999999", "prod", "ap-southeast-2")
}

# --- landing-zone.guardrail: the sandbox OU -------------------------------------------------

test_sandbox_dev_without_databases_is_allowed if {
	count(guardrails.deny) == 0 with input as sandbox([compute])
}

test_sandbox_denies_database_types if {
	guardrails.deny == {{
		"policy": "landing-zone.guardrail",
		"path": "spec.resources[1].type",
		"message": "resource `db` of type `database.postgres` is denied by org unit `ou-sandbox` (pattern `database.*`)",
		"evidence": {"value": "database.postgres", "denied": "database.*", "guardrail": "denied_resource_types", "resource": "db"},
		"inherited_from": "ou-sandbox",
	}} with input as sandbox([compute, database])
}

test_sandbox_denies_every_database_type if {
	guardrails.deny == {
		{
			"policy": "landing-zone.guardrail",
			"path": "spec.resources[0].type",
			"message": "resource `cache` of type `database.redis` is denied by org unit `ou-sandbox` (pattern `database.*`)",
			"evidence": {"value": "database.redis", "denied": "database.*", "guardrail": "denied_resource_types", "resource": "cache"},
			"inherited_from": "ou-sandbox",
		},
		{
			"policy": "landing-zone.guardrail",
			"path": "spec.resources[1].type",
			"message": "resource `db` of type `database.postgres` is denied by org unit `ou-sandbox` (pattern `database.*`)",
			"evidence": {"value": "database.postgres", "denied": "database.*", "guardrail": "denied_resource_types", "resource": "db"},
			"inherited_from": "ou-sandbox",
		},
	} with input as sandbox([{"type": "database.redis", "name": "cache", "encrypted": true}, database])
}

# Databases are denied only in the sandbox: the baseline prod account runs one.
test_databases_outside_the_sandbox_are_allowed if {
	count(guardrails.deny) == 0 with input as aws("555555555555", "dev", "eu-west-1")
}

test_sandbox_denies_public_resources if {
	guardrails.deny == {{
		"policy": "landing-zone.guardrail",
		"path": "spec.resources[0].public",
		"message": "resource `api` is public, which org unit `ou-sandbox` denies",
		"evidence": {"value": true, "guardrail": "deny_public_resources", "resource": "api"},
		"inherited_from": "ou-sandbox",
	}} with input as sandbox([object.union(compute, {"public": true})])
}

test_sandbox_allows_explicitly_private_resources if {
	count(guardrails.deny) == 0 with input as sandbox([object.union(compute, {"public": false})])
}

test_public_resources_outside_the_sandbox_are_allowed if {
	count(guardrails.deny) == 0 with input as td.input_for(td.spec_with({
		"environment": "dev",
		"target": {"account": "555555555555"},
		"resources": [object.union(compute, {"public": true})],
	}))
}

test_sandbox_public_database_is_denied_twice if {
	public_db := object.union(database, {"public": true})
	some by_type in guardrails.deny with input as sandbox([public_db])
	by_type.path == "spec.resources[0].type"
	some by_exposure in guardrails.deny with input as sandbox([public_db])
	by_exposure.path == "spec.resources[0].public"
	by_exposure.inherited_from == "ou-sandbox"
	count(guardrails.deny) == 2 with input as sandbox([public_db])
}

test_sandbox_allows_only_dev if {
	every environment in ["staging", "prod"] {
		guardrails.deny == {env_violation(environment, "666666666666", "ou-sandbox", ["dev"])} with input as td.input_for(td.spec_with({
			"environment": environment,
			"target": {"account": "666666666666"},
			"resources": [compute],
		}))
	}
}

# --- Inheritance over a synthetic org -------------------------------------------------------
#
#   top (root)        denies regions us-west-*
#   └── mid           allows only dev, staging
#       └── leaf      allows dev, staging, prod; denies eu-central-1
#           └── 100000000001
#   mid also holds 100000000002 directly.

synthetic_org := {
	"units": {
		"top": {"name": "Top", "parent": null, "guardrails": {"denied_regions": ["us-west-*"]}},
		"mid": {"name": "Mid", "parent": "top", "guardrails": {"allowed_environments": ["dev", "staging"]}},
		"leaf": {"name": "Leaf", "parent": "mid", "guardrails": {
			"allowed_environments": ["dev", "staging", "prod"],
			"denied_regions": ["eu-central-1"],
		}},
	},
	"accounts": {
		"100000000001": {"name": "leaf-workload", "cloud": "aws", "kind": "workload", "parent": "leaf"},
		"100000000002": {"name": "mid-workload", "cloud": "aws", "kind": "workload", "parent": "mid"},
	},
}

test_synthetic_leaf_account_allows_staging if {
	org := synthetic_org
	count(guardrails.deny) == 0 with input as aws("100000000001", "staging", "eu-west-1")
		with data.governance.org as org
}

# The leaf allows prod, but the middle OU above it does not: the restriction is inherited.
test_synthetic_environment_restriction_is_inherited_from_the_middle if {
	org := synthetic_org
	guardrails.deny == {env_violation("prod", "100000000001", "mid", ["dev", "staging"])} with input as aws("100000000001", "prod", "eu-west-1")
		with data.governance.org as org
}

test_synthetic_leaf_denies_its_region if {
	org := synthetic_org
	guardrails.deny == {region_violation("spec.target.region", "eu-central-1", "leaf", "eu-central-1")} with input as aws("100000000001", "staging", "eu-central-1")
		with data.governance.org as org
}

# The leaf's deny applies below the leaf only.
test_synthetic_leaf_deny_does_not_reach_the_middle if {
	org := synthetic_org
	count(guardrails.deny) == 0 with input as aws("100000000002", "staging", "eu-central-1")
		with data.governance.org as org
}

test_synthetic_top_deny_reaches_two_levels_down if {
	org := synthetic_org
	guardrails.deny == {region_violation("spec.target.region", "us-west-2", "top", "us-west-*")} with input as aws("100000000001", "dev", "us-west-2")
		with data.governance.org as org
}

test_synthetic_top_deny_reaches_the_middle if {
	org := synthetic_org
	guardrails.deny == {region_violation("spec.target.region", "us-west-1", "top", "us-west-*")} with input as aws("100000000002", "dev", "us-west-1")
		with data.governance.org as org
}

# Every level's violations are reported together, each naming the unit that caused it.
test_synthetic_violations_from_every_level if {
	org := synthetic_org
	guardrails.deny == {
		env_violation("prod", "100000000001", "mid", ["dev", "staging"]),
		region_violation("spec.target.region", "us-west-2", "top", "us-west-*"),
	} with input as aws("100000000001", "prod", "us-west-2")
		with data.governance.org as org
}

# A deny wins whatever another level allows: a leaf that denies nothing cannot undo the top's
# deny, and both units report when both deny.
both_deny_org := object.union(synthetic_org, {"units": {"leaf": {"guardrails": {"denied_regions": ["us-west-2"]}}}})

test_synthetic_deny_at_two_levels_is_reported_twice if {
	org := both_deny_org
	guardrails.deny == {
		region_violation("spec.target.region", "us-west-2", "leaf", "us-west-2"),
		region_violation("spec.target.region", "us-west-2", "top", "us-west-*"),
	} with input as aws("100000000001", "staging", "us-west-2")
		with data.governance.org as org
}

test_synthetic_deny_at_two_levels_allows_other_regions if {
	org := both_deny_org
	count(guardrails.deny) == 0 with input as aws("100000000001", "staging", "eu-central-1")
		with data.governance.org as org
}

# An org unit that allows no environment at all denies every one.
test_synthetic_empty_allowed_environments_denies_everything if {
	org := object.union(synthetic_org, {"units": {"leaf": {"guardrails": {"allowed_environments": []}}}})
	guardrails.deny == {{
		"policy": "landing-zone.environment-allowed",
		"path": "spec.environment",
		"message": "environment `dev` is not allowed in account `100000000001`: org unit `leaf` allows only ",
		"evidence": {"value": "dev", "allowed": [], "account": "100000000001"},
		"inherited_from": "leaf",
	}} with input as aws("100000000001", "dev", "eu-west-1")
		with data.governance.org as org
}

# Azure targets name the region `location`; a denied location points there.
test_synthetic_denied_azure_location if {
	subscription := azure_nonprod
	org := object.union(synthetic_org, {
		"units": {"top": {"guardrails": {"denied_regions": ["southeast*"]}}},
		"accounts": {subscription: {"name": "azure-leaf", "cloud": "azure", "kind": "workload", "parent": "leaf"}},
	})
	guardrails.deny == {region_violation("spec.target.location", "southeastasia", "top", "southeast*")} with input as azure(subscription, "dev", "southeastasia")
		with data.governance.org as org
	count(guardrails.deny) == 0 with input as azure(subscription, "dev", "westeurope")
		with data.governance.org as org
}

# A resource type pattern without `*` denies that type only.
test_synthetic_exact_resource_type_is_denied if {
	org := object.union(synthetic_org, {"units": {"leaf": {"guardrails": {"denied_resource_types": ["storage.bucket"]}}}})
	intent := td.input_for(td.spec_with({
		"environment": "dev",
		"target": {"account": "100000000001", "region": "eu-west-1"},
		"resources": [compute, {"type": "storage.bucket", "name": "assets", "encrypted": true}, {"type": "storage.bucketx", "name": "other", "encrypted": true}],
	}))
	guardrails.deny == {{
		"policy": "landing-zone.guardrail",
		"path": "spec.resources[1].type",
		"message": "resource `assets` of type `storage.bucket` is denied by org unit `leaf` (pattern `storage.bucket`)",
		"evidence": {"value": "storage.bucket", "denied": "storage.bucket", "guardrail": "denied_resource_types", "resource": "assets"},
		"inherited_from": "leaf",
	}} with input as intent
		with data.governance.org as org
}
