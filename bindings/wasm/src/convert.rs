//! Values in and out. JS values cross as JSON text: `JSON.stringify` in, the core's compact JSON
//! and `JSON.parse` out. A number therefore reads exactly as the server reads the same intent
//! sent as JSON (`12400` stays an integer; a direct JS-value conversion would see the double
//! `12400.0` and print it so in evidence), and the decision bytes are the core's.
//!
//! The parsing and checking is plain Rust (`*_from_json`), tested on the host; the thin
//! `*_from_js` wrappers only call `JSON.stringify`.

use gatehouse_core::intent::MAX_INTENT_BYTES;
use gatehouse_core::{
    BundleSource, ContextError, ErrorDetail, IntentError, PackedBundle, PackedBundleError,
    SignatureError, TrustedKey,
};
use serde::Deserialize;
use serde_json::Value;
use wasm_bindgen::{JsCast, JsValue};

use crate::error::{Failure, code};

/// `JSON.stringify(value)`; only objects (not arrays, not `null`) are accepted.
fn stringify_object(value: &JsValue, what: &str, not_object: &str) -> Result<String, Failure> {
    if !value.is_object() || js_sys::Array::is_array(value) {
        return Err(Failure::new(
            ErrorDetail::new(
                not_object,
                format!("{what} must be an object, got {}", js_type(value)),
            )
            .with_help(format!(
                "pass the {what} as a plain object, not as JSON text"
            )),
        ));
    }
    match js_sys::JSON::stringify(value) {
        Ok(text) => text
            .as_string()
            .ok_or_else(|| not_json(what, "it has no JSON form")),
        Err(e) => {
            let reason = e
                .dyn_ref::<js_sys::Error>()
                .and_then(|e| e.message().as_string())
                .unwrap_or_else(|| "JSON.stringify failed".to_owned());
            Err(not_json(what, &reason))
        }
    }
}

fn not_json(what: &str, reason: &str) -> Failure {
    Failure::new(
        ErrorDetail::new(
            code::NOT_JSON,
            format!("the {what} cannot be written as JSON: {reason}"),
        )
        .with_help("use only JSON values: objects, arrays, strings, numbers, booleans and null"),
    )
}

/// What `typeof` would say, with `null` and arrays told apart.
fn js_type(value: &JsValue) -> String {
    if value.is_null() {
        "null".to_owned()
    } else if js_sys::Array::is_array(value) {
        "an array".to_owned()
    } else {
        value.js_typeof().as_string().unwrap_or_default()
    }
}

/// A string argument; anything else is an `argument_not_string` error.
pub(crate) fn text_from_js(value: &JsValue, name: &str) -> Result<String, Failure> {
    value.as_string().ok_or_else(|| {
        Failure::new(
            ErrorDetail::new(
                code::ARGUMENT_NOT_STRING,
                format!(
                    "`{name}` must be JSON text (a string), got {}",
                    js_type(value)
                ),
            )
            .with_help("pass `JSON.stringify(value)`, or use `evaluate` with objects"),
        )
    })
}

/// The JSON text of an intent given as a JS object.
pub(crate) fn intent_from_js(value: &JsValue) -> Result<String, Failure> {
    stringify_object(value, "intent", code::INTENT_NOT_OBJECT)
}

/// Reads intent JSON text as the core's front ends do (size limit, syntax errors with positions).
/// Any JSON value is an intent (a scalar fails the schema and gives a `deny` decision, as on the
/// server); text is never read as YAML.
pub(crate) fn intent_from_json(text: &str) -> Result<Value, Failure> {
    let trimmed = text.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    if text.len() > MAX_INTENT_BYTES || trimmed.starts_with('{') || trimmed.starts_with('[') {
        return Ok(gatehouse_core::parse_intent(text)?);
    }
    serde_json::from_str(text).map_err(|e| {
        let message = e.to_string();
        let message = message.split(" at line ").next().unwrap_or_default();
        Failure::from(IntentError::Syntax {
            format: "JSON",
            line: e.line(),
            column: e.column(),
            message: message.to_owned(),
        })
    })
}

/// The evaluation context given as a JS object, as JSON (checked when the request is evaluated).
pub(crate) fn context_from_js(value: &JsValue) -> Result<Value, Failure> {
    let text = stringify_object(value, "context", code::CONTEXT_INVALID)?;
    context_from_json(&text)
}

