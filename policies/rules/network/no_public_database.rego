package gatehouse.policies.network_no_public_database

deny contains {
	"policy": "network.no-public-database",
	"path": sprintf("spec.resources[%d].public", [i]),
	"message": sprintf("database `%s` (%s) is publicly reachable", [r.name, r.type]),
	"evidence": {"resource": r.name, "value": true},
} if {
	some i, r in input.intent.spec.resources
	object.get(r, "public", false) == true
	startswith(r.type, "database.")
}
