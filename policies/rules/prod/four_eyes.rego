package gatehouse.policies.prod_four_eyes

import data.gatehouse.lib
import data.gatehouse.lib.metadata
import data.gatehouse.lib.env
import data.gatehouse.lib.ref
import data.gatehouse.lib.approvals

requester := lower(metadata.requested_by)

second_person_approved if {
	some a in approvals
	a.role == ref.release_approver_role
	lower(a.by) != requester
}

deny contains lib.violation(
	"prod.four-eyes",
	"spec.approvals",
	sprintf("production intents need an approval with role `%s` from someone other than the requester `%s`", [ref.release_approver_role, metadata.requested_by]),
	{"role": ref.release_approver_role, "requested_by": metadata.requested_by},
) if {
	env == "prod"
	not second_person_approved
}
