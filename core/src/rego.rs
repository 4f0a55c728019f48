//! The one place that knows regorus: compiling a bundle's modules, evaluating its policy
//! packages, running Rego unit tests, and turning regorus's errors into ours (with file, line and
//! column kept as fields).
//!
//! Policy packages are the packages under `gatehouse.policies`; each defines a `deny` set of
//! violation objects. Every package's `deny` is compiled as one entry point of a single RVM
//! (bytecode VM) program, prepared once per bundle. When the RVM compiler does not support a
//! construct a bundle uses, the bundle falls back to regorus's tree-walking interpreter, prepared
//! once and cloned per evaluation. Both give the same results (the conformance corpus runs on
//! both).

use std::collections::BTreeMap;
use std::sync::Arc;

use regorus::languages::rego::compiler::Compiler;
use regorus::rvm::RegoVM;
use regorus::rvm::program::Program;
use regorus::rvm::vm::VmError;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::bundle::BundleError;
use crate::error::{ErrorDetail, Span};

/// Prefix of the packages that hold policies.
pub const POLICY_PACKAGE_PREFIX: &str = "data.gatehouse.policies.";

/// Which regorus evaluator runs a bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// The RVM when it compiles the bundle, else the interpreter.
    #[default]
    Auto,
    /// The RVM bytecode VM; loading fails when it cannot compile the bundle.
    Vm,
    /// The tree-walking interpreter.
    Interpreter,
}

/// Evaluation limits. A policy that exceeds them fails closed (`limit_exceeded`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most RVM instructions one policy package may execute per decision. Deterministic, so the
    /// same intent always hits or misses it.
    pub max_instructions: usize,
    /// Wall-clock limit per policy package, checked by regorus (interpreter and RVM). `None`
    /// disables it; leave it off on `wasm32-unknown-unknown`, which has no clock.
    pub time_limit: Option<std::time::Duration>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_instructions: 1_000_000,
            time_limit: None,
        }
    }
}

enum Evaluator {
    Vm(Arc<Program>),
    Interpreter(Box<regorus::Engine>),
}

/// A bundle's policies, compiled and ready to evaluate. `Send + Sync`; evaluation takes `&self`.
pub(crate) struct CompiledPolicies {
    evaluator: Evaluator,
    /// Package paths (`data.gatehouse.policies.x`), in entry-point order.
    packages: Vec<String>,
    data: regorus::Value,
    limits: Limits,
}

/// What one policy package returned.
pub(crate) type PackageResult = Result<Vec<Value>, Box<ErrorDetail>>;

impl CompiledPolicies {
    /// Parses and compiles `modules` (path, text) with `data`.
    pub(crate) fn compile(
        modules: &[(&str, &str)],
        data: &Value,
        backend: Backend,
        limits: Limits,
    ) -> Result<Self, BundleError> {
        let mut engine = new_engine(limits);
        let mut packages = Vec::new();
        for (path, text) in modules {
            let package = engine
                .add_policy((*path).to_owned(), (*text).to_owned())
                .map_err(|e| {
                    let message = e.to_string();
                    BundleError::RegoParse {
                        span: span_from_message(&message),
                        message: tidy(&message),
                    }
                })?;
            if package.starts_with(POLICY_PACKAGE_PREFIX) && !packages.contains(&package) {
                packages.push(package);
            }
        }
        if packages.is_empty() {
            return Err(BundleError::NoPolicies);
        }
        packages.sort();
        let data = to_rego(data);
        engine
            .add_data(data.clone())
            .map_err(|e| compile_error(&e))?;

        let entry_points: Vec<String> = packages.iter().map(|p| format!("{p}.deny")).collect();
        let first: Arc<str> = entry_points
            .first()
            .map(|s| Arc::from(s.as_str()))
            .ok_or(BundleError::NoPolicies)?;
        let compiled = engine
            .compile_with_entrypoint(&first)
            .map_err(|e| compile_error(&e))?;
        for (package, entry) in packages.iter().zip(&entry_points) {
            if !compiled.get_rules().contains_key(entry.as_str()) {
                return Err(BundleError::MissingDenyRule {
                    package: package.clone(),
                });
            }
        }

        let vm_program = if backend == Backend::Interpreter {
            None
        } else {
            let names: Vec<&str> = entry_points.iter().map(String::as_str).collect();
            match Compiler::compile_from_policy(&compiled, &names) {
                Ok(program) => Some(program),
                Err(e) if backend == Backend::Vm => return Err(compile_error(&e)),
                Err(_) => None,
            }
        };
        let evaluator = match vm_program {
            Some(program) => Evaluator::Vm(program),
            None => {
                // The first evaluation prepares the interpreter's analysis; clones share it.
                engine.set_input(regorus::Value::new_object());
                for entry in &entry_points {
                    let _ = engine.eval_rule(entry.clone());
                }
                Evaluator::Interpreter(Box::new(engine))
            }
        };
        Ok(Self {
            evaluator,
            packages,
            data,
            limits,
        })
    }

