package gatehouse.policies.landing_zone_guardrails

# What the target account inherits from the org units above it, nearest unit first, is derived
# once per bundle (derived.rego): each rule looks it up, then checks the intent against it.

# An environment must be allowed at every level that restricts it.
deny contains {
	"policy": "landing-zone.environment-allowed",
	"path": "spec.environment",
	"message": sprintf("environment `%s` is not allowed in account `%s`: org unit `%s` allows only %s", [env, id, g.unit, concat(", ", g.allowed)]),
	"evidence": {"value": env, "allowed": g.allowed, "account": id},
	"inherited_from": g.unit,
} if {
	t := input.intent.spec.target
	fields := {"aws": "account", "azure": "subscription"}
	id := t[fields[t.cloud]]
	accounts := data.governance.derived.accounts
	some g in accounts[id].allowed_environments
	env := input.intent.spec.environment
	not env in g.allowed
}

# Explicit denies win at any level.
deny contains {
	"policy": "landing-zone.guardrail",
	"path": concat("", ["spec.target.", field]),
	"message": sprintf("region `%s` is denied by org unit `%s` (pattern `%s`)", [region, d.unit, d.pattern]),
	"evidence": {"value": region, "denied": d.pattern, "guardrail": "denied_regions"},
	"inherited_from": d.unit,
} if {
	t := input.intent.spec.target
	fields := {"aws": ["account", "region"], "azure": ["subscription", "location"]}
	[account_field, field] := fields[t.cloud]
	accounts := data.governance.derived.accounts
	some d in accounts[t[account_field]].denied_regions
	region := t[field]
	startswith(region, d.prefix)
	count(region) <= d.max_length
}

deny contains {
	"policy": "landing-zone.guardrail",
	"path": sprintf("spec.resources[%d].type", [i]),
	"message": sprintf("resource `%s` of type `%s` is denied by org unit `%s` (pattern `%s`)", [r.name, r.type, d.unit, d.pattern]),
	"evidence": {"value": r.type, "denied": d.pattern, "guardrail": "denied_resource_types", "resource": r.name},
	"inherited_from": d.unit,
} if {
	t := input.intent.spec.target
	fields := {"aws": "account", "azure": "subscription"}
	accounts := data.governance.derived.accounts
	some d in accounts[t[fields[t.cloud]]].denied_resource_types
	some i, r in input.intent.spec.resources
	startswith(r.type, d.prefix)
	count(r.type) <= d.max_length
}

deny contains {
	"policy": "landing-zone.guardrail",
	"path": sprintf("spec.resources[%d].public", [i]),
	"message": sprintf("resource `%s` is public, which org unit `%s` denies", [r.name, unit]),
	"evidence": {"value": true, "guardrail": "deny_public_resources", "resource": r.name},
	"inherited_from": unit,
} if {
	t := input.intent.spec.target
	fields := {"aws": "account", "azure": "subscription"}
	accounts := data.governance.derived.accounts
	some unit in accounts[t[fields[t.cloud]]].deny_public_resources
	some i, r in input.intent.spec.resources
	object.get(r, "public", false) == true
}
