package gatehouse.policies.storage_encrypted_test

import data.gatehouse.policies.storage_encrypted
import data.gatehouse.testdata as td

api := {"type": "compute.instance", "name": "api", "size": "m5.large", "count": 3}

db(fields) := object.union({"type": "database.postgres", "name": "db", "size": "db.r6g.large", "public": false}, fields)

test_baseline_is_allowed if {
	count(storage_encrypted.deny) == 0 with input as td.input_for(td.intent)
}

test_unencrypted_database_is_denied if {
	storage_encrypted.deny == {{
		"policy": "storage.encrypted",
		"path": "spec.resources[1].encrypted",
		"message": "resource `db` (database.postgres) is not encrypted at rest",
		"evidence": {"resource": "db", "value": false},
	}} with input as td.input_for(td.with_resources([api, db({"encrypted": false})]))
}

# A missing flag is not encryption: the evidence shows the flag was absent (null).
test_database_without_encrypted_flag_is_denied if {
	storage_encrypted.deny == {{
		"policy": "storage.encrypted",
		"path": "spec.resources[1].encrypted",
		"message": "resource `db` (database.postgres) is not encrypted at rest",
		"evidence": {"resource": "db", "value": null},
	}} with input as td.input_for(td.with_resources([api, db({})]))
}

test_unencrypted_storage_is_denied if {
	resources := [{"type": "storage.bucket", "name": "files"}, api, db({"encrypted": true})]
	storage_encrypted.deny == {{
		"policy": "storage.encrypted",
		"path": "spec.resources[0].encrypted",
		"message": "resource `files` (storage.bucket) is not encrypted at rest",
		"evidence": {"resource": "files", "value": null},
	}} with input as td.input_for(td.with_resources(resources))
}

test_encrypted_storage_and_databases_are_allowed if {
	resources := [{"type": "storage.bucket", "name": "files", "encrypted": true}, db({"encrypted": true, "type": "database.mysql"})]
	count(storage_encrypted.deny) == 0 with input as td.input_for(td.with_resources(resources))
}

test_every_stateful_resource_is_reported if {
	resources := [{"type": "storage.bucket", "name": "files", "encrypted": false}, api, db({"encrypted": false})]
	denied := storage_encrypted.deny with input as td.input_for(td.with_resources(resources))
	{v.path | some v in denied} == {"spec.resources[0].encrypted", "spec.resources[2].encrypted"}
}

# Only storage.* and database.*: compute resources carry no encryption flag.
test_stateless_resources_are_not_checked if {
	resources := [api, object.union(api, {"name": "worker", "encrypted": false}), {"type": "network.loadbalancer", "name": "lb"}]
	count(storage_encrypted.deny) == 0 with input as td.input_for(td.with_resources(resources))
}
