package gatehouse.gates.deployment_truth

import data.gatehouse.lib
import data.gatehouse.lib.account_id
import data.gatehouse.lib.region
import data.gatehouse.lib.spec

evidence := object.get(object.get(input, "context", {}), "evidence", {})

observed := object.get(evidence, "observed", null)

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

# With `[attestations] require_for_truth` the control plane verifies the attestation the pipeline
# found on the deployed artifact (`evidence.observed.attestation`: a PASSED one for its digest and
# this environment, signed by a trusted key) and writes its verdict as
# `evidence.attestation_verified`, with `attestation_problem` saying why it failed. Only the
# control plane writes them (a report that sets them is refused); without the requirement they
# are absent and this rule says nothing.
deny contains lib.violation(
	"gate.deployment-truth",
	"evidence.observed.attestation",
	sprintf("the deployed artifact has no verified PASSED attestation for this environment: %s", [problem]),
	{"attestation_verified": verdict, "problem": problem},
) if {
	verdict := object.get(evidence, "attestation_verified", true)
	verdict != true
	problem := object.get(evidence, "attestation_problem", "the control plane did not verify it")
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
