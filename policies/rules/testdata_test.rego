# Shared fixtures for the policy unit tests. The file name ends in `_test.rego` so the bundle
# treats it as test code: it is loaded by `gatehouse test` but is not part of the decision bundle.
#
# `intent` is the allowed production example (`policies/examples/payments-api-prod-allowed.yaml`);
# tests derive variants with `object.union` (deep merge; arrays are replaced whole) and
# `json.remove` (`json.patch` is not compiled into our regorus build).
#
# regorus 0.14.1 quirk: a rule evaluated while computing a `with` value is undefined in the rest of
# that statement (`x := r with input as {"a": r}` fails). Compute inputs that use a rule in a local
# variable first when the statement's own expression also uses that rule.
package gatehouse.testdata

requester := "alice@example.com"

# A 64-digit lowercase hex sha256 digest.
digest := "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

artifact := concat("", ["registry.example.com/payments/api@sha256:", digest])

intent := {
	"apiVersion": "gatehouse.dev/v1",
	"kind": "DeploymentIntent",
	"metadata": {
		"name": "payments-api-2026-11-23-1",
		"requested_by": requester,
		"change_ticket": "CHG-12345",
	},
	"spec": {
		"service": "payments-api",
		"version": "1.4.2",
		"artifact": artifact,
		"environment": "prod",
		"target": {"cloud": "aws", "account": "444444444444", "region": "eu-west-1"},
		"resources": [
			{"type": "compute.instance", "name": "api", "size": "m5.large", "count": 3},
			{"type": "database.postgres", "name": "db", "size": "db.r6g.large", "encrypted": true, "public": false},
		],
		"tags": {"owner": "team-payments", "cost-center": "CC-1042", "data-classification": "pii"},
		"estimated_monthly_cost": 1840.5,
		"strategy": "rolling",
	},
}

# The same deployment on Azure (`subscription` and `location` instead of `account` and `region`).
azure_intent := object.union(json.remove(intent, ["spec/target"]), {"spec": {"target": {
	"cloud": "azure",
	"subscription": "0b1f6471-1bf0-4dda-aec3-cb9272f09590",
	"location": "westeurope",
}}})

context := {"now": "2026-11-23T10:00:00Z"}

# The policy input for an intent, with a context that records no approvals.
input_for(i) := {"intent": i, "context": context}

# The policy input for an intent, with approvals a trusted party recorded (the control plane, a
# pull request review, the caller).
input_with_approvals(i, approvals) := {"intent": i, "context": object.union(context, {"approvals": approvals})}

# The baseline intent with `patch` deep-merged into `spec` / `metadata`.
spec_with(patch) := object.union(intent, {"spec": patch})

metadata_with(patch) := object.union(intent, {"metadata": patch})

# An intent with `patch` deep-merged into `spec`, starting from `base`.
patched_spec(base, patch) := object.union(base, {"spec": patch})

# The baseline intent with `spec.<key>` replaced by `value` (no merge: `object.union` would keep
# the old keys of an object value).
spec_replaced(key, value) := object.union(json.remove(intent, [concat("/", ["spec", key])]), {"spec": {key: value}})

# The baseline intent without the fields at the given JSON-pointer-like paths (e.g. "spec/tags/owner").
without(paths) := json.remove(intent, paths)

# An AWS intent in `environment`/`region`.
aws(environment, region) := spec_with({"environment": environment, "target": {"region": region}})

# An Azure intent in `environment`/`location`.
azure(environment, location) := patched_spec(azure_intent, {"environment": environment, "target": {"location": location}})

# The baseline intent with its resources replaced.
with_resources(resources) := spec_with({"resources": resources})
