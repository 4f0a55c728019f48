package gatehouse.policies.tags_required

import data.gatehouse.lib
import data.gatehouse.lib.spec
import data.gatehouse.lib.ref

tags := object.get(spec, "tags", {})

deny contains lib.violation(
	"tags.required",
	sprintf("spec.tags.%s", [tag]),
	sprintf("required tag `%s` is missing or empty", [tag]),
	{"tag": tag},
) if {
	some tag in ref.required_tags
	lib.is_blank(object.get(tags, tag, ""))
}

deny contains lib.violation(
	"tags.required",
	"spec.tags.data-classification",
	sprintf("tag `data-classification` is `%s`; expected one of %s", [value, concat(", ", ref.data_classifications)]),
	{"value": value, "allowed": ref.data_classifications},
) if {
	value := tags["data-classification"]
	not lib.is_blank(value)
	not value in ref.data_classifications
}
