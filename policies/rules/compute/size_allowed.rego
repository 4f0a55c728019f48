package gatehouse.policies.compute_size_allowed

import data.gatehouse.lib
import data.gatehouse.lib.spec
import data.gatehouse.lib.env
import data.gatehouse.lib.ref

deny contains lib.violation(
	"compute.size-allowed",
	lib.resource_path(i, "size"),
	sprintf("compute size `%s` of resource `%s` is not allowed in %s; allowed: %s", [size, r.name, env, concat(", ", allowed)]),
	{"value": size, "allowed": allowed, "resource": r.name},
) if {
	some i, r in spec.resources
	startswith(r.type, "compute.")
	size := object.get(r, "size", "")
	allowed := object.get(ref.compute_sizes, env, [])
	not size in allowed
}
