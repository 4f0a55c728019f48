package gatehouse.policies.prod_change_ticket_test

import data.gatehouse.policies.prod_change_ticket
import data.gatehouse.testdata as td

ticket(t) := td.input_for(td.metadata_with({"change_ticket": t}))

malformed(t) := {
	"policy": "prod.change-ticket",
	"path": "metadata.change_ticket",
	"message": sprintf("change ticket `%s` does not match `CHG-<digits>`", [t]),
	"evidence": {"value": t, "expected": "CHG-<digits>"},
}

no_ticket := td.without(["metadata/change_ticket"])

test_baseline_is_allowed if {
	count(prod_change_ticket.deny) == 0 with input as td.input_for(td.intent)
}

test_missing_ticket_is_denied_in_prod if {
	prod_change_ticket.deny == {{
		"policy": "prod.change-ticket",
		"path": "metadata.change_ticket",
		"message": "production intents need `metadata.change_ticket`",
		"evidence": {"value": "", "expected": "CHG-<digits>"},
	}} with input as td.input_for(no_ticket)
}

test_missing_ticket_is_allowed_outside_prod if {
	every environment in ["dev", "staging"] {
		count(prod_change_ticket.deny) == 0 with input as td.input_for(td.patched_spec(no_ticket, {"environment": environment}))
	}
}

# Outside prod even a malformed ticket is not checked.
test_malformed_ticket_is_allowed_outside_prod if {
	count(prod_change_ticket.deny) == 0 with input as td.input_for(td.patched_spec(td.metadata_with({"change_ticket": "INC-1"}), {"environment": "staging"}))
}

test_wrong_prefix_is_denied if {
	prod_change_ticket.deny == {malformed("INC-12345")} with input as ticket("INC-12345")
}

test_prefix_is_case_sensitive if {
	prod_change_ticket.deny == {malformed("chg-12345")} with input as ticket("chg-12345")
}

test_prefix_without_digits_is_denied if {
	prod_change_ticket.deny == {malformed("CHG-")} with input as ticket("CHG-")
}

test_non_digit_suffix_is_denied if {
	every t in ["CHG-12a", "CHG-1 2", "CHG-12-3", "CHG-abc", "CHG-١٢٣"] {
		prod_change_ticket.deny == {malformed(t)} with input as ticket(t)
	}
}

test_surrounding_whitespace_is_denied if {
	every t in [" CHG-12345", "CHG-12345 ", "CHG-12345\n"] {
		prod_change_ticket.deny == {malformed(t)} with input as ticket(t)
	}
}

test_digits_alone_are_denied if {
	prod_change_ticket.deny == {malformed("12345")} with input as ticket("12345")
}

test_any_number_of_digits_is_allowed if {
	every t in ["CHG-1", "CHG-0", "CHG-000123", "CHG-12345678901234567890"] {
		count(prod_change_ticket.deny) == 0 with input as ticket(t)
	}
}
