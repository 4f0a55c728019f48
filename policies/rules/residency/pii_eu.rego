package gatehouse.policies.residency_pii_eu

import data.gatehouse.lib
import data.gatehouse.lib.spec
import data.gatehouse.lib.ref
import data.gatehouse.lib.region
import data.gatehouse.lib.region_path

deny contains lib.violation(
	"residency.pii-eu",
	region_path,
	sprintf("service handles pii but region `%s` is outside the EU; EU regions: %s", [region, concat(", ", ref.eu_residency_regions)]),
	{"value": region, "allowed": ref.eu_residency_regions},
) if {
	object.get(object.get(spec, "tags", {}), "data-classification", "") == "pii"
	not region in ref.eu_residency_regions
}
