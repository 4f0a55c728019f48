package gatehouse.policies.region_allowed_test

import data.gatehouse.policies.region_allowed
import data.gatehouse.testdata as td

aws_prod := ["us-east-1", "eu-west-1", "eu-central-1"]

azure_prod := ["eastus", "westeurope", "northeurope"]

test_baseline_is_allowed if {
	count(region_allowed.deny) == 0 with input as td.input_for(td.intent)
}

test_aws_region_outside_the_prod_list_is_denied if {
	region_allowed.deny == {{
		"policy": "region.allowed",
		"path": "spec.target.region",
		"message": "region `us-west-2` is not allowed for aws prod; allowed: us-east-1, eu-west-1, eu-central-1",
		"evidence": {"value": "us-west-2", "allowed": aws_prod},
	}} with input as td.input_for(td.aws("prod", "us-west-2"))
}

# us-west-2 is a dev-only region: the list depends on the environment.
test_aws_dev_only_region_is_allowed_in_dev if {
	count(region_allowed.deny) == 0 with input as td.input_for(td.aws("dev", "us-west-2"))
}

test_aws_dev_only_region_is_denied_in_staging if {
	some v in region_allowed.deny with input as td.input_for(td.aws("staging", "us-west-2"))
	v.policy == "region.allowed"
	v.path == "spec.target.region"
	v.evidence == {"value": "us-west-2", "allowed": ["us-east-1", "eu-west-1", "eu-central-1"]}
	contains(v.message, "aws staging")
}

test_unknown_aws_region_is_denied_in_dev if {
	some v in region_allowed.deny with input as td.input_for(td.aws("dev", "ap-southeast-2"))
	v.path == "spec.target.region"
	v.evidence.value == "ap-southeast-2"
}

test_every_aws_prod_region_is_allowed if {
	every r in aws_prod {
		count(region_allowed.deny) == 0 with input as td.input_for(td.aws("prod", r))
	}
}

# Azure targets name the region `location`; the violation points there.
test_azure_baseline_is_allowed if {
	count(region_allowed.deny) == 0 with input as td.input_for(td.azure_intent)
}

test_every_azure_prod_location_is_allowed if {
	every l in azure_prod {
		count(region_allowed.deny) == 0 with input as td.input_for(td.azure("prod", l))
	}
}

test_azure_location_outside_the_prod_list_is_denied if {
	region_allowed.deny == {{
		"policy": "region.allowed",
		"path": "spec.target.location",
		"message": "region `westus2` is not allowed for azure prod; allowed: eastus, westeurope, northeurope",
		"evidence": {"value": "westus2", "allowed": azure_prod},
	}} with input as td.input_for(td.azure("prod", "westus2"))
}

test_azure_dev_only_location_is_allowed_in_dev if {
	count(region_allowed.deny) == 0 with input as td.input_for(td.azure("dev", "westus2"))
}

test_unknown_azure_location_is_denied_in_dev if {
	some v in region_allowed.deny with input as td.input_for(td.azure("dev", "southeastasia"))
	v.policy == "region.allowed"
	v.path == "spec.target.location"
	v.evidence == {"value": "southeastasia", "allowed": ["eastus", "westus2", "westeurope", "northeurope"]}
}
