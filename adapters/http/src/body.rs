//! Request bodies: JSON only, size-limited, depth-limited, unknown fields refused, each failure a
//! precise problem (415, 413, 400, 422) instead of axum's plain-text rejections; read within the
//! budget of body bytes in flight ([`crate::budget`]).

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;

use crate::budget::BodyReservation;
use crate::problem::Problem;
use crate::state::{App, ClientAddr};

/// The body of `req`, read within the budget of bodies in flight (see [`crate::budget::BodyBudget`]): 413 at
/// once for a declared length above `limits.body_bytes`, 503 `overloaded` when the budget has
/// no room in time; the reservation is to be held until the answer is ready.
pub async fn read_within_budget(
    req: Request,
    app: &Arc<App>,
) -> Result<(Bytes, BodyReservation), Problem> {
    let limit = app.config.limits.body_bytes;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large().with_header(header::CONNECTION, "close"));
    }
    let addr = req
        .extensions()
        .get::<ClientAddr>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.0);
    let bytes = declared.map_or(limit, |n| usize::try_from(n).unwrap_or(limit));
    let reservation = app.bodies.reserve(addr, bytes).await?;
    let RawBody(body) = RawBody::from_request(req, app).await?;
    check_items(&body, app.config.limits.json_items)?;
    Ok((body, reservation))
}

/// Refuses a JSON body with more than `max_items` array items and object members in all (a
/// cheap byte scan that skips strings, before parsing): the schema caps each list of an
/// intent, but lists nested in free-form resource config multiply, and every item costs
/// hundreds of bytes once parsed and handed to the policies.
fn check_items(bytes: &[u8], max_items: usize) -> Result<(), Problem> {
    let mut items = 0usize;
    for (_, b) in structure(bytes) {
        match b {
            // A container's first item, then one per comma (an empty container counts one).
            b'{' | b'[' | b',' => {
                items += 1;
                if items > max_items {
                    return Err(Problem::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "too_many_items",
                        format!(
                            "the JSON body has more than {max_items} array items and object members in all (`limits.json_items`); an intent needs far fewer"
                        ),
                    ));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn too_large() -> Problem {
    Problem::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        "the request body is larger than the server's limit (`limits.body_bytes`, 1 MiB by default)",
    )
}

/// The raw body, read within `limits.body_read_timeout_ms` (408 after: a client that trickles
/// its body holds no worker for longer), with the size limit answered as problem JSON.
#[derive(Debug, Clone)]
pub struct RawBody(pub Bytes);

impl FromRequest<Arc<App>> for RawBody {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &Arc<App>) -> Result<Self, Self::Rejection> {
        let limit = Duration::from_millis(state.config.limits.body_read_timeout_ms);
        let Ok(read) = tokio::time::timeout(limit, Bytes::from_request(req, state)).await else {
            return Err(Problem::new(
                StatusCode::REQUEST_TIMEOUT,
                "body_timeout",
                format!(
                    "the request body did not arrive within {} ms (`limits.body_read_timeout_ms`); send it at once",
                    limit.as_millis()
                ),
            )
            .with_header(header::CONNECTION, "close"));
        };
        match read {
            Ok(bytes) => Ok(Self(bytes)),
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(too_large())
            }
            Err(rejection) => Err(Problem::bad_request(
                "unreadable_body",
                format!(
                    "the request body could not be read: {}",
                    rejection.body_text()
                ),
            )),
        }
    }
}

/// Checks that the request declares a JSON body.
pub fn require_json(headers: &HeaderMap) -> Result<(), Problem> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json")) {
        Ok(())
    } else {
        Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            if content_type.is_empty() {
                "the body must be JSON: send `Content-Type: application/json`".to_owned()
            } else {
                format!(
                    "the body must be JSON (`Content-Type: application/json`), not `{content_type}`"
                )
            },
        ))
    }
}

