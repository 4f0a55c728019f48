package gatehouse.policies.cost_ceiling_test

import data.gatehouse.policies.cost_ceiling
import data.gatehouse.testdata as td

costing(environment, cost) := td.input_for(td.spec_with({"environment": environment, "estimated_monthly_cost": cost}))

test_baseline_is_allowed if {
	count(cost_ceiling.deny) == 0 with input as td.input_for(td.intent)
}

test_cost_exactly_at_the_ceiling_is_allowed if {
	count(cost_ceiling.deny) == 0 with input as costing("prod", 10000)
}

test_cost_just_above_the_ceiling_is_denied if {
	cost_ceiling.deny == {{
		"policy": "cost.ceiling",
		"path": "spec.estimated_monthly_cost",
		"message": "estimated_monthly_cost 10000.01 USD > prod ceiling 10000 USD",
		"evidence": {"value": 10000.01, "limit": 10000},
	}} with input as costing("prod", 10000.01)
}

test_dev_ceiling_is_lower if {
	cost_ceiling.deny == {{
		"policy": "cost.ceiling",
		"path": "spec.estimated_monthly_cost",
		"message": "estimated_monthly_cost 501 USD > dev ceiling 500 USD",
		"evidence": {"value": 501, "limit": 500},
	}} with input as costing("dev", 501)
}

test_same_cost_is_allowed_in_prod if {
	count(cost_ceiling.deny) == 0 with input as costing("prod", 501)
}

test_dev_cost_at_the_ceiling_is_allowed if {
	count(cost_ceiling.deny) == 0 with input as costing("dev", 500)
}

test_staging_ceiling if {
	count(cost_ceiling.deny) == 0 with input as costing("staging", 2000)
	some v in cost_ceiling.deny with input as costing("staging", 2000.5)
	v.evidence == {"value": 2000.5, "limit": 2000}
	contains(v.message, "staging ceiling 2000 USD")
}

test_zero_cost_is_allowed if {
	count(cost_ceiling.deny) == 0 with input as costing("dev", 0)
}
