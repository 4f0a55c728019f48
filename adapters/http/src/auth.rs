//! Who the caller is: bearer tokens (stored as SHA-256 hashes) mapped to principals. The roles
//! and what each may do are the control plane's ([`gatehouse_control::access`]); so is the
//! signature scheme of pipeline callbacks, re-exported here for the transport's callers.

use std::collections::HashMap;

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
pub use gatehouse_control::access::{Permission, Principal, Role};
pub use gatehouse_control::signature::{
    DELIVERY_HEADER, SIGNATURE_HEADER, SignedHeaders, TIMESTAMP_HEADER, sign, verify,
};
use serde::Serialize;

use crate::config::{TokenConfig, token_hash};
use crate::problem::Problem;

/// What `GET /v1/whoami` reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Identity {
    /// The token's name; null without a token.
    pub name: Option<String>,
    /// Its role; null without a token.
    #[schema(value_type = Option<String>, example = "approver")]
    pub role: Option<Role>,
    /// Approval roles it may approve in.
    pub approval_roles: Vec<String>,
    /// Whether the server runs on its demo tokens (no config file).
    pub demo: bool,
}

/// Maps bearer tokens to principals.
#[derive(Debug, Clone)]
pub struct Authenticator {
    by_hash: HashMap<[u8; 32], Principal>,
    anonymous_read: bool,
}

impl Authenticator {
    /// From the configured tokens.
    pub fn new(tokens: &[TokenConfig], anonymous_read: bool) -> Self {
        let by_hash = tokens
            .iter()
            .filter_map(|t| {
                let bytes = hex::decode(t.sha256.to_ascii_lowercase()).ok()?;
                let hash: [u8; 32] = bytes.try_into().ok()?;
                Some((
                    hash,
                    Principal {
                        name: t.name.clone(),
                        role: Some(t.role),
                        approval_roles: t.approval_roles.clone(),
                    },
                ))
            })
            .collect();
        Self {
            by_hash,
            anonymous_read,
        }
    }

    /// Who the caller is. Without an `Authorization` header: nobody, with `demo` true only on a
    /// demo server (which listens on loopback only); an invalid token is 401.
    pub fn identify(&self, headers: &HeaderMap, demo: bool) -> Result<Identity, Problem> {
        if !headers.contains_key(AUTHORIZATION) {
            // Without a token: nobody, and the demo flag, which is true only on a demo server
            // (demo mode listens on loopback only). Nothing else is revealed.
            return Ok(Identity {
                name: None,
                role: None,
                approval_roles: Vec::new(),
                demo,
            });
        }
        let principal = self.authorize(headers, Permission::Read)?;
        Ok(Identity {
            name: Some(principal.name),
            role: principal.role,
            approval_roles: principal.approval_roles,
            demo,
        })
    }

    /// The caller of a request, if it may do `permission`: 401 without a valid token (unless
    /// anonymous reading is on and this is a read), 403 when the role does not grant it.
    pub fn authorize(
        &self,
        headers: &HeaderMap,
        permission: Permission,
    ) -> Result<Principal, Problem> {
        let Some(value) = headers.get(AUTHORIZATION) else {
            if permission == Permission::Read && self.anonymous_read {
                return Ok(Principal::anonymous());
            }
            return Err(Problem::unauthorized(
                "this endpoint needs `Authorization: Bearer <token>`",
            ));
        };
        let token = value
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                Problem::unauthorized("the Authorization header must be `Bearer <token>`")
            })?;
        // Tokens are looked up by their SHA-256: the map never holds a token, and a lookup by
        // digest reveals nothing about how close a guess was.
        let digest = hex::decode(token_hash(token)).unwrap_or_default();
        let key: [u8; 32] = digest.try_into().unwrap_or([0; 32]);
        let principal = self
            .by_hash
            .get(&key)
            .ok_or_else(|| Problem::unauthorized("the bearer token is not valid"))?;
        principal.require(permission)?;
        Ok(principal.clone())
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn auth(anonymous_read: bool) -> Authenticator {
        Authenticator::new(
            &[TokenConfig {
                name: "ann@example.com".into(),
                role: Role::Auditor,
                sha256: token_hash("s3cret"),
                approval_roles: vec![],
            }],
            anonymous_read,
        )
    }

    fn bearer(token: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
        );
        h
    }

    #[test]
    fn tokens_map_to_roles() {
        let p = auth(false)
            .authorize(&bearer("s3cret"), Permission::Read)
            .unwrap();
        assert_eq!(p.name, "ann@example.com");
        let e = auth(false)
            .authorize(&bearer("s3cret"), Permission::Submit)
            .unwrap_err();
        assert_eq!(e.status.as_u16(), 403);
        let e = auth(false)
            .authorize(&bearer("wrong"), Permission::Read)
            .unwrap_err();
        assert_eq!(e.status.as_u16(), 401);
    }

    #[test]
    fn anonymous_read_only_reads() {
        let none = HeaderMap::new();
        assert!(auth(true).authorize(&none, Permission::Read).is_ok());
        assert_eq!(
            auth(true)
                .authorize(&none, Permission::Submit)
                .unwrap_err()
                .status
                .as_u16(),
            401
        );
        assert_eq!(
            auth(false)
                .authorize(&none, Permission::Read)
                .unwrap_err()
                .status
                .as_u16(),
            401
        );
    }
}
