package gatehouse.policies.compute_max_instances

import data.gatehouse.lib
import data.gatehouse.lib.env
import data.gatehouse.lib.spec

# The most instances one compute resource may ask for in the intent's environment.
limit := data.governance.reference.max_instances[env]

deny contains lib.violation(
	"compute.max-instances",
	lib.resource_path(i, "count"),
	sprintf("resource `%s` asks for %d instances; %s allows at most %d", [r.name, r.count, env, limit]),
	{"value": r.count, "limit": limit, "resource": r.name},
) if {
	some i, r in spec.resources
	startswith(r.type, "compute.")
	r.count > limit
}