/// Reads context JSON text (`{now, history?, evidence?, approvals?}`, checked when the request
/// is evaluated).
pub(crate) fn context_from_json(text: &str) -> Result<Value, Failure> {
    Ok(serde_json::from_str(text).map_err(|e| ContextError {
        message: format!("not valid JSON: {e}"),
    })?)
}

/// A loaded bundle's files, and the id of the trusted key that signed it when trusted keys
/// verified it.
#[derive(Debug)]
pub(crate) struct Bundle {
    /// The bundle's files.
    pub(crate) source: BundleSource,
    /// [`TrustedKey::key_id`] of the trusted key whose signature held; `None` without keys.
    pub(crate) signed_by: Option<String>,
}

/// A bundle given as a JS object: `{files}` or a `gatehouse bundle` document, verified against
/// `trusted_keys` when there are any (see [`bundle_from_json`]).
pub(crate) fn bundle_from_js(
    value: &JsValue,
    trusted_keys: &[TrustedKey],
) -> Result<Bundle, Failure> {
    let text = stringify_object(value, "bundle", code::BUNDLE_FORMAT)?;
    let value: Value = serde_json::from_str(&text).map_err(|e| bundle_format(&e.to_string()))?;
    bundle_from_json(value, trusted_keys)
}

/// A bundle from its JSON form: a `gatehouse bundle` document (it has `format`), checked by the
/// core (with any trusted key, its signature too: [`PackedBundle::verify_with`]), or `{files}`
/// taken as it is. `{files}` has no room for a signature, so with any trusted key it is refused
/// as unsigned.
pub(crate) fn bundle_from_json(
    value: Value,
    trusted_keys: &[TrustedKey],
) -> Result<Bundle, Failure> {
    if value.get("format").is_some() {
        let packed = PackedBundle::from_value(value)?;
        let (source, signer) = match trusted_keys {
            [] => (packed.verify()?, None),
            [only] => (packed.verify_with(trusted_keys)?, Some(only)),
            // The core checks the signature against every key (its error is the one to report);
            // the key that signed is then the one that verifies it alone.
            _ => {
                let source = packed.clone().verify_with(trusted_keys)?;
                let signer = trusted_keys
                    .iter()
                    .find(|key| {
                        packed
                            .clone()
                            .verify_with(std::slice::from_ref(key))
                            .is_ok()
                    })
                    .or(trusted_keys.first());
                (source, signer)
            }
        };
        return Ok(Bundle {
            source,
            signed_by: signer.map(|key| key.key_id().to_owned()),
        });
    }
    let source =
        serde_json::from_value::<BundleSource>(value).map_err(|e| bundle_format(&e.to_string()))?;
    if trusted_keys.is_empty() {
        Ok(Bundle {
            source,
            signed_by: None,
        })
    } else {
        Err(Failure::from(SignatureError::Unsigned).with_help(
            "with `trustedKeys`, pass the document `gatehouse bundle` prints for a signed bundle \
             directory (it carries the signature); `{files}` has none",
        ))
    }
}

/// The options of `new Engine(bundle, options)`, as JSON.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct EngineOptions {
    /// Trusted ed25519 public keys, SubjectPublicKeyInfo PEM text.
    #[serde(default)]
    trusted_keys: Vec<String>,
}

/// The trusted keys of `new Engine(bundle, options)`: none when the options are absent
/// (`undefined` or `null`); otherwise `{trustedKeys?: string[]}`, see [`trusted_keys_from_json`].
pub(crate) fn trusted_keys_from_js(options: Option<&JsValue>) -> Result<Vec<TrustedKey>, Failure> {
    match options {
        Some(value) if !value.is_undefined() && !value.is_null() => {
            trusted_keys_from_json(&stringify_object(value, "options", code::OPTIONS_INVALID)?)
        }
        _ => Ok(Vec::new()),
    }
}

/// Reads the engine options' JSON and each trusted key: an unknown option, a `trustedKeys` that
/// is not a list of strings (`options_invalid`) or a key that is not an ed25519 public key in
/// PEM (`signing_key_invalid`, at `trustedKeys[i]`) is refused, never ignored.
pub(crate) fn trusted_keys_from_json(text: &str) -> Result<Vec<TrustedKey>, Failure> {
    let options: EngineOptions = serde_json::from_str(text).map_err(|e| {
        Failure::new(
            ErrorDetail::new(
                code::OPTIONS_INVALID,
                format!("the engine options are not usable: {e}"),
            )
            .with_help("pass `{ trustedKeys: [publicKeyPem, ...] }`, or no options"),
        )
    })?;
    options
        .trusted_keys
        .iter()
        .enumerate()
        .map(|(i, pem)| {
            TrustedKey::from_pem(pem)
                .map_err(|e| Failure::at_path(&e, &format!("trustedKeys[{i}]")))
        })
        .collect()
}

