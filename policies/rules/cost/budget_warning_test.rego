package gatehouse.policies.cost_budget_warning_test

import data.gatehouse.policies.cost_budget_warning
import data.gatehouse.testdata as td

costing(environment, cost) := td.input_for(td.spec_with({"environment": environment, "estimated_monthly_cost": cost}))

test_baseline_is_allowed if {
	count(cost_budget_warning.deny) == 0 with input as td.input_for(td.intent)
}

# "Above 80%": exactly 80% of the ceiling does not warn.
test_cost_exactly_at_80_percent_is_allowed if {
	count(cost_budget_warning.deny) == 0 with input as costing("prod", 8000)
}

test_cost_just_above_80_percent_warns if {
	cost_budget_warning.deny == {{
		"policy": "cost.budget-warning",
		"path": "spec.estimated_monthly_cost",
		"message": "estimated_monthly_cost 8000.01 USD is above 80% of the prod ceiling 10000 USD",
		"evidence": {"value": 8000.01, "limit": 8000},
	}} with input as costing("prod", 8000.01)
}

test_cost_exactly_at_the_ceiling_warns if {
	some v in cost_budget_warning.deny with input as costing("prod", 10000)
	v.policy == "cost.budget-warning"
	v.path == "spec.estimated_monthly_cost"
	v.evidence == {"value": 10000, "limit": 8000}
}

# Above the ceiling, `cost.ceiling` reports instead; the warning would only repeat it.
test_cost_above_the_ceiling_does_not_warn if {
	count(cost_budget_warning.deny) == 0 with input as costing("prod", 10000.01)
}

test_dev_threshold_is_80_percent_of_its_ceiling if {
	count(cost_budget_warning.deny) == 0 with input as costing("dev", 400)
	cost_budget_warning.deny == {{
		"policy": "cost.budget-warning",
		"path": "spec.estimated_monthly_cost",
		"message": "estimated_monthly_cost 401 USD is above 80% of the dev ceiling 500 USD",
		"evidence": {"value": 401, "limit": 400},
	}} with input as costing("dev", 401)
}

test_staging_threshold if {
	count(cost_budget_warning.deny) == 0 with input as costing("staging", 1600)
	some v in cost_budget_warning.deny with input as costing("staging", 1999)
	v.evidence == {"value": 1999, "limit": 1600}
}

# The threshold follows the intent's environment: 1600.5 is 16% of prod's ceiling, 80.03% of staging's.
test_cost_warning_uses_the_intent_environment if {
	count(cost_budget_warning.deny) == 0 with input as costing("prod", 1600.5)
	count(cost_budget_warning.deny) == 1 with input as costing("staging", 1600.5)
}
