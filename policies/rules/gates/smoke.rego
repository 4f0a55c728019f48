# Release gates run when a pipeline reports success, over its evidence at input.context.evidence:
# {"smoke": [{"name", "passed", "details"?}], "observed": {"artifact", "account", "region"}}.
package gatehouse.gates.smoke

import data.gatehouse.lib
import data.gatehouse.lib.env

evidence := object.get(object.get(input, "context", {}), "evidence", {})

reported := object.get(evidence, "smoke", [])

required := object.get(data.governance.release.required_smoke_checks, env, [])

# A check that did not report `passed: true` failed, named or not (evidence is not schema-checked).
deny contains lib.violation(
	"gate.smoke",
	sprintf("evidence.smoke[%d]", [i]),
	sprintf("smoke check `%v` failed%s", [name, details(check)]),
	{"check": name, "passed": object.get(check, "passed", null)},
) if {
	some i, check in reported
	object.get(check, "passed", false) != true
	name := object.get(check, "name", null)
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

details(check) := sprintf(": %v", [check.details]) if not object.get(check, "details", "") in {"", null, false}

details(check) := "" if object.get(check, "details", "") in {"", null, false}
