package gatehouse.policies.prod_four_eyes

# Every production deployment needs a second person: the policy reports each prod intent, and the
# catalogue makes it soft-mandatory with the override role `release-approver`, so the engine lifts
# it for an approval in that role from someone other than the requester. Approvals are evidence
# recorded by a trusted party (the control plane's approvals endpoint, a pull request review, the
# caller's context), never claims inside the intent; the engine, not each policy, decides which
# approval counts, so four-eyes and every other approval-gated policy follow one rule.

import data.gatehouse.lib
import data.gatehouse.lib.env
import data.gatehouse.lib.metadata
import data.gatehouse.lib.ref

deny contains lib.violation(
	"prod.four-eyes",
	"metadata.requested_by",
	sprintf("production intents need an approval with role `%s` from someone other than the requester `%s`", [ref.release_approver_role, metadata.requested_by]),
	{"role": ref.release_approver_role, "requested_by": metadata.requested_by},
) if {
	env == "prod"
}
