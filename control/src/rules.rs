//! The lifecycle rules of the service, as plain functions over a deployment record: which ETag a
//! change must name, who may approve or cancel, which report a state takes. Policy logic stays
//! in the core and the bundle; these rules decide who may act, not whether a deployment is
//! allowed.

use gatehouse_core::{Approval, State, identity_key, same_identity};
use gatehouse_store::deployment::DeploymentRecord;

use crate::access::{Principal, Role};
use crate::error::ControlError;
use crate::requests::CallbackStatus;

/// Whether free text that is stored and shown (comments, reasons) has a control character or a
/// format character (general category `Cf`: bidirectional overrides such as U+202E, zero-width
/// marks such as U+200B): the first could forge lines in logs and terminals, the second make
/// text read differently from what it holds.
pub fn has_control(text: &str) -> bool {
    text.chars()
        .any(|c| c.is_control() || gatehouse_core::identity::is_format_character(c))
}

/// `If-Match` must name the deployment's current ETag, as a strong ETag (`"<hash>"`, or the bare
/// hash): `*` and weak ETags (`W/"..."`) would let a change go through without the caller having
/// seen the current state.
pub fn check_etag(record: &DeploymentRecord, if_match: &str) -> Result<(), ControlError> {
    let value = if_match.trim();
    if value == "*" || value.starts_with("W/") {
        return Err(ControlError::StrongEtagRequired {
            deployment_id: record.head.id.clone(),
            current: record.last_hash.clone(),
        });
    }
    let wanted = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value);
    if wanted == record.last_hash {
        Ok(())
    } else {
        Err(ControlError::StaleEtag {
            deployment_id: record.head.id.clone(),
            current: record.last_hash.clone(),
        })
    }
}

/// Whether `principal` may approve `record` in `role`, given the approvals recorded so far: the
/// deployment awaits approval, the approver holds the role, is neither its requester nor its
/// submitter (four-eyes), and has not approved in this role already.
pub fn check_approval(
    principal: &Principal,
    record: &DeploymentRecord,
    role: &str,
    approvals: &[Approval],
) -> Result<(), ControlError> {
    if record.head.state != State::Requested {
        return Err(ControlError::NotAwaitingApproval {
            deployment_id: record.head.id.clone(),
            state: record.head.state,
        });
    }
    if !principal.approval_roles.iter().any(|r| r == role) {
        return Err(ControlError::RoleNotHeld {
            principal: principal.name.clone(),
            role: role.to_owned(),
            held: principal.approval_roles.clone(),
        });
    }
    // The core's one identity comparison (NFKC, case folding, format characters removed): the
    // same the core's requester check uses.
    let me = identity_key(&principal.name);
    if me == identity_key(&record.head.requested_by)
        || me == identity_key(&record.head.submitted_by)
    {
        return Err(ControlError::SelfApproval {
            principal: principal.name.clone(),
            deployment_id: record.head.id.clone(),
        });
    }
    if approvals
        .iter()
        .any(|a| a.role == role && identity_key(&a.by) == me)
    {
        return Err(ControlError::AlreadyApproved {
            principal: principal.name.clone(),
            deployment_id: record.head.id.clone(),
            role: role.to_owned(),
        });
    }
    Ok(())
}

/// Whether `principal` may cancel `record`: a requester cancels only their own deployments (the
/// ones they submitted, or whose `metadata.requested_by` is their name); approvers and admins
/// cancel any.
pub fn check_cancel(principal: &Principal, record: &DeploymentRecord) -> Result<(), ControlError> {
    if principal.role != Some(Role::Requester) {
        return Ok(());
    }
    let me = &principal.name;
    if record.head.submitted_by == *me || same_identity(&record.head.requested_by, me) {
        Ok(())
    } else {
        Err(ControlError::NotOwner {
            principal: me.clone(),
            deployment_id: record.head.id.clone(),
            submitted_by: record.head.submitted_by.clone(),
            requested_by: record.head.requested_by.clone(),
        })
    }
}

/// A cancel the deployment's state does not allow.
pub fn cancel_refused(record: &DeploymentRecord) -> ControlError {
    ControlError::IllegalTransition {
        deployment_id: record.head.id.clone(),
        state: record.head.state,
        attempted: "a cancel".into(),
        help: "only REQUESTED or VALIDATED deployments can be cancelled",
    }
}

/// Whether `record` takes a pipeline report of `status` now: `succeeded` only IN_PROGRESS (the
/// release gates judge it then), the others as the lifecycle allows.
pub fn check_report(record: &DeploymentRecord, status: CallbackStatus) -> Result<(), ControlError> {
    if status == CallbackStatus::Succeeded && record.head.state != State::InProgress {
        return Err(ControlError::IllegalTransition {
            deployment_id: record.head.id.clone(),
            state: record.head.state,
            attempted: "`succeeded`".into(),
            help: "`succeeded` is accepted only IN_PROGRESS (report `started` first)",
        });
    }
    Ok(())
}

/// A report the deployment's state does not allow.
pub fn report_refused(record: &DeploymentRecord, status: CallbackStatus) -> ControlError {
    ControlError::IllegalTransition {
        deployment_id: record.head.id.clone(),
        state: record.head.state,
        attempted: format!("`{}`", status.as_str()),
        help: "a pipeline reports `started` on a VALIDATED or IN_PROGRESS deployment, then `succeeded` or `failed`",
    }
}

#[cfg(test)]
mod tests {
    use gatehouse_core::{ApprovalSource, Timestamp};
    use gatehouse_store::deployment::DeploymentHead;
    use serde_json::json;

    use super::*;

