package gatehouse.policies.storage_encrypted

# Stateful resources (`storage.*`, `database.*`) must be encrypted at rest.
deny contains {
	"policy": "storage.encrypted",
	"path": sprintf("spec.resources[%d].encrypted", [i]),
	"message": sprintf("resource `%s` (%s) is not encrypted at rest", [r.name, r.type]),
	"evidence": {"resource": r.name, "value": object.get(r, "encrypted", null)},
} if {
	some i, r in input.intent.spec.resources
	object.get(r, "encrypted", false) != true
	some kind in ["storage.", "database."]
	startswith(r.type, kind)
}
