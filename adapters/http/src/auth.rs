//! Who may do what: bearer tokens (stored as SHA-256 hashes) mapped to roles, and the HMAC
//! signatures pipelines put on their callbacks.

use std::collections::HashMap;

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::config::{TokenConfig, token_hash};
use crate::problem::Problem;

/// A token's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Submits and cancels deployments.
    Requester,
    /// Approves deployments that need an approval.
    Approver,
    /// Reads everything, changes nothing.
    Auditor,
    /// Everything, including reloading the policy bundle.
    Admin,
}

impl Role {
    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requester => "requester",
            Self::Approver => "approver",
            Self::Auditor => "auditor",
            Self::Admin => "admin",
        }
    }
}

/// What a request wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// GET endpoints and `POST /v1/evaluate` (stores nothing).
    Read,
    /// `POST /v1/deployments`.
    Submit,
    /// `POST /v1/deployments/{id}/approvals`.
    Approve,
    /// `POST /v1/deployments/{id}/cancel`.
    Cancel,
    /// `POST /v1/admin/reload`.
    Administer,
}

impl Permission {
    /// The roles granted this permission.
    pub fn roles(self) -> &'static [Role] {
        use Role::*;
        match self {
            Self::Read => &[Requester, Approver, Auditor, Admin],
            Self::Submit => &[Requester, Admin],
            Self::Approve => &[Approver, Admin],
            Self::Cancel => &[Requester, Approver, Admin],
            Self::Administer => &[Admin],
        }
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's name (an email or a service name).
    pub name: String,
    /// Its role; `None` for an anonymous reader.
    pub role: Option<Role>,
    /// Approval roles it may approve in.
    pub approval_roles: Vec<String>,
}

impl Principal {
    /// The actor recorded in events.
    pub fn actor(&self) -> &str {
        &self.name
    }
}

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

    /// Who the caller is: anonymous without an `Authorization` header, 401 for an invalid token.
    pub fn identify(&self, headers: &HeaderMap, demo: bool) -> Result<Identity, Problem> {
        if !headers.contains_key(AUTHORIZATION) {
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
                return Ok(Principal {
                    name: "anonymous".into(),
                    role: None,
                    approval_roles: Vec::new(),
                });
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
        match principal.role {
            Some(role) if permission.roles().contains(&role) => Ok(principal.clone()),
            role => Err(Problem::forbidden(format!(
                "role `{}` may not do this; it needs one of: {}",
                role.map_or("anonymous", Role::as_str),
                permission
                    .roles()
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }
}

/// The header carrying a pipeline callback's signature: `sha256=<hex>`.
pub const SIGNATURE_HEADER: &str = "x-gatehouse-signature-256";

/// Signs `body` with `secret`: the value of [`SIGNATURE_HEADER`].
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = new_mac(secret);
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Checks a `sha256=<hex>` signature of `body` in constant time.
pub fn verify_signature(secret: &[u8], body: &[u8], header: Option<&str>) -> Result<(), Problem> {
    let header = header.ok_or_else(|| {
        Problem::unauthorized(format!(
            "callbacks must be signed: header `{SIGNATURE_HEADER}: sha256=<hex HMAC-SHA256 of the raw body>`"
        ))
    })?;
    let provided = header
        .strip_prefix("sha256=")
        .and_then(|h| hex::decode(h).ok())
        .ok_or_else(|| {
            Problem::unauthorized(format!(
                "`{SIGNATURE_HEADER}` must be `sha256=` followed by 64 hex digits"
            ))
        })?;
    let mut mac = new_mac(secret);
    mac.update(body);
    let expected = mac.finalize().into_bytes();
    if bool::from(expected.as_slice().ct_eq(&provided)) {
        Ok(())
    } else {
        Err(Problem::unauthorized(
            "the callback signature does not match its body",
        ))
    }
}

#[expect(
    clippy::expect_used,
    reason = "HMAC takes keys of every length: new_from_slice never fails"
)]
fn new_mac(secret: &[u8]) -> Hmac<Sha256> {
    <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC accepts any key length")
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

    #[test]
    fn signatures_round_trip_and_reject_changes() {
        let sig = sign(b"key", b"{\"status\":\"started\"}");
        assert!(verify_signature(b"key", b"{\"status\":\"started\"}", Some(&sig)).is_ok());
        assert!(verify_signature(b"key", b"{\"status\":\"failed\"}", Some(&sig)).is_err());
        assert!(verify_signature(b"other", b"{\"status\":\"started\"}", Some(&sig)).is_err());
        assert!(verify_signature(b"key", b"x", None).is_err());
        assert!(verify_signature(b"key", b"x", Some("sha1=00")).is_err());
    }

    #[test]
    fn known_vector() {
        // RFC 4231 test case 2.
        let sig = sign(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            sig,
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
