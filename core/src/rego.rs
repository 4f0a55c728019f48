//! The one place that knows regorus: compiling a bundle's modules, evaluating derived rules once
//! per bundle and policy packages once per decision, running Rego unit tests, and turning
//! regorus's errors into ours (with file, line and column kept as fields).
//!
//! Policy packages are the packages under `gatehouse.policies` (admission) and `gatehouse.gates`
//! (release gates); each defines a `deny` set of violation objects. Loading adds one generated
//! module with one rule per stage that gathers the stage's packages through one reference to the
//! package prefix, evaluates it once (regorus prepares its analysis on the first evaluation) and
//! keeps the engine. Each decision takes an engine left idle by an earlier decision (or clones the
//! prepared one), sets the input, evaluates the gathering rule and reads each package's `deny`
//! out of the result. When the gathered rule fails (or a package's `deny` is missing from it),
//! each package's `deny` is evaluated on its own, so that the error is attributed to its package
//! and the other packages' violations are still reported.
//!
//! Why each choice (instruction counts from `valgrind --tool=callgrind` on
//! `cargo run --release -p gatehouse-benches --example decisions`, 101 decisions minus 1, so that
//! they repeat on a busy machine; wall-clock figures from criterion runs back to back):
//!
//! - **One reference to the package prefix**, not one per package (`{"p": data.p.deny, ...}`):
//!   regorus scans every module on the first reference to each `data` path in an evaluation (about
//!   1,000 instructions per module), so N references cost N x modules. The prefix reference scans
//!   once and evaluates every rule of every policy package, helpers that `deny` does not use
//!   included. Gathering `deny` alone per package would skip those helpers but brings the scans
//!   back: 16 scans of 20 modules (320k instructions) on the reference bundle against helper rules
//!   worth less than that, and 1,000 scans of 1,000 modules on the 1000-policy bundle. When a
//!   helper fails, the per-package fallback gives exactly the results of evaluating each `deny`
//!   alone, so decisions do not change, only their cost.
//! - **Base documents marked as evaluated.** regorus never marks a path of the data files as
//!   evaluated, so every reference to one (`data.governance.reference.x`) scans every module
//!   again, in every evaluation: 250 such references made the 1000-policy bundle quadratic. The
//!   gathering rule evaluates the packages `with data.k as data.k` for each top-level data
//!   subtree that holds no package (and for the derived package's values): the same values, but
//!   regorus now knows the paths and looks them up directly (synthetic-100: 12.0M -> 9.4M
//!   instructions per decision; reference bundle 3.51M -> 3.45M).
//! - **Engines reused**, not cloned per decision: a clone allocates and zeroes regorus's
//!   per-expression loop table for every module again (3.49M -> 3.41M instructions; in wall time
//!   the clone was the slowest of the three variants measured). An engine goes back to the idle
//!   list only after an evaluation that succeeded: after an error regorus may leave loop state
//!   behind, so that engine is dropped.
//! - **Not `compile_with_entrypoint` / `CompiledPolicy::eval_with_input`**: measured the same as
//!   reused engines (3.43M vs 3.41M instructions; equal within noise in wall time), and regorus
//!   builds the evaluating engine with only the process-wide fallback timer, so a per-engine
//!   wall-clock limit (`Limits::time_limit`) would be lost and a runaway policy would no longer
//!   fail closed.
//! - **Derived rules evaluated once per bundle.** The manifest may name a package of rules that
//!   depend only on data (`"derived": "gatehouse.derived"`). Its modules are left out of the
//!   decision engine; they are evaluated once in an engine of their own, and their values are
//!   added as data at the package's path, so policies read them the same way in decisions and in
//!   Rego tests (where they are ordinary rules). A derived module that reads `input` or another
//!   package's rules (found by a token scan, `rego_scan`), a derived rule that fails or has no
//!   value: the bundle does not load, with the position.
//! - **Partitions** (opt-in, `CompileOptions::partitions`): the policy packages are spread over
//!   several engines, each holding the shared modules (`gatehouse.lib`, ...) and its share of the
//!   packages, so that a caller with spare cores can evaluate the shares of one decision at the
//!   same time (`Engine::evaluate_stage`). Each package is evaluated exactly as in the one engine
//!   (same modules, data and input), so the decision has the same bytes. Bundles whose modules
//!   read another policy package's rules cannot be split that way and keep one engine.
//!
//! Why regorus's tree-walking interpreter and not its RVM bytecode VM, although the VM was about
//! 5x faster on the reference bundle: the RVM (0.14.1) treats a runtime error inside a rule body
//! (`count(x) / 0`, `to_number("abc")`) as the body failing, even with strict builtin errors, so
//! a policy with a bug would silently report no violation and the deployment would be allowed.
//! The interpreter raises the error, and the decision denies. Fail closed wins.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::bundle::BundleError;
use crate::error::{ErrorDetail, Span};
use crate::rego_scan::{self, Position};
use crate::stage::Stage;

/// What the generated gathering module needs to know of a stage.
impl Stage {
    /// The path of the gathering rule.
    fn gather_path(self) -> &'static str {
        match self {
            Self::Admission => "data.gatehouse_internal.admission",
            Self::Gates => "data.gatehouse_internal.gates",
        }
    }

    /// The package prefix as path components (`["gatehouse", "policies"]`).
    fn root(self) -> [&'static str; 2] {
        match self {
            Self::Admission => ["gatehouse", "policies"],
            Self::Gates => ["gatehouse", "gates"],
        }
    }
}

/// Package reserved for the generated module that gathers all `deny` sets.
const GATHER_PACKAGE: &str = "gatehouse_internal";
const GATHER_FILE: &str = "<gatehouse>/gather.rego";
/// The rule of the derived engine's gathering module.
const DERIVED_PATH: &str = "data.gatehouse_internal.derived";

/// Idle engines kept per partition: as many as callers evaluate at once, up to this; more are
/// dropped after use. Each holds a copy of regorus's per-evaluation state (a few hundred KiB on
/// the reference bundle).
const MAX_IDLE: usize = 64;

