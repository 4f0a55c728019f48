package gatehouse.policies.artifact_pinned

import data.gatehouse.lib
import data.gatehouse.lib.spec

# True when the reference ends in `@sha256:` and 64 lowercase hex digits. Written with string
# builtins rather than a regex: it runs on every decision and regexes cost far more per call.
pinned(artifact) if {
	parts := split(artifact, "@sha256:")
	count(parts) == 2
	digest := parts[1]
	count(digest) == 64
	trim(digest, "0123456789abcdef") == ""
}

deny contains lib.violation(
	"artifact.pinned",
	"spec.artifact",
	sprintf("artifact `%s` is not pinned by a sha256 digest", [spec.artifact]),
	{"value": spec.artifact},
) if {
	not pinned(spec.artifact)
}
