# Release gates run when a pipeline reports success, over its evidence at input.context.evidence:
# {"smoke": [{"name", "passed", "details"?}], "observed": {"artifact", "account", "region"}}.
package gatehouse.gates.smoke

import data.gatehouse.lib
import data.gatehouse.lib.env

evidence := object.get(object.get(input, "context", {}), "evidence", {})

reported := object.get(evidence, "smoke", [])

required := object.get(data.governance.release.required_smoke_checks, env, [])

deny contains lib.violation(
	"gate.smoke",
	sprintf("evidence.smoke[%d]", [i]),
	sprintf("smoke check `%s` failed%s", [check.name, details(check)]),
	{"check": check.name, "passed": object.get(check, "passed", null)},
) if {
	some i, check in reported
	object.get(check, "passed", false) != true
}

deny contains lib.violation(
	"gate.smoke",
	"evidence.smoke",
	sprintf("required smoke check `%s` for %s was not reported", [name, env]),
	{"check": name, "required": required},
) if {
	some name in required
	not name in {c.name | some c in reported}
}

details(check) := sprintf(": %s", [check.details]) if check.details

details(check) := "" if not check.details
