//! The planner: a pure function from (declarations, state, observations) to the actions that
//! make reality match the declarations. No I/O, so it is cheap to test and to run on 100k
//! resources.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::declarations::Declarations;
use crate::diag::did_you_mean;
use crate::model::{Address, Kind, Resource, Spec};
use crate::state::{State, Status};

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
    #[error("--target {address}: no such resource in the declarations or the state{}", hint(.suggestion))]
    UnknownTarget {
        address: Address,
        suggestion: Option<String>,
    },
}

fn hint(suggestion: &Option<String>) -> String {
    suggestion
        .as_ref()
        .map(|s| format!("\n  hint: did you mean {s}?"))
        .unwrap_or_default()
}

/// Computes the plan. `targets`, when not empty, limits it to those resources and their bases.
pub fn plan(
    desired: &Declarations,
    state: Option<&State>,
    observed: &Observations,
    targets: &[Address],
) -> Result<Plan, PlanError> {
    let empty = BTreeMap::new();
    let recorded = state.map_or(&empty, |s| &s.resources);
    let scope = scope(desired, recorded, targets)?;
    let in_scope = |address: &Address| scope.as_ref().is_none_or(|s| s.contains(address));

    let mut changes: BTreeMap<&Address, Change> = BTreeMap::new();
    for (address, declared) in desired.resources.iter().filter(|(a, _)| in_scope(a)) {
        let after = &declared.resource;
        let change = match recorded.get(address) {
            None => change(address, Action::Create, vec![], None, Some(after)),
            Some(old) => {
                let before = &old.resource;
                let (action, mut reasons) = if old.status == Status::Error {
                    let why = old
                        .reason
                        .first()
                        .map_or(String::new(), |r| format!(": {r}"));
                    (Action::Create, vec![format!("the last apply failed{why}")])
                } else if old.spec_digest == after.digest() {
                    (Action::NoOp, vec![])
                } else {
                    compare(before, after)
                };
                if action != Action::Create
                    && let Some(drift) = observed.drift.get(address)
                {
                    reasons.push(describe(drift));
                    let action = match drift {
                        Drift::Moved { .. } => Action::Replace,
                        Drift::Missing { .. } => Action::Create,
                    };
                    changes.insert(
                        address,
                        change(address, action, reasons, Some(before), Some(after)),
                    );
                    continue;
                }
                change(address, action, reasons, Some(before), Some(after))
            }
        };
        changes.insert(address, change);
    }
    for (address, old) in recorded
        .iter()
        .filter(|(a, _)| in_scope(a) && !desired.resources.contains_key(*a))
    {
        changes.insert(
            address,
            change(
                address,
                Action::Delete,
                vec!["no longer declared".into()],
                Some(&old.resource),
                None,
            ),
        );
    }

    // A new base means every image on it must be built again. Bases sort first, so one pass
    // over the images sees every base's final action.
    let rebuilt_bases: BTreeMap<String, &'static str> = changes
        .values()
        .filter(|c| c.address.kind == Kind::BaseImage && c.before.is_some())
        .filter_map(|c| match c.action {
            Action::Replace => Some((c.address.name.clone(), "will be replaced")),
            Action::Create => Some((c.address.name.clone(), "will be pulled again")),
            _ => None,
        })
        .collect();
    for change in changes
        .values_mut()
        .filter(|c| c.address.kind == Kind::Image)
    {
        let Some(Spec::Image(image)) = change.after.as_ref().map(|r| &r.spec) else {
            continue;
        };
        let Some(what) = rebuilt_bases.get(&image.base_image_name) else {
            continue;
        };
        if matches!(
            change.action,
            Action::NoOp | Action::Update | Action::Replace
        ) && change.before.is_some()
        {
            change.action = Action::Replace;
            change
                .reasons
                .push(format!("base image {} {what}", image.base_image_name));
        }
    }
    Ok(Plan {
        changes: changes.into_values().collect(),
    })
}

fn change(
    address: &Address,
    action: Action,
    reasons: Vec<String>,
    before: Option<&Resource>,
    after: Option<&Resource>,
) -> Change {
    Change {
        address: address.clone(),
        action,
        reasons,
        before: before.cloned(),
        after: after.cloned(),
    }
}

fn describe(drift: &Drift) -> String {
    match drift {
        Drift::Moved { recorded, current } => {
            format!("the tag now points at {current} (pulled {recorded})")
        }
        Drift::Missing { detail } => detail.clone(),
    }
}

