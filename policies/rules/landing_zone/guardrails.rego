package gatehouse.policies.landing_zone_guardrails

import data.gatehouse.lib
import data.gatehouse.lib.account_id
import data.gatehouse.lib.env
import data.gatehouse.lib.guardrails
import data.gatehouse.lib.region
import data.gatehouse.lib.region_path
import data.gatehouse.lib.spec

# An environment must be allowed at every level that restricts it.
deny contains lib.violation_inherited(
	"landing-zone.environment-allowed",
	"spec.environment",
	sprintf("environment `%s` is not allowed in account `%s`: org unit `%s` allows only %s", [env, account_id, unit, concat(", ", g.allowed_environments)]),
	{"value": env, "allowed": g.allowed_environments, "account": account_id},
	unit,
) if {
	some [unit, g] in guardrails
	allowed := g.allowed_environments
	not env in allowed
}

# Explicit denies win at any level.
deny contains lib.violation_inherited(
	"landing-zone.guardrail",
	region_path,
	sprintf("region `%s` is denied by org unit `%s` (pattern `%s`)", [region, unit, pattern]),
	{"value": region, "denied": pattern, "guardrail": "denied_regions"},
	unit,
) if {
	some [unit, g] in guardrails
	some pattern in g.denied_regions
	lib.matches_pattern(region, pattern)
}

deny contains lib.violation_inherited(
	"landing-zone.guardrail",
	lib.resource_path(i, "type"),
	sprintf("resource `%s` of type `%s` is denied by org unit `%s` (pattern `%s`)", [r.name, r.type, unit, pattern]),
	{"value": r.type, "denied": pattern, "guardrail": "denied_resource_types", "resource": r.name},
	unit,
) if {
	some [unit, g] in guardrails
	some pattern in g.denied_resource_types
	some i, r in spec.resources
	lib.matches_pattern(r.type, pattern)
}

deny contains lib.violation_inherited(
	"landing-zone.guardrail",
	lib.resource_path(i, "public"),
	sprintf("resource `%s` is public, which org unit `%s` denies", [r.name, unit]),
	{"value": true, "guardrail": "deny_public_resources", "resource": r.name},
	unit,
) if {
	some [unit, g] in guardrails
	g.deny_public_resources == true
	some i, r in spec.resources
	object.get(r, "public", false) == true
}