    fn record(state: State) -> DeploymentRecord {
        let at: Timestamp = "2026-11-23T12:00:00Z".parse().unwrap();
        DeploymentRecord {
            head: DeploymentHead {
                id: "dep_1".into(),
                state,
                service: "web".into(),
                version: "1".into(),
                artifact: "a".into(),
                environment: "prod".into(),
                cloud: "aws".into(),
                account: "1".into(),
                region: "eu-west-1".into(),
                requested_by: "Erin@example.com".into(),
                submitted_by: "ci@example.com".into(),
                created_at: at,
                updated_at: at,
            },
            intent: json!({}),
            decision: gatehouse_store::testing::decision(gatehouse_core::Outcome::Allow, &[]),
            bundle_digest: "sha256:x".into(),
            decision_id: None,
            last_seq: 2,
            last_hash: "h2".into(),
        }
    }

    fn person(name: &str, role: Role, approval_roles: &[&str]) -> Principal {
        Principal {
            name: name.into(),
            role: Some(role),
            approval_roles: approval_roles.iter().map(|r| (*r).to_owned()).collect(),
        }
    }

    fn approval(by: &str, role: &str) -> Approval {
        Approval {
            by: by.into(),
            role: role.into(),
            at: None,
            comment: None,
            source: ApprovalSource::ControlPlane,
            reference: None,
        }
    }

    #[test]
    fn only_the_current_strong_etag_passes() {
        let r = record(State::Requested);
        assert!(check_etag(&r, "\"h2\"").is_ok());
        assert!(check_etag(&r, " h2 ").is_ok());
        assert!(matches!(
            check_etag(&r, "\"h1\""),
            Err(ControlError::StaleEtag { current, .. }) if current == "h2"
        ));
        for weak in ["*", "W/\"h2\""] {
            assert!(matches!(
                check_etag(&r, weak),
                Err(ControlError::StrongEtagRequired { .. })
            ));
        }
    }

    #[test]
    fn approvals_need_the_state_the_role_four_eyes_and_no_repeat() {
        let bob = person("bob@example.com", Role::Approver, &["release-approver"]);
        let requested = record(State::Requested);
        assert!(check_approval(&bob, &requested, "release-approver", &[]).is_ok());
        assert!(matches!(
            check_approval(&bob, &record(State::Validated), "release-approver", &[]),
            Err(ControlError::NotAwaitingApproval {
                state: State::Validated,
                ..
            })
        ));
        let err = check_approval(&bob, &requested, "finops-approver", &[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`bob@example.com` may not approve as `finops-approver`; their approval roles are: release-approver"
        );
        // The requester (any case) and the submitter cannot approve.
        for name in ["erin@EXAMPLE.com", "ci@example.com"] {
            let me = person(name, Role::Approver, &["release-approver"]);
            assert!(matches!(
                check_approval(&me, &requested, "release-approver", &[]),
                Err(ControlError::SelfApproval { .. })
            ));
        }
        let done = [approval("Bob@example.com", "release-approver")];
        assert!(matches!(
            check_approval(&bob, &requested, "release-approver", &done),
            Err(ControlError::AlreadyApproved { .. })
        ));
    }

    /// The trust issue's spellings of one person: the control plane compares as the core does.
    #[test]
    fn four_eyes_sees_through_unicode_spellings() {
        for (requester, approver) in [
            ("élodie@example.com", "ÉLODIE@EXAMPLE.COM"),
            ("\u{212A}im@example.com", "kim@example.com"),
            ("ki\u{200B}m@example.com", "kim@example.com"),
        ] {
            let mut r = record(State::Requested);
            r.head.requested_by = requester.into();
            let me = person(approver, Role::Approver, &["release-approver"]);
            assert!(
                matches!(
                    check_approval(&me, &r, "release-approver", &[]),
                    Err(ControlError::SelfApproval { .. })
                ),
                "{requester} vs {approver}"
            );
            let other = person("bob@example.com", Role::Approver, &["release-approver"]);
            let done = [approval(
                &format!("\u{200B}{}", other.name.to_uppercase()),
                "release-approver",
            )];
            assert!(matches!(
                check_approval(&other, &r, "release-approver", &done),
                Err(ControlError::AlreadyApproved { .. })
            ));
            let owner = person(approver, Role::Requester, &[]);
            assert!(
                check_cancel(&owner, &r).is_ok(),
                "{requester} vs {approver}"
            );
        }
    }

    #[test]
    fn requesters_cancel_only_their_own_deployments() {
        let r = record(State::Validated);
        let submitter = person("ci@example.com", Role::Requester, &[]);
        let requested_for = person("erin@example.com", Role::Requester, &[]);
        let other = person("mallory@example.com", Role::Requester, &[]);
        let approver = person("bob@example.com", Role::Approver, &[]);
        assert!(check_cancel(&submitter, &r).is_ok());
        assert!(check_cancel(&requested_for, &r).is_ok());
        assert!(check_cancel(&approver, &r).is_ok());
        assert!(matches!(
            check_cancel(&other, &r),
            Err(ControlError::NotOwner { .. })
        ));
    }

    #[test]
    fn succeeded_is_taken_only_in_progress() {
        assert!(check_report(&record(State::InProgress), CallbackStatus::Succeeded).is_ok());
        assert!(check_report(&record(State::Validated), CallbackStatus::Started).is_ok());
        let err = check_report(&record(State::Validated), CallbackStatus::Succeeded).unwrap_err();
        assert!(err.to_string().contains("report `started` first"), "{err}");
    }

    #[test]
    fn control_characters_are_found() {
        assert!(has_control("a\nb") && has_control("\u{1b}[31m") && has_control("\u{85}"));
        assert!(has_control("approved \u{202e}kcab") && has_control("appro\u{200b}ved"));
        assert!(!has_control("an ordinary comment, with punctuation: ok"));
        assert!(!has_control("élodie's approval, 5 € over"));
    }
}
