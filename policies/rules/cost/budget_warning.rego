package gatehouse.policies.cost_budget_warning

deny contains {
	"policy": "cost.budget-warning",
	"path": "spec.estimated_monthly_cost",
	"message": sprintf("estimated_monthly_cost %v USD is above %v%% of the %s ceiling %v USD", [cost, ratio * 100, env, ceiling]),
	"evidence": {"value": cost, "limit": ceiling * ratio},
} if {
	spec := input.intent.spec
	cost := spec.estimated_monthly_cost
	env := spec.environment
	ref := data.governance.reference
	ceiling := ref.cost_ceilings_usd[env]
	ratio := ref.cost_warning_ratio
	cost > ceiling * ratio
	cost <= ceiling
}
