package gatehouse.policies.prod_change_ticket

import data.gatehouse.lib
import data.gatehouse.lib.env
import data.gatehouse.lib.metadata
import data.gatehouse.lib.ref

ticket := object.get(metadata, "change_ticket", "")

prefix := ref.change_ticket_prefix

# A ticket is the prefix (e.g. `CHG-`) followed by one or more digits.
well_formed(t) if {
	startswith(t, prefix)
	number := substring(t, count(prefix), -1)
	number != ""
	trim(number, "0123456789") == ""
}

deny contains lib.violation(
	"prod.change-ticket",
	"metadata.change_ticket",
	ticket_message(ticket),
	{"value": ticket, "expected": sprintf("%s<digits>", [prefix])},
) if {
	env == "prod"
	not well_formed(ticket)
}

ticket_message(t) := "production intents need `metadata.change_ticket`" if t == ""

ticket_message(t) := sprintf("change ticket `%s` does not match `%s<digits>`", [t, prefix]) if t != ""
