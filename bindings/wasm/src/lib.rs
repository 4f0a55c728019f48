//! Gatehouse for JavaScript: the core engine behind a small wasm-bindgen API, so a page can show
//! the violations the control plane will report while a deployment form is being filled in.
//!
//! ```js
//! import init, { Engine, validateIntent } from "gatehouse-wasm/web";
//! await init();
//! const engine = new Engine(await (await fetch("/bundle.json")).json());
//! const decision = engine.evaluate(intent, { now: new Date().toISOString() });
//! ```
//!
//! This file only delegates: `convert` reads arguments and writes results (a failure as a JS
//! `Error` that is an instance of the exported `GatehouseError` class, with a `code` and the
//! structured `errors` list), `error` maps every failure to the contract's error records.
//!
//! There is no time limit inside the engine here: `wasm32-unknown-unknown` has no clock that
//! regorus can read (its timer reads `std::time::Instant`, which panics there, and regorus 0.14.1
//! takes a supplied time source only when built without `std`), and regorus has no instruction
//! budget for its interpreter. So the engine is loaded with `Limits::time_limit` unset, and a
//! deadline is kept from outside: the evaluation runs in a worker that the caller terminates at
//! its deadline, reporting `GatehouseError.timeLimitExceeded(ms)` (docs/wasm.md, tested in Node
//! and Chromium). A preview is advisory; the server's decision is authoritative.

mod convert;
mod error;

use std::cell::{Ref, RefCell};
use std::collections::BTreeMap;

use gatehouse_core::{EvaluateRequest, IntentSchema, PolicyMeta, Sequential, Stage};
use serde_json::Value;
use wasm_bindgen::prelude::*;

use crate::error::Failure;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = include_str!("types.d.ts");

/// The decision contract's types, generated from `docs/decision.schema.json` by
/// `scripts/decision-types.mjs` (checked for staleness by `tests/types.test.mjs`).
#[wasm_bindgen(typescript_custom_section)]
const DECISION_TYPES: &str = include_str!("decision.d.ts");

#[wasm_bindgen]
extern "C" {
    /// The options of `new Engine(bundle, options)` (`EngineOptions` in `types.d.ts`), as a JS
    /// value: an imported type only so that the constructor's TypeScript parameter is optional
    /// (`options?: EngineOptions | null`); never checked by wasm-bindgen, read by `convert`.
    #[wasm_bindgen(typescript_type = "EngineOptions")]
    pub type EngineOptionsArg;
}

/// The class of every error this package throws. The thrown values are real `Error`s whose
/// prototype chain runs through this class (see `convert`), so `error instanceof GatehouseError`
/// and `error instanceof Error` both hold. Its TypeScript declaration is in `types.d.ts`.
#[wasm_bindgen(skip_typescript)]
pub struct GatehouseError {
    _private: (),
}

impl GatehouseError {
    /// The one instance, whose prototype `convert` takes.
    pub(crate) fn instance() -> Self {
        Self { _private: () }
    }
}

#[wasm_bindgen]
impl GatehouseError {
    /// Rebuilds an error from its records (`error.errors`), e.g. after they crossed a worker
    /// boundary, where an `Error` loses its class and its properties.
    #[wasm_bindgen(js_name = fromErrors)]
    pub fn from_errors(errors: JsValue) -> Result<JsValue, JsValue> {
        Ok(convert::failure_from_js(&errors)?.into())
    }

    /// The error for an evaluation stopped after `limitMs` milliseconds (a worker terminated at
    /// its deadline): code `limit_exceeded`, the core's message for a policy stopped at its limit.
    #[wasm_bindgen(js_name = timeLimitExceeded)]
    pub fn time_limit_exceeded(#[wasm_bindgen(js_name = limitMs)] limit_ms: f64) -> JsValue {
        Failure::time_limit(limit_ms).into()
    }
}

/// A loaded governance bundle. Loading parses and compiles every policy once; each evaluation
/// then takes well under a millisecond.
#[wasm_bindgen]
pub struct Engine {
    /// `None` after `free()`.
    inner: RefCell<Option<gatehouse_core::Engine>>,
    /// The id of the trusted key whose signature the bundle carried; `None` when loaded without
    /// trusted keys (unverified).
    signed_by: Option<String>,
}