fn bundle_format(reason: &str) -> Failure {
    Failure::from(PackedBundleError::Shape {
        reason: reason.to_owned(),
    })
}

/// Error records given back by JavaScript (`GatehouseError.fromErrors`, after `error.errors`
/// crossed a worker boundary): a non-empty list of the contract's records.
pub(crate) fn failure_from_js(value: &JsValue) -> Result<Failure, Failure> {
    let invalid = |reason: &str| {
        Failure::new(
            ErrorDetail::new(
                code::ERROR_RECORDS_INVALID,
                format!("not a list of error records: {reason}"),
            )
            .with_help("pass the `errors` of a GatehouseError"),
        )
    };
    if !js_sys::Array::is_array(value) {
        return Err(invalid(&format!("got {}", js_type(value))));
    }
    let text = js_sys::JSON::stringify(value)
        .ok()
        .and_then(|t| t.as_string())
        .ok_or_else(|| invalid("it has no JSON form"))?;
    let details: Vec<ErrorDetail> =
        serde_json::from_str(&text).map_err(|e| invalid(&e.to_string()))?;
    Failure::from_records(details).ok_or_else(|| invalid("the list is empty"))
}

/// An intent read from JSON or YAML text by the core (`parseIntent`): only an object is an
/// intent `evaluate` takes, so anything else is `intent_not_object` here.
pub(crate) fn intent_object_from_text(text: &str) -> Result<JsValue, Failure> {
    let intent = gatehouse_core::parse_intent(text)?;
    if !intent.is_object() {
        return Err(Failure::new(ErrorDetail::new(
            code::INTENT_NOT_OBJECT,
            "the text holds no intent: it is not a mapping (an object)",
        )));
    }
    to_js("intent", &intent)
}

/// A value this crate serialises itself, as a JS value (`JSON.parse` of its compact JSON); `what`
/// names it in the `unserializable_answer` failure (a bug, never a `null` answer).
pub(crate) fn to_js(what: &str, value: &impl serde::Serialize) -> Result<JsValue, Failure> {
    serde_json::to_string(value)
        .map(|text| parse_own_json(&text))
        .map_err(|e| Failure::unwritable(what, &e))
}

thread_local! {
    /// `Error` and the exported `GatehouseError` class, set up once (see [`error_class`]).
    static ERROR_CLASS: Option<(js_sys::Function, js_sys::Function)> = error_class();
}

/// wasm-bindgen classes cannot extend a JS class, so the exported (empty) `GatehouseError` class
/// is made to inherit from `Error` here: its prototype's prototype becomes `Error.prototype`, and
/// its `name` "GatehouseError". Errors are then built with `Reflect.construct(Error, [message],
/// GatehouseError)`: real `Error`s (stack trace, `Error.isError`) whose prototype is the class's,
/// so `instanceof GatehouseError` and `instanceof Error` both hold, and the stack's first line
/// reads `GatehouseError: message`. Returns `(Error, GatehouseError)`.
fn error_class() -> Option<(js_sys::Function, js_sys::Function)> {
    let prototype =
        js_sys::Object::get_prototype_of(&JsValue::from(crate::GatehouseError::instance()));
    let error_prototype = js_sys::Object::get_prototype_of(&js_sys::Error::new(""));
    js_sys::Object::set_prototype_of(&prototype, &error_prototype);
    js_sys::Reflect::set(
        &prototype,
        &JsValue::from_str("name"),
        &JsValue::from_str("GatehouseError"),
    )
    .ok()?;
    let constructor = |of: &js_sys::Object| {
        js_sys::Reflect::get(of, &JsValue::from_str("constructor"))
            .ok()?
            .dyn_into::<js_sys::Function>()
            .ok()
    };
    Some((constructor(&error_prototype)?, constructor(&prototype)?))
}

