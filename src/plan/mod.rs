//! Plans: what it takes to make reality match the declarations. [`plan()`] is a pure function
//! of (declarations, state, observations); [`diff`] compares two resources; [`saved`] is a plan
//! kept for a later apply.

mod diff;
pub mod document;
mod planner;
mod rebase;
pub mod saved;

use std::collections::BTreeMap;

use crate::advisory::find::Newly;
use crate::advisory::tally::Stale;
use crate::model::policy::Violation;
use serde::{Deserialize, Serialize};

use crate::model::diag::{Diagnostic, Hint};
use crate::model::rebase::{BaseFacts, ImageFacts, Known, PackageChange};
use crate::model::{Address, Resource};

pub use diff::between;
pub use planner::plan;
pub use rebase::short;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    NoOp,
    /// Pull a base image or build an image.
    Create,
    /// Change in place: only tags differ.
    Update,
    /// Delete, then create again: something the image is made of changed.
    Replace,
    /// Swap an image's base layers for those of its base patched in place, in the registry:
    /// an update in place, as terraform sees it.
    Rebase,
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
            Action::Rebase => "rebase",
            Action::Delete => "delete",
        }
    }

    /// terraform's action list for this action.
    pub fn terraform(self) -> &'static [&'static str] {
        match self {
            Action::NoOp => &["no-op"],
            Action::Create => &["create"],
            Action::Update | Action::Rebase => &["update"],
            Action::Replace => &["delete", "create"],
            Action::Delete => &["delete"],
        }
    }

    /// The action a terraform action list stands for (an update, for a rebase: its
    /// `action_reason` tells them apart).
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
    /// Rebased onto its base patched in place (dispatch's own word: an update to terraform).
    Rebase,
}

/// A rebase, as planned: the base it follows, the digests it moves from and onto, and what the
/// base changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rebase {
    /// The base image's name.
    pub base: String,
    /// The base's digest the image was built on (or last rebased onto).
    pub from: String,
    /// The base's digest it is rebased onto: what its tag pointed at when planned.
    pub onto: String,
    /// What the base changed, package by package (empty when `rebase: always` read no
    /// catalogs).
    #[serde(default)]
    pub changed: Vec<PackageChange>,
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
    /// For an image to rebase: onto what.
    pub rebase: Option<Rebase>,
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
    /// What it says of the advisories themselves.
    pub advisories: AdvisoryNotes,
}

/// What a plan says of the advisories: nothing in it changes because of them, but the data is
/// old, or an image applied earlier was built without knowing of one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AdvisoryNotes {
    /// `max-advisory-age`, when set.
    pub max_age: Option<std::time::Duration>,
    /// The ecosystems whose newest record is older than it.
    pub stale: Vec<Stale>,
    /// Applied images affected by advisories imported after they were applied.
    pub newly: Vec<Newly>,
}

/// The plan counted. `add` and `destroy` count as terraform does, a replacement in both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
    /// Replacements, each also counted in `add` and `destroy`.
    pub replace: usize,
    /// Rebases, each also counted in `change` (since 2.3).
    #[serde(default)]
    pub rebase: usize,
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
                Action::Rebase => {
                    summary.rebase += 1;
                    summary.change += 1;
                }
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

    /// The plan with every rebase a build instead (`apply --rebuild`).
    pub fn rebuilt(mut self) -> Plan {
        for change in self.changes.iter_mut() {
            rebase::rebuild(change);
        }
        self
    }
}

/// What a refresh found. Empty when planning without refresh.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observations {
    /// What changed since the state was written.
    pub drift: BTreeMap<Address, Drift>,
    /// The digest each declared base image's reference points at now.
    pub digests: BTreeMap<Address, String>,
    /// What the registry says of the bases images would be rebased from and onto, by digest:
    /// asked only when an image's base moved.
    pub bases: BTreeMap<String, Known<BaseFacts>>,
    /// The layers and own system packages of each pushed image whose base moved.
    pub images: BTreeMap<Address, Known<ImageFacts>>,
    /// Images whose base moved are to be built whatever a rebase decision would say
    /// (`--rebuild`), so what it needs was not asked.
    pub rebuild: bool,
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