/// Parses a JSON body into `T`: 400 for syntax errors and bodies nested deeper than `max_depth`,
/// 422 for well-formed JSON of the wrong shape (unknown field, wrong type, missing field).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8], max_depth: usize) -> Result<T, Problem> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Problem::bad_request(
            "empty_body",
            "the request body is empty; send a JSON object",
        ));
    }
    check_depth(bytes, max_depth)?;
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(Problem::unprocessable(
            "invalid_body",
            "the body must be a JSON object, e.g. {\"intent\": {...}}",
        ));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        use serde_json::error::Category;
        match e.classify() {
            Category::Data => Problem::unprocessable(
                "invalid_body",
                format!("the JSON body does not have the expected shape: {e}"),
            ),
            Category::Syntax | Category::Eof | Category::Io => {
                Problem::bad_request("malformed_json", format!("the body is not valid JSON: {e}"))
            }
        }
    })
}

/// Refuses JSON nested deeper than `max_depth` before parsing it (a cheap byte scan that skips
/// strings), so hostile nesting costs nothing and gets a precise error.
fn check_depth(bytes: &[u8], max_depth: usize) -> Result<(), Problem> {
    let mut depth = 0usize;
    for (offset, b) in structure(bytes) {
        match b {
            b'{' | b'[' => {
                depth += 1;
                if depth > max_depth {
                    return Err(Problem::bad_request(
                        "too_deep",
                        format!(
                            "the JSON body is nested deeper than {max_depth} levels (at byte {offset}); flatten it"
                        ),
                    ));
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// The bytes of a JSON text outside its strings, with their offsets: what the pre-parse scans
/// count (brackets, braces, commas) without being fooled by the same characters inside a string.
fn structure(bytes: &[u8]) -> impl Iterator<Item = (usize, u8)> + '_ {
    let mut in_string = false;
    let mut escaped = false;
    bytes.iter().enumerate().filter_map(move |(offset, &b)| {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            return None;
        }
        if b == b'"' {
            in_string = true;
            return None;
        }
        Some((offset, b))
    })
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "only parsed")]
    struct Body {
        a: u32,
    }

    #[test]
    fn each_failure_has_its_status() {
        let status = |text: &str| parse_json::<Body>(text.as_bytes(), 3).unwrap_err().status;
        assert_eq!(status(""), StatusCode::BAD_REQUEST);
        assert_eq!(status("{\"a\":"), StatusCode::BAD_REQUEST);
        assert_eq!(
            status("{\"a\":1,\"b\":2}"),
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(status("{\"a\":\"x\"}"), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(status("[[[[1]]]]"), StatusCode::BAD_REQUEST);
        assert!(parse_json::<Body>(b"{\"a\":1}", 3).is_ok());
    }

    #[test]
    fn items_are_counted_across_nesting_and_not_inside_strings() {
        assert!(check_items(br#"{"a":[1,2,3],"b":{"c":[]}}"#, 7).is_ok());
        let err = check_items(br#"{"a":[1,2,3],"b":{"c":[]}}"#, 6).unwrap_err();
        assert_eq!(err.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(check_items(br#"{"a":"[,,,,,,,,,,\",{{{"}"#, 1).is_ok());
        let nested = format!("[{}]", vec!["[0,0,0,0]"; 100].join(","));
        assert!(check_items(nested.as_bytes(), 500).is_ok());
        assert!(check_items(nested.as_bytes(), 499).is_err());
    }

    #[test]
    fn brackets_inside_strings_do_not_count() {
        assert!(check_depth(br#"{"a":"[[[[[[\"{{{{"}"#, 2).is_ok());
        assert!(check_depth(b"[[[", 2).is_err());
    }

    #[test]
    fn json_content_types() {
        let with = |v: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(header::CONTENT_TYPE, v.parse().unwrap());
            require_json(&h)
        };
        assert!(with("application/json").is_ok());
        assert!(with("application/json; charset=utf-8").is_ok());
        assert!(with("application/merge-patch+json").is_ok());
        assert_eq!(
            with("text/plain").unwrap_err().status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
        assert!(require_json(&HeaderMap::new()).is_err());
    }
}
