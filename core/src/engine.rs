//! The engine: a loaded bundle that turns intents into decisions.

use serde_json::{Value, json};

use crate::approvers::{Approvers, PullRequestEvidence, ReviewApprovals};
use crate::bundle::{BundleError, BundleInfo, BundleSource, FileRole, Manifest};
use crate::catalog::{Catalog, Enforcement, SCHEMA_POLICY};
use crate::context::Approval;
use crate::context::EvaluationContext;
use crate::decision::{Decision, MAX_LISTED, Truncated, Violation, ViolationStatus, outcome_of};
use crate::error::{Diagnostic, ErrorDetail, IntentError};
use crate::exemption::{Exemption, ScopeFacts, exemptions_from_data};
use crate::fanout::{Fanout, Sequential};
use crate::intent::{intent_digest, parse_intent};
use crate::rego::{CompileOptions, CompiledPolicies, Input, Limits, PackageResult, TestReport};
use crate::schema::IntentSchema;
use crate::stage::Stage;

/// How to load a bundle.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EngineOptions {
    /// Evaluation limits.
    pub limits: Limits,
}

/// A loaded, compiled bundle. Immutable, `Send + Sync`, cheap to share behind an `Arc`; every
/// method takes `&self`.
pub struct Engine {
    info: BundleInfo,
    manifest: Manifest,
    catalog: Catalog,
    exemptions: Vec<Exemption>,
    approvers: Approvers,
    policies: CompiledPolicies,
    schema: &'static IntentSchema,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("bundle", &self.info)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Loads a bundle with default options.
    pub fn load(source: &BundleSource) -> Result<Self, BundleError> {
        Self::load_with(source, EngineOptions::default())
    }

    /// Loads a bundle: checks the files, merges data, reads the catalogue, exemptions and
    /// approvers, evaluates the derived rules (the manifest's `derived` package) once, and
    /// compiles the policies.
    pub fn load_with(source: &BundleSource, options: EngineOptions) -> Result<Self, BundleError> {
        Self::load_split(source, options, 1)
    }

    /// Loads a bundle as [`Self::load_with`] does, with its policy packages spread over up to
    /// `parts` engines, so that [`Self::evaluate_stage`] can evaluate the parts of one decision on
    /// several threads; the decisions have the same bytes as with one engine. A bundle whose
    /// modules read another policy package's rules keeps one engine ([`Self::parts`] says how
    /// many it got). Loading takes longer (the shared modules are compiled once per part), and
    /// evaluating the parts one after the other costs more than one engine on a bundle of a few
    /// dozen packages: split only where decisions run on spare cores. (A large bundle is spread
    /// over engines of at most 32 packages whatever `parts` says: regorus's cost per package
    /// grows with the number of modules in its engine.)
    pub fn load_split(
        source: &BundleSource,
        options: EngineOptions,
        parts: usize,
    ) -> Result<Self, BundleError> {
        let manifest = source.manifest()?;
        let data = source.merged_data()?;
        let governance = data.get("governance");
        let catalog = Catalog::from_data(governance.and_then(|g| g.get("catalog")))?;
        let exemptions = exemptions_from_data(governance.and_then(|g| g.get("exemptions")))?;
        let override_roles = catalog
            .iter()
            .filter_map(|(_, meta)| meta.override_role.clone())
            .collect();
        let approvers = Approvers::from_data(
            governance.and_then(|g| g.get("approvers")),
            governance.and_then(|g| g.get("identities")),
            &override_roles,
        )
        .map_err(|error| BundleError::Approvers {
            file: source.data_file_holding(error.path()).map(str::to_owned),
            source: error,
        })?;
        let modules: Vec<(&str, &str)> = source.files_of(FileRole::Policy).collect();
        let policies = CompiledPolicies::compile(
            &modules,
            &data,
            manifest.derived.as_deref(),
            CompileOptions {
                limits: options.limits,
                partitions: parts.max(1),
            },
        )?;
        Ok(Self {
            info: BundleInfo {
                name: manifest.name.clone(),
                revision: manifest.revision.clone(),
                digest: source.digest(),
            },
            manifest,
            catalog,
            exemptions,
            approvers,
            policies,
            schema: IntentSchema::shared(),
        })
    }

