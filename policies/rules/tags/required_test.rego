package gatehouse.policies.tags_required_test

import data.gatehouse.policies.tags_required
import data.gatehouse.testdata as td

missing(tag) := {
	"policy": "tags.required",
	"path": sprintf("spec.tags.%s", [tag]),
	"message": sprintf("required tag `%s` is missing or empty", [tag]),
	"evidence": {"tag": tag},
}

bad_classification(value) := {
	"policy": "tags.required",
	"path": "spec.tags.data-classification",
	"message": sprintf("tag `data-classification` is `%s`; expected one of public, internal, confidential, pii", [value]),
	"evidence": {"value": value, "allowed": ["public", "internal", "confidential", "pii"]},
}

test_baseline_is_allowed if {
	count(tags_required.deny) == 0 with input as td.input_for(td.intent)
}

test_missing_owner_is_denied if {
	tags_required.deny == {missing("owner")} with input as td.input_for(td.without(["spec/tags/owner"]))
}

test_missing_cost_center_is_denied if {
	tags_required.deny == {missing("cost-center")} with input as td.input_for(td.without(["spec/tags/cost-center"]))
}

test_empty_owner_is_denied if {
	tags_required.deny == {missing("owner")} with input as td.input_for(td.spec_with({"tags": {"owner": ""}}))
}

test_whitespace_cost_center_is_denied if {
	tags_required.deny == {missing("cost-center")} with input as td.input_for(td.spec_with({"tags": {"cost-center": " \t "}}))
}

# A missing classification is reported once, as missing, not also as an unknown value.
test_missing_classification_is_denied_once if {
	tags_required.deny == {missing("data-classification")} with input as td.input_for(td.without(["spec/tags/data-classification"]))
}

test_blank_classification_is_denied_once if {
	tags_required.deny == {missing("data-classification")} with input as td.input_for(td.spec_with({"tags": {"data-classification": "  "}}))
}

test_no_tags_denies_every_required_tag if {
	denied := tags_required.deny with input as td.input_for(td.spec_replaced("tags", {}))
	denied == {missing("owner"), missing("cost-center"), missing("data-classification")}
}

test_unknown_classification_is_denied if {
	tags_required.deny == {bad_classification("secret")} with input as td.input_for(td.spec_with({"tags": {"data-classification": "secret"}}))
}

# Classification values are compared exactly: `PII` is not `pii`.
test_uppercase_classification_is_denied if {
	tags_required.deny == {bad_classification("PII")} with input as td.input_for(td.spec_with({"tags": {"data-classification": "PII"}}))
}

test_every_known_classification_is_allowed if {
	every c in ["public", "internal", "confidential", "pii"] {
		count(tags_required.deny) == 0 with input as td.input_for(td.spec_with({"tags": {"data-classification": c}}))
	}
}

test_extra_tags_are_allowed if {
	count(tags_required.deny) == 0 with input as td.input_for(td.spec_with({"tags": {"team": "payments", "tier": ""}}))
}

test_missing_owner_and_bad_classification_are_both_denied if {
	i := json.remove(td.spec_with({"tags": {"data-classification": "secret"}}), ["spec/tags/owner"])
	tags_required.deny == {missing("owner"), bad_classification("secret")} with input as td.input_for(i)
}
