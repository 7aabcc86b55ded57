//! The plan as a versioned JSON document, in the shape of `terraform show -json` so that tools
//! made for terraform plans (OPA/conftest policies on `resource_changes[].change.actions`,
//! pull-request comment generators, summaries) read it unchanged. `plan -o json`, `show -o
//! json` and saved plans all use this one document; `plan.schema.json` beside this file
//! describes it.

use serde::{Deserialize, Serialize};

use super::{Action, ActionReason, Change, Drift, Drifted, Plan, Rebase, Summary};
use crate::advisory::find::Newly;
use crate::advisory::tally::Stale;
use crate::model::diag::Diagnostic;
use crate::model::policy::{Violation, Vulnerable};
use crate::model::{Address, Kind, Resource};

/// The version of the document: the major number changes on any incompatible change.
pub const FORMAT_VERSION: &str = "2.4";

/// The major version this build reads.
const FORMAT_MAJOR: &str = "2";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Document {
    pub format_version: String,
    pub dispatch_version: String,
    /// What refresh found changed outside dispatch since the state was written.
    #[serde(default)]
    pub resource_drift: Vec<Entry<Observed>>,
    /// Every resource in scope, unchanged ones as `["no-op"]`.
    pub resource_changes: Vec<Entry<Resource>>,
    pub summary: Summary,
    /// The policy rules the declarations break with a warning (since 2.1), a known
    /// vulnerability a policy's `vulnerabilities` rule counts among them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policy_violations: Vec<PolicyViolation>,
    /// The known vulnerabilities of the dependencies images declare, each at its manifest's
    /// line (since 2.4).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vulnerabilities: Vec<Vulnerability>,
    /// A diff's: the problems of the revision it compares against (since 2.2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub base_problems: Vec<BaseProblem>,
    /// The OSV ecosystems whose newest advisory is older than `max-advisory-age` (since 2.4).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stale_advisories: Vec<Stale>,
    /// Applied images affected by advisories imported after they were applied (since 2.4).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub newly_affected: Vec<Newly>,
}

/// A problem of the revision a diff compares against, whose broken documents are missing
/// from that side of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaseProblem {
    /// `REVISION:file:line:col`.
    pub location: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl From<&Diagnostic> for BaseProblem {
    fn from(d: &Diagnostic) -> Self {
        BaseProblem {
            location: d.location.to_string(),
            message: d.message.clone(),
            hint: d.hint.clone(),
        }
    }
}

/// A broken policy rule, for a program.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyViolation {
    pub address: Address,
    pub policy: String,
    pub rule: String,
    pub severity: String,
    pub message: String,
    /// `file:line:col`.
    pub location: String,
}

impl PolicyViolation {
    /// `v`, if a policy's rule is what it breaks.
    fn of(v: &Violation) -> Option<Self> {
        Some(PolicyViolation {
            address: v.address.clone(),
            policy: v.policy.clone()?,
            rule: v.rule.as_str().to_string(),
            severity: v.severity.to_string(),
            message: v.message.clone(),
            location: v.at.to_string(),
        })
    }
}

/// A known vulnerability of a declared dependency, for a program: the fields of `dispatch
/// vulns -o json`, where it is declared, and the policy whose rule counts it, if one does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Vulnerability {
    pub address: Address,
    /// `file:line:col` of the manifest's line.
    pub location: String,
    #[serde(flatten)]
    pub vulnerable: Vulnerable,
    pub message: String,
    /// What to do: `use requests>=2.20.0`.
    pub hint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
}

impl Vulnerability {
    /// `v`, if it is a known vulnerability.
    fn of(v: &Violation) -> Option<Self> {
        let vulnerable = v.vulnerability.as_deref()?;
        Some(Vulnerability {
            address: v.address.clone(),
            location: v.at.to_string(),
            vulnerable: vulnerable.clone(),
            message: v.message.clone(),
            hint: v.diagnostic().hint.unwrap_or_default(),
            policy: v.policy.clone(),
        })
    }
}

/// One resource, as terraform's `resource_changes[]` and `resource_drift[]` entries are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry<T> {
    pub address: Address,
    /// Always `managed`: everything dispatch plans, it manages.
    pub mode: String,
    #[serde(rename = "type")]
    pub kind: Kind,
    pub name: String,
    pub change: Body<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_reason: Option<ActionReason>,
    /// Why, in words.
    #[serde(default)]
    pub reason: Vec<String>,
    /// For a base image to pull: the registry digest apply pulls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// For an image to rebase (an update, `action_reason` `rebase`): its base, the digests it
    /// moves from and onto, and what the base changed (since 2.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rebase: Option<Rebase>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Body<T> {
    /// `["no-op"]`, `["create"]`, `["update"]`, `["delete"]`, or `["delete", "create"]`.
    pub actions: Vec<String>,
    pub before: Option<T>,
    pub after: Option<T>,
}

/// What refresh saw of a resource: the digest its tag points at, or the image it was built as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observed {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

