package gatehouse.policies.artifact_registry_allowed

import data.gatehouse.lib
import data.gatehouse.lib.spec
import data.gatehouse.lib.ref

approved if {
	some registry in ref.registries
	startswith(spec.artifact, concat("", [registry, "/"]))
}

deny contains lib.violation(
	"artifact.registry-allowed",
	"spec.artifact",
	sprintf("artifact `%s` is not from an approved registry; approved: %s", [spec.artifact, concat(", ", ref.registries)]),
	{"value": spec.artifact, "allowed": ref.registries},
) if {
	not approved
}
