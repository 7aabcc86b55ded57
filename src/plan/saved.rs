//! Saved plans (`dispatch plan --out FILE`): the plan plus the state it was made against, so that
//! applying it later can refuse a plan the state has moved past. Pure: [`crate::planfile`]
//! reads and writes the files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::document::Document;
use super::{Action, Plan};
use crate::model::diag::{Hint, denied, io_reason};
use crate::model::{Address, Resource};
use crate::state::State;

/// A plan kept for a later apply, and the state it was made against.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedPlan {
    pub plan: Plan,
    pub created: String,
    /// The state the plan was made against: `None` lineage means "no state yet".
    pub lineage: Option<Uuid>,
    pub serial: u64,
    /// The path of the declarations it was made from, as given (`None` in plans saved before
    /// it was recorded): what `apply --if-stale replan` plans again.
    pub declarations: Option<PathBuf>,
}

/// The file: the JSON plan document, plus what the plan was made against.
#[derive(Debug, Serialize, Deserialize)]
struct File {
    #[serde(flatten)]
    document: Document,
    created: String,
    lineage: Option<Uuid>,
    serial: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    declarations: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
    #[error("cannot read saved plan {path}: {}", io_reason(.error))]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{path} is not a dispatch plan ({message})")]
    Invalid { path: PathBuf, message: String },
    #[error("cannot write saved plan {path}: {}", io_reason(.error))]
    Write {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("saved plan is stale: {why}")]
    Stale { why: String },
    #[error(
        "saved plan is stale ({why}), and planned again it does not do what was reviewed:\n{}",
        .differences.iter().map(|d| format!("  {d}")).collect::<Vec<_>>().join("\n")
    )]
    Diverged {
        why: String,
        differences: Vec<String>,
    },
    #[error("saved plan is stale ({why}), and it does not say which declarations it was made from")]
    NoDeclarations { why: String },
}

impl Hint for PlanFileError {
    fn hint(&self) -> Option<String> {
        match self {
            PlanFileError::Invalid { path, .. } => Some(format!(
                "make one with `dispatch plan --out {}`; declarations files end in .yaml or .yml",
                path.display()
            )),
            PlanFileError::Stale { .. } => Some(
                "run `dispatch plan --out FILE` again and apply the new plan, or apply with \
                 `--if-stale replan`, which applies only what was reviewed"
                    .into(),
            ),
            PlanFileError::Diverged { .. } | PlanFileError::NoDeclarations { .. } => Some(
                "run `dispatch plan --out FILE` again, review it, and apply the new plan".into(),
            ),
            PlanFileError::Read { path, error } | PlanFileError::Write { path, error }
                if denied(error) =>
            {
                Some(format!(
                    "check that you may read and write {} and its folder",
                    path.display()
                ))
            }
            _ => None,
        }
    }
}

impl SavedPlan {
    /// `plan`, made at `created` against `state`.
    pub fn new(plan: Plan, state: Option<&State>, created: String) -> Self {
        SavedPlan {
            plan,
            created,
            lineage: state.map(|s| s.lineage),
            serial: state.map_or(0, |s| s.serial),
            declarations: None,
        }
    }

    /// Records that the plan was made from the declarations at `path`.
    pub fn made_from(self, path: &Path) -> Self {
        SavedPlan {
            declarations: Some(path.to_path_buf()),
            ..self
        }
    }

