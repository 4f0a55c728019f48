package gatehouse.policies.prod_change_ticket

# A ticket is the prefix (e.g. `CHG-`) followed by one or more digits; production intents need
# one. (One rule with the message picked by whether the ticket is missing: each rule, and each
# call of a helper function, costs regorus's interpreter about as much as the checks.)
deny contains {
	"policy": "prod.change-ticket",
	"path": "metadata.change_ticket",
	"message": messages[ticket == ""],
	"evidence": {"value": ticket, "expected": sprintf("%s<digits>", [prefix])},
} if {
	input.intent.spec.environment == "prod"
	ticket := object.get(input.intent.metadata, "change_ticket", "")
	prefix := data.governance.reference.change_ticket_prefix
	well_formed := [number |
		startswith(ticket, prefix)
		number := substring(ticket, count(prefix), -1)
		number != ""
		trim(number, "0123456789") == ""
	]
	well_formed == []
	messages := {
		true: "production intents need `metadata.change_ticket`",
		false: sprintf("change ticket `%s` does not match `%s<digits>`", [ticket, prefix]),
	}
}
