//! `gatehouse smoke --url URL`: a post-deploy check of a running control plane, as a pipeline
//! runs it after rolling out `gatehouse serve`. Each check is one line; the run fails (exit 1)
//! when any check fails and says which.
//!
//! The checks, in order: liveness (`/healthz`, with the server's version, against
//! `--expect-version`), readiness (`/readyz`:
//! the database answers), the OpenAPI document, the bundle digest the server judges with
//! (against `--expect-bundle-digest`), every case evaluated with its expected outcome and policy
//! ids (`POST /v1/evaluate`, with the server's own context), the audit ledger verifying, and the
//! metrics. A read-only token (an auditor's) is enough; it is read from an environment variable,
//! never from a flag, and goes over plain http only to a loopback host unless
//! `--allow-insecure-http` says so. A user name and password in `--url` are never printed.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use gatehouse_core::{Decision, Outcome};
use reqwest::StatusCode;
use serde::Serialize;
use serde_json::{Value, json};

use crate::cli_error::CliError;

/// The variable that holds the token unless `--token-env` names another.
pub const DEFAULT_TOKEN_ENV: &str = "GATEHOUSE_TOKEN";

/// Output formats of `smoke`.
#[derive(Clone, Copy, clap::ValueEnum, PartialEq, Eq, Debug)]
pub enum SmokeFormat {
    /// One line per check and a verdict.
    Human,
    /// `{"url", "passed", "checks": [{"name", "passed", "detail", "millis"}]}`.
    Json,
}

/// The flags of `gatehouse smoke`.
#[derive(clap::Args, Debug)]
pub struct SmokeArgs {
    /// The control plane's base URL, e.g. https://gatehouse.example.com.
    #[arg(long)]
    pub url: String,
    /// The environment variable holding a bearer token (a read-only auditor token is enough).
    #[arg(long, value_name = "NAME", default_value = DEFAULT_TOKEN_ENV)]
    pub token_env: String,
    /// Fail unless the server judges with this bundle digest (`sha256:...`, as `gatehouse
    /// bundle` prints it).
    #[arg(long, value_name = "DIGEST")]
    pub expect_bundle_digest: Option<String>,
    /// Fail the health check unless the server reports this version (`x.y.z`, as `gatehouse
    /// --version` prints it; a leading `v` is ignored), e.g. after rolling out a release.
    #[arg(long, value_name = "VERSION")]
    pub expect_version: Option<String>,
    /// An intent file and what the server must decide for it: `FILE=OUTCOME` or
    /// `FILE=OUTCOME:POLICY,POLICY` (those policies must block or wait for approval). Repeatable;
    /// without it, a known-allowed and a known-denied intent of the reference bundle.
    #[arg(long = "case", value_name = "FILE=OUTCOME[:POLICIES]")]
    pub cases: Vec<String>,
    /// Run only these checks (repeatable): health, readiness, openapi, bundle, evaluate, audit,
    /// metrics. `--check health --check readiness` needs no token (a container health check).
    #[arg(long = "check", value_enum, value_name = "CHECK")]
    pub only: Vec<CheckKind>,
    /// Seconds each request may take.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub timeout: u64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = SmokeFormat::Human)]
    pub format: SmokeFormat,
    /// Send the token over plain http to a host other than loopback (127.0.0.1, ::1,
    /// localhost); without it such a run exits 2 before any request.
    #[arg(long)]
    pub allow_insecure_http: bool,
}

/// The kinds of check, in the order they run.
#[derive(Clone, Copy, clap::ValueEnum, PartialEq, Eq, Debug)]
pub enum CheckKind {
    /// `GET /healthz`.
    Health,
    /// `GET /readyz`.
    Readiness,
    /// `GET /openapi.json`.
    Openapi,
    /// The bundle digest (`GET /v1/policies`).
    Bundle,
    /// Each case through `POST /v1/evaluate`.
    Evaluate,
    /// `GET /v1/audit/verify`.
    Audit,
    /// `GET /metrics`.
    Metrics,
}

