package gatehouse.policies.cost_ceiling

import data.gatehouse.lib
import data.gatehouse.lib.spec
import data.gatehouse.lib.env
import data.gatehouse.lib.ref

deny contains lib.violation(
	"cost.ceiling",
	"spec.estimated_monthly_cost",
	sprintf("estimated_monthly_cost %v USD > %s ceiling %v USD", [cost, env, ceiling]),
	{"value": cost, "limit": ceiling},
) if {
	cost := spec.estimated_monthly_cost
	ceiling := ref.cost_ceilings_usd[env]
	cost > ceiling
}
