# Shared helpers for the Gatehouse reference policies.
#
# Policies read the intent at `input.intent` and the caller's evaluation context at
# `input.context` (`now`, `history`, `evidence`, `approvals`; approvals are only ever the ones a
# trusted party recorded, never claims written in the intent). Each policy package lives under
# `gatehouse.policies.*` and adds violation objects (`policy`, `path`, `message`, `evidence`,
# and `inherited_from` for org guardrails) to its `deny` set.
#
# How the reference policies are written, and why (regorus's interpreter, measured per decision
# with callgrind; BENCHMARKS.md): each policy reads `input.intent...` and `data...` directly and
# builds its violation objects inline. A reference through an imported rule (`spec.x` after
# `import data.gatehouse.lib.spec`) costs several thousand instructions each time it is read,
# a call of a Rego function (`violation(...)`) about 18 thousand, the same path in `input` a few
# hundred: rewritten that way, `prod.four-eyes` went from 200k to 54k instructions. Values that
# depend only on data (the org walk, registry prefixes, freeze instants) are computed once per
# bundle in `derived.rego`. A computed key into `data` (`data.x[k]`) makes regorus scan every
# module, so policies bind the document to a local first (`accounts := data...; accounts[k]`).
# The helpers below stay for bundle authors and for the release gates.
package gatehouse.lib

spec := input.intent.spec

metadata := input.intent.metadata

env := input.intent.spec.environment

cloud := input.intent.spec.target.cloud

ref := data.governance.reference

# The target's region: `region` on AWS, `location` on Azure.
region := input.intent.spec.target.region if cloud == "aws"

region := input.intent.spec.target.location if cloud == "azure"

region_path := "spec.target.region" if cloud == "aws"

region_path := "spec.target.location" if cloud == "azure"

# The target account: an AWS account id or an Azure subscription id.
account_id := input.intent.spec.target.account if cloud == "aws"

account_id := input.intent.spec.target.subscription if cloud == "azure"

account_path := "spec.target.account" if cloud == "aws"

account_path := "spec.target.subscription" if cloud == "azure"

# A violation record: the core adds title, severity, enforcement and remediation from the catalogue.
violation(policy, path, message, evidence) := {
	"policy": policy,
	"path": path,
	"message": message,
	"evidence": evidence,
}

resource_path(i, field) := sprintf("spec.resources[%d].%s", [i, field])

is_blank(s) if trim_space(s) == ""

# Glob of the form `prefix*` or an exact value (guardrail patterns such as `ap-*`, `database.*`).
matches_pattern(value, pattern) if {
	endswith(pattern, "*")
	startswith(value, trim_suffix(pattern, "*"))
}

matches_pattern(value, pattern) if {
	not endswith(pattern, "*")
	value == pattern
}

# The digest of an image reference (`sha256:<hex>`), when it is pinned; undefined for anything
# else, including a value that is not a string (pipeline evidence is not schema-checked).
artifact_digest(artifact) := concat("", ["sha256:", parts[1]]) if {
	is_string(artifact)
	parts := split(artifact, "@sha256:")
	count(parts) == 2
}