/// Field-by-field comparison of two different specs: tags alone change in place, anything
/// an image is made of forces a replacement.
fn compare(before: &Resource, after: &Resource) -> (Action, Vec<String>) {
    let mut replace = Vec::new();
    match (&before.spec, &after.spec) {
        (Spec::BaseImage(b), Spec::BaseImage(a)) => {
            if b.docker_url != a.docker_url {
                replace.push("dockerUrl changed");
            }
            if b.language != a.language {
                replace.push("language changed");
            }
        }
        (Spec::Image(b), Spec::Image(a)) => {
            if b.base_image_name != a.base_image_name {
                replace.push("baseImageName changed");
            }
            if b.runtime_dependencies != a.runtime_dependencies {
                replace.push("manifest changed");
            }
            if b.system_dependencies != a.system_dependencies {
                replace.push("system packages changed");
            }
        }
        _ => replace.push("kind changed"),
    }
    let tags_changed = before.tags() != after.tags();
    let mut reasons: Vec<String> = replace.iter().map(|r| r.to_string()).collect();
    if tags_changed {
        reasons.push("tags changed".into());
    }
    match (replace.is_empty(), tags_changed) {
        (false, _) => (Action::Replace, reasons),
        (true, true) => (Action::Update, reasons),
        // Same fields, different digest: the state was written by another build; refresh it.
        (true, false) => (
            Action::Update,
            vec!["recorded spec differs only in format".into()],
        ),
    }
}

