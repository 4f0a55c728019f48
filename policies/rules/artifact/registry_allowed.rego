package gatehouse.policies.artifact_registry_allowed

# The artifact starts with an approved registry and `/` (the prefixes are derived once per
# bundle).
approved if {
	artifact := input.intent.spec.artifact
	some prefix in data.governance.derived.registry_prefixes
	startswith(artifact, prefix)
}

deny contains {
	"policy": "artifact.registry-allowed",
	"path": "spec.artifact",
	"message": sprintf("artifact `%s` is not from an approved registry; approved: %s", [artifact, concat(", ", registries)]),
	"evidence": {"value": artifact, "allowed": registries},
} if {
	not approved
	artifact := input.intent.spec.artifact
	registries := data.governance.reference.registries
}