/// Policy packages per engine, at most, when a bundle is large: regorus looks modules up by
/// walking its list of them (finding a rule's module, switching modules, scanning for a data
/// path), so a decision over 1000 packages cost 113.5M instructions in one engine and 86.0M in
/// 32 engines of about 31 packages evaluated one after the other (24 % less); 100 packages:
/// 9.16M in one, 8.73M in four. Bundles up to this size keep one engine (the reference bundle's
/// 16 packages: each engine more costs the shared work of a decision again).
const PACKAGES_PER_ENGINE: usize = 32;

/// Data subtrees marked as evaluated in the gathering rule (see the module documentation); a
/// bundle with more top-level data keys than this leaves the rest to regorus's own lookups.
const MAX_MARKED_PATHS: usize = 32;

/// Evaluation limits. A policy that exceeds them fails closed (`limit_exceeded`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Limits {
    /// Wall-clock limit per evaluation, checked by regorus while it evaluates. `None` (the
    /// default) disables it: the core reads no clock of its own, and `wasm32-unknown-unknown` has
    /// none. Native front ends should set it.
    pub time_limit: Option<std::time::Duration>,
}

/// How to compile a bundle's policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CompileOptions {
    /// Evaluation limits.
    pub(crate) limits: Limits,
    /// Engines to spread the policy packages over (1: one engine).
    pub(crate) partitions: usize,
}

/// A bundle's policies, compiled and ready to evaluate. `Send + Sync`; evaluation takes `&self`.
pub(crate) struct CompiledPolicies {
    parts: Vec<Part>,
    /// Admission packages, sorted by path.
    admission: Vec<Package>,
    /// Release gate packages, sorted by path.
    gates: Vec<Package>,
    /// Package paths (`data.gatehouse.policies.x`), as `admission`.
    admission_paths: Vec<String>,
    /// Package paths (`data.gatehouse.gates.x`), as `gates`.
    gates_paths: Vec<String>,
}

impl std::fmt::Debug for CompiledPolicies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledPolicies")
            .field("parts", &self.parts.len())
            .field("admission", &self.admission_paths)
            .field("gates", &self.gates_paths)
            .finish()
    }
}

/// One engine and the packages it evaluates.
struct Part {
    /// Prepared (analysed, evaluated once); cloned when no idle engine is left.
    prepared: regorus::Engine,
    /// Engines whose last evaluation succeeded, ready for the next decision.
    idle: Mutex<Vec<regorus::Engine>>,
}

/// A policy package and where its `deny` set is in the gathered value.
struct Package {
    /// `data.gatehouse.policies.x`.
    path: String,
    /// Keys from the gathered object down to `deny`.
    keys: Vec<regorus::Value>,
    /// Index of the part that evaluates it.
    part: usize,
}

/// What one policy package returned.
pub(crate) type PackageResult = Result<Vec<Value>, Box<ErrorDetail>>;

/// A decision's input document, built once and shared (regorus values are reference counted)
/// by every part that evaluates it.
pub(crate) struct Input(regorus::Value);

impl Input {
    /// `{"intent": intent, "context": context}`, converted straight to regorus values.
    pub(crate) fn new(intent: &Value, context: &Value) -> Self {
        let mut fields = BTreeMap::new();
        fields.insert(regorus::Value::from("context"), to_rego(context));
        fields.insert(regorus::Value::from("intent"), to_rego(intent));
        Self(regorus::Value::from(fields))
    }
}

/// A module of the bundle and the package it declares, as the token scan reads it.
struct Module<'a> {
    file: &'a str,
    text: &'a str,
    /// `None` when the scan could not read the package clause (regorus will say why).
    package: Option<Vec<String>>,
}

