# Shared helpers for the Gatehouse reference policies.
#
# Policies read the intent at `input.intent` and the caller's evaluation context at
# `input.context` (`now`, `history`, `evidence`, `approvals`). Each policy package lives under
# `gatehouse.policies.*` and adds violations to its `deny` set with `violation(...)`.
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

# Approvals recorded on the intent and by the control plane.
approvals := array.concat(object.get(spec, "approvals", []), object.get(object.get(input, "context", {}), "approvals", []))

# A violation record: the core adds title, severity, enforcement and remediation from the catalogue.
violation(policy, path, message, evidence) := {
	"policy": policy,
	"path": path,
	"message": message,
	"evidence": evidence,
}

resource_path(i, field) := sprintf("spec.resources[%d].%s", [i, field])

is_blank(s) if trim_space(s) == ""