    /// Name, revision and digest of the bundle.
    pub fn info(&self) -> &BundleInfo {
        &self.info
    }

    /// The bundle's manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Policy metadata.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Exemptions, sorted by id.
    pub fn exemptions(&self) -> &[Exemption] {
        &self.exemptions
    }

    /// Who approves in which role through a pull request review (`governance.approvers`,
    /// `governance.identities`).
    pub fn approvers(&self) -> &Approvers {
        &self.approvers
    }

    /// The approvals a pull request's reviews give under this bundle's approvers data (source
    /// `github_review`), with the verdict on each reviewer: see [`Approvers::approvals_from_github`].
    /// Pure: the caller reads the reviews and the members of [`Approvers::teams`] from GitHub.
    pub fn approvals_from_github(&self, evidence: &PullRequestEvidence) -> ReviewApprovals {
        self.approvers.approvals_from_github(evidence)
    }

    /// The packages of a stage: admission policies (`data.gatehouse.policies.*`) or release
    /// gates (`data.gatehouse.gates.*`).
    pub fn packages(&self, stage: Stage) -> &[String] {
        self.policies.packages(stage)
    }

    /// The compiled intent schema.
    pub fn schema(&self) -> &IntentSchema {
        self.schema
    }

    /// How many independent parts a decision has: 1 for a bundle of up to 32 packages loaded
    /// without a split, else what [`Self::load_split`] spread the policy packages over.
    pub fn parts(&self) -> usize {
        self.policies.parts()
    }

    /// Parses intent text (JSON or YAML) and evaluates it.
    pub fn evaluate_text(
        &self,
        text: &str,
        context: &EvaluationContext,
    ) -> Result<Decision, IntentError> {
        let intent = parse_intent(text)?;
        Ok(self.evaluate(&intent, context))
    }

    /// Evaluates an intent for admission ([`Self::evaluate_stage`] with [`Stage::Admission`], on
    /// this thread). Never fails: schema errors, policy errors and limits all give `deny` with
    /// the reason listed.
    pub fn evaluate(&self, intent: &Value, context: &EvaluationContext) -> Decision {
        self.evaluate_stage(Stage::Admission, intent, context, &Sequential)
    }

    /// Evaluates an intent at `stage`, with the parts of the decision (see [`Self::load_split`])
    /// run by `fanout` (e.g. on a thread pool; [`Sequential`] runs them on this thread, with the
    /// same bytes). Never fails: schema errors, policy errors and limits all give `deny` with
    /// the reason listed.
    ///
    /// [`Stage::Admission`] evaluates the admission policies (`gatehouse.policies.*`).
    /// [`Stage::Gates`] evaluates the release gates (`gatehouse.gates.*`) for an approved intent
    /// over the pipeline's evidence (`context.evidence`), when the pipeline reports success:
    /// `allow` means the deployment may become SUCCESS; anything else turns it into FAILED, with
    /// the gate violations to record on the event. Missing evidence fails the gates that need it.
    pub fn evaluate_stage(
        &self,
        stage: Stage,
        intent: &Value,
        context: &EvaluationContext,
        fanout: &dyn Fanout,
    ) -> Decision {
        self.decide_with_digest(stage, intent, context, fanout, None)
    }

    /// Evaluates an intent for admission and reports every catalogue policy's verdict.
    pub fn explain(
        &self,
        intent: &Value,
        context: &EvaluationContext,
    ) -> (Decision, Vec<crate::explain::PolicyVerdict>) {
        let decision = self.evaluate(intent, context);
        let environment = intent.pointer("/spec/environment").and_then(Value::as_str);
        let verdicts =
            crate::explain::explain(&self.catalog, &decision, Stage::Admission, environment);
        (decision, verdicts)
    }