/// An intent and the decision expected for it.
#[derive(Debug, Clone, PartialEq)]
struct Case {
    name: String,
    intent: Value,
    outcome: Outcome,
    policies: Vec<String>,
}

/// One check's result.
#[derive(Debug, Clone, Serialize)]
struct Check {
    name: String,
    passed: bool,
    detail: String,
    millis: u64,
}

/// A dev intent the reference bundle allows (`policies/examples/web-frontend-dev-allowed.yaml`).
fn reference_allowed() -> Value {
    json!({
        "apiVersion": "gatehouse.dev/v1",
        "kind": "DeploymentIntent",
        "metadata": {"name": "gatehouse-smoke-allowed", "requested_by": "smoke@example.com"},
        "spec": {
            "service": "web-frontend",
            "version": "2.0.0",
            "artifact": "ghcr.io/acme/web-frontend@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "environment": "dev",
            "target": {"cloud": "aws", "account": "555555555555", "region": "us-west-2"},
            "resources": [{"type": "compute.instance", "name": "web", "size": "t3.small", "count": 1}],
            "tags": {"owner": "team-web", "cost-center": "CC-2001", "data-classification": "internal"},
            "estimated_monthly_cost": 120,
            "strategy": "rolling"
        }
    })
}

/// The default cases: the allowed intent, and the same in a region the reference bundle denies.
fn default_cases() -> Vec<Case> {
    let allowed = reference_allowed();
    let mut denied = allowed.clone();
    if let Some(target) = denied.pointer_mut("/spec/target") {
        target["region"] = json!("ap-south-1");
    }
    if let Some(name) = denied.pointer_mut("/metadata/name") {
        *name = json!("gatehouse-smoke-denied");
    }
    vec![
        Case {
            name: "reference allowed intent".into(),
            intent: allowed,
            outcome: Outcome::Allow,
            policies: Vec::new(),
        },
        Case {
            name: "reference denied intent".into(),
            intent: denied,
            outcome: Outcome::Deny,
            policies: vec!["region.allowed".into()],
        },
    ]
}

