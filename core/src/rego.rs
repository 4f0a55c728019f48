//! The one place that knows regorus: compiling a bundle's modules, evaluating its policy
//! packages, running Rego unit tests, and turning regorus's errors into ours (with file, line and
//! column kept as fields).
//!
//! Policy packages are the packages under `gatehouse.policies`; each defines a `deny` set of
//! violation objects. Loading adds one generated module with one rule per stage,
//! `admission := data.gatehouse.policies` (and `gates := data.gatehouse.gates`), evaluates it once
//! (regorus prepares its analysis on the first evaluation), and keeps the engine; each decision
//! clones it (a fraction of a microsecond), evaluates that one rule and reads each package's
//! `deny` out of the result. When the gathered rule fails (or a package's `deny` is missing from
//! it), each package's `deny` is evaluated on its own so that the error is attributed to its
//! package and the other packages' violations are still reported.
//!
//! Why one reference to the package prefix rather than one per package (`{"p": data.p.deny,
//! ...}`): regorus scans every module on the first reference to each `data` path in an
//! evaluation, so N references cost N x modules, quadratic in the bundle's size (a 1000-policy
//! bundle spent most of its time there). The prefix reference scans once and evaluates every rule
//! of every policy package, helpers that `deny` does not use included; when one of those fails,
//! the per-package fallback gives exactly the results of evaluating each `deny` alone, so
//! decisions do not change, only their cost.
//!
//! Why regorus's tree-walking interpreter and not its RVM bytecode VM, although the VM was about
//! 5x faster on the reference bundle: the RVM (0.14.1) treats a runtime error inside a rule body
//! (`count(x) / 0`, `to_number("abc")`) as the body failing, even with strict builtin errors, so
//! a policy with a bug would silently report no violation and the deployment would be allowed.
//! The interpreter raises the error, and the decision denies. Fail closed wins.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::bundle::BundleError;
use crate::error::{ErrorDetail, Span};

/// Which set of packages a decision evaluates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    /// Admission policies (`gatehouse.policies.*`), evaluated when an intent is submitted.
    Admission,
    /// Release gates (`gatehouse.gates.*`), evaluated over pipeline evidence when a deployment
    /// reports success.
    Gates,
}

impl Stage {
    /// Package prefix of this stage's packages.
    pub fn package_prefix(self) -> &'static str {
        match self {
            Self::Admission => "data.gatehouse.policies.",
            Self::Gates => "data.gatehouse.gates.",
        }
    }

    fn gather_rule(self) -> &'static str {
        match self {
            Self::Admission => "admission",
            Self::Gates => "gates",
        }
    }
}

/// Package reserved for the generated module that gathers all `deny` sets.
const GATHER_PACKAGE: &str = "gatehouse_internal";
const GATHER_FILE: &str = "<gatehouse>/gather.rego";

/// Evaluation limits. A policy that exceeds them fails closed (`limit_exceeded`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Limits {
    /// Wall-clock limit per evaluation, checked by regorus while it evaluates. `None` (the
    /// default) disables it: the core reads no clock of its own, and `wasm32-unknown-unknown` has
    /// none. Native front ends should set it.
    pub time_limit: Option<std::time::Duration>,
}

/// A bundle's policies, compiled and ready to evaluate. `Send + Sync`; evaluation takes `&self`.
pub(crate) struct CompiledPolicies {
    prepared: regorus::Engine,
    /// Package paths (`data.gatehouse.policies.x`), sorted.
    admission: Vec<String>,
    /// Package paths (`data.gatehouse.gates.x`), sorted.
    gates: Vec<String>,
}

/// What one policy package returned.
pub(crate) type PackageResult = Result<Vec<Value>, Box<ErrorDetail>>;

