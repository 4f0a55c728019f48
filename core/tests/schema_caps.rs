//! The intent schema caps every list and map of an intent at sizes no real deployment reaches,
//! and each cap it breaks is one clear violation at the offending field (issue 21: an intent
//! with hundreds of thousands of items once cost hundreds of megabytes to evaluate).
#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "fixtures: a broken fixture should fail the test at once"
)]

use gatehouse_core::{IntentSchema, SchemaError};
use serde_json::{Map, Value, json};

/// An allowed dev intent (the fixture the core's tests share).
fn dev_intent() -> Value {
    serde_json::from_str(include_str!("fixtures/dev-intent.json")).unwrap()
}

fn errors(intent: &Value) -> Vec<SchemaError> {
    IntentSchema::shared().validate(intent)
}

/// The only error of `intent`: at `path`, saying `message`.
fn one_error(intent: &Value, path: &str, message: &str) {
    let errors = errors(intent);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].path, path, "{errors:#?}");
    assert!(errors[0].message.contains(message), "{errors:#?}");
}

fn object(n: usize) -> Value {
    Value::Object(
        (0..n)
            .map(|i| (format!("k{i}"), json!(i)))
            .collect::<Map<_, _>>(),
    )
}

#[test]
fn resources_are_capped_at_500() {
    let resource = |i: usize| json!({"type": "compute.instance", "name": format!("web{i}")});
    let mut intent = dev_intent();
    intent["spec"]["resources"] = (0..500).map(resource).collect();
    assert!(errors(&intent).is_empty());
    intent["spec"]["resources"] = (0..501).map(resource).collect();
    one_error(&intent, "spec.resources", "has more than 500 items");
}

#[test]
fn tags_and_labels_are_capped() {
    let mut intent = dev_intent();
    intent["spec"]["tags"] = object(50)
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), json!(v.to_string())))
        .collect();
    assert!(errors(&intent).is_empty(), "{:#?}", errors(&intent));
    intent["spec"]["tags"]["k50"] = json!("x");
    one_error(&intent, "spec.tags", "has more than 50 properties");
    let mut intent = dev_intent();
    intent["metadata"]["labels"] = object(65)
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), json!(v.to_string())))
        .collect();
    one_error(&intent, "metadata.labels", "has more than 64 properties");
}

#[test]
fn nested_config_is_capped_at_every_level_with_a_violation_at_the_field() {
    let mut intent = dev_intent();
    intent["spec"]["resources"][0]["config"] = json!({
        "ports": (0..100).collect::<Vec<_>>(),
        "ingress": {"rules": [{"cidrs": ["10.0.0.0/8"], "port": 443}], "wide": object(100)},
    });
    assert!(errors(&intent).is_empty(), "{:#?}", errors(&intent));

    // A list of 101 at the top of config, and one nested in a list of lists: each is named
    // with its limit, not as "not valid under any of the schemas".
    intent["spec"]["resources"][0]["config"] = json!({"ports": (0..101).collect::<Vec<_>>()});
    one_error(
        &intent,
        "spec.resources[0].config.ports",
        "has more than 100 items",
    );
    intent["spec"]["resources"][0]["config"] =
        json!({"matrix": [[0], (0..101).collect::<Vec<_>>()]});
    one_error(
        &intent,
        "spec.resources[0].config.matrix[1]",
        "has more than 100 items",
    );
    intent["spec"]["resources"][0]["config"] = json!({"nested": {"deeper": object(101)}});
    one_error(
        &intent,
        "spec.resources[0].config.nested.deeper",
        "has more than 100 properties",
    );
    intent["spec"]["resources"][0]["config"] = object(101);
    one_error(
        &intent,
        "spec.resources[0].config",
        "has more than 100 properties",
    );
}
