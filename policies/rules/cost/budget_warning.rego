package gatehouse.policies.cost_budget_warning

import data.gatehouse.lib
import data.gatehouse.lib.spec
import data.gatehouse.lib.env
import data.gatehouse.lib.ref

deny contains lib.violation(
	"cost.budget-warning",
	"spec.estimated_monthly_cost",
	sprintf("estimated_monthly_cost %v USD is above %v%% of the %s ceiling %v USD", [cost, ref.cost_warning_ratio * 100, env, ceiling]),
	{"value": cost, "limit": ceiling * ref.cost_warning_ratio},
) if {
	cost := spec.estimated_monthly_cost
	ceiling := ref.cost_ceilings_usd[env]
	cost > ceiling * ref.cost_warning_ratio
	cost <= ceiling
}