fn entry<T>(address: &Address, action: Action, before: Option<T>, after: Option<T>) -> Entry<T> {
    Entry {
        address: address.clone(),
        mode: "managed".into(),
        kind: address.kind,
        name: address.name.clone(),
        change: Body {
            actions: action.terraform().iter().map(|a| a.to_string()).collect(),
            before,
            after,
        },
        action_reason: None,
        reason: Vec::new(),
        digest: None,
        rebase: None,
    }
}

impl Document {
    pub fn new(plan: &Plan) -> Document {
        let resource_changes = plan
            .changes
            .iter()
            .map(|c| Entry {
                action_reason: c.action_reason,
                reason: c.reasons.clone(),
                digest: c.digest.clone(),
                rebase: c.rebase.clone(),
                ..entry(&c.address, c.action, c.before.clone(), c.after.clone())
            })
            .collect();
        let resource_drift = plan.drift.iter().map(drift_entry).collect();
        Document {
            format_version: FORMAT_VERSION.into(),
            dispatch_version: env!("CARGO_PKG_VERSION").into(),
            resource_drift,
            resource_changes,
            summary: plan.summary(),
            policy_violations: plan
                .warnings
                .iter()
                .filter_map(PolicyViolation::of)
                .collect(),
            vulnerabilities: plan.warnings.iter().filter_map(Vulnerability::of).collect(),
            base_problems: plan.base_problems.iter().map(BaseProblem::from).collect(),
            stale_advisories: plan.advisories.stale.clone(),
            newly_affected: plan.advisories.newly.clone(),
        }
    }

    /// The plan this document describes, or why it cannot be read as one.
    pub fn into_plan(self) -> Result<Plan, DocumentError> {
        let major = self.format_version.split('.').next().unwrap_or_default();
        if major != FORMAT_MAJOR {
            return Err(DocumentError::Version(self.format_version));
        }
        let changes = self
            .resource_changes
            .into_iter()
            .map(|e| {
                let unknown = || DocumentError::Actions {
                    address: e.address.clone(),
                    actions: e.change.actions.clone(),
                };
                let action = Action::from_terraform(&e.change.actions).ok_or_else(unknown)?;
                let rebasing = e.action_reason == Some(ActionReason::Rebase);
                let action = match (action, rebasing, &e.rebase) {
                    (Action::Update, true, Some(_)) => Action::Rebase,
                    (_, false, None) => action,
                    _ => return Err(DocumentError::Rebase(e.address)),
                };
                Ok(Change {
                    address: e.address,
                    action,
                    reasons: e.reason,
                    action_reason: e.action_reason,
                    before: e.change.before,
                    after: e.change.after,
                    digest: e.digest,
                    rebase: e.rebase,
                })
            })
            .collect::<Result<_, DocumentError>>()?;
        let drift = self
            .resource_drift
            .into_iter()
            .map(|e| {
                let observed = |o: Option<Observed>| {
                    o.ok_or_else(|| DocumentError::DriftWithoutBefore(e.address.clone()))
                };
                let drift = match e.change.after {
                    Some(after) => Drift::Moved {
                        recorded: observed(e.change.before)?.digest.unwrap_or_default(),
                        current: after.digest.unwrap_or_default(),
                    },
                    None => Drift::Missing {
                        reference: observed(e.change.before)?.reference.unwrap_or_default(),
                        detail: e.reason.join("; "),
                    },
                };
                Ok(Drifted {
                    address: e.address,
                    drift,
                })
            })
            .collect::<Result<_, DocumentError>>()?;
        // A saved plan is a plan's, never a diff's, and apply reads no warnings from it.
        Ok(Plan {
            changes,
            drift,
            ..Plan::default()
        })
    }
}

/// Why a document cannot be read as a plan.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    #[error("format version {0}, this dispatch reads {FORMAT_MAJOR}.x")]
    Version(String),
    #[error("{address}: unknown actions {actions:?}")]
    Actions {
        address: Address,
        actions: Vec<String>,
    },
    #[error("{0}: drift without its before")]
    DriftWithoutBefore(Address),
    #[error("{0}: a rebase is an update with action_reason \"rebase\" and its `rebase`, together")]
    Rebase(Address),
}

