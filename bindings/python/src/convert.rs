//! Values in and out: Python objects (dict, list, str, int, float, bool, None) to and from
//! `serde_json::Value`, walking the objects directly (no JSON text in between).

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value};

/// Deepest nesting accepted from Python, the same as `serde_json`'s parser: deeper (or cyclic)
/// structures are refused instead of exhausting the stack.
const MAX_DEPTH: usize = 128;

/// Converts a JSON-like Python object. `what` names the argument in error messages.
pub fn to_value(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Value> {
    let mut path = String::new();
    value_at(obj, what, &mut path, 0)
}

fn value_at(
    obj: &Bound<'_, PyAny>,
    what: &str,
    path: &mut String,
    depth: usize,
) -> PyResult<Value> {
    if depth > MAX_DEPTH {
        return Err(PyValueError::new_err(format!(
            "`{what}` is nested deeper than {MAX_DEPTH} levels at `{path}`"
        )));
    }
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::String(s.to_cow()?.into_owned()));
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
                PyValueError::new_err(format!(
                    "`{what}` holds {} at `{path}`, which JSON cannot represent",
                    f.value()
                ))
            });
    }
    if let Ok(dict) = obj.cast::<PyDict>() {
        let mut map = Map::new();
        for (key, item) in dict.iter() {
            let Ok(key) = key.cast::<PyString>() else {
                return Err(PyTypeError::new_err(format!(
                    "`{what}` has a key of type `{}` at `{path}`; keys must be strings",
                    type_name(&key)
                )));
            };
            let key = key.to_cow()?.into_owned();
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
    Err(PyTypeError::new_err(format!(
        "`{what}` holds a `{}` at `{path}`; only dict, list, tuple, str, int, float, bool and None are accepted",
        type_name(obj)
    )))
}

fn integer(obj: &Bound<'_, PyAny>, what: &str, path: &str) -> PyResult<Value> {
    if let Ok(i) = obj.extract::<i64>() {
        return Ok(Value::from(i));
    }
    obj.extract::<u64>().map(Value::from).map_err(|_| {
        PyValueError::new_err(format!(
            "`{what}` holds an integer at `{path}` outside the 64-bit range"
        ))
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

/// Converts a JSON value into plain Python objects.
pub fn to_python<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                PyFloat::new(py, n.as_f64().unwrap_or(f64::NAN)).into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_python(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (key, item) in map {
                dict.set_item(key, to_python(py, item)?)?;
            }
            dict.into_any()
        }
    })
}

/// Serialises a core type and converts it into plain Python objects.
pub fn serialize_to_python<'py, T: serde::Serialize>(
    py: Python<'py>,
    value: &T,
) -> PyResult<Bound<'py, PyAny>> {
    let value = serde_json::to_value(value)
        .map_err(|e| PyValueError::new_err(format!("cannot convert a result: {e}")))?;
    to_python(py, &value)
}
