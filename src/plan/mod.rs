//! Plans: what it takes to make reality match the declarations. [`plan()`] is a pure function
//! of (declarations, state, observations); [`diff`] compares two resources; [`saved`] is a plan
//! kept for a later apply.

mod diff;
mod planner;
pub mod saved;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::diag::Hint;
use crate::model::{Address, Resource};

pub use planner::plan;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
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

/// What one resource needs, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub address: Address,
    pub action: Action,
    /// Why, in words a user can act on ("manifest changed").
    pub reasons: Vec<String>,
    pub before: Option<Resource>,
    pub after: Option<Resource>,
}

/// Every resource in scope, in address order (base images before images).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub changes: Vec<Change>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub replace: usize,
    pub destroy: usize,
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
                Action::Replace => summary.replace += 1,
                Action::Delete => summary.destroy += 1,
            }
        }
        summary
    }

    pub fn has_changes(&self) -> bool {
        self.changes.iter().any(|c| c.action != Action::NoOp)
    }
}

/// What a refresh found that the state does not know. Empty when planning without refresh.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observations {
    pub drift: BTreeMap<Address, Drift>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Drift {
    /// The base image's tag now points at another digest than the one pulled.
    Moved { recorded: String, current: String },
    /// What dispatch made is gone from the engine or registry.
    Missing { detail: String },
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
