package gatehouse.policies.artifact_pinned_test

import data.gatehouse.policies.artifact_pinned
import data.gatehouse.testdata as td

artifact(a) := td.input_for(td.spec_with({"artifact": a}))

unpinned(a) := {
	"policy": "artifact.pinned",
	"path": "spec.artifact",
	"message": sprintf("artifact `%s` is not pinned by a sha256 digest", [a]),
	"evidence": {"value": a},
}

repo := "registry.example.com/payments/api"

test_baseline_is_allowed if {
	count(artifact_pinned.deny) == 0 with input as td.input_for(td.intent)
}

test_tag_only_is_denied if {
	a := concat("", [repo, ":1.4.2"])
	artifact_pinned.deny == {unpinned(a)} with input as artifact(a)
}

test_bare_repository_is_denied if {
	a := repo
	artifact_pinned.deny == {unpinned(a)} with input as artifact(a)
}

test_tag_and_digest_is_allowed if {
	count(artifact_pinned.deny) == 0 with input as artifact(concat("", [repo, ":1.4.2@sha256:", td.digest]))
}

# OCI digests are lowercase hex; an uppercase digest is not a valid pin (the schema accepts it).
test_uppercase_hex_digest_is_denied if {
	a := concat("", [repo, "@sha256:", upper(td.digest)])
	artifact_pinned.deny == {unpinned(a)} with input as artifact(a)
}

test_one_uppercase_hex_digit_is_denied if {
	a := concat("", [repo, "@sha256:", "9F86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"])
	artifact_pinned.deny == {unpinned(a)} with input as artifact(a)
}

test_short_digest_is_denied if {
	a := concat("", [repo, "@sha256:", substring(td.digest, 0, 63)])
	artifact_pinned.deny == {unpinned(a)} with input as artifact(a)
}

test_long_digest_is_denied if {
	a := concat("", [repo, "@sha256:", td.digest, "0"])
	artifact_pinned.deny == {unpinned(a)} with input as artifact(a)
}

test_non_hex_digest_is_denied if {
	a := concat("", [repo, "@sha256:", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a0g"])
	artifact_pinned.deny == {unpinned(a)} with input as artifact(a)
}

test_non_hex_inside_the_digest_is_denied if {
	a := concat("", [repo, "@sha256:", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2-0b822cd15d6c15b0f00a08"])
	count(split(a, "@sha256:")[1]) == 64
	artifact_pinned.deny == {unpinned(a)} with input as artifact(a)
}

test_other_algorithms_are_denied if {
	a := concat("", [repo, "@sha512:", td.digest, td.digest])
	artifact_pinned.deny == {unpinned(a)} with input as artifact(a)
}

test_two_digests_are_denied if {
	a := concat("", [repo, "@sha256:", td.digest, "@sha256:", td.digest])
	artifact_pinned.deny == {unpinned(a)} with input as artifact(a)
}

# The policy reports in every environment; the catalogue downgrades it to advisory in dev.
test_unpinned_artifact_is_reported_in_dev_too if {
	a := concat("", [repo, ":latest"])
	every environment in ["dev", "staging", "prod"] {
		artifact_pinned.deny == {unpinned(a)} with input as td.input_for(td.spec_with({"environment": environment, "artifact": a}))
	}
}

test_pinned_artifact_is_allowed_in_dev if {
	count(artifact_pinned.deny) == 0 with input as td.input_for(td.spec_with({"environment": "dev"}))
}
