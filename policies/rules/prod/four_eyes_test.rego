package gatehouse.policies.prod_four_eyes_test

import data.gatehouse.policies.prod_four_eyes
import data.gatehouse.testdata as td

needs_approval(requester) := {
	"policy": "prod.four-eyes",
	"path": "metadata.requested_by",
	"message": sprintf("production intents need an approval with role `release-approver` from someone other than the requester `%s`", [requester]),
	"evidence": {"role": "release-approver", "requested_by": requester},
}

test_every_prod_intent_is_reported if {
	prod_four_eyes.deny == {needs_approval("alice@example.com")} with input as td.input_for(td.intent)
}

test_approvals_are_not_needed_outside_prod if {
	every environment in ["dev", "staging"] {
		count(prod_four_eyes.deny) == 0 with input as td.input_for(td.spec_with({"environment": environment}))
	}
}

test_the_requester_is_named_as_written if {
	i := td.metadata_with({"requested_by": "ALICE@example.com"})
	prod_four_eyes.deny == {needs_approval("ALICE@example.com")} with input as td.input_for(i)
}

# The policy does not judge approvals: the engine lifts the violation for a release-approver
# approval from someone other than the requester (core tests and the conformance corpus cover
# who counts). So an approval in the context leaves the policy's report unchanged.
test_approvals_in_the_context_do_not_change_the_report if {
	approvals := [{"by": "bob@example.com", "role": "release-approver", "source": "control_plane"}]
	prod_four_eyes.deny == {needs_approval("alice@example.com")} with input as td.input_with_approvals(td.intent, approvals)
}

# Approvals written inside an intent are refused by the schema; were one to reach the policy, it
# would change nothing either.
test_approvals_inside_the_intent_change_nothing if {
	i := td.spec_with({"approvals": [{"by": "bob@example.com", "role": "release-approver"}]})
	prod_four_eyes.deny == {needs_approval("alice@example.com")} with input as td.input_for(i)
}
