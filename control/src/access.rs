//! Who may do what: the roles a caller can hold, the operations each role may perform, and the
//! principal (an authenticated caller) every operation is judged for. How a transport
//! authenticates a caller (bearer tokens and their hashes in `gatehouse-http`) is the transport's
//! business; which role may submit, approve, cancel or administer is decided here.

use serde::{Deserialize, Serialize};

/// A caller's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Submits and cancels deployments.
    Requester,
    /// Approves deployments that need an approval.
    Approver,
    /// Reads everything, including the decision log; changes nothing.
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

/// What a caller wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Read deployments, events, signals, the bundle; evaluate without storing a deployment.
    Read,
    /// Submit a deployment.
    Submit,
    /// Approve a deployment.
    Approve,
    /// Cancel a deployment.
    Cancel,
    /// Reload the policy bundle.
    Administer,
    /// Read the decision log (every evaluation's intent, decision and caller).
    Audit,
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
            Self::Audit => &[Auditor, Admin],
        }
    }
}

/// A role that does not grant what its holder tried (an operation answers it as
/// `ControlError::PermissionDenied`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("role `{}` may not do this; it needs one of: {}", role.map_or("anonymous", Role::as_str), permission.roles().iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", "))]
pub struct PermissionDenied {
    /// The caller's role (`None`: anonymous).
    pub role: Option<Role>,
    /// What it tried.
    pub permission: Permission,
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The caller's name (an email or a service name), recorded as the actor of what it does.
    pub name: String,
    /// Its role; `None` for an anonymous reader.
    pub role: Option<Role>,
    /// Approval roles it may approve in, e.g. `release-approver`.
    pub approval_roles: Vec<String>,
}

impl Principal {
    /// An anonymous reader (a transport that allows reading without credentials).
    pub fn anonymous() -> Self {
        Self {
            name: "anonymous".into(),
            role: None,
            approval_roles: Vec::new(),
        }
    }

    /// The actor recorded in events.
    pub fn actor(&self) -> &str {
        &self.name
    }

    /// Whether the principal's role grants `permission`.
    pub fn may(&self, permission: Permission) -> bool {
        self.role
            .is_some_and(|role| permission.roles().contains(&role))
    }

    /// [`PermissionDenied`] unless the principal's role grants `permission`.
    pub fn require(&self, permission: Permission) -> Result<(), PermissionDenied> {
        if self.may(permission) {
            Ok(())
        } else {
            Err(PermissionDenied {
                role: self.role,
                permission,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(role: Option<Role>) -> Principal {
        Principal {
            name: "p@example.com".into(),
            role,
            approval_roles: Vec::new(),
        }
    }

    #[test]
    fn roles_grant_their_permissions_only() {
        let auditor = principal(Some(Role::Auditor));
        assert!(auditor.may(Permission::Read) && auditor.may(Permission::Audit));
        assert!(!auditor.may(Permission::Submit) && !auditor.may(Permission::Cancel));
        let requester = principal(Some(Role::Requester));
        assert!(requester.may(Permission::Submit) && !requester.may(Permission::Audit));
        assert!(!requester.may(Permission::Approve));
        let err = requester.require(Permission::Administer).unwrap_err();
        assert_eq!(
            err.to_string(),
            "role `requester` may not do this; it needs one of: admin"
        );
        assert!(!Principal::anonymous().may(Permission::Read));
    }
}
