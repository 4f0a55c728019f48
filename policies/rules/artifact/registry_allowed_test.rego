package gatehouse.policies.artifact_registry_allowed_test

import data.gatehouse.policies.artifact_registry_allowed
import data.gatehouse.testdata as td

pinned(repo) := concat("", [repo, "@sha256:", td.digest])

artifact(a) := td.input_for(td.spec_with({"artifact": a}))

refused(a) := {
	"policy": "artifact.registry-allowed",
	"path": "spec.artifact",
	"message": sprintf("artifact `%s` is not from an approved registry; approved: registry.example.com, ghcr.io/acme, acmeprod.azurecr.io", [a]),
	"evidence": {"value": a, "allowed": ["registry.example.com", "ghcr.io/acme", "acmeprod.azurecr.io"]},
}

test_baseline_is_allowed if {
	count(artifact_registry_allowed.deny) == 0 with input as td.input_for(td.intent)
}

test_every_approved_registry_is_allowed if {
	every repo in ["registry.example.com/payments/api", "ghcr.io/acme/payments-api", "acmeprod.azurecr.io/payments/api"] {
		count(artifact_registry_allowed.deny) == 0 with input as artifact(pinned(repo))
	}
}

test_unapproved_registry_is_denied if {
	a := pinned("docker.io/library/nginx")
	artifact_registry_allowed.deny == {refused(a)} with input as artifact(a)
}

# Registries match on a whole path segment: `ghcr.io/acme` does not approve `ghcr.io/acmeevil`.
test_organisation_look_alike_is_denied if {
	a := pinned("ghcr.io/acmeevil/x")
	artifact_registry_allowed.deny == {refused(a)} with input as artifact(a)
}

test_host_look_alikes_are_denied if {
	every repo in [
		"registry.example.com.evil.io/payments/api",
		"registry.example.community/payments/api",
		"acmeprod.azurecr.io.attacker.net/api",
		"evil.azurecr.io/acmeprod.azurecr.io/api",
		"ghcr.io/evil/ghcr.io/acme/api",
	] {
		a := pinned(repo)
		artifact_registry_allowed.deny == {refused(a)} with input as artifact(a)
	}
}

test_other_organisation_on_an_approved_host_is_denied if {
	a := pinned("ghcr.io/other/payments-api")
	artifact_registry_allowed.deny == {refused(a)} with input as artifact(a)
}

# A port makes it a different registry endpoint.
test_registry_with_port_is_denied if {
	a := pinned("registry.example.com:5000/payments/api")
	artifact_registry_allowed.deny == {refused(a)} with input as artifact(a)
}

# `ghcr.io/acme` alone is the repository `acme` on ghcr.io, not an image under the acme org.
test_registry_name_alone_is_denied if {
	artifact_registry_allowed.deny == {refused("ghcr.io/acme")} with input as artifact("ghcr.io/acme")
}

# Registry approval does not depend on pinning; unpinned images are `artifact.pinned`'s concern.
test_unpinned_image_from_approved_registry_is_allowed if {
	count(artifact_registry_allowed.deny) == 0 with input as artifact("ghcr.io/acme/payments-api:1.4.2")
}
