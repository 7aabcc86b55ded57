//! Saved plans on disk: written readable by their owner only (mode 0600, they hold
//! manifests), atomically.

use std::path::Path;

use crate::files::{folder, write_atomic};
use crate::plan::saved::{PlanFileError, SavedPlan};

pub fn save(path: &Path, saved: &SavedPlan) -> Result<(), PlanFileError> {
    write_atomic(folder(path), path, &saved.encode()).map_err(|error| PlanFileError::Write {
        path: path.to_path_buf(),
        error,
    })
}

pub fn load(path: &Path) -> Result<SavedPlan, PlanFileError> {
    let bytes = std::fs::read(path).map_err(|error| PlanFileError::Read {
        path: path.to_path_buf(),
        error,
    })?;
    SavedPlan::decode(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Plan;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn saves_private_and_loads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.json");
        let saved = SavedPlan::new(Plan::default(), None, "2026-11-25T08:00:00Z".into());
        save(&path, &saved).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(load(&path).unwrap(), saved);
    }
}