    /// Evaluates with the intent's digest (`sha256:<hex>`) already computed (the decision
    /// cache computes it for its key).
    pub(crate) fn decide_with_intent_digest(
        &self,
        stage: Stage,
        intent: &Value,
        context: &EvaluationContext,
        fanout: &dyn Fanout,
        intent_digest: &str,
    ) -> Decision {
        self.decide_with_digest(stage, intent, context, fanout, Some(intent_digest))
    }

    fn decide_with_digest(
        &self,
        stage: Stage,
        intent: &Value,
        context: &EvaluationContext,
        fanout: &dyn Fanout,
        digest: Option<&str>,
    ) -> Decision {
        let schema = self.schema.check(intent);
        let mut approvals = trusted_approvals(context);
        let (violations, errors) = if schema.errors.is_empty() {
            self.evaluate_packages(stage, intent, context, &approvals, fanout)
        } else {
            // No policy ran, so no approval was taken into account.
            approvals.clear();
            let violations = schema
                .errors
                .into_iter()
                .map(|e| {
                    let mut violation = self.violation(
                        SCHEMA_POLICY,
                        e.message,
                        e.path,
                        Some(json!({"keyword": e.keyword})),
                        None,
                        None,
                    );
                    if let (Some(v), Some(expected)) = (violation.as_mut(), e.expected) {
                        v.remediation = format!("`{}`: {expected}", v.path);
                    }
                    violation
                })
                .collect();
            (violations, Vec::new())
        };
        let mut violations: Vec<Violation> = violations.into_iter().flatten().collect();
        violations.sort_by(|a, b| {
            (&a.policy, &a.path, &a.message).cmp(&(&b.policy, &b.path, &b.message))
        });
        violations.dedup();
        let mut errors = errors;
        errors.sort_by(|a, b| {
            (&a.policy, &a.code, &a.message).cmp(&(&b.policy, &b.code, &b.message))
        });
        let outcome = outcome_of(&violations, &errors);
        let truncated = Truncated {
            violations: violations.len().saturating_sub(MAX_LISTED) + schema.omitted,
            errors: errors.len().saturating_sub(MAX_LISTED),
        };
        let violations = keep_most_severe(violations);
        errors.truncate(MAX_LISTED);
        Decision {
            outcome,
            violations,
            errors,
            truncated: (truncated != Truncated::default()).then_some(truncated),
            approvals: approvals.into_iter().cloned().collect(),
            bundle: self.info.clone(),
            intent_digest: digest.map_or_else(|| intent_digest(intent), str::to_owned),
            evaluated_at: context.now,
        }
    }

    fn evaluate_packages(
        &self,
        stage: Stage,
        intent: &Value,
        context: &EvaluationContext,
        approvals: &[&Approval],
        fanout: &dyn Fanout,
    ) -> (Vec<Option<Violation>>, Vec<ErrorDetail>) {
        let context_value = match context.to_input_value() {
            Ok(value) => value,
            Err(e) => {
                return (Vec::new(), e.details());
            }
        };
        let input = Input::new(intent, &context_value);
        let results = self.package_results(stage, &input, fanout);
        let facts = scope_facts(intent);
        let requester = intent
            .pointer("/metadata/requested_by")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let mut violations = Vec::new();
        let mut errors = Vec::new();
        for (package, result) in self.policies.packages(stage).iter().zip(results) {
            let package_name = package.trim_start_matches("data.");
            match result {
                Err(e) => {
                    let mut e = *e;
                    e.message = format!("package `{package_name}`: {}", e.message);
                    errors.push(e);
                }
                Ok(raw) => {
                    for item in raw {
                        match self.violation_from_raw(&item, &facts, context, requester, approvals)
                        {
                            Ok(v) => violations.push(Some(v)),
                            Err(e) => errors.push(ErrorDetail {
                                message: format!("package `{package_name}`: {}", e.message),
                                ..*e
                            }),
                        }
                    }
                }
            }
        }
        (violations, errors)
    }

