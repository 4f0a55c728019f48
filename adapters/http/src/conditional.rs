//! Conditional `GET` (RFC 9110 §13.1.2): whether an `If-None-Match` header matches the
//! current representation's entity tag, so the handler answers `304 Not Modified`.
//!
//! `If-None-Match` is `*` or a comma-separated list of entity tags (`"tag"` or weak `W/"tag"`),
//! possibly over several header lines, and is compared with the weak comparison: `W/"x"`
//! matches `"x"`. A header that does not parse matches nothing (the full answer is never wrong).

use axum::http::{HeaderMap, header};

/// Whether the request's `If-None-Match` matches `etag` (the opaque tag, without quotes): `*`,
/// or one of its entity tags, weak or strong, with that opaque tag.
pub fn none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|value| list_matches(value, etag))
}

/// One header line: `*`, or entity tags separated by commas and optional whitespace.
fn list_matches(value: &str, etag: &str) -> bool {
    if value.trim() == "*" {
        return true;
    }
    let mut rest = value;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            return false;
        }
        // Weak comparison: the `W/` prefix is ignored.
        let tag = rest.strip_prefix("W/").unwrap_or(rest);
        let Some(quoted) = tag.strip_prefix('"') else {
            return false;
        };
        let Some(end) = quoted.find('"') else {
            return false;
        };
        let (opaque, after) = quoted.split_at(end);
        if opaque == etag {
            return true;
        }
        rest = after.get(1..).unwrap_or_default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            map.append(header::IF_NONE_MATCH, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn star_lists_and_weak_tags_match() {
        let tag = "sha256:ab+sig.cd";
        for matching in [
            vec!["\"sha256:ab+sig.cd\""],
            vec!["W/\"sha256:ab+sig.cd\""],
            vec!["*"],
            vec![" * "],
            vec!["\"old\", W/\"sha256:ab+sig.cd\""],
            vec!["\"a,b\",\"sha256:ab+sig.cd\""],
            vec!["\"old\"", "\"sha256:ab+sig.cd\""],
        ] {
            assert!(none_match(&headers(&matching), tag), "{matching:?}");
        }
        for other in [
            vec![],
            vec!["\"sha256:ab\""],
            vec!["sha256:ab+sig.cd"],
            vec!["\"sha256:ab+sig.cd"],
            vec!["w/\"sha256:ab+sig.cd\""],
            vec!["\"old\", *"],
            vec!["\"old\" junk \"sha256:ab+sig.cd\""],
            vec![""],
        ] {
            assert!(!none_match(&headers(&other), tag), "{other:?}");
        }
    }
}