/// A moved tag is an update of the digest; a missing image, a deletion done elsewhere.
fn drift_entry(drifted: &Drifted) -> Entry<Observed> {
    match &drifted.drift {
        Drift::Moved { recorded, current } => {
            let digest = |d: &String| Observed {
                digest: Some(d.clone()),
                reference: None,
            };
            Entry {
                reason: vec![format!("the tag now points at {current}")],
                ..entry(
                    &drifted.address,
                    Action::Update,
                    Some(digest(recorded)),
                    Some(digest(current)),
                )
            }
        }
        Drift::Missing { reference, detail } => Entry {
            reason: vec![detail.clone()],
            ..entry(
                &drifted.address,
                Action::Delete,
                Some(Observed {
                    digest: None,
                    reference: Some(reference.clone()),
                }),
                None,
            )
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{base, image};

    #[test]
    fn a_plan_round_trips_through_its_document() {
        let change =
            |action, reasons: &[&str], reason, before, after, digest: Option<&str>| Change {
                address: match (&before, &after) {
                    (Some(r), _) | (None, Some(r)) => Resource::address(r),
                    _ => unreachable!(),
                },
                action,
                reasons: reasons.iter().map(|r| r.to_string()).collect(),
                action_reason: reason,
                before,
                after,
                digest: digest.map(str::to_string),
                rebase: None,
            };
        let b = base("b", "x/b:1");
        let plan = Plan {
            changes: vec![
                change(
                    Action::Replace,
                    &["the tag now points at sha256:bb"],
                    Some(ActionReason::ReplaceBecauseCannotUpdate),
                    Some(b.clone()),
                    Some(b.clone()),
                    Some("sha256:bb"),
                ),
                change(
                    Action::Delete,
                    &["no longer declared"],
                    Some(ActionReason::DeleteBecauseNoResourceConfig),
                    Some(image("gone", "b", None)),
                    None,
                    None,
                ),
                change(
                    Action::Replace,
                    &["base image b will be replaced"],
                    Some(ActionReason::ReplaceByTriggers),
                    Some(image("i", "b", Some("x==1"))),
                    Some(image("i", "b", Some("x==1"))),
                    None,
                ),
            ],
            drift: vec![
                Drifted {
                    address: b.address(),
                    drift: Drift::Moved {
                        recorded: "sha256:aa".into(),
                        current: "sha256:bb".into(),
                    },
                },
                Drifted {
                    address: Address::new(Kind::Image, "j"),
                    drift: Drift::Missing {
                        reference: "dispatch/j:1".into(),
                        detail: "image dispatch/j:1 is gone from the engine".into(),
                    },
                },
            ],
            ..Plan::default()
        };
        let mut plan = plan;
        plan.changes.push(Change {
            action: Action::Rebase,
            reasons: vec!["base changed: openssl 3.0.11-1 -> 3.0.11-2".into()],
            action_reason: Some(ActionReason::Rebase),
            rebase: Some(Rebase {
                base: "b".into(),
                from: "sha256:aa".into(),
                onto: "sha256:bb".into(),
                changed: vec![crate::model::rebase::PackageChange {
                    ecosystem: crate::model::catalog::Ecosystem::Deb,
                    name: "openssl".into(),
                    from: Some("3.0.11-1".into()),
                    to: Some("3.0.11-2".into()),
                }],
            }),
            ..change(
                Action::Rebase,
                &[],
                None,
                Some(image("k", "b", None)),
                Some(image("k", "b", None)),
                None,
            )
        });
        let document = Document::new(&plan);
        assert_eq!(document.summary.add, 2);
        assert_eq!(document.summary.destroy, 3);
        assert_eq!((document.summary.change, document.summary.rebase), (1, 1));
        let rebased = serde_json::to_value(&document.resource_changes[3]).unwrap();
        assert_eq!(rebased["change"]["actions"], serde_json::json!(["update"]));
        assert_eq!(rebased["action_reason"], "rebase");
        assert_eq!(
            rebased["rebase"],
            serde_json::json!({
                "base": "b", "from": "sha256:aa", "onto": "sha256:bb",
                "changed": [{"ecosystem": "deb", "name": "openssl", "from": "3.0.11-1", "to": "3.0.11-2"}]
            })
        );
        let json = serde_json::to_string(&document).unwrap();
        let read: Document = serde_json::from_str(&json).unwrap();
        assert_eq!(read.into_plan().unwrap(), plan);
    }

    #[test]
    fn a_rebase_is_an_update_with_its_reason_and_target() {
        let plan = |reason: Option<ActionReason>, rebase: Option<Rebase>| {
            let mut document = Document::new(&Plan::default());
            let mut entry = entry(&Address::new(Kind::Image, "i"), Action::Update, None, None);
            entry.action_reason = reason;
            entry.rebase = rebase;
            document.resource_changes.push(entry);
            document.into_plan()
        };
        let target = Rebase {
            base: "b".into(),
            from: "sha256:aa".into(),
            onto: "sha256:bb".into(),
            changed: vec![],
        };
        assert_eq!(
            plan(Some(ActionReason::Rebase), Some(target.clone()))
                .unwrap()
                .changes[0]
                .action,
            Action::Rebase
        );
        assert_eq!(plan(None, None).unwrap().changes[0].action, Action::Update);
        for (reason, rebase) in [(Some(ActionReason::Rebase), None), (None, Some(target))] {
            assert_eq!(
                plan(reason, rebase).unwrap_err().to_string(),
                "Image/i: a rebase is an update with action_reason \"rebase\" and its `rebase`, together"
            );
        }
    }

    #[test]
    fn other_major_versions_are_refused() {
        let mut document = Document::new(&Plan::default());
        document.format_version = "3.0".into();
        assert_eq!(
            document.into_plan().unwrap_err().to_string(),
            "format version 3.0, this dispatch reads 2.x"
        );
    }
}