impl CompiledPolicies {
    /// Parses and compiles `modules` (path, text) with `data`. With `derived`, the modules of that
    /// package are evaluated once and their values added to the data (see the module
    /// documentation).
    pub(crate) fn compile(
        modules: &[(&str, &str)],
        data: &Value,
        derived: Option<&str>,
        options: CompileOptions,
    ) -> Result<Self, BundleError> {
        let derived = derived.map(derived_package).transpose()?;
        let (derived_modules, modules): (Vec<Module<'_>>, Vec<Module<'_>>) = modules
            .iter()
            .map(|(file, text)| Module {
                file,
                text,
                package: rego_scan::package_of(text).map(|(p, _)| p),
            })
            .partition(|m| {
                derived
                    .as_ref()
                    .is_some_and(|d| m.package.as_ref().is_some_and(|p| p.starts_with(d)))
            });

        // Parse the decision modules and read their packages.
        let mut engine = new_engine(options.limits)?;
        let mut packages: Vec<Vec<String>> = Vec::new();
        for module in &modules {
            let package = add_module(&mut engine, module.file, module.text)?;
            let components: Vec<String> = package.split('.').skip(1).map(str::to_owned).collect();
            if components.first().map(String::as_str) == Some(GATHER_PACKAGE) {
                return Err(BundleError::RegoCompile {
                    message: format!("package `{GATHER_PACKAGE}` is reserved for Gatehouse"),
                    span: Some(file_start(module.file)),
                });
            }
            if let Some(d) = &derived
                && components.starts_with(d)
            {
                return Err(BundleError::RegoCompile {
                    message: format!(
                        "write the package clause of this derived module as `package {}`",
                        d.join(".")
                    ),
                    span: Some(file_start(module.file)),
                });
            }
            packages.push(components);
        }
        let stage_packages = |stage: Stage| -> Vec<String> {
            let mut list: Vec<String> = packages
                .iter()
                .filter(|p| p.starts_with(&stage.root().map(str::to_owned)) && p.len() > 2)
                .map(|p| format!("data.{}", p.join(".")))
                .collect();
            list.sort();
            list.dedup();
            list
        };
        let admission = stage_packages(Stage::Admission);
        let gates = stage_packages(Stage::Gates);
        if admission.is_empty() {
            return Err(BundleError::NoPolicies);
        }

        let derived = match &derived {
            Some(path) => {
                let value =
                    evaluate_derived(&derived_modules, data, path, &packages, options.limits)?;
                Some((path.clone(), value))
            }
            None => None,
        };
        let data = BundleData::new(data, derived)?;
        let gather = gather_module(&data.marked_paths(&packages));

        // How many engines: what the caller asked for, and at least one per
        // `PACKAGES_PER_ENGINE` policy packages (see the module documentation); one when the
        // bundle cannot be split.
        let groups: std::collections::BTreeSet<(Stage, String)> =
            packages.iter().filter_map(|p| stage_group(p)).collect();
        let wanted = options
            .partitions
            .max(groups.len().div_ceil(PACKAGES_PER_ENGINE));
        let shares = if wanted > 1 && splittable(&modules, &packages) {
            shares(&modules, &packages, wanted)
        } else {
            Vec::new()
        };
        let mut parts = Vec::new();
        let mut part_of: BTreeMap<Vec<String>, usize> = BTreeMap::new();
        let mut missing: Vec<String> = Vec::new();
        if shares.len() > 1 {
            // The engine above only read the packages; each part compiles its own share.
            drop(engine);
            for (index, share) in shares.iter().enumerate() {
                let mut part_engine = new_engine(options.limits)?;
                for (module, package) in modules.iter().zip(&packages) {
                    let group = stage_group(package);
                    if group.as_ref().is_none_or(|g| share.contains(g)) {
                        add_module(&mut part_engine, module.file, module.text)?;
                    }
                    if let Some(g) = group
                        && share.contains(&g)
                    {
                        part_of.insert(package.clone(), index);
                    }
                }
                data.add_to(&mut part_engine)?;
                let mine: Vec<&String> = admission
                    .iter()
                    .chain(&gates)
                    .filter(|p| {
                        p.strip_prefix("data.")
                            .and_then(|p| {
                                let components: Vec<&str> = p.split('.').collect();
                                stage_group_of(&components)
                            })
                            .is_some_and(|g| share.contains(&g))
                    })
                    .collect();
                let (part, lacking) = prepare(part_engine, &gather, &mine)?;
                missing.extend(lacking);
                parts.push(part);
            }
        } else {
            data.add_to(&mut engine)?;
            let all: Vec<&String> = admission.iter().chain(&gates).collect();
            let (part, lacking) = prepare(engine, &gather, &all)?;
            missing.extend(lacking);
            parts.push(part);
        }
        // The first package without `deny` in package order, however the packages were spread.
        if let Some(package) = admission.iter().chain(&gates).find(|p| missing.contains(p)) {
            return Err(BundleError::MissingDenyRule {
                package: package.clone(),
            });
        }
        let package = |path: &String, stage: Stage| -> Package {
            let rest = path
                .strip_prefix(stage.package_prefix())
                .unwrap_or_default();
            let components: Vec<String> = path.split('.').skip(1).map(str::to_owned).collect();
            Package {
                path: path.clone(),
                keys: rest
                    .split('.')
                    .chain(std::iter::once("deny"))
                    .map(regorus::Value::from)
                    .collect(),
                part: part_of.get(&components).copied().unwrap_or(0),
            }
        };
        Ok(Self {
            parts,
            admission: admission
                .iter()
                .map(|p| package(p, Stage::Admission))
                .collect(),
            gates: gates.iter().map(|p| package(p, Stage::Gates)).collect(),
            admission_paths: admission,
            gates_paths: gates,
        })
    }

    /// The packages of a stage, in evaluation order.
    pub(crate) fn packages(&self, stage: Stage) -> &[String] {
        match stage {
            Stage::Admission => &self.admission_paths,
            Stage::Gates => &self.gates_paths,
        }
    }

    /// How many engines the packages are spread over: the independent parts of a decision.
    pub(crate) fn parts(&self) -> usize {
        self.parts.len()
    }

    fn stage_packages(&self, stage: Stage) -> &[Package] {
        match stage {
            Stage::Admission => &self.admission,
            Stage::Gates => &self.gates,
        }
    }

    /// Evaluates every package's `deny` of `stage` against `input`; one result per package, in
    /// [`Self::packages`] order.
    pub(crate) fn evaluate(&self, stage: Stage, input: &Input) -> Vec<PackageResult> {
        let mut results: Vec<Option<PackageResult>> = Vec::new();
        results.resize_with(self.stage_packages(stage).len(), || None);
        for part in 0..self.parts.len() {
            for (index, result) in self.evaluate_part(stage, part, input) {
                if let Some(slot) = results.get_mut(index) {
                    *slot = Some(result);
                }
            }
        }
        finish(results)
    }

    /// Evaluates the packages of one part: `(index in Self::packages, result)` pairs.
    pub(crate) fn evaluate_part(
        &self,
        stage: Stage,
        part: usize,
        input: &Input,
    ) -> Vec<(usize, PackageResult)> {
        let Some(engines) = self.parts.get(part) else {
            return Vec::new();
        };
        let mine: Vec<(usize, &Package)> = self
            .stage_packages(stage)
            .iter()
            .enumerate()
            .filter(|(_, p)| p.part == part)
            .collect();
        if mine.is_empty() {
            return Vec::new();
        }
        if let Some(all) = engines.gather(stage, input) {
            let results: Option<Vec<(usize, PackageResult)>> = mine
                .iter()
                .map(|(index, package)| {
                    let mut value = &all;
                    for key in &package.keys {
                        let regorus::Value::Object(fields) = value else {
                            return None;
                        };
                        value = fields.get(key)?;
                    }
                    Some((*index, deny_set(value)))
                })
                .collect();
            if let Some(results) = results {
                return results;
            }
        }
        // Something failed: evaluate package by package to say which. The time limit holds per
        // evaluation, so each runaway package would cost the whole limit again: once one has run
        // out of time, the packages after it are not evaluated (the decision denies either way),
        // and a decision costs at most about twice the limit, however many packages run away.
        let mut out_of_time = false;
        let mut results = Vec::with_capacity(mine.len());
        for (index, package) in &mine {
            if out_of_time {
                results.push((*index, Err(Box::new(not_evaluated()))));
                continue;
            }
            let mut engine = engines.prepared.clone();
            engine.set_input(input.0.clone());
            let result = engine
                .eval_rule(format!("{}.deny", package.path))
                .map_err(|e| {
                    out_of_time = is_time_limit(&e);
                    Box::new(interpreter_error(&e))
                })
                .and_then(|v| deny_set(&v));
            results.push((*index, result));
        }
        results
    }
}

