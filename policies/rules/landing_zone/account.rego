package gatehouse.policies.landing_zone_account

# The target account is an AWS account (`spec.target.account`) or an Azure subscription
# (`spec.target.subscription`); the organisation's accounts, with what each inherits, are derived
# once per bundle (derived.rego).

deny contains {
	"policy": "landing-zone.account-known",
	"path": concat("", ["spec.target.", field]),
	"message": sprintf("%s account `%s` is not part of the organisation", [t.cloud, id]),
	"evidence": {"value": id},
} if {
	t := input.intent.spec.target
	fields := {"aws": "account", "azure": "subscription"}
	field := fields[t.cloud]
	id := t[field]
	accounts := data.governance.derived.accounts
	not accounts[id]
}

deny contains {
	"policy": "landing-zone.account-known",
	"path": "spec.target.cloud",
	"message": sprintf("account `%s` (%s) is registered as %s, but the intent targets %s", [id, a.name, a.cloud, t.cloud]),
	"evidence": {"value": t.cloud, "expected": a.cloud, "account": id},
} if {
	t := input.intent.spec.target
	fields := {"aws": "account", "azure": "subscription"}
	id := t[fields[t.cloud]]
	accounts := data.governance.derived.accounts
	a := accounts[id].account
	a.cloud != t.cloud
}

deny contains {
	"policy": "landing-zone.account-kind",
	"path": concat("", ["spec.target.", field]),
	"message": sprintf("account `%s` (%s) is a %s account; only workload accounts accept deployments", [id, a.name, a.kind]),
	"evidence": {"value": a.kind, "allowed": ["workload"], "account": id},
} if {
	t := input.intent.spec.target
	fields := {"aws": "account", "azure": "subscription"}
	field := fields[t.cloud]
	id := t[field]
	accounts := data.governance.derived.accounts
	a := accounts[id].account
	a.kind != "workload"
}
