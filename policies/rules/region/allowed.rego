package gatehouse.policies.region_allowed

import data.gatehouse.lib
import data.gatehouse.lib.env
import data.gatehouse.lib.cloud
import data.gatehouse.lib.ref
import data.gatehouse.lib.region
import data.gatehouse.lib.region_path

deny contains lib.violation(
	"region.allowed",
	region_path,
	sprintf("region `%s` is not allowed for %s %s; allowed: %s", [region, cloud, env, concat(", ", allowed)]),
	{"value": region, "allowed": allowed},
) if {
	allowed := object.get(ref.regions, [cloud, env], [])
	not region in allowed
}