/// The results in package order; a package no part reported (which a correct partition never
/// leaves) is an internal error, so the decision denies.
pub(crate) fn finish(results: Vec<Option<PackageResult>>) -> Vec<PackageResult> {
    results
        .into_iter()
        .map(|r| {
            r.unwrap_or_else(|| {
                Err(Box::new(ErrorDetail::new(
                    "internal_error",
                    "the package was not evaluated",
                )))
            })
        })
        .collect()
}

impl Part {
    /// Evaluates the gathering rule of `stage` on an idle engine (or a clone of the prepared
    /// one); `None` when it fails.
    fn gather(&self, stage: Stage, input: &Input) -> Option<regorus::Value> {
        let idle = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let mut engine = idle.unwrap_or_else(|| self.prepared.clone());
        engine.set_input(input.0.clone());
        let value = engine.eval_rule(stage.gather_path().to_owned()).ok()?;
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < MAX_IDLE
        {
            idle.push(engine);
        }
        Some(value)
    }
}

/// Adds the gathering module and runs the first evaluation (regorus prepares its analysis then;
/// clones share it).
/// Adds the gathering module, checks that everything compiles and that each of `packages`
/// defines `deny` (returning those that do not), and runs the first evaluation (regorus prepares
/// its analysis then; clones share it). The check comes after the gathering module so that
/// regorus analyses the modules once, not twice (the reference bundle loaded in 31M instead of
/// 37M instructions).
fn prepare(
    mut engine: regorus::Engine,
    gather: &str,
    packages: &[&String],
) -> Result<(Part, Vec<String>), BundleError> {
    add_module(&mut engine, GATHER_FILE, gather)?;
    let compiled = engine
        .compile_with_entrypoint(&Arc::from(Stage::Admission.gather_path()))
        .map_err(|e| compile_error(&e))?;
    let missing: Vec<String> = packages
        .iter()
        .filter(|p| {
            !compiled
                .get_rules()
                .contains_key(format!("{p}.deny").as_str())
        })
        .map(|p| (*p).clone())
        .collect();
    engine.set_input(regorus::Value::new_object());
    for stage in [Stage::Admission, Stage::Gates] {
        let _ = engine.eval_rule(stage.gather_path().to_owned());
    }
    let part = Part {
        prepared: engine,
        idle: Mutex::new(Vec::new()),
    };
    Ok((part, missing))
}

/// The generated module: one rule per stage, gathering the stage's packages with the data
/// subtrees `marked` as evaluated (see the module documentation).
fn gather_module(marked: &[Vec<String>]) -> String {
    let mut with = String::new();
    for path in marked {
        let path = path.join(".");
        with.push_str(&format!(" with data.{path} as data.{path}"));
    }
    let mut text = format!("package {GATHER_PACKAGE}\n");
    for stage in [Stage::Admission, Stage::Gates] {
        text.push_str(&format!(
            "\n{} := packages if {{\n\tpackages := {}{with}\n}}\n",
            // The gathering rule is named after the stage (`admission`, `gates`).
            stage.as_str(),
            stage.package_prefix().trim_end_matches('.'),
        ));
    }
    text
}

/// The data of the decision engines: the bundle's data files and the derived values.
struct BundleData {
    files: regorus::Value,
    derived: Option<(Vec<String>, regorus::Value)>,
    /// Top-level keys of the data files, with their subtrees (for the marked paths).
    json: Value,
}

impl BundleData {
    fn new(
        data: &Value,
        derived: Option<(Vec<String>, regorus::Value)>,
    ) -> Result<Self, BundleError> {
        if let Some((path, _)) = &derived {
            // The derived values go where no data file has put anything.
            let mut at = data;
            for (depth, key) in path.iter().enumerate() {
                match at.get(key) {
                    None => break,
                    Some(Value::Object(_)) if depth + 1 < path.len() => {
                        at = at.get(key).unwrap_or(&Value::Null);
                    }
                    Some(_) => {
                        return Err(BundleError::DerivedConflict {
                            path: path
                                .iter()
                                .take(depth + 1)
                                .cloned()
                                .collect::<Vec<_>>()
                                .join("."),
                        });
                    }
                }
            }
        }
        Ok(Self {
            files: to_rego(data),
            derived,
            json: data.clone(),
        })
    }

    fn add_to(&self, engine: &mut regorus::Engine) -> Result<(), BundleError> {
        engine
            .add_data(self.files.clone())
            .map_err(|e| compile_error(&e))?;
        if let Some((path, value)) = &self.derived {
            let mut nested = value.clone();
            for key in path.iter().rev() {
                let mut object = BTreeMap::new();
                object.insert(regorus::Value::from(key.as_str()), nested);
                nested = regorus::Value::from(object);
            }
            engine.add_data(nested).map_err(|e| compile_error(&e))?;
        }
        Ok(())
    }

    /// The data subtrees that hold no package (and the derived package's path): the paths the
    /// gathering rule marks as evaluated.
    fn marked_paths(&self, packages: &[Vec<String>]) -> Vec<Vec<String>> {
        fn walk(
            value: &Value,
            prefix: &mut Vec<String>,
            packages: &[Vec<String>],
            out: &mut Vec<Vec<String>>,
        ) {
            let Value::Object(map) = value else { return };
            for (key, child) in map {
                if !is_identifier(key) {
                    continue;
                }
                prefix.push(key.clone());
                let under = packages.iter().any(|p| prefix.starts_with(p));
                let above = packages.iter().any(|p| p.starts_with(prefix));
                if !under && !above {
                    out.push(prefix.clone());
                } else if above && !under {
                    walk(child, prefix, packages, out);
                }
                prefix.pop();
            }
        }
        let mut out = Vec::new();
        walk(&self.json, &mut Vec::new(), packages, &mut out);
        if let Some((path, _)) = &self.derived
            && !out.iter().any(|p| path.starts_with(p))
        {
            // Under a marked data subtree (`governance.derived`) the derived values are marked
            // with it: one `with` fewer.
            out.push(path.clone());
        }
        out.truncate(MAX_MARKED_PATHS);
        out
    }
}

fn is_identifier(key: &str) -> bool {
    let mut chars = key.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !matches!(
            key,
            "as" | "contains"
                | "data"
                | "default"
                | "else"
                | "every"
                | "false"
                | "if"
                | "import"
                | "in"
                | "input"
                | "not"
                | "null"
                | "package"
                | "some"
                | "true"
                | "with"
        )
}

