package gatehouse.lib_test

import data.gatehouse.lib
import data.gatehouse.testdata as td

test_region_is_region_on_aws if {
	lib.region == "eu-west-1" with input as td.input_for(td.intent)
	lib.region_path == "spec.target.region" with input as td.input_for(td.intent)
}

test_region_is_location_on_azure if {
	lib.region == "westeurope" with input as td.input_for(td.azure_intent)
	lib.region_path == "spec.target.location" with input as td.input_for(td.azure_intent)
}

# The Azure fixture must not keep the AWS fields, or the region tests above would prove nothing.
test_azure_fixture_has_only_azure_target_fields if {
	td.azure_intent.spec.target == {"cloud": "azure", "subscription": "0b1f6471-1bf0-4dda-aec3-cb9272f09590", "location": "westeurope"}
}

test_approvals_combine_intent_and_context if {
	from_context := [{"by": "dave@example.com", "role": "finops-approver"}]
	lib.approvals == [{"by": "bob@example.com", "role": "release-approver"}, {"by": "dave@example.com", "role": "finops-approver"}] with input as td.input_with_approvals(td.intent, from_context)
}

test_approvals_default_to_empty if {
	lib.approvals == [] with input as {"intent": td.without(["spec/approvals"]), "context": {"now": "2026-11-23T10:00:00Z"}}
	lib.approvals == [] with input as {"intent": td.without(["spec/approvals"])}
}

test_resource_path if {
	lib.resource_path(3, "size") == "spec.resources[3].size"
}

test_is_blank if {
	lib.is_blank("")
	lib.is_blank(" \t\n")
	not lib.is_blank("x")
	not lib.is_blank(" x ")
}

test_violation_shape if {
	lib.violation("p", "spec.x", "m", {"e": 1}) == {"policy": "p", "path": "spec.x", "message": "m", "evidence": {"e": 1}}
}