#[wasm_bindgen]
impl Engine {
    /// Loads a bundle: `{files: {path: text}}` or the document printed by `gatehouse bundle`
    /// (whose digest must match its files). Throws a `GatehouseError` when the bundle does not
    /// load (Rego syntax, a package without `deny`, a bad catalogue, ...), with the code and the
    /// position.
    ///
    /// `options.trustedKeys` (ed25519 public keys, SubjectPublicKeyInfo PEM text): with any key
    /// the bundle must be a `gatehouse bundle` document signed by one of them, checked by the
    /// core before anything is loaded; an unsigned bundle, an unknown key, a bad signature or a
    /// file changed, added or removed after signing throws its code (`bundle_unsigned`, ...),
    /// a key that is not one throws `signing_key_invalid`, an unknown option `options_invalid`.
    /// Without keys the signature is not read.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "BundleInput")] bundle: JsValue,
        options: Option<EngineOptionsArg>,
    ) -> Result<Engine, JsValue> {
        let trusted_keys = convert::trusted_keys_from_js(options.as_ref().map(AsRef::as_ref))?;
        let bundle = convert::bundle_from_js(&bundle, &trusted_keys)?;
        let inner = gatehouse_core::Engine::load(&bundle.source).map_err(Failure::from)?;
        Ok(Self {
            inner: RefCell::new(Some(inner)),
            signed_by: bundle.signed_by,
        })
    }

    /// Releases the engine (the compiled bundle) now; every later call throws `engine_freed`,
    /// and calling it again does nothing. Replaces wasm-bindgen's own `free`, after which a call
    /// would throw a plain `Error("null pointer passed to rust")`; the emptied handle is
    /// collected with its JS object. `[Symbol.dispose]` is this method too.
    #[wasm_bindgen(js_name = free, skip_typescript)]
    pub fn release(&self) {
        if let Ok(mut inner) = self.inner.try_borrow_mut() {
            inner.take();
        }
    }

    /// Evaluates an intent (a plain object, possibly a draft that fails the schema) in a context
    /// (`{now, history?, evidence?, approvals?}`) and returns the decision as an object. Throws a
    /// `GatehouseError` only for unusable arguments; policy errors deny inside the decision.
    #[wasm_bindgen(unchecked_return_type = "Decision")]
    pub fn evaluate(
        &self,
        #[wasm_bindgen(unchecked_param_type = "IntentInput")] intent: JsValue,
        #[wasm_bindgen(unchecked_param_type = "EvaluationContext")] context: JsValue,
    ) -> Result<JsValue, JsValue> {
        self.decide_js(Stage::Admission, &intent, &context)
    }

    /// Evaluates the release gates (`gatehouse.gates.*`) over the pipeline's evidence
    /// (`context.evidence`) for an approved intent, as the control plane does when a pipeline
    /// reports success. Arguments, result and errors as for `evaluate`.
    #[wasm_bindgen(js_name = evaluateGates, unchecked_return_type = "Decision")]
    pub fn evaluate_gates(
        &self,
        #[wasm_bindgen(unchecked_param_type = "IntentInput")] intent: JsValue,
        #[wasm_bindgen(unchecked_param_type = "EvaluationContext")] context: JsValue,
    ) -> Result<JsValue, JsValue> {
        self.decide_js(Stage::Gates, &intent, &context)
    }

    /// Like `evaluate`, with the intent and the context as JSON text, returning the decision's
    /// exact JSON text: the same bytes as the CLI and the server.
    /// Throws `argument_not_string` for anything but strings (wasm-bindgen's own string
    /// conversion would read garbage memory).
    #[wasm_bindgen(js_name = evaluateJson)]
    pub fn evaluate_json(
        &self,
        #[wasm_bindgen(js_name = intentJson, unchecked_param_type = "string")] intent_json: JsValue,
        #[wasm_bindgen(js_name = contextJson, unchecked_param_type = "string")]
        context_json: JsValue,
    ) -> Result<String, JsValue> {
        self.decide_json(Stage::Admission, &intent_json, &context_json)
    }

    /// Like `evaluateGates`, with JSON text in and out (the exact bytes).
    #[wasm_bindgen(js_name = evaluateGatesJson)]
    pub fn evaluate_gates_json(
        &self,
        #[wasm_bindgen(js_name = intentJson, unchecked_param_type = "string")] intent_json: JsValue,
        #[wasm_bindgen(js_name = contextJson, unchecked_param_type = "string")]
        context_json: JsValue,
    ) -> Result<String, JsValue> {
        self.decide_json(Stage::Gates, &intent_json, &context_json)
    }

    /// Evaluates a request given as JSON text, `{intent, context, stage?}` (the body of the
    /// server's `POST /v1/evaluate`, with the context required), and returns the decision's
    /// exact JSON text. Throws a `GatehouseError` (`request_syntax`, `request_invalid`,
    /// `context_missing`, `context_invalid`, ...) for a request that cannot be evaluated.
    #[wasm_bindgen(js_name = evaluateRequest)]
    pub fn evaluate_request(
        &self,
        #[wasm_bindgen(js_name = requestJson, unchecked_param_type = "string")]
        request_json: JsValue,
    ) -> Result<String, JsValue> {
        let text = convert::text_from_js(&request_json, "requestJson")?;
        let engine = self.engine()?;
        Ok(gatehouse_core::evaluate_json(&engine, &text).map_err(Failure::from)?)
    }

    /// The bundle's digest, `sha256:<hex>`: the same as the server's for the same bundle.
    #[wasm_bindgen(getter, js_name = bundleDigest)]
    pub fn bundle_digest(&self) -> Result<String, JsValue> {
        Ok(self.engine()?.info().digest.clone())
    }

    /// The bundle's name (its manifest's `name`).
    #[wasm_bindgen(getter, js_name = bundleName)]
    pub fn bundle_name(&self) -> Result<String, JsValue> {
        Ok(self.engine()?.info().name.clone())
    }

    /// The bundle's revision (its manifest's `revision`).
    #[wasm_bindgen(getter, js_name = bundleRevision)]
    pub fn bundle_revision(&self) -> Result<String, JsValue> {
        Ok(self.engine()?.info().revision.clone())
    }

    /// The id of the trusted key that signed the bundle (by default the hex SHA-256 of its
    /// SubjectPublicKeyInfo, as `gatehouse bundle sign` writes it), when the engine was given
    /// `trustedKeys`; `undefined` when it was not, and the bundle is then unverified.
    #[wasm_bindgen(getter, js_name = signedBy)]
    pub fn signed_by(&self) -> Result<Option<String>, JsValue> {
        self.engine()?;
        Ok(self.signed_by.clone())
    }

    /// The policy catalogue: policy id to its metadata (title, severity, enforcement,
    /// remediation, ...), `schema.valid` included.
    #[wasm_bindgen(unchecked_return_type = "Record<string, PolicyMeta>")]
    pub fn catalog(&self) -> Result<JsValue, JsValue> {
        let engine = self.engine()?;
        let catalog: BTreeMap<&str, &PolicyMeta> = engine.catalog().iter().collect();
        Ok(convert::to_js("catalogue", &catalog)?)
    }
}