    /// The file's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let file = File {
            document: Document::new(&self.plan),
            created: self.created.clone(),
            lineage: self.lineage,
            serial: self.serial,
            declarations: self.declarations.clone(),
        };
        let mut bytes = serde_json::to_vec(&file).expect("a plan always serializes");
        bytes.push(b'\n');
        bytes
    }

    /// A saved plan from the bytes of `path`, or why they are not one.
    pub fn decode(path: &Path, bytes: &[u8]) -> Result<SavedPlan, PlanFileError> {
        let invalid = |message: String| PlanFileError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let file: File = serde_json::from_slice(bytes).map_err(|e| {
            // Another format's plan may have another shape: name it by its version.
            let version = serde_json::from_slice::<serde_json::Value>(bytes)
                .ok()
                .and_then(|v| v.get("format_version").cloned());
            match version {
                Some(version) if version.as_str() != Some(super::document::FORMAT_VERSION) => {
                    invalid(format!(
                        "format version {version}, this dispatch reads {}",
                        super::document::FORMAT_VERSION
                    ))
                }
                _ => invalid(e.to_string()),
            }
        })?;
        Ok(SavedPlan {
            plan: (file.document.into_plan()).map_err(|e| invalid(e.to_string()))?,
            created: file.created,
            lineage: file.lineage,
            serial: file.serial,
            declarations: file.declarations,
        })
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

    /// Whether `now`, the plan made again after the state moved (`why`), does what this one
    /// was reviewed to do: the same changes to the same resources, with the same values and
    /// the same pinned digests; unchanged resources may differ (another change applied them).
    pub fn same_as(&self, now: &Plan, why: String) -> Result<(), PlanFileError> {
        let changes =
            |plan: &Plan| -> BTreeMap<Address, (Action, Option<Resource>, Option<String>)> {
                (plan.changes.iter())
                    .filter(|c| c.action != Action::NoOp)
                    .map(|c| {
                        (
                            c.address.clone(),
                            (c.action, c.after.clone(), c.digest.clone()),
                        )
                    })
                    .collect()
            };
        let (reviewed, planned) = (changes(&self.plan), changes(now));
        let addresses: BTreeSet<&Address> = reviewed.keys().chain(planned.keys()).collect();
        let differences: Vec<String> = addresses
            .into_iter()
            .filter_map(|address| {
                let (was, is) = (reviewed.get(address), planned.get(address));
                let said = |c: Option<&(Action, _, _)>| c.map_or("no change", |c| c.0.verb());
                match (was, is) {
                    (Some(a), Some(b)) if a == b => None,
                    (Some(a), Some(b)) if a.0 == b.0 => Some(format!(
                        "{address}: {} with other values than reviewed",
                        said(Some(a))
                    )),
                    _ => Some(format!(
                        "{address}: reviewed {}, now {}",
                        said(was),
                        said(is)
                    )),
                }
            })
            .collect();
        if differences.is_empty() {
            Ok(())
        } else {
            Err(PlanFileError::Diverged { why, differences })
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
        let bytes = plan.encode();
        assert_eq!(SavedPlan::decode(path, &bytes).unwrap(), plan);
        // The file is the JSON plan document, plus what it was made against.
        let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(value["format_version"], "2.4");
        assert!(value["resource_changes"].is_array());
        assert_eq!(value["serial"], 0);
        // A plan of the first format, and a truncated one.
        let err = SavedPlan::decode(path, br#"{"format_version": 1, "plan": {}}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "p.plan is not a dispatch plan (format version 1, this dispatch reads 2.4)"
        );
        let err = SavedPlan::decode(path, &bytes[..bytes.len() / 2]).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("p.plan is not a dispatch plan (EOF while parsing"),
            "{err}"
        );
        assert_eq!(
            err.hint().as_deref(),
            Some(
                "make one with `dispatch plan --out p.plan`; declarations files end in .yaml or .yml"
            )
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
    #[test]
    fn planned_again_it_must_do_what_was_reviewed() {
        use crate::plan::{Change, diff::between};
        use crate::testing::{base, declared, image};
        let main = base("main", "x/main:1");
        let before = declared(std::slice::from_ref(&main));
        let reviewed = saved(None);
        let reviewed = SavedPlan {
            plan: between(
                &before,
                &declared(&[main.clone(), image("a", "main", None)]),
            ),
            ..reviewed
        };
        let why = || "the state moved".to_string();
        // The same change, with a resource reviewed as unchanged now unchanged too.
        let now = between(
            &before,
            &declared(&[main.clone(), image("a", "main", None)]),
        );
        assert!(reviewed.same_as(&now, why()).is_ok());
        // Other values, another action, a change nobody reviewed.
        let other = between(
            &before,
            &declared(&[main.clone(), image("a", "main", Some("x"))]),
        );
        let mut extra = now.clone();
        extra.changes.push(Change {
            action: Action::Delete,
            ..extra.changes[0].clone()
        });
        let said = |plan: &Plan| match reviewed.same_as(plan, why()).unwrap_err() {
            PlanFileError::Diverged { differences, .. } => differences,
            other => panic!("{other}"),
        };
        assert_eq!(
            said(&other),
            ["Image/a: create with other values than reviewed"]
        );
        assert_eq!(
            said(&Plan::default()),
            ["Image/a: reviewed create, now no change"]
        );
        assert_eq!(
            said(&extra),
            ["BaseImage/main: reviewed no change, now delete"]
        );
    }
}
