//! Plans: what it takes to make reality match the declarations. [`plan()`] is a pure function
//! of (declarations, state, observations); [`diff`] compares two resources; [`saved`] is a plan
//! kept for a later apply.

mod diff;
pub mod document;
mod planner;
pub mod saved;

use std::collections::BTreeMap;

use crate::model::policy::Violation;
use serde::{Deserialize, Serialize};

use crate::model::diag::{Diagnostic, Hint};
use crate::model::{Address, Resource};

pub use diff::between;
pub use planner::plan;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    NoOp,
    /// Pull a base image or build an image.
    Create,
    /// Change in place: only tags differ.
    Update,
    /// Delete, then create again: something the image is made of changed.
    Replace,
    /// In the state but no longer declared.
    Delete,
}

impl Action {
    /// The action in one word.
    pub fn verb(self) -> &'static str {
        match self {
            Action::NoOp => "no change",
            Action::Create => "create",
            Action::Update => "update",
            Action::Replace => "replace",
            Action::Delete => "delete",
        }
    }

    /// terraform's action list for this action.
    pub fn terraform(self) -> &'static [&'static str] {
        match self {
            Action::NoOp => &["no-op"],
            Action::Create => &["create"],
            Action::Update => &["update"],
            Action::Replace => &["delete", "create"],
            Action::Delete => &["delete"],
        }
    }

    /// The action a terraform action list stands for.
    pub fn from_terraform(actions: &[String]) -> Option<Action> {
        let actions: Vec<&str> = actions.iter().map(String::as_str).collect();
        [
            Action::NoOp,
            Action::Create,
            Action::Update,
            Action::Replace,
            Action::Delete,
        ]
        .into_iter()
        .find(|a| a.terraform() == actions.as_slice())
    }
}

/// Why a resource is replaced or deleted, in terraform's words (`action_reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionReason {
    /// Something the image is made of changed, or its tag moved: images change by rebuilding.
    ReplaceBecauseCannotUpdate,
    /// The base image it is built on is replaced or pulled again.
    ReplaceByTriggers,
    /// No longer declared.
    DeleteBecauseNoResourceConfig,
}

/// What one resource needs, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub address: Address,
    pub action: Action,
    /// Why, in words a user can act on ("manifest changed").
    pub reasons: Vec<String>,
    /// Why, in terraform's words, for a replace or a delete.
    pub action_reason: Option<ActionReason>,
    pub before: Option<Resource>,
    pub after: Option<Resource>,
    /// For a base image to pull: the registry digest its reference pointed at when planned,
    /// which apply pulls, so that it does what was reviewed.
    pub digest: Option<String>,
}

/// What refresh found changed outside dispatch, for one resource.
#[derive(Debug, Clone, PartialEq)]
pub struct Drifted {
    pub address: Address,
    pub drift: Drift,
}

/// Every resource in scope, in address order (base images before images), and the drift
/// refresh found among them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    pub changes: Vec<Change>,
    pub drift: Vec<Drifted>,
    /// The policy rules the declarations break with a warning (an error stops the plan).
    pub warnings: Vec<Violation>,
    /// A diff's: the problems of the revision it compares against, whose broken documents
    /// are missing from that side (its problems are not the change's, so they do not stop it).
    pub base_problems: Vec<Diagnostic>,
}

/// The plan counted. `add` and `destroy` count as terraform does, a replacement in both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
    /// Replacements, each also counted in `add` and `destroy`.
    pub replace: usize,
    pub unchanged: usize,
}

impl Plan {
    pub fn summary(&self) -> Summary {
        let mut summary = Summary::default();
        for change in &self.changes {
            match change.action {
                Action::NoOp => summary.unchanged += 1,
                Action::Create => summary.add += 1,
                Action::Update => summary.change += 1,
                Action::Replace => {
                    summary.replace += 1;
                    summary.add += 1;
                    summary.destroy += 1;
                }
                Action::Delete => summary.destroy += 1,
            }
        }
        summary
    }

    pub fn has_changes(&self) -> bool {
        self.changes.iter().any(|c| c.action != Action::NoOp)
    }
}

/// What a refresh found. Empty when planning without refresh.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observations {
    /// What changed since the state was written.
    pub drift: BTreeMap<Address, Drift>,
    /// The digest each declared base image's reference points at now.
    pub digests: BTreeMap<Address, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Drift {
    /// The base image's tag now points at another digest than the one pulled.
    Moved { recorded: String, current: String },
    /// What dispatch made is gone from the engine or registry.
    Missing { reference: String, detail: String },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("--target {address}: no such resource in the declarations or the state")]
    UnknownTarget {
        address: Address,
        suggestion: Option<String>,
    },
}

impl Hint for PlanError {
    fn hint(&self) -> Option<String> {
        match self {
            PlanError::UnknownTarget { suggestion, .. } => {
                suggestion.as_ref().map(|s| format!("did you mean {s}?"))
            }
        }
    }
}