impl Engine {
    /// The loaded engine, or `engine_freed`.
    fn engine(&self) -> Result<Ref<'_, gatehouse_core::Engine>, Failure> {
        let inner = self.inner.try_borrow().map_err(|_| Failure::freed())?;
        Ref::filter_map(inner, Option::as_ref).map_err(|_| Failure::freed())
    }

    fn decide_js(
        &self,
        stage: Stage,
        intent: &JsValue,
        context: &JsValue,
    ) -> Result<JsValue, JsValue> {
        let intent = convert::intent_from_js(intent)?;
        let context = convert::context_from_js(context)?;
        let decision = self.decide(stage, &intent, context)?;
        Ok(convert::parse_own_json(&decision))
    }

    fn decide_json(
        &self,
        stage: Stage,
        intent: &JsValue,
        context: &JsValue,
    ) -> Result<String, JsValue> {
        let intent = convert::text_from_js(intent, "intentJson")?;
        let context = convert::text_from_js(context, "contextJson")?;
        let context = convert::context_from_json(&context)?;
        Ok(self.decide(stage, &intent, context)?)
    }

    /// The core's decision JSON for intent text, as a request to the core.
    fn decide(&self, stage: Stage, intent_json: &str, context: Value) -> Result<String, Failure> {
        let intent = convert::intent_from_json(intent_json)?;
        let request = EvaluateRequest::new(intent, Some(context), stage);
        let decision = request.evaluate(&*self.engine()?, None, &Sequential)?;
        decision
            .to_json()
            .map_err(|e| Failure::unwritable("decision", &e))
    }
}

/// Checks an intent (a plain object) against the intent schema alone, without a bundle. Returns
/// the schema errors, sorted by path; empty when the intent conforms.
#[wasm_bindgen(js_name = validateIntent, unchecked_return_type = "SchemaError[]")]
pub fn validate_intent(
    #[wasm_bindgen(unchecked_param_type = "IntentInput")] intent: JsValue,
) -> Result<JsValue, JsValue> {
    let intent = convert::intent_from_json(&convert::intent_from_js(&intent)?)?;
    let errors = IntentSchema::shared().validate(&intent);
    Ok(convert::to_js("schema errors", &errors)?)
}

/// The intent JSON Schema (draft 2020-12) that `validateIntent` and every evaluation check.
#[wasm_bindgen(js_name = intentSchema, unchecked_return_type = "Record<string, unknown>")]
pub fn intent_schema() -> Result<JsValue, JsValue> {
    Ok(convert::to_js("intent schema", &IntentSchema::as_json())?)
}

/// Reads an intent from text, JSON or YAML as the CLI reads intent files (text whose first
/// non-blank character is `{` is JSON, anything else YAML; aliases refused), and returns it as an
/// object for `evaluate` or `validateIntent`. Throws `intent_syntax` with the line and column,
/// `intent_too_large`, `intent_yaml_alias`, or `intent_not_object` for text that holds no mapping.
#[wasm_bindgen(js_name = parseIntent, unchecked_return_type = "IntentInput")]
pub fn parse_intent(
    #[wasm_bindgen(unchecked_param_type = "string")] text: JsValue,
) -> Result<JsValue, JsValue> {
    let text = convert::text_from_js(&text, "text")?;
    Ok(convert::intent_object_from_text(&text)?)
}
