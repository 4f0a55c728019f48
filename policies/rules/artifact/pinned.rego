package gatehouse.policies.artifact_pinned

# Pinned: the reference ends in `@sha256:` and 64 lowercase hex digits. Written with string
# builtins rather than a regex (regorus compiles a regex on every call: six times the cost of the
# policy), and as a comprehension rather than a helper function (a call costs regorus's
# interpreter twice as much).
deny contains {
	"policy": "artifact.pinned",
	"path": "spec.artifact",
	"message": sprintf("artifact `%s` is not pinned by a sha256 digest", [artifact]),
	"evidence": {"value": artifact},
} if {
	artifact := input.intent.spec.artifact
	pinned := [digest |
		parts := split(artifact, "@sha256:")
		count(parts) == 2
		digest := parts[1]
		count(digest) == 64
		trim(digest, "0123456789abcdef") == ""
	]
	pinned == []
}
