package gatehouse.policies.network_no_public_database

import data.gatehouse.lib
import data.gatehouse.lib.spec

deny contains lib.violation(
	"network.no-public-database",
	lib.resource_path(i, "public"),
	sprintf("database `%s` (%s) is publicly reachable", [r.name, r.type]),
	{"resource": r.name, "value": true},
) if {
	some i, r in spec.resources
	startswith(r.type, "database.")
	object.get(r, "public", false) == true
}