    /// Every package's result, in package order: the parts evaluated by `fanout` (one part: on
    /// this thread).
    fn package_results(
        &self,
        stage: Stage,
        input: &Input,
        fanout: &dyn Fanout,
    ) -> Vec<PackageResult> {
        let parts = self.policies.parts();
        if parts <= 1 {
            return self.policies.evaluate(stage, input);
        }
        let done: Vec<std::sync::OnceLock<Vec<(usize, PackageResult)>>> =
            (0..parts).map(|_| std::sync::OnceLock::new()).collect();
        fanout.run(parts, &|part| {
            if let Some(slot) = done.get(part) {
                let _ = slot.get_or_init(|| self.policies.evaluate_part(stage, part, input));
            }
        });
        let mut results: Vec<Option<PackageResult>> = Vec::new();
        results.resize_with(self.policies.packages(stage).len(), || None);
        for (part, slot) in done.into_iter().enumerate() {
            // A fanout that skipped a part leaves it to this thread.
            let pairs = slot
                .into_inner()
                .unwrap_or_else(|| self.policies.evaluate_part(stage, part, input));
            for (index, result) in pairs {
                if let Some(r) = results.get_mut(index) {
                    *r = Some(result);
                }
            }
        }
        crate::rego::finish(results)
    }

    /// Turns one `deny` entry into a violation, applying enforcement, exemptions and overrides.
    fn violation_from_raw(
        &self,
        raw: &Value,
        facts: &ScopeFacts<'_>,
        context: &EvaluationContext,
        requester: &str,
        approvals: &[&Approval],
    ) -> Result<Violation, Box<ErrorDetail>> {
        let field = |name: &str| raw.get(name).and_then(Value::as_str);
        let (Some(policy), Some(message)) = (field("policy"), field("message")) else {
            return Err(Box::new(ErrorDetail::new(
                "malformed_violation",
                format!("a `deny` entry lacks string fields `policy` and `message`: {raw}"),
            )
            .with_help("build entries with `{\"policy\": id, \"message\": text, \"path\": field, \"evidence\": {...}}`")));
        };
        if policy == SCHEMA_POLICY {
            return Err(Box::new(
                ErrorDetail::new(
                    "malformed_violation",
                    format!(
                        "policies may not report `{SCHEMA_POLICY}`; it is reserved for schema errors"
                    ),
                )
                .with_policy(policy),
            ));
        }
        let Some(meta) = self.catalog.get(policy) else {
            return Err(Box::new(
                ErrorDetail::new(
                    "unknown_policy",
                    format!("policy `{policy}` reported a violation but has no catalogue entry"),
                )
                .with_policy(policy)
                .with_help(
                    "add the policy's metadata under `governance.catalog` in the bundle data",
                ),
            ));
        };
        let mut violation = self
            .violation(
                policy,
                message.to_owned(),
                field("path").unwrap_or_default().to_owned(),
                raw.get("evidence").cloned(),
                field("inherited_from").map(str::to_owned),
                facts.environment,
            )
            .ok_or_else(|| Box::new(ErrorDetail::new("unknown_policy", policy)))?;

        let matching = self.exemptions.iter().filter(|e| e.covers(policy, facts));
        let (active, expired): (Vec<&Exemption>, Vec<&Exemption>) =
            matching.partition(|e| e.active_at(context.now));
        if let Some(exemption) = active.first() {
            violation.exempted_by = Some(exemption.id.clone());
            violation.status = ViolationStatus::Exempted;
            return Ok(violation);
        }
        violation.expired_exemption = expired.first().map(|e| e.id.clone());
        if violation.enforcement == Enforcement::SoftMandatory
            && let Some(role) = &meta.override_role
        {
            // The requester never approves their own deployment, whoever recorded the approval.
            violation.overridden_by = approvals
                .iter()
                .find(|a| &a.role == role && !crate::identity::same_identity(&a.by, requester))
                .map(|a| a.by.clone());
            if violation.overridden_by.is_some() {
                violation.status = ViolationStatus::Overridden;
            }
        }
        Ok(violation)
    }

