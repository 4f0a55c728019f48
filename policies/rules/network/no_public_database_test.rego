package gatehouse.policies.network_no_public_database_test

import data.gatehouse.policies.network_no_public_database
import data.gatehouse.testdata as td

api := {"type": "compute.instance", "name": "api", "size": "m5.large", "count": 3}

db(fields) := object.union({"type": "database.postgres", "name": "db", "size": "db.r6g.large", "encrypted": true}, fields)

test_baseline_is_allowed if {
	count(network_no_public_database.deny) == 0 with input as td.input_for(td.intent)
}

test_public_database_is_denied if {
	network_no_public_database.deny == {{
		"policy": "network.no-public-database",
		"path": "spec.resources[1].public",
		"message": "database `db` (database.postgres) is publicly reachable",
		"evidence": {"resource": "db", "value": true},
	}} with input as td.input_for(td.with_resources([api, db({"public": true})]))
}

test_database_without_public_flag_is_allowed if {
	count(network_no_public_database.deny) == 0 with input as td.input_for(td.with_resources([api, db({})]))
}

test_every_database_kind_is_checked if {
	resources := [db({"type": "database.mysql", "name": "a", "public": true}), api, db({"type": "database.redis", "name": "b", "public": true})]
	denied := network_no_public_database.deny with input as td.input_for(td.with_resources(resources))
	{[v.path, v.evidence.resource] | some v in denied} == {["spec.resources[0].public", "a"], ["spec.resources[2].public", "b"]}
	some v in denied
	v.message == "database `b` (database.redis) is publicly reachable"
}

# Only databases: a public compute or storage resource is another policy's concern.
test_public_non_database_resources_are_not_checked if {
	resources := [
		object.union(api, {"public": true}),
		{"type": "storage.bucket", "name": "assets", "encrypted": true, "public": true},
		db({"public": false}),
	]
	count(network_no_public_database.deny) == 0 with input as td.input_for(td.with_resources(resources))
}
