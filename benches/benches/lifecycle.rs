//! The lifecycle event chain: appending events (hash each one) and verifying stored chains of
//! 1k, 100k and 1M events (target: at least 1M events/s verified), plus replay (verify and fold).
#![expect(
    clippy::expect_used,
    reason = "a benchmark with a broken fixture should stop at once"
)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use gatehouse_benches::{chain, next_event, sizes};
use gatehouse_core::{DeploymentStatus, replay, verify_chain};

fn lifecycle(c: &mut Criterion) {
    let mut group = c.benchmark_group("chain");
    for n in sizes([1_000, 100_000, 1_000_000], 1) {
        if n >= 100_000 {
            group.sample_size(10);
            group.measurement_time(Duration::from_secs(if n >= 1_000_000 { 30 } else { 10 }));
        }
        group.throughput(Throughput::Elements(n as u64));
        let events = chain(n);
        group.bench_with_input(BenchmarkId::new("verify", n), &events, |b, events| {
            b.iter(|| {
                verify_chain(black_box(events)).expect("chain verifies");
            });
        });
        group.bench_with_input(BenchmarkId::new("replay", n), &events, |b, events| {
            b.iter(|| {
                let status = replay(black_box(events)).expect("chain replays");
                assert_eq!(status.last_seq, n as u64);
                black_box(status)
            });
        });
        // Appending: from the status after the chain's first event, append n - 1 events.
        let head = events.first().expect("a chain has a first event");
        let first = DeploymentStatus {
            deployment_id: head.deployment_id.clone(),
            state: gatehouse_core::State::Requested,
            last_seq: 1,
            last_hash: head.hash.clone(),
            last_at: head.at,
        };
        let new_events: Vec<_> = (1..n).map(next_event).collect();
        group.bench_with_input(
            BenchmarkId::new("append", n),
            &new_events,
            |b, new_events| {
                b.iter_batched(
                    || new_events.clone(),
                    |new_events| {
                        let mut status = first.clone();
                        for new in new_events {
                            let (next, event) = status.append(new).expect("legal transition");
                            status = next;
                            black_box(event);
                        }
                        assert_eq!(status.last_seq, n as u64);
                        status
                    },
                    criterion::BatchSize::PerIteration,
                );
            },
        );
    }
    group.finish();
}

criterion_group!(benches, lifecycle);
criterion_main!(benches);
