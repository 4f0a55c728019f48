//! The OpenAPI 3.1 document, generated from the handlers' annotations (utoipa), with the
//! DeploymentIntent JSON Schema of the core placed in `components.schemas.Intent`. The decision's
//! schema (`components.schemas.Decision` and the types it uses) comes from the core's types, the
//! same that `gatehouse_core::decision_schema` (`docs/decision.schema.json`) renders.

use serde_json::{Map, Value, json};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::api;
use crate::encode::{self, EncodeError};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Gatehouse control plane",
        description = "Governed deployments: intents in, decisions and hash-chained lifecycle events out. Errors are application/problem+json.",
    ),
    paths(
        api::evaluate, api::submit, api::list, api::get_one, api::events, api::deployment_attestation, api::approve, api::cancel,
        api::callback, api::audit_verify, api::decision, api::decision_attestation, api::decisions, api::signals, api::policies, api::bundle, api::context, api::reload,
        api::whoami, api::replicas, api::healthz, api::readyz, api::metrics,
    ),
    modifiers(&Security),
    tags(
        (name = "decisions", description = "Evaluate intents against the loaded bundle"),
        (name = "deployments", description = "Submit, approve, cancel, follow"),
        (name = "pipeline", description = "Signed reports from the pipeline"),
        (name = "audit", description = "Ledger verification, the decision log and signals"),
        (name = "admin", description = "Bundle reload"),
        (name = "operations", description = "Health, readiness, replicas, metrics"),
    )
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "pipeline_signature",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new(
                "X-Gatehouse-Signature-256",
            ))),
        );
    }
}

/// Rewrites `#/$defs/X` references to `#/components/schemas/Intent_X`.
fn rewrite_refs(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get_mut("$ref")
                && let Some(name) = r.strip_prefix("#/$defs/")
            {
                *r = format!("#/components/schemas/Intent_{name}");
            }
            map.values_mut().for_each(rewrite_refs);
        }
        Value::Array(items) => items.iter_mut().for_each(rewrite_refs),
        _ => {}
    }
}

/// The OpenAPI document served at `/openapi.json`.
pub fn openapi_json() -> Result<Value, EncodeError> {
    let mut doc = encode::to_value("OpenAPI document", ApiDoc::openapi())?;
    if let Some(info) = doc.get_mut("info").and_then(Value::as_object_mut) {
        info.insert("version".into(), json!(env!("CARGO_PKG_VERSION")));
    }
    let mut intent = encode::parse("intent schema", gatehouse_core::INTENT_SCHEMA)?;
    let defs = intent
        .as_object_mut()
        .and_then(|o| {
            o.remove("$schema");
            o.remove("$id");
            o.remove("$defs")
        })
        .unwrap_or(Value::Null);
    rewrite_refs(&mut intent);
    let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    else {
        return Ok(doc);
    };
    if let Value::Object(defs) = defs {
        for (name, mut schema) in defs {
            rewrite_refs(&mut schema);
            schemas.insert(format!("Intent_{name}"), schema);
        }
    }
    schemas.insert("Intent".into(), intent);
    flatten_heads(schemas);
    add_caller_context(schemas);
    if let Some(properties) = schemas
        .get_mut("SubmitRequest")
        .and_then(|s| s.get_mut("properties"))
        .and_then(Value::as_object_mut)
    {
        properties.insert(
            "intent".into(),
            json!({"$ref": "#/components/schemas/Intent"}),
        );
    }
    Ok(doc)
}

/// Documents the records that flatten a deployment's summary columns
/// ([`gatehouse_store::deployment::DeploymentHead`]) as the flat objects they are served as.
/// utoipa writes a flattened field as `allOf` [the field's schema, an object of the other
/// fields]; serde writes the head's fields first, so its properties and required names go in
/// front of the record's own, and the head's component, then referenced by nothing, is dropped.
fn flatten_heads(schemas: &mut Map<String, Value>) {
    let Some(head) = schemas.remove("DeploymentHead") else {
        return;
    };
    for name in ["DeploymentRecord", "DeploymentSummary"] {
        if let Some(Value::Object(schema)) = schemas.get_mut(name) {
            flatten_head(schema, &head);
        }
    }
}