/// A failure as the JS `Error` to throw: a `GatehouseError`, with `code` and `errors`.
impl From<Failure> for JsValue {
    fn from(failure: Failure) -> Self {
        let message = JsValue::from_str(&failure.message());
        let error = ERROR_CLASS
            .with(|class| {
                let (error, gatehouse) = class.as_ref()?;
                js_sys::Reflect::construct_with_new_target(
                    error,
                    &js_sys::Array::of1(&message),
                    gatehouse,
                )
                .ok()
            })
            .unwrap_or_else(|| js_sys::Error::new(&failure.message()).into());
        set(&error, "code", &JsValue::from_str(failure.code()));
        set(&error, "errors", &parse_own_json(&failure.records_json()));
        error
    }
}

/// Sets a property on an object this module just created (which cannot fail).
fn set(target: &JsValue, key: &str, value: &JsValue) {
    // `Reflect.set` only fails on frozen objects and throwing setters; a fresh `Error` has neither.
    let _ignored = js_sys::Reflect::set(target, &JsValue::from_str(key), value);
}

/// Parses JSON this crate produced itself (it always parses; `null` if it somehow does not).
pub(crate) fn parse_own_json(text: &str) -> JsValue {
    js_sys::JSON::parse(text).unwrap_or(JsValue::NULL)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn files() -> std::collections::BTreeMap<String, String> {
        [
            (
                "bundle.json",
                r#"{"name": "t", "revision": "1", "description": "test"}"#,
            ),
            ("rules/p.rego", "package gatehouse.policies.p\n"),
        ]
        .into_iter()
        .map(|(p, c)| (p.to_owned(), c.to_owned()))
        .collect()
    }

    fn packed() -> Value {
        let source = BundleSource { files: files() };
        json!({
            "format": gatehouse_core::PACKED_FORMAT,
            "name": "t",
            "revision": "1",
            "digest": source.digest(),
            "files": files(),
        })
    }

    fn code_of(result: Result<Bundle, Failure>) -> String {
        result
            .err()
            .map(|f| f.code().to_owned())
            .unwrap_or_default()
    }

    #[test]
    fn files_and_packed_documents_give_the_same_source() {
        let plain = bundle_from_json(json!({"files": files()}), &[])
            .unwrap()
            .source;
        let packed = bundle_from_json(packed(), &[]).unwrap().source;
        assert_eq!(plain, packed);
    }

    #[test]
    fn a_changed_file_breaks_the_digest() {
        let mut doc = packed();
        doc["files"]["rules/p.rego"] = json!("package gatehouse.policies.q\n");
        assert_eq!(
            code_of(bundle_from_json(doc, &[])),
            "bundle_digest_mismatch"
        );
    }

    #[test]
    fn name_and_revision_must_match_the_manifest() {
        let mut doc = packed();
        doc["revision"] = json!("2");
        assert_eq!(
            code_of(bundle_from_json(doc, &[])),
            "bundle_manifest_mismatch"
        );
    }

    #[test]
    fn wrong_shapes_are_format_errors() {
        for doc in [
            json!({"files": {"bundle.json": {"name": "t"}}}),
            json!({"files": files(), "data": {}}),
            json!({"format": "gatehouse.bundle/v2", "name": "t", "revision": "1", "digest": "", "files": {}}),
            json!({"format": gatehouse_core::PACKED_FORMAT, "files": files()}),
            json!([]),
        ] {
            assert_eq!(
                code_of(bundle_from_json(doc.clone(), &[])),
                code::BUNDLE_FORMAT,
                "{doc}"
            );
        }
    }

    /// A test-only key pair of the core's fixtures (never trusted for a real bundle).
    fn key_pem(name: &str) -> &'static str {
        match name {
            "trusted.pem" => {
                include_str!("../../../core/tests/fixtures/test-only-keys/trusted.pem")
            }
            "trusted.pub.pem" => {
                include_str!("../../../core/tests/fixtures/test-only-keys/trusted.pub.pem")
            }
            _ => include_str!("../../../core/tests/fixtures/test-only-keys/untrusted.pub.pem"),
        }
    }

    fn trusted(names: &[&str]) -> Vec<TrustedKey> {
        names
            .iter()
            .map(|n| TrustedKey::from_pem(key_pem(n)).unwrap())
            .collect()
    }

    /// [`packed`] with the envelope of its files signed by the trusted test-only key.
    fn signed() -> Value {
        let key = gatehouse_core::SigningKey::from_pem(key_pem("trusted.pem")).unwrap();
        let envelope = gatehouse_core::sign_bundle(&BundleSource { files: files() }, &key).unwrap();
        let mut doc = packed();
        doc["signature"] = serde_json::to_value(envelope).unwrap();
        doc
    }

    #[test]
    fn trusted_keys_verify_a_signed_document_and_name_the_signer() {
        let key_id = trusted(&["trusted.pub.pem"])[0].key_id().to_owned();
        for keys in [
            &["trusted.pub.pem"][..],
            &["untrusted.pub.pem", "trusted.pub.pem"],
        ] {
            let bundle = bundle_from_json(signed(), &trusted(keys)).unwrap();
            assert_eq!(
                bundle.signed_by.as_deref(),
                Some(key_id.as_str()),
                "{keys:?}"
            );
            assert_eq!(bundle.source.files, files());
        }
        assert_eq!(bundle_from_json(signed(), &[]).unwrap().signed_by, None);
    }

    #[test]
    fn with_trusted_keys_unsigned_and_unknown_signatures_are_refused() {
        let keys = trusted(&["trusted.pub.pem"]);
        assert_eq!(
            code_of(bundle_from_json(packed(), &keys)),
            "bundle_unsigned"
        );
        let files_only = bundle_from_json(json!({"files": files()}), &keys).unwrap_err();
        assert_eq!(files_only.code(), "bundle_unsigned");
        assert!(files_only.records_json().contains("`{files}` has none"));
        assert_eq!(
            code_of(bundle_from_json(signed(), &trusted(&["untrusted.pub.pem"]))),
            "bundle_signature_unknown_key"
        );
        let mut changed = signed();
        changed["files"]["rules/p.rego"] = json!("package gatehouse.policies.q\n");
        assert_eq!(
            code_of(bundle_from_json(changed, &keys)),
            "bundle_file_changed"
        );
    }

    #[test]
    fn engine_options_are_read_strictly() {
        let pem = serde_json::to_string(key_pem("trusted.pub.pem")).unwrap();
        assert_eq!(trusted_keys_from_json("{}").unwrap().len(), 0);
        assert_eq!(
            trusted_keys_from_json(&format!(r#"{{"trustedKeys": [{pem}]}}"#))
                .unwrap()
                .len(),
            1
        );
        for bad in [
            format!(r#"{{"trusted_keys": [{pem}]}}"#),
            format!(r#"{{"trustedKeys": {pem}}}"#),
            r#"{"trustedKeys": [1]}"#.to_owned(),
        ] {
            let err = trusted_keys_from_json(&bad).unwrap_err();
            assert_eq!(err.code(), code::OPTIONS_INVALID, "{bad}");
        }
        let err =
            trusted_keys_from_json(&format!(r#"{{"trustedKeys": [{pem}, "nope"]}}"#)).unwrap_err();
        assert_eq!(err.code(), "signing_key_invalid");
        assert!(
            err.message().starts_with("`trustedKeys[1]`: "),
            "{}",
            err.message()
        );
        assert!(err.records_json().contains(r#""path":"trustedKeys[1]""#));
    }

    #[test]
    fn context_text_must_be_json_and_the_core_wants_now() {
        let err = context_from_json("{now").unwrap_err();
        assert_eq!(err.code(), "context_invalid");
        let request = gatehouse_core::EvaluateRequest::new(
            json!({}),
            Some(context_from_json("{}").unwrap()),
            gatehouse_core::Stage::Admission,
        );
        let err = Failure::from(request.into_parts().unwrap_err());
        assert_eq!(err.code(), "context_invalid");
        assert!(err.message().contains("now"), "{}", err.message());
    }

    #[test]
    fn intent_text_keeps_integers() {
        let intent = intent_from_json(r#"{"spec": {"estimated_monthly_cost": 12400}}"#).unwrap();
        assert_eq!(
            intent.to_string(),
            r#"{"spec":{"estimated_monthly_cost":12400}}"#
        );
        assert_eq!(intent_from_json("{").unwrap_err().code(), "intent_syntax");
        assert_eq!(
            intent_from_json(r#""deploy everything""#).unwrap(),
            json!("deploy everything")
        );
        let yaml = intent_from_json("apiVersion: gatehouse.dev/v1").unwrap_err();
        assert_eq!(yaml.code(), "intent_syntax");
        assert_eq!(
            yaml.message(),
            "intent is not valid JSON at line 1, column 1: expected value"
        );
    }
}