impl CompiledPolicies {
    /// Parses and compiles `modules` (path, text) with `data`.
    pub(crate) fn compile(
        modules: &[(&str, &str)],
        data: &Value,
        limits: Limits,
    ) -> Result<Self, BundleError> {
        let mut engine = new_engine(limits)?;
        let mut admission = Vec::new();
        let mut gates = Vec::new();
        for (path, text) in modules {
            let package = add_module(&mut engine, path, text)?;
            if package == format!("data.{GATHER_PACKAGE}") {
                return Err(BundleError::RegoCompile {
                    message: format!("package `{GATHER_PACKAGE}` is reserved for Gatehouse"),
                    span: Some(Span {
                        file: (*path).to_owned(),
                        line: 1,
                        column: 1,
                    }),
                });
            }
            for (stage, list) in [
                (Stage::Admission, &mut admission),
                (Stage::Gates, &mut gates),
            ] {
                if package.starts_with(stage.package_prefix()) && !list.contains(&package) {
                    list.push(package.clone());
                }
            }
        }
        if admission.is_empty() {
            return Err(BundleError::NoPolicies);
        }
        admission.sort();
        gates.sort();
        engine
            .add_data(to_rego(data))
            .map_err(|e| compile_error(&e))?;

        // Check that every package defines `deny` and that everything compiles.
        let probe: Arc<str> = Arc::from(format!(
            "{}.deny",
            admission.first().map_or("", String::as_str)
        ));
        let compiled = engine
            .compile_with_entrypoint(&probe)
            .map_err(|e| compile_error(&e))?;
        for package in admission.iter().chain(&gates) {
            if !compiled
                .get_rules()
                .contains_key(format!("{package}.deny").as_str())
            {
                return Err(BundleError::MissingDenyRule {
                    package: package.clone(),
                });
            }
        }

        // One reference per stage to the package prefix (see the module documentation).
        let gather = format!(
            "package {GATHER_PACKAGE}\n\n{} := {}\n\n{} := {}\n",
            Stage::Admission.gather_rule(),
            Stage::Admission.package_prefix().trim_end_matches('.'),
            Stage::Gates.gather_rule(),
            Stage::Gates.package_prefix().trim_end_matches('.'),
        );
        add_module(&mut engine, GATHER_FILE, &gather)?;
        // The first evaluation prepares the analysis; clones share it.
        engine.set_input(regorus::Value::new_object());
        for stage in [Stage::Admission, Stage::Gates] {
            let _ = engine.eval_rule(format!("data.{GATHER_PACKAGE}.{}", stage.gather_rule()));
        }
        Ok(Self {
            prepared: engine,
            admission,
            gates,
        })
    }

    /// The packages of a stage, in evaluation order.
    pub(crate) fn packages(&self, stage: Stage) -> &[String] {
        match stage {
            Stage::Admission => &self.admission,
            Stage::Gates => &self.gates,
        }
    }

    /// Evaluates every package's `deny` of `stage` against `input`; one result per package, in
    /// [`Self::packages`] order.
    pub(crate) fn evaluate(&self, stage: Stage, input: &Value) -> Vec<PackageResult> {
        let packages = self.packages(stage);
        let mut engine = self.prepared.clone();
        engine.set_input(to_rego(input));
        let gather = format!("data.{GATHER_PACKAGE}.{}", stage.gather_rule());
        if let Ok(all) = engine.eval_rule(gather) {
            let results: Option<Vec<PackageResult>> = packages
                .iter()
                .map(|p| {
                    let rest = p.strip_prefix(stage.package_prefix())?;
                    let mut value = &all;
                    for part in rest.split('.').chain(std::iter::once("deny")) {
                        let regorus::Value::Object(fields) = value else {
                            return None;
                        };
                        value = fields.get(&regorus::Value::from(part))?;
                    }
                    Some(deny_set(value))
                })
                .collect();
            if let Some(results) = results {
                return results;
            }
        }
        // Something failed: evaluate package by package to say which.
        packages
            .iter()
            .map(|p| {
                let mut engine = self.prepared.clone();
                engine.set_input(to_rego(input));
                engine
                    .eval_rule(format!("{p}.deny"))
                    .map_err(|e| Box::new(interpreter_error(&e)))
                    .and_then(|v| deny_set(&v))
            })
            .collect()
    }
}

fn add_module(engine: &mut regorus::Engine, path: &str, text: &str) -> Result<String, BundleError> {
    engine
        .add_policy(path.to_owned(), text.to_owned())
        .map_err(|e| {
            let message = e.to_string();
            BundleError::RegoParse {
                span: span_from_message(&message),
                message: tidy(&message),
            }
        })
}

