package gatehouse.policies.compute_size_allowed

deny contains {
	"policy": "compute.size-allowed",
	"path": sprintf("spec.resources[%d].size", [i]),
	"message": sprintf("compute size `%s` of resource `%s` is not allowed in %s; allowed: %s", [size, r.name, env, concat(", ", allowed)]),
	"evidence": {"value": size, "allowed": allowed, "resource": r.name},
} if {
	env := input.intent.spec.environment
	allowed := object.get(data.governance.reference.compute_sizes, env, [])
	some i, r in input.intent.spec.resources
	startswith(r.type, "compute.")
	size := object.get(r, "size", "")
	not size in allowed
}
