# Integrity of the real org tree at `data.governance.org`: the landing-zone policies assume it.
#
# Each check is a function of an org that returns what is wrong with it; the tests run it over the
# real data (nothing wrong) and over a broken copy (exactly the planted fault), so no check can
# pass by finding nothing to look at.
package gatehouse.org_data_test

org := data.governance.org

kinds := {"management", "log-archive", "security", "shared-services", "workload"}

# The walk in derived.rego is unrolled to this many org units above an account.
max_depth := 8

# Units whose parent is neither null nor an existing unit (a missing `parent` counts as dangling).
dangling_units(o) := {u |
	some u, unit in o.units
	p := object.get(unit, "parent", "<missing>")
	p != null
	not o.units[p]
}

# Accounts whose parent is not an existing unit (accounts never sit at the top: null is wrong).
dangling_accounts(o) := {a |
	some a, account in o.accounts
	not o.units[object.get(account, "parent", "<missing>")]
}

roots(o) := {u | some u, unit in o.units; unit.parent == null}

# The org units above an account, nearest first, walked one level further than derived.rego's walk
# so that a ninth level shows (this regorus build has no graph.reachable).
chain(o, account) := [u | some u in [l1, l2, l3, l4, l5, l6, l7, l8, l9]; u != null] if {
	l1 := object.get(account, "parent", null)
	l2 := parent_of(o, l1)
	l3 := parent_of(o, l2)
	l4 := parent_of(o, l3)
	l5 := parent_of(o, l4)
	l6 := parent_of(o, l5)
	l7 := parent_of(o, l6)
	l8 := parent_of(o, l7)
	l9 := parent_of(o, l8)
}

parent_of(o, unit) := object.get(object.get(o.units, unit, {}), "parent", null)

# Accounts more than `max_depth` units deep (a cycle looks infinitely deep), or whose walk ends
# anywhere but at a root (a dangling parent, or none).
too_deep(o) := {a |
	some a, account in o.accounts
	count(chain(o, account)) > max_depth
} | {a |
	some a, account in o.accounts
	not ends_at_a_root(o, chain(o, account))
}

ends_at_a_root(o, units) if o.units[units[count(units) - 1]].parent == null

bad_kinds(o) := {a | some a, account in o.accounts; not object.get(account, "kind", null) in kinds}

bad_ids(o) := {a | some a, account in o.accounts; not valid_id(object.get(account, "cloud", null), a)}

valid_id("aws", id) if regex.match(`^[0-9]{12}$`, id)