fn new_engine(limits: Limits) -> Result<regorus::Engine, BundleError> {
    let mut engine = regorus::Engine::new();
    engine.set_rego_v0(false);
    engine.set_strict_builtin_errors(true);
    // OPA's `time.parse_rfc3339_ns`, without regorus's `time` feature (chrono and a time-zone
    // database): policies compare instants (freeze windows, expiries) the way OPA bundles do.
    engine
        .add_extension(
            "time.parse_rfc3339_ns".to_owned(),
            1,
            Box::new(|args: Vec<regorus::Value>| {
                let text = args
                    .first()
                    .and_then(|a| a.as_string().ok())
                    .ok_or_else(|| anyhow::anyhow!("time.parse_rfc3339_ns expects a string"))?;
                let t =
                    crate::timestamp::Timestamp::parse(text).map_err(|e| anyhow::anyhow!("{e}"))?;
                let nanos = i64::try_from(t.unix_nanos())
                    .map_err(|_| anyhow::anyhow!("`{text}` is out of range"))?;
                Ok(regorus::Value::from(nanos))
            }),
        )
        .map_err(|e| compile_error(&e))?;
    if let Some(limit) = limits.time_limit {
        engine.set_execution_timer_config(timer(limit));
    }
    Ok(engine)
}

fn timer(limit: std::time::Duration) -> regorus::utils::limits::ExecutionTimerConfig {
    regorus::utils::limits::ExecutionTimerConfig {
        limit,
        check_interval: std::num::NonZeroU32::MIN.saturating_add(63),
    }
}

fn deny_set(value: &regorus::Value) -> PackageResult {
    match value {
        regorus::Value::Undefined => Err(Box::new(ErrorDetail::new(
            "undefined_result",
            "`deny` evaluated to undefined",
        )
        .with_help("`deny` must be a set; check that the package defines `deny contains ... if { ... }`"))),
        regorus::Value::Set(items) => Ok(items.iter().map(from_rego).collect()),
        regorus::Value::Array(items) => Ok(items.iter().map(from_rego).collect()),
        other => Err(Box::new(ErrorDetail::new(
            "malformed_result",
            format!("`deny` must be a set of violation objects, got {}", short_json(&from_rego(other))),
        ))),
    }
}

fn interpreter_error(e: &anyhow::Error) -> ErrorDetail {
    if e.downcast_ref::<regorus::LimitError>().is_some() {
        // The elapsed time is not part of the message: decisions stay byte-identical.
        return ErrorDetail::new(
            "limit_exceeded",
            "policy evaluation exceeded the time limit",
        )
        .with_help("simplify the policy or raise the time limit");
    }
    let message = e.to_string();
    ErrorDetail::new("rego_error", tidy(&message)).with_span(span_from_message(&message))
}

fn compile_error(e: &dyn std::fmt::Display) -> BundleError {
    let message = e.to_string();
    BundleError::RegoCompile {
        span: span_from_message(&message),
        message: tidy(&message),
    }
}

/// regorus messages look like `--> policy.rego:4:5\n  |\n4 | ...\n  |     ^\nerror: ...`;
/// pull out the file, line and column.
pub(crate) fn span_from_message(message: &str) -> Option<Span> {
    let start = message.find("--> ")? + 4;
    let rest = message.get(start..)?;
    let token = rest.split_whitespace().next()?;
    let mut parts = token.rsplitn(3, ':');
    let column = parts.next()?.parse().ok()?;
    let line = parts.next()?.parse().ok()?;
    let file = parts.next()?.to_owned();
    Some(Span { file, line, column })
}

/// Trims trailing white space from each line of a regorus message.
fn tidy(message: &str) -> String {
    message
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_owned()
}

fn short_json(v: &Value) -> String {
    let text = v.to_string();
    if text.len() > 120 {
        format!("{}...", text.chars().take(117).collect::<String>())
    } else {
        text
    }
}

