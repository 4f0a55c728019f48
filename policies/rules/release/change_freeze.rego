package gatehouse.policies.change_freeze

# Freeze windows come as Unix nanoseconds, converted once per bundle (derived.rego).
deny contains {
	"policy": "change.freeze",
	"path": "spec.environment",
	"message": sprintf("%s is frozen from %s to %s (%s)", [env, f.freeze.start, f.freeze.end, f.freeze.reason]),
	"evidence": {"value": now, "freeze": f.freeze},
} if {
	env := input.intent.spec.environment
	env in data.governance.release.frozen_environments
	now := input.context.now
	now_ns := time.parse_rfc3339_ns(now)
	some f in data.governance.derived.freezes
	f.start_ns <= now_ns
	now_ns < f.end_ns
}
