//! Canonical JSON and SHA-256 digests: object keys sorted, no insignificant white space. Used for
//! intent digests, bundle digests and event hashes, so equal values always hash equally whatever
//! order their keys arrived in.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// Writes `value` as canonical JSON.
#[expect(
    clippy::expect_used,
    reason = "only JSON text, valid UTF-8, was written; an empty text would hash as another value"
)]
pub fn to_canonical_json(value: &Value) -> String {
    let mut out = Vec::with_capacity(256);
    write_value(value, &mut out);
    String::from_utf8(out).expect("canonical JSON is UTF-8")
}

/// Appends the canonical JSON of `value` to `out`.
pub(crate) fn write_value(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Number(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(item, out);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            out.push(b'{');
            // serde_json's map is usually a BTreeMap, already in key order: sort only when not.
            let sorted = map
                .keys()
                .zip(map.keys().skip(1))
                .all(|(a, b)| a.as_bytes() <= b.as_bytes());
            let mut write_entry = |i: usize, key: &String, item: &Value| {
                if i > 0 {
                    out.push(b',');
                }
                write_string(key, out);
                out.push(b':');
                write_value(item, out);
            };
            if sorted {
                for (i, (key, item)) in map.iter().enumerate() {
                    write_entry(i, key, item);
                }
            } else {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
                for (i, (key, item)) in entries.into_iter().enumerate() {
                    write_entry(i, key, item);
                }
            }
            out.push(b'}');
        }
    }
}

/// Appends `s` as a JSON string: serde_json's escaping is canonical (minimal escapes, `\u` for
/// control characters).
#[expect(
    clippy::expect_used,
    reason = "writing a string to a Vec cannot fail; writing `\"\"` instead would hash another value"
)]
pub(crate) fn write_string(s: &str, out: &mut Vec<u8>) {
    serde_json::to_writer(&mut *out, s).expect("a string serialises into memory");
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// `sha256:<hex>` of the canonical JSON of `value`.
pub fn digest_of_value(value: &Value) -> String {
    format!("sha256:{}", sha256_hex(to_canonical_json(value).as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sorts_keys_at_every_level() {
        let v = json!({"b": 1, "a": {"d": [true, null], "c": "x\ny"}});
        assert_eq!(
            to_canonical_json(&v),
            r#"{"a":{"c":"x\ny","d":[true,null]},"b":1}"#
        );
    }

    #[test]
    fn key_order_does_not_change_digest() {
        let a: Value = serde_json::from_str(r#"{"x":1,"y":2}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"y":2,"x":1}"#).unwrap();
        assert_eq!(digest_of_value(&a), digest_of_value(&b));
    }
}