/// Converts JSON to a regorus value without a serialisation round trip.
pub(crate) fn to_rego(value: &Value) -> regorus::Value {
    match value {
        Value::Null => regorus::Value::Null,
        Value::Bool(b) => regorus::Value::from(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                regorus::Value::from(i)
            } else if let Some(u) = n.as_u64() {
                regorus::Value::from(u)
            } else {
                regorus::Value::from(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Value::String(s) => regorus::Value::from(s.as_str()),
        Value::Array(items) => regorus::Value::from(items.iter().map(to_rego).collect::<Vec<_>>()),
        Value::Object(map) => regorus::Value::from(
            map.iter()
                .map(|(k, v)| (regorus::Value::from(k.as_str()), to_rego(v)))
                .collect::<BTreeMap<_, _>>(),
        ),
    }
}

/// Converts a regorus value to JSON (sets become arrays, undefined becomes null).
pub(crate) fn from_rego(value: &regorus::Value) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// Outcome of one Rego unit test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestResult {
    /// Package, e.g. `data.gatehouse.policies.tags_required_test`.
    pub package: String,
    /// Rule name, e.g. `test_missing_owner_is_denied`.
    pub name: String,
    /// The file that defines it.
    pub file: String,
    /// Passed (the rule evaluated to `true`).
    pub passed: bool,
    /// Why it failed, when it errored rather than evaluated to false/undefined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorDetail>,
}

/// Line coverage of one policy file by the bundle's tests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileCoverage {
    /// The policy file.
    pub file: String,
    /// Lines the tests evaluated.
    pub covered: Vec<u32>,
    /// Lines with code the tests never evaluated.
    pub not_covered: Vec<u32>,
}

impl FileCoverage {
    /// Covered lines as a percentage of lines with code (100 for a file without code).
    pub fn percent(&self) -> f64 {
        let total = self.covered.len() + self.not_covered.len();
        if total == 0 {
            100.0
        } else {
            // Line counts are far below 2^52, so the conversion is exact.
            #[expect(clippy::cast_precision_loss, reason = "line counts are small")]
            let ratio = self.covered.len() as f64 / total as f64;
            ratio * 100.0
        }
    }
}

/// The results of a bundle's Rego tests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestReport {
    /// One entry per `test_*` rule, in file and source order.
    pub results: Vec<TestResult>,
    /// Line coverage of each policy file (tests excluded), when asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coverage: Option<Vec<FileCoverage>>,
}

/// Runs every `test_*` rule of the test modules with the bundle's policies and data, on one
/// engine (so coverage accumulates across tests).
pub(crate) fn run_tests(
    modules: &[(&str, &str)],
    tests: &[(&str, &str)],
    data: &Value,
    coverage: bool,
) -> Result<TestReport, BundleError> {
    let mut engine = new_engine(Limits::default())?;
    for (path, text) in modules.iter().chain(tests) {
        add_module(&mut engine, path, text)?;
    }
    engine
        .add_data(to_rego(data))
        .map_err(|e| compile_error(&e))?;
    #[cfg(feature = "coverage")]
    engine.set_enable_coverage(coverage);
    let mut results = Vec::new();
    for (path, text) in tests {
        let Some(package) = package_of(text) else {
            continue;
        };
        for name in test_rule_names(text) {
            let rule = format!("data.{package}.{name}");
            let (passed, error) = match engine.eval_rule(rule) {
                Ok(regorus::Value::Bool(true)) => (true, None),
                Ok(_) => (false, None),
                Err(e) => (false, Some(interpreter_error(&e))),
            };
            results.push(TestResult {
                package: format!("data.{package}"),
                name,
                file: (*path).to_owned(),
                passed,
                error,
            });
        }
    }
    #[cfg(feature = "coverage")]
    let coverage = if coverage {
        Some(coverage_report(&engine, modules)?)
    } else {
        None
    };
    #[cfg(not(feature = "coverage"))]
    let coverage = {
        let _ = coverage;
        None
    };
    Ok(TestReport { results, coverage })
}