/// The addresses a plan covers: all (`None`), or the targets and what they are built on.
fn scope(
    desired: &Declarations,
    recorded: &BTreeMap<Address, crate::state::ResourceState>,
    targets: &[Address],
) -> Result<Option<BTreeSet<Address>>, PlanError> {
    if targets.is_empty() {
        return Ok(None);
    }
    let mut scope = BTreeSet::new();
    for target in targets {
        let resource = desired
            .get(target)
            .or_else(|| recorded.get(target).map(|r| &r.resource));
        let Some(resource) = resource else {
            let names = desired
                .resources
                .keys()
                .chain(recorded.keys())
                .map(|a| a.to_string())
                .collect::<Vec<_>>();
            let suggestion = did_you_mean(&target.to_string(), names.iter().map(String::as_str))
                .map(str::to_string);
            return Err(PlanError::UnknownTarget {
                address: target.clone(),
                suggestion,
            });
        };
        scope.insert(target.clone());
        if desired.get(target).is_some() {
            scope.extend(resource.depends_on());
        }
    }
    Ok(Some(scope))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::declarations::Declared;
    use crate::diag::{Location, Pos};
    use crate::model::{BaseImageSpec, ImageSpec, Language, RuntimeDependencies, Tag};
    use crate::reference::ImageRef;
    use crate::state::ResourceState;

    fn base(name: &str, url: &str) -> Resource {
        Resource {
            name: name.into(),
            spec: Spec::BaseImage(BaseImageSpec {
                docker_url: ImageRef::parse(url).unwrap(),
                language: Language::Python3,
                tags: vec![],
            }),
        }
    }

    fn image(name: &str, base: &str, manifest: &str) -> Resource {
        Resource {
            name: name.into(),
            spec: Spec::Image(ImageSpec {
                base_image_name: base.into(),
                runtime_dependencies: Some(RuntimeDependencies {
                    manifest: manifest.into(),
                }),
                system_dependencies: None,
                tags: vec![],
            }),
        }
    }

    fn declared(resources: &[Resource]) -> Declarations {
        let origin = Location {
            file: "x.yaml".into(),
            pos: Pos::FILE,
        };
        Declarations {
            resources: resources
                .iter()
                .map(|r| {
                    (
                        r.address(),
                        Declared {
                            resource: r.clone(),
                            origin: origin.clone(),
                        },
                    )
                })
                .collect(),
        }
    }

    fn applied(resources: &[Resource]) -> State {
        let mut state = State::new();
        for r in resources {
            state.resources.insert(
                r.address(),
                ResourceState {
                    resource: r.clone(),
                    spec_digest: r.digest(),
                    status: Status::Ready,
                    reason: vec![],
                    created_time: "t".into(),
                    modified_time: "t".into(),
                    observed: None,
                },
            );
        }
        state
    }

    fn actions(plan: &Plan) -> Vec<(String, Action, Vec<String>)> {
        plan.changes
            .iter()
            .map(|c| (c.address.to_string(), c.action, c.reasons.clone()))
            .collect()
    }

    fn no_drift() -> Observations {
        Observations::default()
    }

    #[test]
    fn everything_is_created_without_state() {
        let d = declared(&[base("b", "x/b:1"), image("i", "b", "numpy")]);
        let p = plan(&d, None, &no_drift(), &[]).unwrap();
        assert_eq!(
            actions(&p),
            vec![
                ("BaseImage/b".into(), Action::Create, vec![]),
                ("Image/i".into(), Action::Create, vec![])
            ]
        );
        assert_eq!(
            p.summary(),
            Summary {
                add: 2,
                ..Summary::default()
            }
        );
    }

    #[test]
    fn applied_declarations_need_nothing() {
        let resources = [base("b", "x/b:1"), image("i", "b", "numpy")];
        let p = plan(
            &declared(&resources),
            Some(&applied(&resources)),
            &no_drift(),
            &[],
        )
        .unwrap();
        assert!(!p.has_changes());
        assert_eq!(p.summary().unchanged, 2);
    }

    #[test]
    fn changed_base_replaces_its_images() {
        let old = [
            base("b", "x/b:1"),
            image("i", "b", "numpy"),
            base("c", "x/c:1"),
            image("j", "c", ""),
        ];
        let new = [
            base("b", "x/b:2"),
            image("i", "b", "numpy"),
            base("c", "x/c:1"),
            image("j", "c", ""),
        ];
        let p = plan(&declared(&new), Some(&applied(&old)), &no_drift(), &[]).unwrap();
        assert_eq!(
            actions(&p),
            vec![
                (
                    "BaseImage/b".into(),
                    Action::Replace,
                    vec!["dockerUrl changed".into()]
                ),
                ("BaseImage/c".into(), Action::NoOp, vec![]),
                (
                    "Image/i".into(),
                    Action::Replace,
                    vec!["base image b will be replaced".into()]
                ),
                ("Image/j".into(), Action::NoOp, vec![]),
            ]
        );
    }

    #[test]
    fn tags_update_in_place_and_manifest_replaces() {
        let old = [base("b", "x/b:1"), image("i", "b", "numpy")];
        let mut tagged = base("b", "x/b:1");
        let Spec::BaseImage(spec) = &mut tagged.spec else {
            unreachable!()
        };
        spec.tags.push(Tag {
            key: "role".into(),
            value: "docs".into(),
        });
        let new = [tagged, image("i", "b", "pandas")];
        let p = plan(&declared(&new), Some(&applied(&old)), &no_drift(), &[]).unwrap();
        assert_eq!(
            actions(&p),
            vec![
                (
                    "BaseImage/b".into(),
                    Action::Update,
                    vec!["tags changed".into()]
                ),
                (
                    "Image/i".into(),
                    Action::Replace,
                    vec!["manifest changed".into()]
                ),
            ]
        );
    }

    #[test]
    fn undeclared_resources_are_deleted() {
        let old = [base("b", "x/b:1"), image("i", "b", "numpy")];
        let p = plan(&declared(&old[..1]), Some(&applied(&old)), &no_drift(), &[]).unwrap();
        assert_eq!(
            actions(&p)[1],
            (
                "Image/i".into(),
                Action::Delete,
                vec!["no longer declared".into()]
            )
        );
        assert_eq!(p.summary().destroy, 1);
    }

    #[test]
    fn failed_resources_are_created_again_with_the_reason() {
        let resources = [base("b", "x/b:1")];
        let mut state = applied(&resources);
        let entry = state.resources.values_mut().next().unwrap();
        entry.status = Status::Error;
        entry.reason = vec!["pull access denied".into()];
        let p = plan(&declared(&resources), Some(&state), &no_drift(), &[]).unwrap();
        assert_eq!(actions(&p)[0].1, Action::Create);
        assert_eq!(
            actions(&p)[0].2,
            vec!["the last apply failed: pull access denied".to_string()]
        );
    }

    #[test]
    fn drift_of_a_base_rebuilds_its_images() {
        let resources = [base("b", "x/b:1"), image("i", "b", "numpy")];
        let mut observed = Observations::default();
        observed.drift.insert(
            Address::new(Kind::BaseImage, "b"),
            Drift::Moved {
                recorded: "sha256:aa".into(),
                current: "sha256:bb".into(),
            },
        );
        let p = plan(
            &declared(&resources),
            Some(&applied(&resources)),
            &observed,
            &[],
        )
        .unwrap();
        assert_eq!(
            actions(&p),
            vec![
                (
                    "BaseImage/b".into(),
                    Action::Replace,
                    vec!["the tag now points at sha256:bb (pulled sha256:aa)".into()]
                ),
                (
                    "Image/i".into(),
                    Action::Replace,
                    vec!["base image b will be replaced".into()]
                ),
            ]
        );
    }

    #[test]
    fn missing_image_is_built_again() {
        let resources = [base("b", "x/b:1"), image("i", "b", "numpy")];
        let mut observed = Observations::default();
        observed.drift.insert(
            Address::new(Kind::Image, "i"),
            Drift::Missing {
                detail: "image is gone".into(),
            },
        );
        let p = plan(
            &declared(&resources),
            Some(&applied(&resources)),
            &observed,
            &[],
        )
        .unwrap();
        assert_eq!(
            actions(&p)[1],
            (
                "Image/i".into(),
                Action::Create,
                vec!["image is gone".into()]
            )
        );
    }

    #[test]
    fn targets_include_their_bases_only() {
        let d = declared(&[
            base("b", "x/b:1"),
            image("i", "b", ""),
            base("c", "x/c:1"),
            image("j", "c", ""),
        ]);
        let p = plan(&d, None, &no_drift(), &["Image/i".parse().unwrap()]).unwrap();
        let addresses: Vec<_> = p.changes.iter().map(|c| c.address.to_string()).collect();
        assert_eq!(addresses, ["BaseImage/b", "Image/i"]);
        let err = plan(&d, None, &no_drift(), &["Image/ii".parse().unwrap()]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--target Image/ii: no such resource in the declarations or the state\n  hint: did you mean Image/i?"
        );
    }
}
