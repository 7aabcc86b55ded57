//! Saved plans (`dispatch plan -o FILE`): the plan plus the state it was made against, so that
//! applying it later can refuse a plan the state has moved past.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::plan::Plan;
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
    #[error(
        "{path} is not a dispatch plan ({message})\n  hint: make one with `dispatch plan -o {path}`"
    )]
    Invalid { path: PathBuf, message: String },
    #[error("cannot write saved plan {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "saved plan is stale: {why}\n  hint: run `dispatch plan -o FILE` again and apply the new plan"
    )]
    Stale { why: String },
}

impl SavedPlan {
    pub fn new(plan: Plan, state: Option<&State>) -> Self {
        SavedPlan {
            format_version: PLANFILE_VERSION,
            dispatch_version: env!("CARGO_PKG_VERSION").to_string(),
            created: crate::state::now(),
            lineage: state.map(|s| s.lineage),
            serial: state.map_or(0, |s| s.serial),
            plan,
        }
    }

    /// Writes the plan readable by its owner only (mode 0600): it holds manifests.
    pub fn save(&self, path: &Path) -> Result<(), PlanFileError> {
        let write_error = |source| PlanFileError::Write {
            path: path.to_path_buf(),
            source,
        };
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        // NamedTempFile is created with mode 0600 and keeps it through the rename.
        let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(write_error)?;
        serde_json::to_writer(&mut temp, self).map_err(|e| write_error(e.into()))?;
        temp.write_all(b"\n").map_err(write_error)?;
        temp.persist(path).map_err(|e| write_error(e.error))?;
        Ok(())
    }

    pub fn load(path: &Path) -> Result<SavedPlan, PlanFileError> {
        let bytes = std::fs::read(path).map_err(|source| PlanFileError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let invalid = |message: String| PlanFileError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let saved: SavedPlan =
            serde_json::from_slice(&bytes).map_err(|e| invalid(e.to_string()))?;
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
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn saves_private_and_loads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.json");
        let saved = SavedPlan::new(Plan::default(), None);
        saved.save(&path).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(SavedPlan::load(&path).unwrap(), saved);
    }

    #[test]
    fn stale_plans_are_refused() {
        let mut state = State::new();
        state.serial = 3;
        let made_without_state = SavedPlan::new(Plan::default(), None);
        assert!(made_without_state.check_current(None).is_ok());
        assert!(made_without_state.check_current(Some(&state)).is_err());
        let made_at_3 = SavedPlan::new(Plan::default(), Some(&state));
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
