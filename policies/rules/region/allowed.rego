package gatehouse.policies.region_allowed

# The target's region is `region` on AWS and `location` on Azure.
deny contains {
	"policy": "region.allowed",
	"path": concat("", ["spec.target.", field]),
	"message": sprintf("region `%s` is not allowed for %s %s; allowed: %s", [region, t.cloud, env, concat(", ", allowed)]),
	"evidence": {"value": region, "allowed": allowed},
} if {
	t := input.intent.spec.target
	fields := {"aws": "region", "azure": "location"}
	field := fields[t.cloud]
	region := t[field]
	env := input.intent.spec.environment
	allowed := object.get(data.governance.reference.regions, [t.cloud, env], [])
	not region in allowed
}