/// `schema`, an `allOf` of [`HEAD_REF`] and one object, as one object with the head's
/// properties and required names first.
fn flatten_head(schema: &mut Map<String, Value>, head: &Value) {
    let Some(Value::Array(parts)) = schema.remove("allOf") else {
        return;
    };
    let mut properties = Map::new();
    let mut required = Vec::new();
    for part in parts.iter().map(|part| match part.get("$ref") {
        Some(r) if r == HEAD_REF => head,
        _ => part,
    }) {
        if let Some(own) = part.get("properties").and_then(Value::as_object) {
            properties.extend(own.clone());
        }
        if let Some(own) = part.get("required").and_then(Value::as_array) {
            required.extend(own.iter().cloned());
        }
    }
    schema.insert("properties".into(), Value::Object(properties));
    schema.insert("required".into(), Value::Array(required));
    schema.insert("type".into(), json!("object"));
}

/// How utoipa refers to the summary columns a record flattens.
const HEAD_REF: &str = "#/components/schemas/DeploymentHead";

/// Adds `CallerEvaluationContext` and `CallerApproval`, what `POST /v1/evaluate` accepts: the
/// context a caller passes, whose approvals may only have source `caller`
/// ([`gatehouse_core::check_caller_approvals`]); `EvaluationContext` stays the context as the
/// control plane builds it (`GET /v1/context`), with approvals of every source.
fn add_caller_context(schemas: &mut Map<String, Value>) {
    let Some(mut approval) = schemas.get("Approval").cloned() else {
        return;
    };
    if let Some(source) = approval.pointer_mut("/properties/source") {
        *source = json!({
            "type": "string",
            "enum": ["caller"],
            "description": "Only `caller` (the default): the control plane and the pull request review reader record the other sources themselves."
        });
    }
    if let Some(required) = approval.get_mut("required").and_then(Value::as_array_mut) {
        required.retain(|name| name != "source");
    }
    let Some(mut context) = schemas.get("EvaluationContext").cloned() else {
        return;
    };
    if let Some(items) = context.pointer_mut("/properties/approvals/items") {
        *items = json!({"$ref": "#/components/schemas/CallerApproval"});
    }
    schemas.insert("CallerApproval".into(), approval);
    schemas.insert("CallerEvaluationContext".into(), context);
    if let Some(field) = schemas
        .get_mut("EvaluateRequest")
        .and_then(|s| s.pointer_mut("/properties/context"))
    {
        let text = field.to_string().replace(
            "#/components/schemas/EvaluationContext",
            "#/components/schemas/CallerEvaluationContext",
        );
        if let Ok(rewritten) = serde_json::from_str(&text) {
            *field = rewritten;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_documented_and_the_intent_schema_is_inlined() {
        let doc = openapi_json().unwrap();
        assert_eq!(
            doc["openapi"].as_str().unwrap().split('.').next(),
            Some("3")
        );
        for path in [
            "/v1/evaluate",
            "/v1/deployments",
            "/v1/deployments/{id}",
            "/v1/deployments/{id}/events",
            "/v1/deployments/{id}/attestation",
            "/v1/deployments/{id}/approvals",
            "/v1/deployments/{id}/cancel",
            "/v1/deployments/{id}/callbacks",
            "/v1/audit/verify",
            "/v1/decisions",
            "/v1/decisions/{id}",
            "/v1/decisions/{id}/attestation",
            "/v1/signals",
            "/v1/policies",
            "/v1/bundle",
            "/v1/context",
            "/v1/admin/reload",
            "/v1/whoami",
            "/v1/replicas",
            "/healthz",
            "/readyz",
            "/metrics",
        ] {
            assert!(doc["paths"].get(path).is_some(), "{path} is not documented");
        }
        let text = doc.to_string();
        assert!(!text.contains("#/$defs/"), "unrewritten $ref");
        assert!(doc["components"]["schemas"]["Intent_resource"].is_object());
        assert_eq!(
            doc["components"]["schemas"]["SubmitRequest"]["properties"]["intent"]["$ref"],
            "#/components/schemas/Intent"
        );
    }

    #[test]
    fn decisions_are_documented_with_the_cores_decision_schema() {
        let doc = openapi_json().unwrap();
        let decision_ref = json!("#/components/schemas/Decision");
        assert_eq!(
            doc["paths"]["/v1/evaluate"]["post"]["responses"]["200"]["content"]["application/json"]
                ["schema"]["$ref"],
            decision_ref
        );
        for record in ["DecisionRecord", "DeploymentRecord"] {
            assert_eq!(
                doc["components"]["schemas"][record]["properties"]["decision"]["$ref"],
                decision_ref,
                "{record}"
            );
        }
        // The document's components are the core's decision schema, reference for reference.
        let mut core = gatehouse_core::decision_schema().unwrap();
        let defs = core
            .as_object_mut()
            .and_then(|o| o.remove("$defs"))
            .unwrap();
        let schemas = &doc["components"]["schemas"];
        for (name, schema) in defs.as_object().unwrap() {
            let text = schema
                .to_string()
                .replace("#/$defs/", "#/components/schemas/");
            assert_eq!(
                schemas[name],
                serde_json::from_str::<Value>(&text).unwrap(),
                "{name}"
            );
        }
        for key in ["properties", "required", "additionalProperties"] {
            let text = core[key]
                .to_string()
                .replace("#/$defs/", "#/components/schemas/");
            assert_eq!(
                schemas["Decision"][key],
                serde_json::from_str::<Value>(&text).unwrap(),
                "Decision.{key}"
            );
        }
    }

    #[test]
    fn the_evaluate_context_documents_only_the_approval_sources_a_caller_may_pass() {
        let doc = openapi_json().unwrap();
        let schemas = &doc["components"]["schemas"];
        let context = doc["paths"]["/v1/evaluate"]["post"]["requestBody"]["content"]
            ["application/json"]["schema"]["$ref"]
            .as_str()
            .and_then(|r| r.strip_prefix("#/components/schemas/"))
            .map(|name| schemas[name]["properties"]["context"].to_string())
            .unwrap();
        assert!(
            context.contains("#/components/schemas/CallerEvaluationContext"),
            "{context}"
        );
        let documented = schemas["CallerApproval"]["properties"]["source"]["enum"].clone();
        // What the server's context reader accepts, source by source.
        let accepted: Vec<Value> = schemas["ApprovalSource"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|source| {
                gatehouse_core::EvaluationContext::from_json_value(json!({
                    "now": "2026-01-01T00:00:00Z",
                    "approvals": [{"by": "a@example.com", "role": "release-approver", "source": source}],
                }))
                .is_ok()
            })
            .cloned()
            .collect();
        assert_eq!(documented, Value::Array(accepted));
        assert_eq!(
            schemas["CallerEvaluationContext"]["properties"]["approvals"]["items"]["$ref"],
            "#/components/schemas/CallerApproval"
        );
        // The context the control plane serves keeps every source.
        assert_eq!(
            schemas["EvaluationContext"]["properties"]["approvals"]["items"]["$ref"],
            "#/components/schemas/Approval"
        );
    }

    #[test]
    fn health_and_readiness_document_the_version() {
        let doc = openapi_json().unwrap();
        for (path, schema) in [("/healthz", "Health"), ("/readyz", "Ready")] {
            assert_eq!(
                doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
                    ["$ref"],
                format!("#/components/schemas/{schema}"),
                "{path}"
            );
            let required = doc["components"]["schemas"][schema]["required"]
                .as_array()
                .unwrap();
            assert!(required.contains(&json!("version")), "{schema}");
        }
        assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    }
}