    /// Which evaluator runs this bundle.
    pub(crate) fn backend(&self) -> Backend {
        match self.evaluator {
            Evaluator::Vm(_) => Backend::Vm,
            Evaluator::Interpreter(_) => Backend::Interpreter,
        }
    }

    /// The policy packages, in evaluation order.
    pub(crate) fn packages(&self) -> &[String] {
        &self.packages
    }

    /// Evaluates every package's `deny` against `input`; one result per package, in
    /// [`Self::packages`] order.
    pub(crate) fn evaluate(&self, input: &Value) -> Vec<PackageResult> {
        let input = to_rego(input);
        match &self.evaluator {
            Evaluator::Vm(program) => {
                let mut vm = RegoVM::new();
                vm.load_program(program.clone());
                vm.set_max_instructions(self.limits.max_instructions);
                if let Some(limit) = self.limits.time_limit {
                    vm.set_execution_timer_config(Some(timer(limit)));
                }
                if let Err(e) = vm.set_data(self.data.clone()) {
                    let detail = ErrorDetail::new("rego_error", e.to_string());
                    return self
                        .packages
                        .iter()
                        .map(|_| Err(Box::new(detail.clone())))
                        .collect();
                }
                vm.set_input(input);
                (0..self.packages.len())
                    .map(|i| {
                        vm.execute_entry_point_by_index(i)
                            .map_err(|e| Box::new(vm_error(&e)))
                            .and_then(|v| deny_set(&v))
                    })
                    .collect()
            }
            Evaluator::Interpreter(prepared) => {
                let mut engine = (**prepared).clone();
                engine.set_input(input);
                self.packages
                    .iter()
                    .map(|p| {
                        engine
                            .eval_rule(format!("{p}.deny"))
                            .map_err(|e| Box::new(interpreter_error(&e)))
                            .and_then(|v| deny_set(&v))
                    })
                    .collect()
            }
        }
    }
}

fn new_engine(limits: Limits) -> regorus::Engine {
    let mut engine = regorus::Engine::new();
    engine.set_rego_v0(false);
    if let Some(limit) = limits.time_limit {
        engine.set_execution_timer_config(timer(limit));
    }
    engine
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

fn vm_error(e: &VmError) -> ErrorDetail {
    let message = e.to_string();
    match e {
        VmError::InstructionLimitExceeded { limit, .. } => ErrorDetail::new(
            "limit_exceeded",
            format!("policy evaluation stopped after {limit} instructions"),
        )
        .with_help("simplify the policy (avoid nested iteration over large data) or raise the instruction limit"),
        _ if message.contains("time limit") || message.contains("TimeLimit") => {
            ErrorDetail::new("limit_exceeded", tidy(&message))
                .with_help("simplify the policy or raise the time limit")
        }
        _ => ErrorDetail::new("rego_error", tidy(&message)).with_span(span_from_message(&message)),
    }
}

fn interpreter_error(e: &anyhow::Error) -> ErrorDetail {
    if e.downcast_ref::<regorus::LimitError>().is_some() {
        return ErrorDetail::new("limit_exceeded", tidy(&e.to_string()))
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

/// Runs every `test_*` rule of the test modules with the bundle's policies and data.
pub(crate) fn run_tests(
    modules: &[(&str, &str)],
    tests: &[(&str, &str)],
    data: &Value,
) -> Result<Vec<TestResult>, BundleError> {
    let mut engine = new_engine(Limits::default());
    for (path, text) in modules.iter().chain(tests) {
        engine
            .add_policy((*path).to_owned(), (*text).to_owned())
            .map_err(|e| {
                let message = e.to_string();
                BundleError::RegoParse {
                    span: span_from_message(&message),
                    message: tidy(&message),
                }
            })?;
    }
    engine
        .add_data(to_rego(data))
        .map_err(|e| compile_error(&e))?;
    let mut results = Vec::new();
    for (path, text) in tests {
        let Some(package) = package_of(text) else {
            continue;
        };
        for name in test_rule_names(text) {
            let rule = format!("data.{package}.{name}");
            let mut run = engine.clone();
            let (passed, error) = match run.eval_rule(rule) {
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
    Ok(results)
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

    #[test]
    fn json_round_trips_through_rego_values() {
        let v = serde_json::json!({"a": [1, 2.5, -3, true, null, "x"], "b": {"c": 18446744073709551615u64}});
        assert_eq!(from_rego(&to_rego(&v)), v);
    }
}
