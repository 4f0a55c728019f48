//! Preparation costs: loading and compiling a bundle (cold start: parse every module and data
//! file, compile, first evaluation), from memory and from a directory, and whole `gatehouse
//! check` processes: one intent (target: at most 20 ms), and 100 intents with one thread and with
//! two (`--jobs`; target: two at least 1.8x as fast).
//!
//! The process benchmark runs the release `gatehouse` binary next to this benchmark
//! (`<target>/release/gatehouse`, built by `scripts/bench.sh`) or `$GATEHOUSE_BIN`; without one it
//! is skipped with a note.
#![expect(
    clippy::expect_used,
    clippy::print_stderr,
    reason = "a benchmark with a broken fixture should stop at once; the skip note goes to stderr"
)]

use std::hint::black_box;
use std::path::PathBuf;
use std::process::Command;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use gatehouse_benches::{policies_dir, reference_bundle, sizes, synthetic_bundle};
use gatehouse_core::{BundleSource, Engine};

fn load(c: &mut Criterion) {
    let mut group = c.benchmark_group("load");
    let reference = reference_bundle();
    group.bench_function("reference_from_memory", |b| {
        b.iter(|| black_box(Engine::load(black_box(&reference)).expect("loads")));
    });
    let dir = policies_dir();
    group.bench_function("reference_from_dir", |b| {
        b.iter(|| {
            let source = BundleSource::from_dir(black_box(&dir)).expect("readable");
            black_box(Engine::load(&source).expect("loads"))
        });
    });
    for n in sizes([20, 100, 1000], 2) {
        let source = synthetic_bundle(n);
        if n >= 1000 {
            group.sample_size(10);
        }
        group.bench_with_input(BenchmarkId::new("synthetic", n), &source, |b, source| {
            b.iter(|| black_box(Engine::load(black_box(source)).expect("loads")));
        });
    }
    group.finish();
}

fn gatehouse_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("GATEHOUSE_BIN") {
        let path = PathBuf::from(path);
        return path.is_file().then_some(path);
    }
    // This benchmark runs as <target>/release/deps/prepare-<hash>.
    let exe = std::env::current_exe().ok()?;
    let candidate = exe.parent()?.parent()?.join("gatehouse");
    candidate.is_file().then_some(candidate)
}

fn process(c: &mut Criterion) {
    let Some(binary) = gatehouse_binary() else {
        eprintln!(
            "process/check: skipped, no release `gatehouse` binary (run `cargo build --release -p gatehouse-cli` or set GATEHOUSE_BIN)"
        );
        return;
    };
    let dir = policies_dir();
    let history = dir.join("examples/history/deployments.json");
    let approvals = dir.join("examples/history/approvals.json");
    let intent = dir.join("examples/payments-api-prod-allowed.yaml");
    let run = || {
        Command::new(&binary)
            .arg("check")
            .arg("--policies")
            .arg(&dir)
            .arg("--now")
            .arg(gatehouse_benches::NOW)
            .arg("--history")
            .arg(&history)
            .arg("--approvals")
            .arg(&approvals)
            .arg("--format")
            .arg("json")
            .arg(&intent)
            .env_remove("GITHUB_STEP_SUMMARY")
            .env_remove("GITHUB_OUTPUT")
            .output()
            .expect("gatehouse runs")
    };
    let first = run();
    assert!(
        first.status.success(),
        "gatehouse check failed: {}",
        String::from_utf8_lossy(&first.stderr)
    );
    let mut group = c.benchmark_group("process");
    group.bench_function("check_one_intent", |b| {
        b.iter(|| {
            let output = run();
            assert!(output.status.success());
            black_box(output.stdout)
        });
    });

    // 100 intents: the examples in turn, in a directory of their own.
    let many = std::env::temp_dir().join(format!("gatehouse-bench-{}", std::process::id()));
    std::fs::create_dir_all(&many).expect("temporary directory");
    let mut examples: Vec<PathBuf> = std::fs::read_dir(dir.join("examples"))
        .expect("examples")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    examples.sort();
    for (i, example) in examples.iter().cycle().take(100).enumerate() {
        let name = example.file_name().expect("a file name").to_string_lossy();
        std::fs::copy(example, many.join(format!("{i:03}-{name}"))).expect("copy");
    }
    for jobs in sizes([1, 2], 2) {
        group.bench_with_input(
            BenchmarkId::new("check_100_intents", jobs),
            &jobs,
            |b, jobs| {
                b.iter(|| {
                    let output = Command::new(&binary)
                        .args(["check", "--format", "json", "--now", gatehouse_benches::NOW])
                        .arg("--policies")
                        .arg(&dir)
                        .arg("--history")
                        .arg(&history)
                        .arg("--approvals")
                        .arg(&approvals)
                        .args(["--jobs", &jobs.to_string()])
                        .arg(&many)
                        .env_remove("GITHUB_STEP_SUMMARY")
                        .env_remove("GITHUB_OUTPUT")
                        .output()
                        .expect("gatehouse runs");
                    assert!(matches!(output.status.code(), Some(0 | 1)), "{output:?}");
                    black_box(output.stdout)
                });
            },
        );
    }
    group.finish();
    let _ = std::fs::remove_dir_all(&many);
}

criterion_group!(benches, load, process);
criterion_main!(benches);
