package gatehouse.policies.residency_pii_eu_test

import data.gatehouse.policies.residency_pii_eu
import data.gatehouse.testdata as td

eu := ["eu-west-1", "eu-central-1", "westeurope", "northeurope"]

classified(i, classification) := td.patched_spec(i, {"tags": {"data-classification": classification}})

test_baseline_is_allowed if {
	count(residency_pii_eu.deny) == 0 with input as td.input_for(td.intent)
}

test_pii_outside_the_eu_on_aws_is_denied if {
	residency_pii_eu.deny == {{
		"policy": "residency.pii-eu",
		"path": "spec.target.region",
		"message": "service handles pii but region `us-east-1` is outside the EU; EU regions: eu-west-1, eu-central-1, westeurope, northeurope",
		"evidence": {"value": "us-east-1", "allowed": eu},
	}} with input as td.input_for(td.aws("prod", "us-east-1"))
}

test_pii_outside_the_eu_on_azure_is_denied if {
	residency_pii_eu.deny == {{
		"policy": "residency.pii-eu",
		"path": "spec.target.location",
		"message": "service handles pii but region `eastus` is outside the EU; EU regions: eu-west-1, eu-central-1, westeurope, northeurope",
		"evidence": {"value": "eastus", "allowed": eu},
	}} with input as td.input_for(td.azure("prod", "eastus"))
}

test_pii_in_every_eu_region_is_allowed if {
	every r in ["eu-west-1", "eu-central-1"] {
		count(residency_pii_eu.deny) == 0 with input as td.input_for(td.aws("prod", r))
	}
	every l in ["westeurope", "northeurope"] {
		count(residency_pii_eu.deny) == 0 with input as td.input_for(td.azure("prod", l))
	}
}

test_pii_outside_the_eu_is_denied_in_every_environment if {
	every environment in ["dev", "staging"] {
		some v in residency_pii_eu.deny with input as td.input_for(td.aws(environment, "us-east-1"))
		v.path == "spec.target.region"
	}
	some v in residency_pii_eu.deny with input as td.input_for(td.azure("dev", "westus2"))
	v.path == "spec.target.location"
	v.evidence.value == "westus2"
}

test_other_classifications_may_leave_the_eu if {
	every c in ["public", "internal", "confidential"] {
		count(residency_pii_eu.deny) == 0 with input as td.input_for(classified(td.aws("prod", "us-east-1"), c))
		count(residency_pii_eu.deny) == 0 with input as td.input_for(classified(td.azure("prod", "eastus"), c))
	}
}

# An intent without the tag is not treated as pii (`tags.required` reports the missing tag).
test_missing_classification_is_not_checked if {
	i := json.remove(td.aws("prod", "us-east-1"), ["spec/tags/data-classification"])
	count(residency_pii_eu.deny) == 0 with input as td.input_for(i)
}
