//! Decision attestations: making and signing one statement (statement + DSSE envelope, ed25519)
//! and verifying one envelope (signature, types, subject digest, environment, verifier, result),
//! with the test-only key pair of `core/tests/fixtures/test-only-keys/`.
#![expect(
    clippy::expect_used,
    reason = "a benchmark with a broken fixture should stop at once"
)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use gatehouse_core::attestation::{self, DecisionFacts, Expectation, VerificationResult};
use gatehouse_core::{BundleInfo, SigningKey, Timestamp, TrustedKey};

const PRIVATE: &str = include_str!("../../core/tests/fixtures/test-only-keys/trusted.pem");
const PUBLIC: &str = include_str!("../../core/tests/fixtures/test-only-keys/trusted.pub.pem");
const ARTIFACT: &str = "registry.example.com/payments/api@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

fn facts() -> DecisionFacts {
    DecisionFacts {
        verifier_id: "https://gatehouse.example.com".to_owned(),
        time_verified: Timestamp::parse("2026-12-07T10:00:00Z").expect("timestamp"),
        artifact: ARTIFACT.to_owned(),
        environment: "prod".to_owned(),
        decision_id: "0193a5b2-7c1d-7e00-8000-000000000001".to_owned(),
        outcome: "allow".to_owned(),
        stage: "admission".to_owned(),
        intent_digest: "sha256:5b2c1d7e9f0a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4"
            .to_owned(),
        bundle: BundleInfo {
            name: "gatehouse-reference".to_owned(),
            revision: "2026.12.07".to_owned(),
            digest: "sha256:aa3c2b1a0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4cff"
                .to_owned(),
        },
        policy_uri: "https://gatehouse.example.com/v1/bundle".to_owned(),
    }
}

fn attestations(c: &mut Criterion) {
    let key = SigningKey::from_pem(PRIVATE).expect("test key");
    let trusted = [TrustedKey::from_pem(PUBLIC).expect("test public key")];
    let facts = facts();
    let mut group = c.benchmark_group("attestation");
    group.bench_function("sign", |b| {
        b.iter(|| {
            let statement = attestation::statement(black_box(&facts)).expect("pinned artifact");
            let envelope = attestation::sign(&statement, black_box(&key)).expect("statement signs");
            assert_eq!(envelope.signatures.len(), 1);
            envelope.to_json()
        });
    });
    let envelope = attestation::sign(
        &attestation::statement(&facts).expect("pinned artifact"),
        &key,
    )
    .expect("statement signs")
    .to_json();
    let expect = Expectation {
        artifact: ARTIFACT,
        environment: Some("prod"),
        verifier_id: Some("https://gatehouse.example.com"),
    };
    group.bench_function("verify", |b| {
        b.iter(|| {
            let statement = attestation::verify(black_box(&envelope), &trusted, &expect)
                .expect("the attestation verifies");
            assert_eq!(
                statement.predicate.verification_result,
                VerificationResult::Passed
            );
            statement
        });
    });
    group.finish();
}

criterion_group!(benches, attestations);
criterion_main!(benches);
