package gatehouse.policies.compute_size_allowed_test

import data.gatehouse.policies.compute_size_allowed
import data.gatehouse.testdata as td

prod_sizes := ["m5.large", "m5.xlarge", "m5.2xlarge", "r6g.large", "D2s_v5", "D4s_v5", "D8s_v5"]

dev_sizes := ["t3.micro", "t3.small", "t3.medium", "B1s", "B2s"]

db := {"type": "database.postgres", "name": "db", "size": "db.r6g.large", "encrypted": true, "public": false}

api(size) := {"type": "compute.instance", "name": "api", "size": size, "count": 3}

# The baseline's database has a size that is on no compute list: only compute.* is checked.
test_baseline_is_allowed if {
	count(compute_size_allowed.deny) == 0 with input as td.input_for(td.intent)
}

test_burstable_size_is_denied_in_prod if {
	compute_size_allowed.deny == {{
		"policy": "compute.size-allowed",
		"path": "spec.resources[0].size",
		"message": "compute size `t3.micro` of resource `api` is not allowed in prod; allowed: m5.large, m5.xlarge, m5.2xlarge, r6g.large, D2s_v5, D4s_v5, D8s_v5",
		"evidence": {"value": "t3.micro", "allowed": prod_sizes, "resource": "api"},
	}} with input as td.input_for(td.with_resources([api("t3.micro"), db]))
}

test_burstable_size_is_allowed_in_dev if {
	count(compute_size_allowed.deny) == 0 with input as td.input_for(td.spec_with({"environment": "dev", "resources": [api("t3.micro"), db]}))
}

test_prod_size_is_denied_in_dev if {
	compute_size_allowed.deny == {{
		"policy": "compute.size-allowed",
		"path": "spec.resources[0].size",
		"message": "compute size `m5.large` of resource `api` is not allowed in dev; allowed: t3.micro, t3.small, t3.medium, B1s, B2s",
		"evidence": {"value": "m5.large", "allowed": dev_sizes, "resource": "api"},
	}} with input as td.input_for(td.spec_with({"environment": "dev"}))
}

test_staging_allows_small_and_medium_sizes if {
	every size in ["t3.small", "m5.xlarge", "D4s_v5"] {
		count(compute_size_allowed.deny) == 0 with input as td.input_for(td.spec_with({"environment": "staging", "resources": [api(size)]}))
	}
}

test_staging_denies_the_largest_size if {
	some v in compute_size_allowed.deny with input as td.input_for(td.spec_with({"environment": "staging", "resources": [api("m5.2xlarge")]}))
	v.path == "spec.resources[0].size"
	v.evidence.value == "m5.2xlarge"
	contains(v.message, "not allowed in staging")
}

test_every_prod_size_is_allowed_in_prod if {
	every size in prod_sizes {
		count(compute_size_allowed.deny) == 0 with input as td.input_for(td.with_resources([api(size)]))
	}
}

# Sizes are compared exactly.
test_size_case_matters if {
	some v in compute_size_allowed.deny with input as td.input_for(td.with_resources([api("M5.large")]))
	v.evidence.value == "M5.large"
}

test_compute_without_size_is_denied if {
	some v in compute_size_allowed.deny with input as td.input_for(td.with_resources([{"type": "compute.instance", "name": "api"}]))
	v.policy == "compute.size-allowed"
	v.path == "spec.resources[0].size"
	v.evidence == {"value": "", "allowed": prod_sizes, "resource": "api"}
}

# The path names the offending resource's index; each bad resource is reported.
test_each_bad_resource_is_reported_at_its_index if {
	resources := [db, api("m5.large"), {"type": "compute.function", "name": "worker", "size": "t3.small"}, {"type": "compute.instance", "name": "cron", "size": "B1s"}]
	denied := compute_size_allowed.deny with input as td.input_for(td.with_resources(resources))
	{v.path | some v in denied} == {"spec.resources[2].size", "spec.resources[3].size"}
	{v.evidence.resource | some v in denied} == {"worker", "cron"}
}

test_non_compute_resources_are_not_checked if {
	resources := [db, {"type": "storage.bucket", "name": "files", "size": "t3.micro", "encrypted": true}]
	count(compute_size_allowed.deny) == 0 with input as td.input_for(td.with_resources(resources))
}
