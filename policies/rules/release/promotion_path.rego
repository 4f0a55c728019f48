package gatehouse.policies.release_promotion_path

# A release must first reach the environment before its own (prod <- staging): the artifact's
# digest must have reached SUCCESS there, per the history. Everything is computed in the rule
# bodies, so intents without a previous environment stop at the first lines.
deny contains {
	"policy": "release.promotion-path",
	"path": "spec.artifact",
	"message": sprintf("%s needs artifact %s of `%s` to have reached SUCCESS in %s first; no such deployment in the history", [spec.environment, digest, spec.service, previous]),
	"evidence": {"value": digest, "required_environment": previous, "history_entries": count(history)},
} if {
	spec := input.intent.spec
	promotion := data.governance.release.promotion
	previous := promotion[spec.environment]
	previous
	parts := split(spec.artifact, "@sha256:")
	count(parts) == 2
	digest := concat("", ["sha256:", parts[1]])
	history := object.get(object.get(input, "context", {}), "history", [])
	# History entries are not schema-checked: a missing or non-string artifact has no digest.
	proven := [h |
		some h in history
		h.service == spec.service
		h.environment == previous
		h.state == "SUCCESS"
		is_string(h.artifact)
		p := split(h.artifact, "@sha256:")
		count(p) == 2
		concat("", ["sha256:", p[1]]) == digest
	]
	proven == []
}

deny contains {
	"policy": "release.promotion-path",
	"path": "spec.artifact",
	"message": sprintf("%s releases must be pinned by digest so their promotion from %s can be traced", [spec.environment, previous]),
	"evidence": {"value": spec.artifact, "required_environment": previous},
} if {
	spec := input.intent.spec
	promotion := data.governance.release.promotion
	previous := promotion[spec.environment]
	previous
	count(split(spec.artifact, "@sha256:")) != 2
}
