package gatehouse.policies.residency_pii_eu

# The target's region is `region` on AWS and `location` on Azure.
deny contains {
	"policy": "residency.pii-eu",
	"path": concat("", ["spec.target.", field]),
	"message": sprintf("service handles pii but region `%s` is outside the EU; EU regions: %s", [region, concat(", ", eu)]),
	"evidence": {"value": region, "allowed": eu},
} if {
	object.get(object.get(input.intent.spec, "tags", {}), "data-classification", "") == "pii"
	t := input.intent.spec.target
	fields := {"aws": "region", "azure": "location"}
	field := fields[t.cloud]
	region := t[field]
	eu := data.governance.reference.eu_residency_regions
	not region in eu
}
