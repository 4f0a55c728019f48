package gatehouse.policies.cost_ceiling

deny contains {
	"policy": "cost.ceiling",
	"path": "spec.estimated_monthly_cost",
	"message": sprintf("estimated_monthly_cost %v USD > %s ceiling %v USD", [cost, env, ceiling]),
	"evidence": {"value": cost, "limit": ceiling},
} if {
	spec := input.intent.spec
	cost := spec.estimated_monthly_cost
	env := spec.environment
	ceilings := data.governance.reference.cost_ceilings_usd
	ceiling := ceilings[env]
	cost > ceiling
}
