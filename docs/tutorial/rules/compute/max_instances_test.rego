package gatehouse.policies.compute_max_instances_test

import data.gatehouse.policies.compute_max_instances

intent(env, count) := {"spec": {
	"environment": env,
	"resources": [{"type": "compute.instance", "name": "api", "size": "t3.small", "count": count}],
}}

test_within_the_limit_is_allowed if {
	count(compute_max_instances.deny) == 0 with input as {"intent": intent("dev", 3)}
}

test_over_the_limit_is_denied if {
	some v in compute_max_instances.deny with input as {"intent": intent("dev", 4)}
	v.policy == "compute.max-instances"
	v.path == "spec.resources[0].count"
	v.evidence == {"value": 4, "limit": 3, "resource": "api"}
}

test_prod_has_a_higher_limit if {
	count(compute_max_instances.deny) == 0 with input as {"intent": intent("prod", 40)}
}
