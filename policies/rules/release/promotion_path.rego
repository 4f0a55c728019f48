package gatehouse.policies.release_promotion_path

import data.gatehouse.lib
import data.gatehouse.lib.env
import data.gatehouse.lib.spec

# The environment a release must have reached first (prod <- staging).
previous := data.governance.release.promotion[env]

digest := lib.artifact_digest(spec.artifact)

history := object.get(object.get(input, "context", {}), "history", [])

proven if {
	some h in history
	h.service == spec.service
	h.environment == previous
	h.state == "SUCCESS"
	lib.artifact_digest(h.artifact) == digest
}

deny contains lib.violation(
	"release.promotion-path",
	"spec.artifact",
	sprintf("%s needs artifact %s of `%s` to have reached SUCCESS in %s first; no such deployment in the history", [env, digest, spec.service, previous]),
	{"value": digest, "required_environment": previous, "history_entries": count(history)},
) if {
	previous
	digest
	not proven
}

deny contains lib.violation(
	"release.promotion-path",
	"spec.artifact",
	sprintf("%s releases must be pinned by digest so their promotion from %s can be traced", [env, previous]),
	{"value": spec.artifact, "required_environment": previous},
) if {
	previous
	not digest
}
