package gatehouse.policies.change_freeze_test

import data.gatehouse.policies.change_freeze
import data.gatehouse.testdata as td

year_end := {"start": "2026-12-18T00:00:00Z", "end": "2027-01-04T00:00:00Z", "reason": "Year-end change freeze"}

quarter_close := {"start": "2027-03-29T00:00:00Z", "end": "2027-04-02T00:00:00Z", "reason": "Quarter-close freeze for payments"}

# The baseline intent in `environment`, decided at `now`.
at(environment, now) := {"intent": td.spec_with({"environment": environment}), "context": {"now": now}}

frozen(now, freeze) := {
	"policy": "change.freeze",
	"path": "spec.environment",
	"message": sprintf("prod is frozen from %s to %s (%s)", [freeze.start, freeze.end, freeze.reason]),
	"evidence": {"value": now, "freeze": freeze},
}

test_prod_outside_a_freeze_is_allowed if {
	count(change_freeze.deny) == 0 with input as td.input_for(td.intent)
	count(change_freeze.deny) == 0 with input as at("prod", "2026-12-10T12:00:00Z")
}

test_prod_inside_the_year_end_freeze_is_denied if {
	change_freeze.deny == {{
		"policy": "change.freeze",
		"path": "spec.environment",
		"message": "prod is frozen from 2026-12-18T00:00:00Z to 2027-01-04T00:00:00Z (Year-end change freeze)",
		"evidence": {
			"value": "2026-12-24T09:30:00Z",
			"freeze": {"start": "2026-12-18T00:00:00Z", "end": "2027-01-04T00:00:00Z", "reason": "Year-end change freeze"},
		},
	}} with input as at("prod", "2026-12-24T09:30:00Z")
}

test_prod_inside_the_quarter_close_freeze_is_denied if {
	change_freeze.deny == {frozen("2027-03-31T23:00:00Z", quarter_close)} with input as at("prod", "2027-03-31T23:00:00Z")
}

test_prod_between_the_freezes_is_allowed if {
	count(change_freeze.deny) == 0 with input as at("prod", "2027-02-15T12:00:00Z")
}

# --- boundaries: the start is inclusive, the end exclusive ----------------------------------

test_freeze_starts_at_its_start if {
	change_freeze.deny == {frozen("2026-12-18T00:00:00Z", year_end)} with input as at("prod", "2026-12-18T00:00:00Z")
}

test_one_nanosecond_before_the_start_is_allowed if {
	count(change_freeze.deny) == 0 with input as at("prod", "2026-12-17T23:59:59.999999999Z")
}

test_freeze_holds_until_just_before_its_end if {
	change_freeze.deny == {frozen("2027-01-03T23:59:59.999999999Z", year_end)} with input as at("prod", "2027-01-03T23:59:59.999999999Z")
}

test_freeze_is_over_at_its_end if {
	count(change_freeze.deny) == 0 with input as at("prod", "2027-01-04T00:00:00Z")
}

# Instants compare as instants, whatever the offset they are written in.
test_offset_inside_the_freeze_is_denied if {
	# 2026-12-18T00:30:00Z
	change_freeze.deny == {frozen("2026-12-17T23:30:00-01:00", year_end)} with input as at("prod", "2026-12-17T23:30:00-01:00")
}

test_offset_before_the_freeze_is_allowed if {
	# 2026-12-17T23:30:00Z
	count(change_freeze.deny) == 0 with input as at("prod", "2026-12-18T00:30:00+01:00")
}

# --- only frozen environments -----------------------------------------------------------------

test_dev_and_staging_are_not_frozen if {
	every environment in ["dev", "staging"] {
		count(change_freeze.deny) == 0 with input as at(environment, "2026-12-24T09:30:00Z")
	}
}

test_frozen_environments_come_from_the_data if {
	environments := ["prod", "staging"]
	some v in change_freeze.deny with input as at("staging", "2026-12-24T09:30:00Z")
		with data.governance.release.frozen_environments as environments
	v.policy == "change.freeze"
	v.path == "spec.environment"
	v.message == "staging is frozen from 2026-12-18T00:00:00Z to 2027-01-04T00:00:00Z (Year-end change freeze)"
	count(change_freeze.deny) == 0 with input as at("dev", "2026-12-24T09:30:00Z")
		with data.governance.release.frozen_environments as environments
}

# --- several windows ------------------------------------------------------------------------

overlapping := [
	{"start": "2026-12-01T00:00:00Z", "end": "2026-12-31T00:00:00Z", "reason": "December"},
	{"start": "2026-12-20T00:00:00Z", "end": "2026-12-27T00:00:00Z", "reason": "Holidays"},
]

test_overlapping_freezes_are_each_reported if {
	freezes := overlapping
	change_freeze.deny == {
		frozen("2026-12-24T00:00:00Z", freezes[0]),
		frozen("2026-12-24T00:00:00Z", freezes[1]),
	} with input as at("prod", "2026-12-24T00:00:00Z")
		with data.governance.release.freezes as freezes
}

test_only_the_freezes_in_force_are_reported if {
	freezes := overlapping
	change_freeze.deny == {frozen("2026-12-05T00:00:00Z", freezes[0])} with input as at("prod", "2026-12-05T00:00:00Z")
		with data.governance.release.freezes as freezes
}

test_no_freezes_allow_everything if {
	count(change_freeze.deny) == 0 with input as at("prod", "2026-12-24T09:30:00Z")
		with data.governance.release.freezes as []
}
