//! Policy-change impact over many intents: each intent's comparison
//! ([`gatehouse_core::impact::compare`]) with the source positions of what newly blocks, and the
//! counts the renderers show.

pub use gatehouse_core::impact::{Change, DecisionDiff, ViolationChange, compare};
use gatehouse_core::{BundleInfo, Decision, ErrorDetail};
use serde::Serialize;

use crate::spans::{SourceIndex, SourcePosition};

/// One intent replayed against both bundles.
#[derive(Debug, Clone, Serialize)]
pub struct IntentImpact {
    /// The path as given.
    pub file: String,
    /// How the decision moved.
    pub change: Change,
    /// What changed; absent when the intent could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<DecisionDiff>,
    /// Why the intent could not be read.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ErrorDetail>,
    /// Where each of [`DecisionDiff::new_blocking`] is in the file (same order).
    #[serde(skip)]
    pub new_blocking_positions: Vec<SourcePosition>,
}

impl IntentImpact {
    /// Compares two decisions on the intent `text` read from `file`.
    pub fn compared(file: impl Into<String>, text: &str, base: &Decision, head: &Decision) -> Self {
        let diff = compare(base, head);
        let index = SourceIndex::new(text);
        let new_blocking_positions = diff.new_blocking().map(|v| index.locate(&v.path)).collect();
        Self {
            file: file.into(),
            change: diff.change(),
            diff: Some(diff),
            errors: Vec::new(),
            new_blocking_positions,
        }
    }

    /// An intent that could not be read.
    pub fn unreadable(file: impl Into<String>, errors: Vec<ErrorDetail>) -> Self {
        Self {
            file: file.into(),
            change: Change::Unreadable,
            diff: None,
            errors,
            new_blocking_positions: Vec::new(),
        }
    }

    /// How the decision moved.
    pub fn change(&self) -> Change {
        self.change
    }
}

/// Intents by how their decision moved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ImpactCounts {
    /// Decisions that got stricter.
    pub stricter: usize,
    /// Decisions that got looser.
    pub looser: usize,
    /// Decisions that changed otherwise.
    pub changed: usize,
    /// Decisions that did not change.
    pub unchanged: usize,
    /// Intents that could not be read.
    pub unreadable: usize,
}

/// The impact of replacing the base bundle by the head bundle on a set of intents.
#[derive(Debug, Clone, Serialize)]
pub struct ImpactReport {
    /// The bundle in force.
    pub base: BundleInfo,
    /// The proposed bundle.
    pub head: BundleInfo,
    /// How many intents moved which way.
    pub counts: ImpactCounts,
    /// Every intent, in the order given.
    pub intents: Vec<IntentImpact>,
}

impl ImpactReport {
    /// Builds the report and its counts.
    pub fn new(base: BundleInfo, head: BundleInfo, intents: Vec<IntentImpact>) -> Self {
        let mut counts = ImpactCounts::default();
        for intent in &intents {
            let slot = match intent.change {
                Change::Stricter => &mut counts.stricter,
                Change::Looser => &mut counts.looser,
                Change::Changed => &mut counts.changed,
                Change::Unchanged => &mut counts.unchanged,
                Change::Unreadable => &mut counts.unreadable,
            };
            *slot += 1;
        }
        Self {
            base,
            head,
            counts,
            intents,
        }
    }

    /// How many intents moved which way.
    pub fn counts(&self) -> ImpactCounts {
        self.counts
    }

    /// The step outputs of `gatehouse diff`: how many decisions got stricter, looser or changed.
    pub fn outputs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("stricter", self.counts.stricter.to_string()),
            ("looser", self.counts.looser.to_string()),
            ("changed", self.counts.changed.to_string()),
        ]
    }

    /// Whether any decision got stricter.
    pub fn any_stricter(&self) -> bool {
        self.counts.stricter > 0
    }
}
