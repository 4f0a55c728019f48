package gatehouse.policies.tags_required

deny contains {
	"policy": "tags.required",
	"path": sprintf("spec.tags.%s", [tag]),
	"message": sprintf("required tag `%s` is missing or empty", [tag]),
	"evidence": {"tag": tag},
} if {
	tags := object.get(input.intent.spec, "tags", {})
	some tag in data.governance.reference.required_tags
	trim_space(object.get(tags, tag, "")) == ""
}

deny contains {
	"policy": "tags.required",
	"path": "spec.tags.data-classification",
	"message": sprintf("tag `data-classification` is `%s`; expected one of %s", [value, concat(", ", allowed)]),
	"evidence": {"value": value, "allowed": allowed},
} if {
	tags := object.get(input.intent.spec, "tags", {})
	value := tags["data-classification"]
	trim_space(value) != ""
	allowed := data.governance.reference.data_classifications
	not value in allowed
}
