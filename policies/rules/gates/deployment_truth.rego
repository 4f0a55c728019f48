package gatehouse.gates.deployment_truth

import data.gatehouse.lib
import data.gatehouse.lib.account_id
import data.gatehouse.lib.region
import data.gatehouse.lib.spec

observed := object.get(object.get(object.get(input, "context", {}), "evidence", {}), "observed", null)

# What was approved, against what the pipeline reports running.
approved := {
	"artifact": spec.artifact,
	"account": account_id,
	"region": region,
}

deny contains lib.violation(
	"gate.deployment-truth",
	"evidence.observed",
	"the pipeline reported no observed deployment (artifact, account, region); nothing proves what runs",
	{"approved": approved},
) if {
	observed == null
}

deny contains lib.violation(
	"gate.deployment-truth",
	sprintf("evidence.observed.%s", [field]),
	sprintf("observed %s `%v` differs from the approved `%s`", [field, object.get(observed, field, null), want]),
	{"field": field, "observed": object.get(observed, field, null), "approved": want},
) if {
	observed != null
	some field, want in approved
	not same(field, object.get(observed, field, null), want)
}

# Artifacts are the same when their digests are (tags may differ), or when they are the same
# reference (an unpinned artifact, allowed as advisory in dev, has no digest to compare).
same("artifact", got, want) if {
	lib.artifact_digest(got) == lib.artifact_digest(want)
}

same("artifact", got, want) if {
	got == want
}

same(field, got, want) if {
	field != "artifact"
	got == want
}
