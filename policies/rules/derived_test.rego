package gatehouse.derived_test

import data.governance.derived

# --- accounts: the walk and what each account inherits -----------------------------------------

test_a_prod_account_inherits_from_its_ou_and_the_root if {
	derived.accounts["444444444444"] == {
		"account": data.governance.org.accounts["444444444444"],
		"ancestors": ["ou-workloads-prod", "ou-workloads", "root"],
		"allowed_environments": [{"unit": "ou-workloads-prod", "allowed": ["prod"]}],
		"denied_regions": [
			{"unit": "root", "pattern": "ap-*", "prefix": "ap-", "max_length": 1000000000},
			{"unit": "root", "pattern": "sa-*", "prefix": "sa-", "max_length": 1000000000},
		],
		"denied_resource_types": [],
		"deny_public_resources": [],
	}
}

test_the_sandbox_denies_databases_and_public_resources if {
	sandbox := derived.accounts["666666666666"]
	sandbox.ancestors == ["ou-sandbox", "root"]
	sandbox.allowed_environments == [{"unit": "ou-sandbox", "allowed": ["dev"]}]
	sandbox.denied_resource_types == [{"unit": "ou-sandbox", "pattern": "database.*", "prefix": "database.", "max_length": 1000000000}]
	sandbox.deny_public_resources == ["ou-sandbox"]
}

test_an_account_under_the_root if {
	derived.accounts["000000000000"].ancestors == ["root"]
}

test_every_account_is_derived if {
	{id | some id, _ in derived.accounts} == {id | some id, _ in data.governance.org.accounts}
}

# Patterns without `*` match only themselves.
test_exact_patterns if {
	org := object.union(data.governance.org, {"units": {"root": {"guardrails": {"denied_regions": ["eu-south-1"]}}}})
	derived.accounts["000000000000"].denied_regions == [{"unit": "root", "pattern": "eu-south-1", "prefix": "eu-south-1", "max_length": 10}] with data.governance.org as org
}

# An account without a parent (or whose parent is missing) sits under nothing.
test_accounts_without_a_parent_inherit_nothing if {
	org := object.union(data.governance.org, {"accounts": {"777777777777": {"name": "loose", "cloud": "aws", "kind": "workload"}}})
	loose := derived.accounts["777777777777"] with data.governance.org as org
	loose.ancestors == []
	loose.denied_regions == []
}

# A chain of `n` org units u1 (nearest) .. un (the root) with one account under u1.
chain(n) := {
	"units": {sprintf("u%d", [i]): {"name": sprintf("U%d", [i]), "parent": parent(i, n), "guardrails": {"denied_regions": [sprintf("r%d", [i])]}} |
		some i in numbers.range(1, n)
	},
	"accounts": {"100000000001": {"name": "deep", "cloud": "aws", "kind": "workload", "parent": "u1"}},
}

parent(i, n) := sprintf("u%d", [i + 1]) if i < n

parent(i, n) := null if i == n

test_walk_reaches_the_root_eight_levels_up if {
	org := chain(8)
	deep := derived.accounts["100000000001"] with data.governance.org as org
	deep.ancestors == ["u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8"]
	deep.denied_regions[7] == {"unit": "u8", "pattern": "r8", "prefix": "r8", "max_length": 2}
}

# The walk is unrolled to 8 levels: a ninth is not seen. org_data_test.rego keeps the real org
# within that depth.
test_walk_stops_after_eight_levels if {
	org := chain(9)
	deep := derived.accounts["100000000001"] with data.governance.org as org
	deep.ancestors == ["u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8"]
}

# --- registries and freezes ------------------------------------------------------------------

test_registry_prefixes_end_in_a_slash if {
	derived.registry_prefixes == ["registry.example.com/", "ghcr.io/acme/", "acmeprod.azurecr.io/"]
}

test_freezes_carry_their_instants if {
	first := derived.freezes[0]
	first.freeze == data.governance.release.freezes[0]
	first.start_ns == time.parse_rfc3339_ns("2026-12-18T00:00:00Z")
	first.end_ns == 1799020800000000000
	count(derived.freezes) == count(data.governance.release.freezes)
}