/// Per-file line coverage of `modules` from the tests run on `engine`.
#[cfg(feature = "coverage")]
fn coverage_report(
    engine: &regorus::Engine,
    modules: &[(&str, &str)],
) -> Result<Vec<FileCoverage>, BundleError> {
    let report = engine
        .get_coverage_report()
        .map_err(|e| compile_error(&e))?;
    let mut files: Vec<FileCoverage> = report
        .files
        .into_iter()
        .filter(|f| modules.iter().any(|(path, _)| *path == f.path))
        .map(|f| FileCoverage {
            file: f.path,
            covered: f.covered.into_iter().collect(),
            not_covered: f.not_covered.into_iter().collect(),
        })
        .collect();
    // regorus reports only files the tests reached; a file they never reached has every line
    // with code uncovered (code: not blank, not a comment, not `package` or `import`).
    for (path, text) in modules {
        if files.iter().all(|f| f.file != *path) {
            files.push(FileCoverage {
                file: (*path).to_owned(),
                covered: Vec::new(),
                not_covered: code_lines(text),
            });
        }
    }
    files.sort_by(|a, b| a.file.cmp(&b.file));
    Ok(files)
}

/// Line numbers (from 1) holding code: not blank, not a comment, not `package` or `import`.
#[cfg(feature = "coverage")]
fn code_lines(text: &str) -> Vec<u32> {
    (1u32..)
        .zip(text.lines())
        .filter(|(_, line)| {
            let t = line.trim();
            !(t.is_empty()
                || t.starts_with('#')
                || t.starts_with("package ")
                || t.starts_with("import "))
        })
        .map(|(n, _)| n)
        .collect()
}

/// The `package` line of a module.
fn package_of(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let rest = line.trim_start().strip_prefix("package ")?;
        Some(rest.trim().to_owned())
    })
}

/// Names of rules starting at column 0 with `test_`, in source order, each once.
fn test_rule_names(text: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for line in text.lines() {
        if !line.starts_with("test_") {
            continue;
        }
        let name: String = line
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_come_from_messages() {
        let m = "--> rules/x.rego:12:7\n   |\n12 | foo\n   |   ^\nerror: bad";
        assert_eq!(
            span_from_message(m),
            Some(Span {
                file: "rules/x.rego".into(),
                line: 12,
                column: 7
            })
        );
    }

    #[test]
    fn test_names_are_found_once() {
        let text = "package p\ntest_a if { true }\ntest_a if { false }\n  test_nested := 1\ntest_b := true\n";
        assert_eq!(test_rule_names(text), vec!["test_a", "test_b"]);
    }

    fn compile(rego: &str) -> CompiledPolicies {
        CompiledPolicies::compile(
            &[("p.rego", rego)],
            &serde_json::json!({}),
            Limits::default(),
        )
        .unwrap()
    }

    #[test]
    fn a_failing_helper_that_deny_does_not_use_changes_nothing() {
        // The gathered rule evaluates every rule of the package and fails on `broken`; the
        // per-package fallback then evaluates `deny` alone, as if the gathering were per package.
        let policies = compile(
            "package gatehouse.policies.p\n\nbroken := to_number(\"x\")\n\ndeny contains {\"policy\": \"x\", \"message\": \"m\"} if {\n\tinput.fire\n}\n",
        );
        let results = policies.evaluate(Stage::Admission, &serde_json::json!({"fire": true}));
        assert_eq!(results.len(), 1);
        assert_eq!(results[0].as_ref().unwrap().len(), 1);
    }

    #[test]
    fn nested_packages_are_read_from_the_gathered_rule() {
        let policies = CompiledPolicies::compile(
            &[
                (
                    "a.rego",
                    "package gatehouse.policies.a\n\ndeny contains \"a\" if { input.fire }\n",
                ),
                (
                    "ab.rego",
                    "package gatehouse.policies.a.b\n\ndeny contains \"ab\" if { input.fire }\n",
                ),
            ],
            &serde_json::json!({}),
            Limits::default(),
        )
        .unwrap();
        assert_eq!(policies.packages(Stage::Admission).len(), 2);
        let results = policies.evaluate(Stage::Admission, &serde_json::json!({"fire": true}));
        let values: Vec<Vec<Value>> = results.into_iter().map(Result::unwrap).collect();
        assert_eq!(
            values,
            vec![vec![serde_json::json!("a")], vec![serde_json::json!("ab")]]
        );
    }

    #[test]
    fn json_round_trips_through_rego_values() {
        let v = serde_json::json!({"a": [1, 2.5, -3, true, null, "x"], "b": {"c": 18446744073709551615u64}});
        assert_eq!(from_rego(&to_rego(&v)), v);
    }
}
