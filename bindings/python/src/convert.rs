//! Values in and out: Python objects (dict, list, str, int, float, bool, None) to and from
//! `serde_json::Value`, walking the objects directly (no JSON text in between; the way out is
//! [`crate::output`], which the error mapping uses too). A value JSON
//! cannot hold is an `IntentError`, `ContextError` or `LifecycleError` after the argument
//! (`error::value`), naming where it is.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value};

use crate::error;
use crate::output::to_python;

/// Deepest nesting accepted from Python, the same as `serde_json`'s parser: deeper (or cyclic)
/// structures are refused instead of exhausting the stack.
const MAX_DEPTH: usize = 128;

/// Longest path shown in a message; a longer one (a deep or cyclic structure) is cut.
const SHOWN_PATH: usize = 60;

/// Converts a JSON-like Python object. `what` names the argument in error messages.
pub fn to_value(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Value> {
    let mut path = String::new();
    value_at(obj, what, &mut path, 0)
}

/// `path` as a message shows it: the whole document, or the path cut to a readable length.
fn shown(path: &str) -> String {
    if path.is_empty() {
        return "the top level".to_owned();
    }
    if path.chars().count() <= SHOWN_PATH {
        return format!("`{path}`");
    }
    format!("`{}…`", path.chars().take(SHOWN_PATH).collect::<String>())
}

/// A value of `what` at `path` that JSON cannot hold.
fn invalid(obj: &Bound<'_, PyAny>, what: &str, message: String, help: &str) -> PyErr {
    error::value(obj.py(), what, false, message, help)
}

/// Python text as Rust text; a lone surrogate (no UTF-8 form) is refused.
fn text(s: &Bound<'_, PyString>, what: &str, path: &str) -> PyResult<String> {
    s.to_cow().map(|t| t.into_owned()).map_err(|_| {
        invalid(
            s.as_any(),
            what,
            format!(
                "`{what}` holds text at {} that is not valid Unicode (a lone surrogate)",
                shown(path)
            ),
            "decode bytes with errors=\"strict\" or \"replace\"; text with lone surrogates (from errors=\"surrogateescape\") has no UTF-8 form",
        )
    })
}

fn value_at(
    obj: &Bound<'_, PyAny>,
    what: &str,
    path: &mut String,
    depth: usize,
) -> PyResult<Value> {
    if depth > MAX_DEPTH {
        return Err(error::value(
            obj.py(),
            what,
            true,
            format!(
                "`{what}` is nested deeper than {MAX_DEPTH} levels at {}",
                shown(path)
            ),
            "a structure that contains itself (a cycle) cannot be JSON; otherwise flatten the document",
        ));
    }
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return text(s, what, path).map(Value::String);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if obj.cast::<PyInt>().is_ok() {
        return integer(obj, what, path);
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return Number::from_f64(f.value())
            .map(Value::Number)
            .ok_or_else(|| {
                invalid(
                    obj,
                    what,
                    format!(
                        "`{what}` holds {} at {}, which JSON cannot represent",
                        f.value(),
                        shown(path)
                    ),
                    "give a finite number, or None for a missing value",
                )
            });
    }
    if let Ok(dict) = obj.cast::<PyDict>() {
        let mut map = Map::new();
        for (key, item) in dict.iter() {
            let Ok(key) = key.cast::<PyString>() else {
                return Err(invalid(
                    obj,
                    what,
                    format!(
                        "`{what}` has a key of type `{}` at {}; keys must be strings",
                        type_name(&key),
                        shown(path)
                    ),
                    "JSON objects have text keys: convert the keys with str()",
                ));
            };
            let key = text(key, what, path)?;
            let len = path.len();
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(&key);
            let value = value_at(&item, what, path, depth + 1)?;
            path.truncate(len);
            map.insert(key, value);
        }
        return Ok(Value::Object(map));
    }
    if let Ok(list) = obj.cast::<PyList>() {
        return sequence(list.iter(), what, path, depth);
    }
    if let Ok(tuple) = obj.cast::<PyTuple>() {
        return sequence(tuple.iter(), what, path, depth);
    }
    Err(invalid(
        obj,
        what,
        format!(
            "`{what}` holds a `{}` at {}; only dict, list, tuple, str, int, float, bool and None are accepted",
            type_name(obj),
            shown(path)
        ),
        "convert the value to JSON data first (a time to RFC 3339 text, a set to a list)",
    ))
}

fn integer(obj: &Bound<'_, PyAny>, what: &str, path: &str) -> PyResult<Value> {
    if let Ok(i) = obj.extract::<i64>() {
        return Ok(Value::from(i));
    }
    obj.extract::<u64>().map(Value::from).map_err(|_| {
        invalid(
            obj,
            what,
            format!(
                "`{what}` holds an integer at {} outside the 64-bit range",
                shown(path)
            ),
            "integers must lie between -2**63 and 2**64-1; give a larger number as text",
        )
    })
}

fn sequence<'py>(
    items: impl Iterator<Item = Bound<'py, PyAny>>,
    what: &str,
    path: &mut String,
    depth: usize,
) -> PyResult<Value> {
    let mut out = Vec::new();
    for (index, item) in items.enumerate() {
        let len = path.len();
        path.push_str(&format!("[{index}]"));
        out.push(value_at(&item, what, path, depth + 1)?);
        path.truncate(len);
    }
    Ok(Value::Array(out))
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map_or_else(|_| "object".to_owned(), |n| n.to_string())
}

/// Serialises a core type and converts it into plain Python objects; one that cannot be
/// written is an `InternalError` (`unserializable_answer`).
pub fn serialize_to_python<'py, T: serde::Serialize>(
    py: Python<'py>,
    value: &T,
) -> PyResult<Bound<'py, PyAny>> {
    let value = serde_json::to_value(value).map_err(|e| error::unwritable(py, "result", &e))?;
    to_python(py, &value)
}
