//! Runs every case of `policies/conformance/` against the reference bundle, one test per case.
#![expect(
    clippy::expect_used,
    reason = "a test harness with a missing corpus should stop at once"
)]

use std::path::{Path, PathBuf};

use gatehouse_core::conformance::ConformanceCase;
use std::time::Duration;

use gatehouse_core::{
    BundleSource, Diagnostic, Engine, EngineOptions, Limits, Sequential, evaluate_json,
};
use libtest_mimic::{Arguments, Failed, Trial};

fn policies_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies")
}

fn run_case(path: &Path) -> Result<(), Failed> {
    let text = std::fs::read_to_string(path)?;
    let case = ConformanceCase::from_json(&text)?;
    let mut source = BundleSource::from_dir(&policies_dir())?;
    for (file, content) in &case.bundle_overlay {
        source.insert(file.clone(), content.clone());
    }
    // The guard against runaway policies is regorus's wall-clock limit; the runaway case needs
    // far longer than this on any machine, and every other case far less.
    let options = EngineOptions {
        limits: Limits {
            time_limit: Some(Duration::from_millis(500)),
        },
    };
    let engine = match (Engine::load_with(&source, options), &case.want.bundle_error) {
        (Ok(engine), None) => engine,
        (Err(e), Some(code)) if e.code() == code => return Ok(()),
        (Err(e), want) => {
            return Err(format!(
                "bundle failed to load with `{}` ({e}), want {want:?}",
                e.code()
            )
            .into());
        }
        (Ok(_), Some(code)) => return Err(format!("bundle loaded, want error `{code}`").into()),
    };
    let decide = |engine: &Engine| {
        engine.evaluate_stage(case.stage, &case.intent, &case.context, &Sequential)
    };
    let decision = decide(&engine);
    let json = decision.to_json()?;
    check_golden(path, &json)?;
    case.want.check(&decision).map_err(|problems| {
        format!(
            "{}\n{problems}\ndecision: {}",
            case.note,
            serde_json::to_string_pretty(&decision).unwrap_or_default()
        )
    })?;
    // Same inputs, same bytes.
    let again = decide(&engine);
    if again.to_json()? != json {
        return Err("evaluation is not deterministic".into());
    }
    // The one JSON call of the front ends: `{intent, context, stage}` in, the same bytes out.
    let request = serde_json::json!({
        "intent": case.intent,
        "context": case.context,
        "stage": case.stage,
    });
    let through_json = evaluate_json(&engine, &request.to_string())?;
    if through_json != json {
        return Err(format!("evaluate_json differs:\n  {through_json}").into());
    }
    Ok(())
}

/// Every front end must return these exact bytes: the golden file holds the decision's compact
/// JSON. `GATEHOUSE_BLESS=1` rewrites the golden files after an intended change.
fn check_golden(case_path: &Path, json: &str) -> Result<(), Failed> {
    let name = case_path.file_name().unwrap_or_default();
    let golden = case_path
        .parent()
        .unwrap_or(Path::new("."))
        .join("golden")
        .join(name);
    let want = format!("{json}\n");
    if std::env::var_os("GATEHOUSE_BLESS").is_some() {
        std::fs::create_dir_all(golden.parent().unwrap_or(Path::new(".")))?;
        std::fs::write(&golden, want)?;
        return Ok(());
    }
    match std::fs::read_to_string(&golden) {
        Ok(have) if have == want => Ok(()),
        Ok(have) => Err(format!(
            "decision differs from {}:\n  golden: {}\n  now:    {}\nif the change is intended, run `GATEHOUSE_BLESS=1 cargo test -p gatehouse-core --test conformance`",
            golden.display(),
            have.trim_end(),
            json
        )
        .into()),
        Err(e) => Err(format!(
            "cannot read {} ({e}); create it with `GATEHOUSE_BLESS=1 cargo test -p gatehouse-core --test conformance`",
            golden.display()
        )
        .into()),
    }
}

fn main() {
    let args = Arguments::from_args();
    let dir = policies_dir().join("conformance");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("policies/conformance exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 40,
        "the corpus has {} cases, want at least 40",
        files.len()
    );
    let mut trials = Vec::new();
    for file in &files {
        let name = file
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let file = file.clone();
        trials.push(Trial::test(name, move || run_case(&file)));
    }
    libtest_mimic::run(&args, trials).exit();
}
