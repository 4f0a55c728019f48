package gatehouse.policies.prod_four_eyes

# Every production deployment needs a second person: the policy reports each prod intent, and the
# catalogue makes it soft-mandatory with the override role `release-approver`, so the engine lifts
# it for an approval in that role from someone other than the requester. Approvals are evidence
# recorded by a trusted party (the control plane's approvals endpoint, a pull request review, the
# caller's context), never claims inside the intent; the engine, not each policy, decides which
# approval counts, so four-eyes and every other approval-gated policy follow one rule.

deny contains {
	"policy": "prod.four-eyes",
	"path": "metadata.requested_by",
	"message": sprintf("production intents need an approval with role `%s` from someone other than the requester `%s`", [role, requester]),
	"evidence": {"role": role, "requested_by": requester},
} if {
	input.intent.spec.environment == "prod"
	role := data.governance.reference.release_approver_role
	requester := input.intent.metadata.requested_by
}
