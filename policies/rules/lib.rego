# Shared helpers for the Gatehouse reference policies.
#
# Policies read the intent at `input.intent` and the caller's evaluation context at
# `input.context` (`now`, `history`, `evidence`, `approvals`; approvals are only ever the ones a
# trusted party recorded, never claims written in the intent). Each policy package lives under
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

# A violation record: the core adds title, severity, enforcement and remediation from the catalogue.
violation(policy, path, message, evidence) := {
	"policy": policy,
	"path": path,
	"message": message,
	"evidence": evidence,
}

resource_path(i, field) := sprintf("spec.resources[%d].%s", [i, field])

is_blank(s) if trim_space(s) == ""

# A violation that a guardrail of an org unit caused.
violation_inherited(policy, path, message, evidence, unit) := {
	"policy": policy,
	"path": path,
	"message": message,
	"evidence": evidence,
	"inherited_from": unit,
}

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

# --- Landing zone ---------------------------------------------------------------------------

# The target account: an AWS account id or an Azure subscription id.
account_id := input.intent.spec.target.account if cloud == "aws"

account_id := input.intent.spec.target.subscription if cloud == "azure"

account_path := "spec.target.account" if cloud == "aws"

account_path := "spec.target.subscription" if cloud == "azure"

org_units := data.governance.org.units

# The account's record; undefined when the account is not in the org.
account := data.governance.org.accounts[account_id]

# The org units above the account, nearest first. Rego has no recursion, so the walk is unrolled:
# AWS Organizations nests OUs at most 5 deep under the root and Azure management groups at most
# 6, so 8 levels cover both (an org data test checks the depth). One rule with local variables,
# not one rule per level: each rule costs the interpreter a few microseconds per decision, and the
# walk as nine rules was a sixth of a decision's time (BENCHMARKS.md).
ancestors := [unit |
	l1 := account.parent
	l2 := object.get(object.get(org_units, l1, {}), "parent", null)
	l3 := object.get(object.get(org_units, l2, {}), "parent", null)
	l4 := object.get(object.get(org_units, l3, {}), "parent", null)
	l5 := object.get(object.get(org_units, l4, {}), "parent", null)
	l6 := object.get(object.get(org_units, l5, {}), "parent", null)
	l7 := object.get(object.get(org_units, l6, {}), "parent", null)
	l8 := object.get(object.get(org_units, l7, {}), "parent", null)
	some unit in [l1, l2, l3, l4, l5, l6, l7, l8]
	unit != null
]

# Guardrails of each org unit above the account: (unit, guardrails) pairs, nearest first.
guardrails := [[unit, g] |
	some unit in ancestors
	g := org_units[unit].guardrails
]
