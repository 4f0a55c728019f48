package gatehouse.policies.storage_encrypted

import data.gatehouse.lib
import data.gatehouse.lib.spec

stateful(r) if startswith(r.type, "storage.")

stateful(r) if startswith(r.type, "database.")

deny contains lib.violation(
	"storage.encrypted",
	lib.resource_path(i, "encrypted"),
	sprintf("resource `%s` (%s) is not encrypted at rest", [r.name, r.type]),
	{"resource": r.name, "value": object.get(r, "encrypted", null)},
) if {
	some i, r in spec.resources
	stateful(r)
	object.get(r, "encrypted", false) != true
}