/// [`stage_group`] of a package given as string slices.
fn stage_group_of(package: &[&str]) -> Option<(Stage, String)> {
    [Stage::Admission, Stage::Gates]
        .into_iter()
        .find_map(|stage| {
            let root = stage.root();
            (package.first() == Some(&root[0]) && package.get(1) == Some(&root[1]))
                .then(|| package.get(2).map(|first| (stage, (*first).to_owned())))
                .flatten()
        })
}

/// The first component under a stage prefix that a package sits in (`gatehouse.policies.a.b`
/// is in group `(Admission, "a")`): nested packages stay in one partition.
fn stage_group(package: &[String]) -> Option<(Stage, String)> {
    [Stage::Admission, Stage::Gates]
        .into_iter()
        .find_map(|stage| {
            let root = stage.root();
            let first = package.get(2)?;
            (package.first().map(String::as_str) == Some(root[0])
                && package.get(1).map(String::as_str) == Some(root[1]))
            .then(|| (stage, first.clone()))
        })
}

/// Whether every policy package can be evaluated without the others: no module reads a stage
/// package other than its own through `data` (a computed `data` path counts as reading every
/// package under it).
fn splittable(modules: &[Module<'_>], packages: &[Vec<String>]) -> bool {
    let stage: std::collections::BTreeSet<&[String]> = packages
        .iter()
        .filter(|p| stage_group(p).is_some())
        .map(Vec::as_slice)
        .collect();
    // How many stage packages sit at or under each path (every prefix of each package).
    let mut under: BTreeMap<&[String], usize> = BTreeMap::new();
    for package in &stage {
        for len in 0..=package.len() {
            if let Some(prefix) = package.get(..len) {
                *under.entry(prefix).or_default() += 1;
            }
        }
    }
    modules.iter().zip(packages).all(|(module, own)| {
        let own = own.as_slice();
        let own_is_stage = stage.contains(own);
        rego_scan::reads(module.text).data.iter().all(|read| {
            let path = read.path.as_slice();
            // Packages under the path read (a parent of a package reads it), the module's own
            // package aside.
            let own_under = usize::from(own_is_stage && own.starts_with(path));
            let others_under = under.get(path).copied().unwrap_or(0) > own_under;
            // A package the path reads into.
            let reads_into = (1..path.len()).any(|len| {
                path.get(..len)
                    .is_some_and(|prefix| prefix != own && stage.contains(prefix))
            });
            !others_under && !reads_into
        })
    })
}

/// Groups of packages for `n` partitions, balanced by the size of their modules' text (largest
/// first, each to the lightest share); as many shares as there are groups, at most `n`.
fn shares(modules: &[Module<'_>], packages: &[Vec<String>], n: usize) -> Vec<Vec<(Stage, String)>> {
    let mut weights: BTreeMap<(Stage, String), usize> = BTreeMap::new();
    for (module, package) in modules.iter().zip(packages) {
        if let Some(group) = stage_group(package) {
            *weights.entry(group).or_default() += module.text.len();
        }
    }
    let mut groups: Vec<((Stage, String), usize)> = weights.into_iter().collect();
    groups.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut shares: Vec<(usize, Vec<(Stage, String)>)> = Vec::new();
    shares.resize_with(n.min(groups.len()), || (0, Vec::new()));
    for (group, weight) in groups {
        if let Some(lightest) = shares.iter_mut().min_by_key(|(w, _)| *w) {
            lightest.0 += weight;
            lightest.1.push(group);
        }
    }
    shares.into_iter().map(|(_, groups)| groups).collect()
}

/// The manifest's derived package as path components, refused where it would hold or hide
/// policy packages.
fn derived_package(name: &str) -> Result<Vec<String>, BundleError> {
    let invalid = |reason| BundleError::DerivedPackage {
        package: name.to_owned(),
        reason,
    };
    let path: Vec<String> = name.split('.').map(str::to_owned).collect();
    if !path.iter().all(|c| is_identifier(c)) {
        return Err(invalid("is not a package path (dotted names)"));
    }
    let reserved: [&[&str]; 3] = [
        &["gatehouse", "policies"],
        &["gatehouse", "gates"],
        &[GATHER_PACKAGE],
    ];
    for r in reserved {
        let r: Vec<String> = r.iter().map(|s| (*s).to_owned()).collect();
        if path.starts_with(&r) || r.starts_with(&path) {
            return Err(invalid(
                "overlaps the policy packages or a package reserved for Gatehouse",
            ));
        }
    }
    Ok(path)
}

/// Checks the derived modules and evaluates them once: the value of `data.<derived>`.
fn evaluate_derived(
    modules: &[Module<'_>],
    data: &Value,
    derived: &[String],
    packages: &[Vec<String>],
    limits: Limits,
) -> Result<regorus::Value, BundleError> {
    if modules.is_empty() {
        return Err(BundleError::DerivedMissing {
            package: derived.join("."),
        });
    }
    for module in modules {
        let reads = rego_scan::reads(module.text);
        if let Some(at) = reads.input.first() {
            return Err(BundleError::DerivedReadsInput {
                span: span_at(module.file, *at),
            });
        }
        for read in &reads.data {
            if read.path.starts_with(derived) {
                continue;
            }
            let reaches = packages
                .iter()
                .any(|p| p.starts_with(&read.path) || read.path.starts_with(p));
            if reaches || derived.starts_with(&read.path) {
                let mut path = String::from("data");
                for component in &read.path {
                    path.push('.');
                    path.push_str(component);
                }
                return Err(BundleError::DerivedReadsPackage {
                    path,
                    span: span_at(module.file, read.at),
                });
            }
        }
    }
    let mut engine = new_engine(limits)?;
    for module in modules {
        add_module(&mut engine, module.file, module.text)?;
    }
    engine
        .add_data(to_rego(data))
        .map_err(|e| compile_error(&e))?;
    let package = derived.join(".");
    add_module(
        &mut engine,
        GATHER_FILE,
        &format!("package {GATHER_PACKAGE}\n\nderived := data.{package}\n"),
    )?;
    let value = engine.eval_rule(DERIVED_PATH.to_owned()).map_err(|e| {
        let detail = interpreter_error(&e);
        BundleError::DerivedEvaluation {
            message: detail.message,
            span: detail.span,
        }
    })?;
    // Every derived rule must have a value: a policy reading a missing one would see undefined
    // and could let a deployment through. Functions are helpers of the derived rules; decisions
    // cannot call them (a policy that does fails closed with `rego_error`).
    let functions: Vec<String> = modules
        .iter()
        .flat_map(|m| rego_scan::functions(m.text))
        .collect();
    let compiled = engine
        .compile_with_entrypoint(&Arc::from(DERIVED_PATH))
        .map_err(|e| compile_error(&e))?;
    let prefix = format!("data.{package}.");
    let mut rules: Vec<&String> = compiled
        .get_rules()
        .keys()
        .filter(|k| k.starts_with(&prefix))
        .collect();
    rules.sort();
    for rule in rules {
        let rest = rule.strip_prefix(&prefix).unwrap_or_default();
        if rest.contains(['[', '"']) || functions.iter().any(|f| f == rest) {
            continue;
        }
        let mut at = &value;
        let mut defined = true;
        for key in rest.split('.') {
            match at {
                regorus::Value::Object(fields) => match fields.get(&regorus::Value::from(key)) {
                    Some(v) => at = v,
                    None => {
                        defined = false;
                        break;
                    }
                },
                _ => {
                    defined = false;
                    break;
                }
            }
        }
        if !defined || *at == regorus::Value::Undefined {
            let name = rest.rsplit('.').next().unwrap_or(rest);
            let span = modules
                .iter()
                .find_map(|m| rego_scan::rule_head(m.text, name).map(|at| span_at(m.file, at)));
            return Err(BundleError::DerivedUndefined {
                rule: rule.clone(),
                span,
            });
        }
    }
    Ok(value)
}

fn span_at(file: &str, at: Position) -> Span {
    Span {
        file: file.to_owned(),
        line: at.line as usize,
        column: at.column as usize,
    }
}

fn file_start(file: &str) -> Span {
    Span {
        file: file.to_owned(),
        line: 1,
        column: 1,
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
    for (name, arity) in [("numbers.range", 2), ("numbers.range_step", 3)] {
        engine
            .add_extension(
                name.to_owned(),
                arity,
                Box::new(move |args: Vec<regorus::Value>| bounded_range(name, &args)),
            )
            .map_err(|e| compile_error(&e))?;
    }
    if let Some(limit) = limits.time_limit {
        engine.set_execution_timer_config(timer(limit));
    }
    Ok(engine)
}

/// Numbers a `numbers.range` or `numbers.range_step` call may return, at most. regorus's own
/// builtins reserve the whole array before their first check (`Vec::with_capacity`), so
/// `numbers.range(1, 400000000)` asked the allocator for about 10 GB at once and aborted the
/// process when it said no; and no time check runs inside a builtin, so `numbers.range(1, 1e8)`
/// ran 4.2 s and took 2.3 GB past a 0.5 s limit. The extensions (looked up before regorus's
/// builtins) compute the count first and refuse a range above this with `limit_exceeded`, at the
/// call's position, the same on every platform (no clock, no allocator needed). A million numbers
/// take about 24 MB and a few milliseconds.
pub(crate) const MAX_RANGE_NUMBERS: u64 = 1_000_000;

/// Marks the message of a refused range, so that [`interpreter_error`] reports `limit_exceeded`
/// (regorus turns an extension's error into text at the call's position).
const RANGE_LIMIT_MARK: &str = "; the range limit is ";

/// `numbers.range(a, b)` / `numbers.range_step(a, b, step)` as regorus evaluates them with
/// strict builtin errors (integers, both ends included, descending when `b < a`, a positive
/// integer step), with at most [`MAX_RANGE_NUMBERS`] numbers.
fn bounded_range(name: &str, args: &[regorus::Value]) -> anyhow::Result<regorus::Value> {
    let integer = |index: usize, what: &str| -> anyhow::Result<Option<i64>> {
        let value = args.get(index).unwrap_or(&regorus::Value::Undefined);
        let number = value.as_number().map_err(|_| {
            anyhow::anyhow!("`{name}` expects numeric argument. Got `{value}` instead")
        })?;
        if !number.is_integer() {
            anyhow::bail!("{what} must be integer");
        }
        // An integer outside i64 makes a range far above the limit.
        Ok(number.as_i64())
    };
    let start = integer(0, "operand")?;
    let end = integer(1, "operand")?;
    let step = if name == "numbers.range_step" {
        match integer(2, "step")? {
            Some(step) if step > 0 => Some(step),
            None => None,
            Some(_) => anyhow::bail!("step must be a positive integer"),
        }
    } else {
        Some(1)
    };
    let count = match (start, end, step) {
        (Some(start), Some(end), Some(step)) => {
            // |end - start| in 128 bits cannot overflow; step > 0.
            let span = (i128::from(end) - i128::from(start)).unsigned_abs();
            u64::try_from(span / u128::from(step.unsigned_abs()) + 1).ok()
        }
        _ => None,
    };
    let (Some(start), Some(end), Some(step), Some(count)) = (start, end, step, count) else {
        anyhow::bail!(
            "`{name}` would return more than {MAX_RANGE_NUMBERS} numbers{RANGE_LIMIT_MARK}{MAX_RANGE_NUMBERS}"
        );
    };
    if count > MAX_RANGE_NUMBERS {
        anyhow::bail!("`{name}` would return {count} numbers{RANGE_LIMIT_MARK}{MAX_RANGE_NUMBERS}");
    }
    let step = if end < start { -step } else { step };
    let values: Vec<regorus::Value> = std::iter::successors(Some(start), |v| v.checked_add(step))
        .take_while(|v| if step > 0 { *v <= end } else { *v >= end })
        .map(regorus::Value::from)
        .collect();
    Ok(regorus::Value::from(values))
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
        regorus::Value::Set(items) => items.iter().map(violation_json).collect(),
        regorus::Value::Array(items) => items.iter().map(violation_json).collect(),
        other => Err(Box::new(ErrorDetail::new(
            "malformed_result",
            format!(
                "`deny` must be a set of violation objects, got {}",
                from_rego(other).map_or_else(|e| format!("a value with no JSON form ({e})"), |v| short_json(&v))
            ),
        ))),
    }
}

/// Whether regorus stopped on the time limit.
fn is_time_limit(e: &anyhow::Error) -> bool {
    matches!(
        e.downcast_ref::<regorus::LimitError>(),
        Some(regorus::LimitError::TimeLimitExceeded { .. })
    )
}

/// A package left out after an earlier one ran out of time (see [`CompiledPolicies::evaluate_part`]).
fn not_evaluated() -> ErrorDetail {
    ErrorDetail::new(
        "limit_exceeded",
        "not evaluated: an earlier package used up the time limit",
    )
    .with_help("simplify the policy that exceeded the time limit, or raise the limit")
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
    if message.contains(RANGE_LIMIT_MARK) {
        // The call's position stays; the message is the same in every front end.
        let what = message
            .rsplit("error: ")
            .next()
            .map_or_else(|| tidy(&message), str::to_owned);
        return ErrorDetail::new("limit_exceeded", what)
            .with_span(span_from_message(&message))
            .with_help("iterate over a smaller range, or over the data itself");
    }
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

/// Converts a regorus value to JSON (sets become arrays, undefined becomes null). Fails on
/// what JSON cannot hold, such as an object whose keys are arrays or objects.
pub(crate) fn from_rego(value: &regorus::Value) -> Result<Value, serde_json::Error> {
    serde_json::to_value(value)
}

/// One item of a `deny` set as JSON; an item JSON cannot hold is a malformed result (the
/// decision denies, saying why).
fn violation_json(item: &regorus::Value) -> Result<Value, Box<ErrorDetail>> {
    from_rego(item).map_err(|e| {
        Box::new(
            ErrorDetail::new(
                "malformed_result",
                format!("a `deny` item has no JSON form: {e}"),
            )
            .with_help(
                "build violation objects with string keys (`{\"msg\": ..., \"path\": ...}`)",
            ),
        )
    })
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

    const ONE: CompileOptions = CompileOptions {
        limits: Limits { time_limit: None },
        partitions: 1,
    };

    fn compile(rego: &str) -> CompiledPolicies {
        CompiledPolicies::compile(&[("p.rego", rego)], &serde_json::json!({}), None, ONE).unwrap()
    }

    fn input(intent: Value) -> Input {
        Input::new(&intent, &serde_json::json!({}))
    }

    #[test]
    fn a_failing_helper_that_deny_does_not_use_changes_nothing() {
        // The gathered rule evaluates every rule of the package and fails on `broken`; the
        // per-package fallback then evaluates `deny` alone, as if the gathering were per package.
        let policies = compile(
            "package gatehouse.policies.p\n\nbroken := to_number(\"x\")\n\ndeny contains {\"policy\": \"x\", \"message\": \"m\"} if {\n\tinput.intent.fire\n}\n",
        );
        let results =
            policies.evaluate(Stage::Admission, &input(serde_json::json!({"fire": true})));
        assert_eq!(results.len(), 1);
        assert_eq!(results[0].as_ref().unwrap().len(), 1);
    }

    #[test]
    fn composite_keys_reach_json_as_their_text() {
        // Rego objects may have composite keys; JSON objects may not. regorus writes such a key
        // as its JSON text, so a violation keeps it (and `from_rego` has nothing to refuse).
        let policies = compile(
            "package gatehouse.policies.p\n\ndeny contains {\"policy\": \"x\", \"message\": \"m\", \"evidence\": {[1]: true}} if {\n\tinput.intent.fire\n}\n",
        );
        let results =
            policies.evaluate(Stage::Admission, &input(serde_json::json!({"fire": true})));
        assert_eq!(results.len(), 1);
        let items = results[0].as_ref().unwrap();
        assert_eq!(items[0]["evidence"], serde_json::json!({"[1]": true}));
    }

    #[test]
    fn nested_packages_are_read_from_the_gathered_rule() {
        let policies = CompiledPolicies::compile(
            &[
                (
                    "a.rego",
                    "package gatehouse.policies.a\n\ndeny contains \"a\" if { input.intent.fire }\n",
                ),
                (
                    "ab.rego",
                    "package gatehouse.policies.a.b\n\ndeny contains \"ab\" if { input.intent.fire }\n",
                ),
            ],
            &serde_json::json!({}),
            None,
            ONE,
        )
        .unwrap();
        assert_eq!(policies.packages(Stage::Admission).len(), 2);
        let results =
            policies.evaluate(Stage::Admission, &input(serde_json::json!({"fire": true})));
        let values: Vec<Vec<Value>> = results.into_iter().map(Result::unwrap).collect();
        assert_eq!(
            values,
            vec![vec![serde_json::json!("a")], vec![serde_json::json!("ab")]]
        );
    }

    const POLICY: &str = "package gatehouse.policies.p\n\ndeny contains data.gatehouse.derived.limit if { input.intent.fire }\n";

    fn derived(derived_rego: &str, data: Value) -> Result<CompiledPolicies, BundleError> {
        CompiledPolicies::compile(
            &[("p.rego", POLICY), ("derived.rego", derived_rego)],
            &data,
            Some("gatehouse.derived"),
            ONE,
        )
    }

    fn at(line: usize, column: usize, file: &str) -> Span {
        Span {
            file: file.into(),
            line,
            column,
        }
    }

    #[test]
    fn derived_values_are_computed_once_and_read_as_data() {
        let policies = derived(
            "package gatehouse.derived\n\nlimit := data.x.y * 2\n",
            serde_json::json!({"x": {"y": 21}}),
        )
        .unwrap();
        let results =
            policies.evaluate(Stage::Admission, &input(serde_json::json!({"fire": true})));
        assert_eq!(results[0].as_ref().unwrap(), &vec![serde_json::json!(42)]);
    }

    #[test]
    fn derived_rules_may_not_read_input() {
        let err = derived(
            "package gatehouse.derived\n\nlimit := 1\n\nenv := input.intent.spec.environment\n",
            serde_json::json!({}),
        )
        .unwrap_err();
        assert_eq!(
            err,
            BundleError::DerivedReadsInput {
                span: at(5, 8, "derived.rego")
            }
        );
    }

    #[test]
    fn derived_rules_may_not_read_other_packages() {
        let err = derived(
            "package gatehouse.derived\n\nimport data.gatehouse.policies.p\n\nlimit := 1\n",
            serde_json::json!({}),
        )
        .unwrap_err();
        assert_eq!(
            err,
            BundleError::DerivedReadsPackage {
                path: "data.gatehouse.policies.p".into(),
                span: at(3, 8, "derived.rego")
            }
        );
        let err = derived(
            "package gatehouse.derived\n\nlimit := count(data[k])\n",
            serde_json::json!({}),
        )
        .unwrap_err();
        assert!(matches!(err, BundleError::DerivedReadsPackage { path, .. } if path == "data"));
    }

    #[test]
    fn a_failing_derived_rule_stops_the_load_at_its_line() {
        let err = derived(
            "package gatehouse.derived\n\nlimit := to_number(\"lots\")\n",
            serde_json::json!({}),
        )
        .unwrap_err();
        let BundleError::DerivedEvaluation { span, .. } = err else {
            panic!("{err:?}")
        };
        assert_eq!(
            span.map(|s| (s.file, s.line)),
            Some(("derived.rego".into(), 3))
        );
    }

    #[test]
    fn an_undefined_derived_rule_stops_the_load() {
        let err = derived(
            "package gatehouse.derived\n\nlimit := f(1)\n\nf(x) := x\n\nmissing := data.x.nothing\n",
            serde_json::json!({"x": {}}),
        )
        .unwrap_err();
        assert_eq!(
            err,
            BundleError::DerivedUndefined {
                rule: "data.gatehouse.derived.missing".into(),
                span: Some(at(7, 1, "derived.rego"))
            }
        );
    }

    #[test]
    fn derived_packages_must_exist_and_stay_clear_of_policies_and_data() {
        let missing = CompiledPolicies::compile(
            &[("p.rego", POLICY)],
            &serde_json::json!({}),
            Some("gatehouse.derived"),
            ONE,
        );
        assert!(matches!(missing, Err(BundleError::DerivedMissing { .. })));
        let reserved = CompiledPolicies::compile(
            &[("p.rego", POLICY)],
            &serde_json::json!({}),
            Some("gatehouse.policies.derived"),
            ONE,
        );
        assert!(matches!(reserved, Err(BundleError::DerivedPackage { .. })));
        let conflict = derived(
            "package gatehouse.derived\n\nlimit := 1\n",
            serde_json::json!({"gatehouse": {"derived": {"limit": 2}}}),
        );
        assert!(
            matches!(conflict, Err(BundleError::DerivedConflict { path }) if path == "gatehouse.derived")
        );
    }

    const LIB: &str = "package gatehouse.lib\n\nfire := input.intent.fire\n";

    fn split_bundle(b: &str) -> Vec<(&'static str, String)> {
        vec![
            ("lib.rego", LIB.to_owned()),
            (
                "a.rego",
                "package gatehouse.policies.a\n\nimport data.gatehouse.lib\n\ndeny contains \"a\" if { lib.fire }\n".to_owned(),
            ),
            ("b.rego", b.to_owned()),
            (
                "c.rego",
                "package gatehouse.policies.c\n\ndeny contains \"c\" if { data.x.y == 1 }\n".to_owned(),
            ),
            (
                "g.rego",
                "package gatehouse.gates.g\n\ndeny contains \"g\" if { input.intent.fire }\n".to_owned(),
            ),
        ]
    }

    fn compile_split(files: &[(&'static str, String)], partitions: usize) -> CompiledPolicies {
        let modules: Vec<(&str, &str)> = files.iter().map(|(f, t)| (*f, t.as_str())).collect();
        CompiledPolicies::compile(
            &modules,
            &serde_json::json!({"x": {"y": 1}}),
            None,
            CompileOptions {
                limits: Limits::default(),
                partitions,
            },
        )
        .unwrap()
    }

    #[test]
    fn split_bundles_give_the_same_results() {
        let files = split_bundle(
            "package gatehouse.policies.b\n\ndeny contains \"b\" if { to_number(\"x\") }\n",
        );
        let one = compile_split(&files, 1);
        let split = compile_split(&files, 3);
        assert_eq!(split.parts(), 3);
        for stage in [Stage::Admission, Stage::Gates] {
            let input = input(serde_json::json!({"fire": true}));
            let a = one.evaluate(stage, &input);
            let b = split.evaluate(stage, &input);
            assert_eq!(format!("{a:?}"), format!("{b:?}"));
            assert!(a.iter().all(|r| r.is_ok()) == (stage == Stage::Gates));
        }
    }

    #[test]
    fn large_bundles_are_spread_over_engines_of_a_few_dozen_packages() {
        let texts: Vec<(String, String)> = (0..70)
            .map(|i| {
                (
                    format!("p{i}.rego"),
                    format!("package gatehouse.policies.p{i:02}\n\ndeny contains \"p{i:02}\" if {{ input.intent.fire }}\n"),
                )
            })
            .collect();
        let modules: Vec<(&str, &str)> = texts
            .iter()
            .map(|(f, t)| (f.as_str(), t.as_str()))
            .collect();
        let policies =
            CompiledPolicies::compile(&modules, &serde_json::json!({}), None, ONE).unwrap();
        assert_eq!(policies.parts(), 3);
        let results =
            policies.evaluate(Stage::Admission, &input(serde_json::json!({"fire": true})));
        let got: Vec<Vec<Value>> = results.into_iter().map(Result::unwrap).collect();
        let want: Vec<Vec<Value>> = (0..70)
            .map(|i| vec![serde_json::json!(format!("p{i:02}"))])
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn bundles_whose_policies_read_each_other_keep_one_engine() {
        let files = split_bundle(
            "package gatehouse.policies.b\n\ndeny contains x if { some x in data.gatehouse.policies.a.deny }\n",
        );
        assert_eq!(compile_split(&files, 3).parts(), 1);
    }

    #[test]
    fn json_round_trips_through_rego_values() {
        let v = serde_json::json!({"a": [1, 2.5, -3, true, null, "x"], "b": {"c": 18446744073709551615u64}});
        assert_eq!(from_rego(&to_rego(&v)).unwrap(), v);
    }
}
