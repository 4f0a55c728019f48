# Values that depend only on the bundle's data, evaluated once when the bundle loads:
# `bundle.json` names this package as `derived`, and decisions read the values as data at
# `data.governance.derived`. The organisation walk, the guardrails each account inherits, the
# registry prefixes and the freeze windows as instants cost a decision nothing this way (the org
# walk alone was a fifth of a decision's time when every decision repeated it; BENCHMARKS.md).
#
# Rules here read the data files and each other, never `input` and never another package: the
# bundle does not load otherwise, and it does not load when a rule here fails or has no value.
# In `gatehouse test` they are ordinary rules, so a test that replaces data with `with` sees them
# recomputed. The package sits with the data it is computed from, under `governance`: the engine
# marks `data.governance` as evaluated for regorus once per decision, derived values included
# (a package of their own elsewhere cost a second mark, 4 % of a decision).
package governance.derived

units := data.governance.org.units

# Every account of the organisation by id (an AWS account id or an Azure subscription id), with
# what it inherits from the org units above it:
#   account                  its record in `data.governance.org.accounts`
#   ancestors                the org units above it, nearest first
#   allowed_environments     [{"unit", "allowed"}], for each unit that restricts environments
#   denied_regions           [{"unit", "pattern", "prefix", "max_length"}], for each denied
#                            pattern: a value matches when it starts with `prefix` and is at most
#                            `max_length` long (a pattern `prefix*` has no length limit)
#   denied_resource_types    the same, for resource types
#   deny_public_resources    the units that deny public resources
# Guardrails keep the unit they come from (a violation's `inherited_from`), nearest unit first.
accounts := {id: inherited(account) | some id, account in data.governance.org.accounts}

inherited(account) := {
	"account": account,
	"ancestors": chain,
	"allowed_environments": [{"unit": u, "allowed": allowed} |
		some u in chain
		allowed := units[u].guardrails.allowed_environments
	],
	"denied_regions": [pattern(u, p) | some u in chain; some p in units[u].guardrails.denied_regions],
	"denied_resource_types": [pattern(u, p) | some u in chain; some p in units[u].guardrails.denied_resource_types],
	"deny_public_resources": [u | some u in chain; units[u].guardrails.deny_public_resources == true],
} if {
	chain := ancestors(account)
}

# The org units above an account, nearest first. Rego has no recursion, so the walk is unrolled:
# AWS Organizations nests OUs at most 5 deep under the root and Azure management groups at most
# 6, so 8 levels cover both (org_data_test.rego checks the depth).
ancestors(account) := [unit |
	l1 := account.parent
	l2 := parent(l1)
	l3 := parent(l2)
	l4 := parent(l3)
	l5 := parent(l4)
	l6 := parent(l5)
	l7 := parent(l6)
	l8 := parent(l7)
	some unit in [l1, l2, l3, l4, l5, l6, l7, l8]
	unit != null
]

parent(unit) := object.get(object.get(units, unit, {}), "parent", null)

# A guardrail pattern: `prefix*` matches values that start with `prefix` (`ap-*`, `database.*`);
# any other pattern matches only itself, that is the values that start with it and are no longer.
# One test for both kinds keeps each guardrail to one rule in the policy.
pattern(unit, p) := {"unit": unit, "pattern": p, "prefix": trim_suffix(p, "*"), "max_length": unlimited} if endswith(p, "*")

pattern(unit, p) := {"unit": unit, "pattern": p, "prefix": p, "max_length": count(p)} if not endswith(p, "*")

# Longer than any value a pattern is matched against (the intent schema caps them far below).
unlimited := 1000000000

# What an approved artifact reference starts with: an approved registry and `/`.
registry_prefixes := [concat("", [registry, "/"]) | some registry in data.governance.reference.registries]

# The change freezes, with their start and end as Unix nanoseconds.
freezes := [{"freeze": f, "start_ns": time.parse_rfc3339_ns(f.start), "end_ns": time.parse_rfc3339_ns(f.end)} |
	some f in data.governance.release.freezes
]