    fn violation(
        &self,
        policy: &str,
        message: String,
        path: String,
        evidence: Option<Value>,
        inherited_from: Option<String>,
        environment: Option<&str>,
    ) -> Option<Violation> {
        let meta = self.catalog.get(policy)?;
        let enforcement = meta.enforcement_in(environment);
        Some(Violation {
            policy: policy.to_owned(),
            title: meta.title.clone(),
            severity: meta.severity,
            enforcement,
            status: match enforcement {
                Enforcement::HardMandatory => ViolationStatus::Blocking,
                Enforcement::SoftMandatory => ViolationStatus::PendingApproval,
                Enforcement::Advisory => ViolationStatus::Advisory,
            },
            message,
            path,
            remediation: meta.remediation.clone(),
            override_role: (enforcement == Enforcement::SoftMandatory)
                .then(|| meta.override_role.clone())
                .flatten(),
            exempted_by: None,
            expired_exemption: None,
            overridden_by: None,
            inherited_from,
            evidence,
        })
    }
}

fn scope_facts(intent: &Value) -> ScopeFacts<'_> {
    let text = |pointer: &str| intent.pointer(pointer).and_then(Value::as_str);
    ScopeFacts {
        service: text("/spec/service"),
        account: text("/spec/target/account").or_else(|| text("/spec/target/subscription")),
        environment: text("/spec/environment"),
    }
}

/// The context's approvals (the only ones that count: the schema refuses approvals inside an
/// intent), sorted and deduplicated so overrides and the recorded list are deterministic.
fn trusted_approvals(context: &EvaluationContext) -> Vec<&Approval> {
    let key = |a: &Approval| {
        (
            crate::identity::identity_key(&a.by),
            a.role.clone(),
            a.source,
            a.at,
            a.reference.clone(),
            a.comment.clone(),
        )
    };
    let mut approvals: Vec<&Approval> = context.approvals.iter().collect();
    approvals.sort_by_cached_key(|a| key(a));
    approvals.dedup_by_key(|a| key(a));
    approvals
}

/// At most [`MAX_LISTED`] violations: when there are more, the ones that decide the outcome
/// first (blocking, then pending approval, then lifted, then advisory), in the contract's order.
fn keep_most_severe(violations: Vec<Violation>) -> Vec<Violation> {
    if violations.len() <= MAX_LISTED {
        return violations;
    }
    let rank = |v: &Violation| match v.status {
        ViolationStatus::Blocking => 0,
        ViolationStatus::PendingApproval => 1,
        ViolationStatus::Overridden => 2,
        ViolationStatus::Exempted => 3,
        ViolationStatus::Advisory => 4,
    };
    let mut ranked: Vec<(usize, Violation)> = violations.into_iter().enumerate().collect();
    ranked.sort_by_key(|(i, v)| (rank(v), *i));
    ranked.truncate(MAX_LISTED);
    ranked.sort_by_key(|(i, _)| *i);
    ranked.into_iter().map(|(_, v)| v).collect()
}

/// Runs the bundle's Rego unit tests (`test_*` rules in `*_test.rego` files), with per-file line
/// coverage of the policy files when `coverage` is set.
pub fn run_bundle_tests(source: &BundleSource, coverage: bool) -> Result<TestReport, BundleError> {
    source.manifest()?;
    let data = source.merged_data()?;
    let modules: Vec<(&str, &str)> = source.files_of(FileRole::Policy).collect();
    let tests: Vec<(&str, &str)> = source.files_of(FileRole::Test).collect();
    crate::rego::run_tests(&modules, &tests, &data, coverage)
}
