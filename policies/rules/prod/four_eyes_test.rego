package gatehouse.policies.prod_four_eyes_test

import data.gatehouse.policies.prod_four_eyes
import data.gatehouse.testdata as td

denial(requester) := {
	"policy": "prod.four-eyes",
	"path": "spec.approvals",
	"message": sprintf("production intents need an approval with role `release-approver` from someone other than the requester `%s`", [requester]),
	"evidence": {"role": "release-approver", "requested_by": requester},
}

approved_by(approvals) := td.spec_with({"approvals": approvals})

no_approvals := td.without(["spec/approvals"])

test_baseline_is_allowed if {
	count(prod_four_eyes.deny) == 0 with input as td.input_for(td.intent)
}

test_missing_approvals_are_denied_in_prod if {
	prod_four_eyes.deny == {denial("alice@example.com")} with input as td.input_for(no_approvals)
}

test_empty_approvals_are_denied_in_prod if {
	prod_four_eyes.deny == {denial("alice@example.com")} with input as td.input_for(approved_by([]))
}

test_approvals_are_not_needed_outside_prod if {
	every environment in ["dev", "staging"] {
		count(prod_four_eyes.deny) == 0 with input as td.input_for(td.patched_spec(no_approvals, {"environment": environment}))
	}
}

test_self_approval_is_denied if {
	prod_four_eyes.deny == {denial("alice@example.com")} with input as td.input_for(approved_by([{"by": "alice@example.com", "role": "release-approver"}]))
}

# Emails are compared case-insensitively, on both sides.
test_self_approval_in_other_case_is_denied if {
	prod_four_eyes.deny == {denial("alice@example.com")} with input as td.input_for(approved_by([{"by": "Alice@Example.COM", "role": "release-approver"}]))
}

test_requester_in_other_case_cannot_self_approve if {
	i := td.patched_spec(td.metadata_with({"requested_by": "ALICE@example.com"}), {"approvals": [{"by": "alice@EXAMPLE.com", "role": "release-approver"}]})
	prod_four_eyes.deny == {denial("ALICE@example.com")} with input as td.input_for(i)
}

test_approval_in_another_role_is_denied if {
	prod_four_eyes.deny == {denial("alice@example.com")} with input as td.input_for(approved_by([{"by": "bob@example.com", "role": "finops-approver"}]))
}

# Roles are exact: `Release-Approver` is not the release-approver role.
test_role_is_case_sensitive if {
	prod_four_eyes.deny == {denial("alice@example.com")} with input as td.input_for(approved_by([{"by": "bob@example.com", "role": "Release-Approver"}]))
}

test_one_second_person_among_self_approvals_is_enough if {
	approvals := [
		{"by": "alice@example.com", "role": "release-approver"},
		{"by": "carol@example.com", "role": "finops-approver"},
		{"by": "carol@example.com", "role": "release-approver"},
	]
	count(prod_four_eyes.deny) == 0 with input as td.input_for(approved_by(approvals))
}

# Approvals recorded by the control plane arrive in `input.context.approvals`.
test_approval_from_context_is_enough if {
	count(prod_four_eyes.deny) == 0 with input as td.input_with_approvals(no_approvals, [{"by": "bob@example.com", "role": "release-approver", "at": "2026-11-23T09:00:00Z"}])
}

test_self_approval_from_context_is_denied if {
	prod_four_eyes.deny == {denial("alice@example.com")} with input as td.input_with_approvals(no_approvals, [{"by": "ALICE@example.com", "role": "release-approver"}])
}

test_context_approval_in_another_role_is_denied if {
	prod_four_eyes.deny == {denial("alice@example.com")} with input as td.input_with_approvals(no_approvals, [{"by": "bob@example.com", "role": "finops-approver"}])
}

test_intent_and_context_approvals_are_combined if {
	i := approved_by([{"by": "alice@example.com", "role": "release-approver"}])
	prod_four_eyes.deny == {denial("alice@example.com")} with input as td.input_for(i)
	count(prod_four_eyes.deny) == 0 with input as td.input_with_approvals(i, [{"by": "dave@example.com", "role": "release-approver"}])
}

# A context without an `approvals` key (it is omitted when empty) still evaluates.
test_context_without_approvals_key_is_denied_not_undefined if {
	prod_four_eyes.deny == {denial("alice@example.com")} with input as {"intent": no_approvals, "context": {"now": "2026-11-23T10:00:00Z"}}
}
