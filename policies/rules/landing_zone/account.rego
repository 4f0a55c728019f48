package gatehouse.policies.landing_zone_account

import data.gatehouse.lib
import data.gatehouse.lib.account
import data.gatehouse.lib.account_id
import data.gatehouse.lib.account_path
import data.gatehouse.lib.cloud

deny contains lib.violation(
	"landing-zone.account-known",
	account_path,
	sprintf("%s account `%s` is not part of the organisation", [cloud, account_id]),
	{"value": account_id},
) if {
	not account
}

deny contains lib.violation(
	"landing-zone.account-known",
	"spec.target.cloud",
	sprintf("account `%s` (%s) is registered as %s, but the intent targets %s", [account_id, account.name, account.cloud, cloud]),
	{"value": cloud, "expected": account.cloud, "account": account_id},
) if {
	account.cloud != cloud
}

deny contains lib.violation(
	"landing-zone.account-kind",
	account_path,
	sprintf("account `%s` (%s) is a %s account; only workload accounts accept deployments", [account_id, account.name, account.kind]),
	{"value": account.kind, "allowed": ["workload"], "account": account_id},
) if {
	account.kind != "workload"
}
