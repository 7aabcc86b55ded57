//! Saved plans (`dispatch plan -o FILE`): the plan plus the state it was made against, so that
//! applying it later can refuse a plan the state has moved past. Pure: [`crate::planfile`]
//! reads and writes the files.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Plan;
use crate::model::diag::Hint;
use crate::state::State;

/// The version of the saved-plan format.
pub const PLANFILE_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedPlan {
    pub format_version: u32,
    pub dispatch_version: String,
    pub created: String,
    /// The state the plan was made against: `None` lineage means "no state yet".
    pub lineage: Option<Uuid>,
    pub serial: u64,
    pub plan: Plan,
}

#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
    #[error("cannot read saved plan {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a dispatch plan ({message})")]
    Invalid { path: PathBuf, message: String },
    #[error("cannot write saved plan {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("saved plan is stale: {why}")]
    Stale { why: String },
}

impl Hint for PlanFileError {
    fn hint(&self) -> Option<String> {
        match self {
            PlanFileError::Invalid { path, .. } => Some(format!(
                "make one with `dispatch plan -o {}`",
                path.display()
            )),
            PlanFileError::Stale { .. } => {
                Some("run `dispatch plan -o FILE` again and apply the new plan".into())
            }
            _ => None,
        }
    }
}

impl SavedPlan {
    /// `plan`, made at `created` against `state`.
    pub fn new(plan: Plan, state: Option<&State>, created: String) -> Self {
        SavedPlan {
            format_version: PLANFILE_VERSION,
            dispatch_version: env!("CARGO_PKG_VERSION").to_string(),
            created,
            lineage: state.map(|s| s.lineage),
            serial: state.map_or(0, |s| s.serial),
            plan,
        }
    }

    /// The file's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec(self).expect("a plan always serializes");
        bytes.push(b'\n');
        bytes
    }

    /// A saved plan from the bytes of `path`, or why they are not one.
    pub fn decode(path: &Path, bytes: &[u8]) -> Result<SavedPlan, PlanFileError> {
        let invalid = |message: String| PlanFileError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let saved: SavedPlan = serde_json::from_slice(bytes).map_err(|e| invalid(e.to_string()))?;
        if saved.format_version != PLANFILE_VERSION {
            return Err(invalid(format!(
                "format version {}, expected {PLANFILE_VERSION}",
                saved.format_version
            )));
        }
        Ok(saved)
    }

    /// Refuses the plan unless the state is exactly the one it was made against.
    pub fn check_current(&self, state: Option<&State>) -> Result<(), PlanFileError> {
        let stale = |why: String| Err(PlanFileError::Stale { why });
        match (self.lineage, state) {
            (None, None) => Ok(()),
            (None, Some(_)) => stale(
                "it was made before any state existed, and a state has been written since".into(),
            ),
            (Some(_), None) => stale("the state it was made against no longer exists".into()),
            (Some(lineage), Some(s)) if lineage != s.lineage => stale(format!(
                "it was made against state lineage {lineage}, but the state is lineage {}",
                s.lineage
            )),
            (Some(_), Some(s)) if s.serial != self.serial => stale(format!(
                "it was made against state serial {}, but the state is now at serial {}",
                self.serial, s.serial
            )),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn saved(state: Option<&State>) -> SavedPlan {
        SavedPlan::new(Plan::default(), state, "2026-11-25T08:00:00Z".into())
    }

    #[test]
    fn encodes_and_decodes() {
        let plan = saved(None);
        let path = Path::new("p.plan");
        assert_eq!(SavedPlan::decode(path, &plan.encode()).unwrap(), plan);
        let mut other = plan.clone();
        other.format_version = 7;
        let err = SavedPlan::decode(path, &other.encode()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "p.plan is not a dispatch plan (format version 7, expected 1)"
        );
        assert_eq!(
            err.hint().as_deref(),
            Some("make one with `dispatch plan -o p.plan`")
        );
    }

    #[test]
    fn stale_plans_are_refused() {
        let mut state = State::new();
        state.serial = 3;
        let made_without_state = saved(None);
        assert!(made_without_state.check_current(None).is_ok());
        assert!(made_without_state.check_current(Some(&state)).is_err());
        let made_at_3 = saved(Some(&state));
        assert!(made_at_3.check_current(Some(&state)).is_ok());
        assert!(made_at_3.check_current(None).is_err());
        state.serial = 4;
        let err = made_at_3.check_current(Some(&state)).unwrap_err();
        assert!(
            err.to_string()
                .contains("serial 3, but the state is now at serial 4"),
            "{err}"
        );
        assert!(made_at_3.check_current(Some(&State::new())).is_err());
    }
}
