package gatehouse.policies.change_freeze

import data.gatehouse.lib
import data.gatehouse.lib.env

release := data.governance.release

now_ns := time.parse_rfc3339_ns(input.context.now)

deny contains lib.violation(
	"change.freeze",
	"spec.environment",
	sprintf("%s is frozen from %s to %s (%s)", [env, freeze.start, freeze.end, freeze.reason]),
	{"value": input.context.now, "freeze": freeze},
) if {
	env in release.frozen_environments
	some freeze in release.freezes
	time.parse_rfc3339_ns(freeze.start) <= now_ns
	now_ns < time.parse_rfc3339_ns(freeze.end)
}