/// Reads `FILE=OUTCOME[:POLICY,...]`.
fn parse_case(spec: &str) -> Result<Case, CliError> {
    let usage = |why: &str| {
        CliError::Usage(format!(
            "--case `{spec}`: {why} (expected FILE=OUTCOME or FILE=OUTCOME:POLICY,POLICY with OUTCOME allow, needs_approval or deny)"
        ))
    };
    let (file, expected) = spec.rsplit_once('=').ok_or_else(|| usage("no `=`"))?;
    let (outcome, policies) = match expected.split_once(':') {
        Some((outcome, policies)) => (outcome, policies),
        None => (expected, ""),
    };
    let outcome = match outcome {
        "allow" => Outcome::Allow,
        "needs_approval" => Outcome::NeedsApproval,
        "deny" => Outcome::Deny,
        other => return Err(usage(&format!("`{other}` is not an outcome"))),
    };
    let path = PathBuf::from(file);
    let text = crate::files::read(&path)?;
    let intent = gatehouse_core::parse_intent(&text).map_err(|e| CliError::Details {
        summary: format!("cannot read intent `{file}`"),
        details: gatehouse_core::Diagnostic::details(&e),
    })?;
    Ok(Case {
        name: file.to_owned(),
        intent,
        outcome,
        policies: policies
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

/// A client of one control plane.
struct Server {
    client: reqwest::Client,
    base: String,
    token: Option<String>,
}

/// A response: status, and the body as JSON when it is JSON, else as text.
struct Answer {
    status: StatusCode,
    body: Value,
    headers: reqwest::header::HeaderMap,
}

impl Server {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Answer, String> {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(describe_transport)?;
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.map_err(describe_transport)?;
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok(Answer {
            status,
            body,
            headers,
        })
    }

    async fn get(&self, path: &str) -> Result<Answer, String> {
        self.call(reqwest::Method::GET, path, None).await
    }
}

/// A transport error without the URL (which may hold credentials) repeated in it.
fn describe_transport(e: reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    // The innermost cause says what happened (`Connection refused`, a TLS failure).
    let mut root: Option<&dyn std::error::Error> = std::error::Error::source(&e);
    while let Some(next) = root.and_then(std::error::Error::source) {
        root = Some(next);
    }
    match root {
        Some(cause) => format!("{kind}: {cause}"),
        None => format!("{kind}: {}", e.without_url()),
    }
}

/// What a failed answer says: the problem's detail, or the status.
fn refusal(answer: &Answer) -> String {
    let detail = answer
        .body
        .get("detail")
        .and_then(Value::as_str)
        .map(|d| format!(": {d}"))
        .unwrap_or_default();
    format!("answered {}{detail}", answer.status)
}

/// A URL as printed: any user name and password replaced by `redacted` (also when the URL does
/// not parse).
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rfind('@') {
        Some(at) => format!(
            "{scheme}://redacted{}{path}",
            authority.get(at..).unwrap_or_default()
        ),
        None => url.to_owned(),
    }
}

/// Whether `url` names this machine: `localhost` or a loopback address.
fn is_loopback(url: &reqwest::Url) -> bool {
    url.host_str().is_some_and(|host| {
        host.eq_ignore_ascii_case("localhost")
            || host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    })
}

/// Runs every check; see the module documentation.
pub fn run(args: &SmokeArgs) -> Result<ExitCode, CliError> {
    let base = args.url.trim_end_matches('/').to_owned();
    let shown = redact_url(&base);
    let url =
        reqwest::Url::parse(&base).map_err(|e| CliError::Usage(format!("--url `{shown}`: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(CliError::Usage(format!(
            "--url `{shown}`: only http and https URLs are checked"
        )));
    }
    let cases = if args.cases.is_empty() {
        default_cases()
    } else {
        args.cases
            .iter()
            .map(|c| parse_case(c))
            .collect::<Result<_, _>>()?
    };
    let token = std::env::var(&args.token_env)
        .ok()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty());
    if token.is_some() && url.scheme() == "http" && !is_loopback(&url) && !args.allow_insecure_http
    {
        return Err(CliError::Usage(format!(
            "--url `{shown}`: the token in `{}` would cross the network in clear text over http; use https, or pass --allow-insecure-http",
            args.token_env
        )));
    }
    // reqwest is built with rustls and no default crypto provider: install ring once.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(args.timeout.max(1)))
        .user_agent(concat!("gatehouse-smoke/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| CliError::Usage(format!("cannot build the HTTP client: {e}")))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Usage(format!("cannot start the HTTP runtime: {e}")))?;
    let server = Server {
        client,
        base: base.clone(),
        token,
    };
    let checks = runtime.block_on(checks(&server, args, &cases));
    let passed = checks.iter().all(|c| c.passed);
    match args.format {
        SmokeFormat::Human => {
            let mut out = String::new();
            for c in &checks {
                out.push_str(&format!(
                    "{}  {}: {} ({} ms)\n",
                    if c.passed { "ok  " } else { "FAIL" },
                    c.name,
                    c.detail,
                    c.millis
                ));
            }
            let failed = checks.iter().filter(|c| !c.passed).count();
            out.push_str(&if passed {
                format!("smoke: {shown}: all {} checks passed\n", checks.len())
            } else {
                format!(
                    "smoke: {shown}: {failed} of {} checks failed\n",
                    checks.len()
                )
            });
            crate::write_stdout(&out);
        }
        SmokeFormat::Json => {
            let report = json!({"url": shown, "passed": passed, "checks": checks});
            let text = serde_json::to_string_pretty(&report).map_err(|source| CliError::Json {
                what: "smoke report",
                source,
            })?;
            crate::write_stdout(&text);
        }
    }
    Ok(if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn checks(server: &Server, args: &SmokeArgs, cases: &[Case]) -> Vec<Check> {
    let wanted = |kind: CheckKind| args.only.is_empty() || args.only.contains(&kind);
    let mut out = Vec::new();
    let mut push = |name: &str, started: Instant, result: Result<String, String>| {
        let (passed, detail) = match result {
            Ok(detail) => (true, detail),
            Err(detail) => (false, detail),
        };
        out.push(Check {
            name: name.to_owned(),
            passed,
            detail,
            millis: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        });
    };
    if wanted(CheckKind::Health) {
        let t = Instant::now();
        let result = health(server, args.expect_version.as_deref()).await;
        push("health", t, result);
    }
    if wanted(CheckKind::Readiness) {
        let t = Instant::now();
        push("readiness", t, readiness(server).await);
    }
    if wanted(CheckKind::Openapi) {
        let t = Instant::now();
        push("openapi", t, openapi(server).await);
    }
    if wanted(CheckKind::Bundle) {
        let t = Instant::now();
        let result = bundle(server, args.expect_bundle_digest.as_deref()).await;
        push("bundle", t, result);
    }
    if wanted(CheckKind::Evaluate) {
        for case in cases {
            let t = Instant::now();
            push(
                &format!("evaluate {}", case.name),
                t,
                evaluate(server, case).await,
            );
        }
    }
    if wanted(CheckKind::Audit) {
        let t = Instant::now();
        push("audit", t, audit(server).await);
    }
    if wanted(CheckKind::Metrics) {
        let t = Instant::now();
        push("metrics", t, metrics(server).await);
    }
    out
}

async fn health(server: &Server, expected: Option<&str>) -> Result<String, String> {
    let answer = server.get("/healthz").await?;
    if answer.status != StatusCode::OK || answer.body.get("status") != Some(&json!("ok")) {
        return Err(format!("/healthz {}", refusal(&answer)));
    }
    let version = answer.body.get("version").and_then(Value::as_str);
    match (version, expected.map(|v| v.trim().trim_start_matches('v'))) {
        (Some(actual), Some(want)) if actual != want => Err(format!(
            "the server runs gatehouse {actual}, expected {want}"
        )),
        (None, Some(want)) => Err(format!(
            "the server reports no version (a gatehouse older than the version field), expected {want}"
        )),
        (Some(actual), _) => Ok(format!("up, gatehouse {actual}")),
        (None, None) => Ok("up".to_owned()),
    }
}

async fn readiness(server: &Server) -> Result<String, String> {
    let answer = server.get("/readyz").await?;
    if answer.status != StatusCode::OK {
        return Err(format!("/readyz {}", refusal(&answer)));
    }
    Ok("ready: the database answers and a bundle is loaded".to_owned())
}

async fn openapi(server: &Server) -> Result<String, String> {
    let answer = server.get("/openapi.json").await?;
    let evaluate = answer.body.pointer("/paths/~1v1~1evaluate/post").is_some();
    if answer.status != StatusCode::OK || !evaluate {
        return Err(format!(
            "/openapi.json {} (want a document describing POST /v1/evaluate)",
            refusal(&answer)
        ));
    }
    let version = answer
        .body
        .get("openapi")
        .and_then(Value::as_str)
        .unwrap_or("?");
    Ok(format!("OpenAPI {version}"))
}

async fn bundle(server: &Server, expected: Option<&str>) -> Result<String, String> {
    let answer = server.get("/v1/policies").await?;
    if answer.status != StatusCode::OK {
        return Err(format!("/v1/policies {}", refusal(&answer)));
    }
    let info = answer.body.get("bundle").cloned().unwrap_or(Value::Null);
    let digest = info.get("digest").and_then(Value::as_str).unwrap_or("");
    let described = format!(
        "{} {} {digest}",
        info.get("name").and_then(Value::as_str).unwrap_or("?"),
        info.get("revision").and_then(Value::as_str).unwrap_or("?")
    );
    match expected {
        Some(want) if want != digest => Err(format!(
            "the server judges with {described}, expected digest {want}"
        )),
        _ => Ok(described),
    }
}

async fn evaluate(server: &Server, case: &Case) -> Result<String, String> {
    let answer = server
        .call(
            reqwest::Method::POST,
            "/v1/evaluate",
            Some(&json!({"intent": case.intent})),
        )
        .await?;
    if answer.status != StatusCode::OK {
        return Err(format!("POST /v1/evaluate {}", refusal(&answer)));
    }
    let decision: Decision = serde_json::from_value(answer.body.clone())
        .map_err(|e| format!("the answer is not a decision: {e}"))?;
    let blocking: Vec<&str> = decision
        .violations
        .iter()
        .filter(|v| v.blocks())
        .map(|v| v.policy.as_str())
        .collect();
    let missing: Vec<&str> = case
        .policies
        .iter()
        .map(String::as_str)
        .filter(|p| !blocking.contains(p))
        .collect();
    let id = answer
        .headers
        .get("x-gatehouse-decision-id")
        .and_then(|v| v.to_str().ok())
        .map(|id| format!(", decision {id}"))
        .unwrap_or_default();
    if decision.outcome != case.outcome || !missing.is_empty() {
        return Err(format!(
            "{} (blocking: {}), expected {}{}{id}",
            decision.outcome.as_str(),
            if blocking.is_empty() {
                "none".to_owned()
            } else {
                blocking.join(", ")
            },
            case.outcome.as_str(),
            if missing.is_empty() {
                String::new()
            } else {
                format!(" with {}", missing.join(", "))
            }
        ));
    }
    Ok(if blocking.is_empty() {
        format!("{}{id}", decision.outcome.as_str())
    } else {
        format!(
            "{} by {}{id}",
            decision.outcome.as_str(),
            blocking.join(", ")
        )
    })
}

async fn audit(server: &Server) -> Result<String, String> {
    let answer = server.get("/v1/audit/verify").await?;
    if answer.status != StatusCode::OK {
        return Err(format!("/v1/audit/verify {}", refusal(&answer)));
    }
    let events = answer
        .body
        .get("events")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    if answer.body.get("ok") != Some(&json!(true)) {
        let broken = answer
            .body
            .pointer("/first_broken/message")
            .and_then(Value::as_str)
            .unwrap_or("no reason given");
        return Err(format!("the ledger does not verify: {broken}"));
    }
    Ok(format!("the ledger verifies ({events} events)"))
}

async fn metrics(server: &Server) -> Result<String, String> {
    let answer = server.get("/metrics").await?;
    let text = answer.body.as_str().unwrap_or("");
    if answer.status != StatusCode::OK || !text.contains("gatehouse_") {
        return Err(format!(
            "/metrics {} (want OpenMetrics text with gatehouse_ series)",
            refusal(&answer)
        ));
    }
    Ok(format!(
        "{} series",
        text.lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .count()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_specs_read_outcome_and_policies() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("i.json");
        std::fs::write(&file, reference_allowed().to_string()).unwrap();
        let path = file.to_str().unwrap();
        let case = parse_case(&format!("{path}=deny:region.allowed, tags.required")).unwrap();
        assert_eq!(case.outcome, Outcome::Deny);
        assert_eq!(case.policies, ["region.allowed", "tags.required"]);
        assert_eq!(
            parse_case(&format!("{path}=allow")).unwrap().policies,
            Vec::<String>::new()
        );
        let err = parse_case(&format!("{path}=maybe"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("`maybe` is not an outcome"), "{err}");
        assert!(parse_case("no-equals").is_err());
    }
}
