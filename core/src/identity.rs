//! One identity comparison for every front end: whether two identities (an approver's `by`, an
//! intent's `metadata.requested_by`, a control plane principal, a pull request author) name the
//! same person.
//!
//! Two spellings are the same identity when their keys are equal, and the key of an identity is:
//!
//! 1. its format characters (general category `Cf`: zero-width spaces and joiners, bidi
//!    controls, soft hyphens) removed: they are invisible, so `ki\u{200B}m@example.com` reads
//!    as `kim@example.com` and must compare as it;
//! 2. NFKC (compatibility composition): `K` (U+212A, the Kelvin sign) becomes `K`, full-width
//!    letters become ASCII, `é` written as `e` + a combining accent becomes one `é`;
//! 3. Unicode default case folding (the full mapping: `ÉLODIE` folds to `élodie`, `ß` to `ss`);
//! 4. NFKC again (case folding can undo normalisation), the `NFKC_Casefold` of Unicode's
//!    identifier matching (UAX #31).
//!
//! The comparison is the only one used for the four-eyes rules: the core's requester check
//! (a requester's own approval never lifts anything), the review reader's author check, and the
//! control plane's self-approval, repeat-approval and cancel-ownership checks. Before, the core
//! compared ASCII-only (`ÉLODIE` and `élodie` differed) while the control plane lowercased with
//! Unicode, and neither removed format characters nor normalised.
//!
//! Approvals a caller passes are refused when their `by` holds a format character
//! ([`format_character`]), so a stored or listed identity never hides one; the comparison still
//! removes them so that identities read from elsewhere (an intent, a token's name) compare as
//! they read.

use caseless::Caseless;
use unicode_general_category::{GeneralCategory, get_general_category};
use unicode_normalization::UnicodeNormalization;

/// Whether `c` is a format character (general category `Cf`): invisible, and refused in
/// identities a caller passes.
pub fn is_format_character(c: char) -> bool {
    get_general_category(c) == GeneralCategory::Format
}

/// The first format character (general category `Cf`) in `identity`, if any.
pub fn format_character(identity: &str) -> Option<char> {
    identity.chars().find(|&c| is_format_character(c))
}

/// The comparison key of `identity`: format characters removed, then NFKC, Unicode default case
/// folding and NFKC again. Two identities are the same when their keys are equal.
pub fn identity_key(identity: &str) -> String {
    identity
        .chars()
        .filter(|&c| !is_format_character(c))
        .nfkc()
        .default_case_fold()
        .nfkc()
        .collect()
}

/// Whether `a` and `b` name the same identity (see the module's comment).
pub fn same_identity(a: &str, b: &str) -> bool {
    a == b || identity_key(a) == identity_key(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The three attacks of the trust issue, and what must stay apart.
    #[test]
    fn spellings_of_one_identity_compare_equal() {
        for (a, b) in [
            ("élodie@example.com", "ÉLODIE@EXAMPLE.COM"),
            // `e` + U+0301 (combining acute) against the precomposed letter.
            ("e\u{301}lodie@example.com", "élodie@example.com"),
            ("kim@example.com", "\u{212A}im@example.com"),
            ("kim@example.com", "Kim@example.com"),
            ("kim@example.com", "k\u{200B}im@example.com"),
            ("kim@example.com", "ki\u{200D}m@exa\u{2060}mple.com"),
            ("kim@example.com", "\u{202E}kim@example.com"),
            ("kim@example.com", "ｋｉｍ@example.com"),
            ("strasse@example.com", "STRAẞE@example.com"),
        ] {
            assert!(same_identity(a, b), "{a:?} vs {b:?}");
            assert_eq!(identity_key(a), identity_key(b), "{a:?} vs {b:?}");
        }
        for (a, b) in [
            ("kim@example.com", "kin@example.com"),
            ("elodie@example.com", "élodie@example.com"),
            ("bob@example.com", "bob@example.org"),
        ] {
            assert!(!same_identity(a, b), "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn format_characters_are_found() {
        assert_eq!(format_character("kim@example.com"), None);
        assert_eq!(format_character("élodie@example.com"), None);
        assert_eq!(format_character("k\u{200B}im"), Some('\u{200B}'));
        assert_eq!(format_character("kim\u{2066}"), Some('\u{2066}'));
        assert_eq!(format_character("\u{FEFF}kim"), Some('\u{FEFF}'));
    }
}