valid_id("azure", id) if regex.match(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`, id)

# --- the real org ---------------------------------------------------------------------------

test_org_has_units_and_accounts if {
	count(org.units) > 0
	count(org.accounts) > 0
}

test_every_unit_parent_exists if {
	dangling_units(org) == set()
}

test_every_account_parent_exists if {
	dangling_accounts(org) == set()
}

test_exactly_one_root if {
	roots(org) == {"root"}
}

test_every_account_is_within_the_walk if {
	too_deep(org) == set()
}

test_every_account_kind_is_known if {
	bad_kinds(org) == set()
}

test_every_account_id_matches_its_cloud if {
	bad_ids(org) == set()
}

# derived.rego's unrolled walk finds the same units as the graph walk for every account, ending
# at the root.
test_derived_walk_agrees_with_the_graph if {
	every id, account in org.accounts {
		walked := data.governance.derived.accounts[id].ancestors
		walked == chain(org, account)
		walked[0] == account.parent
		org.units[walked[count(walked) - 1]].parent == null
	}
}

# --- the checks find what is planted ----------------------------------------------------------

test_dangling_unit_is_found if {
	broken := object.union(org, {"units": {
		"ou-orphan": {"name": "Orphan", "parent": "ou-gone"},
		"ou-unparented": {"name": "Unparented"},
	}})
	dangling_units(broken) == {"ou-orphan", "ou-unparented"}
}

test_dangling_account_is_found if {
	broken := object.union(org, {"accounts": {
		"777777777777": {"name": "orphan", "cloud": "aws", "kind": "workload", "parent": "ou-gone"},
		"888888888888": {"name": "top", "cloud": "aws", "kind": "workload", "parent": null},
	}})
	dangling_accounts(broken) == {"777777777777", "888888888888"}
}

test_second_root_is_found if {
	broken := object.union(org, {"units": {"root-2": {"name": "Second root", "parent": null}}})
	roots(broken) == {"root", "root-2"}
}

test_missing_root_is_found if {
	broken := object.union(org, {"units": {"root": {"parent": "ou-workloads"}}})
	roots(broken) == set()
}

# u1 (nearest) .. un, where un sits under the real root: an account under u1 has n + 1 units above.
deep_org(n) := object.union(org, {
	"units": {sprintf("u%d", [i]): {"name": sprintf("U%d", [i]), "parent": deep_parent(i, n)} | some i in numbers.range(1, n)},
	"accounts": {"100000000001": {"name": "deep", "cloud": "aws", "kind": "workload", "parent": "u1"}},
})

deep_parent(i, n) := sprintf("u%d", [i + 1]) if i < n

deep_parent(i, n) := "root" if i == n

test_account_eight_levels_deep_is_within_the_walk if {
	too_deep(deep_org(7)) == set()
}

test_account_nine_levels_deep_is_found if {
	too_deep(deep_org(8)) == {"100000000001"}
}

test_cycle_is_found if {
	broken := object.union(org, {
		"units": {"ou-a": {"name": "A", "parent": "ou-b"}, "ou-b": {"name": "B", "parent": "ou-a"}},
		"accounts": {"100000000001": {"name": "looped", "cloud": "aws", "kind": "workload", "parent": "ou-a"}},
	})
	too_deep(broken) == {"100000000001"}
}

test_unknown_kind_is_found if {
	broken := object.union(org, {"accounts": {
		"777777777777": {"name": "x", "cloud": "aws", "kind": "Workload", "parent": "ou-workloads-prod"},
		"888888888888": {"name": "y", "cloud": "aws", "parent": "ou-workloads-prod"},
	}})
	bad_kinds(broken) == {"777777777777", "888888888888"}
}

test_bad_ids_are_found if {
	broken := object.union(org, {"accounts": {
		# 11 digits
		"77777777777": {"name": "a", "cloud": "aws", "kind": "workload", "parent": "ou-workloads-prod"},
		# an AWS id registered as Azure
		"888888888888": {"name": "b", "cloud": "azure", "kind": "workload", "parent": "ou-workloads-prod"},
		# uppercase uuid
		"8F6C1C7E-2F0A-4C53-9A39-5B7D2B6A0C11": {"name": "c", "cloud": "azure", "kind": "workload", "parent": "ou-workloads-prod"},
		# a uuid registered as AWS
		"3c2e0d9a-5b1f-4e7a-9c6d-1a2b3c4d5e6f": {"name": "d", "cloud": "aws", "kind": "workload", "parent": "ou-workloads-prod"},
		# another cloud
		"999999999999": {"name": "e", "cloud": "gcp", "kind": "workload", "parent": "ou-workloads-prod"},
	}})
	bad_ids(broken) == {
		"77777777777",
		"888888888888",
		"8F6C1C7E-2F0A-4C53-9A39-5B7D2B6A0C11",
		"3c2e0d9a-5b1f-4e7a-9c6d-1a2b3c4d5e6f",
		"999999999999",
	}
}

# A walk that ends at a missing unit, or that never starts, does not reach the root.
test_walk_ending_outside_the_org_is_found if {
	broken := object.union(org, {
		"units": {"ou-stray": {"name": "Stray", "parent": "ou-gone"}},
		"accounts": {
			"777777777777": {"name": "stray", "cloud": "aws", "kind": "workload", "parent": "ou-stray"},
			"888888888888": {"name": "top", "cloud": "aws", "kind": "workload", "parent": null},
		},
	})
	too_deep(broken) == {"777777777777", "888888888888"}
}
