//! The planner: a pure function from (declarations, state, observations) to the actions that
//! make reality match the declarations. No I/O, so it is cheap to test and to run on 100k
//! resources.

use std::collections::{BTreeMap, BTreeSet};

use super::diff::{self, assess, change};
use super::rebase;
use super::{Action, AdvisoryNotes, Change, Drift, Drifted, Observations, Plan, PlanError};
use crate::decl::Declarations;
use crate::model::diag::did_you_mean;
use crate::model::{Address, Kind};
use crate::state::{ResourceState, State, Status};

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
                } else {
                    let same = old.spec_digest == declared.digest;
                    assess(before, old.build_inputs.as_ref(), declared, same)
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
        // A base created on its own (`dispatch create base-image`) stays while declared images
        // are built on it.
        let user = desired
            .resources
            .values()
            .find(|d| d.resource.depends_on().as_ref() == Some(address));
        let kept = match user {
            Some(user) => change(
                address,
                Action::NoOp,
                vec![format!(
                    "not declared, kept: {} is built on it",
                    user.resource.address()
                )],
                Some(&old.resource),
                Some(&old.resource),
            ),
            None => change(
                address,
                Action::Delete,
                vec!["no longer declared".into()],
                Some(&old.resource),
                None,
            ),
        };
        changes.insert(address, kept);
    }

    diff::propagate_bases(&mut changes);
    rebase::weigh(&mut changes, state, observed);
    // What a pull gets is what refresh saw: apply pulls that digest, not whatever the tag
    // points at by then.
    for change in changes.values_mut() {
        if matches!(change.action, Action::Create | Action::Replace) {
            change.digest = observed.digests.get(&change.address).cloned();
        }
    }
    let drift = observed
        .drift
        .iter()
        .filter(|(address, _)| in_scope(address))
        .map(|(address, drift)| Drifted {
            address: address.clone(),
            drift: drift.clone(),
        })
        .collect();
    Ok(Plan {
        changes: changes.into_values().collect(),
        drift,
        warnings: desired.warnings.clone(),
        base_problems: Vec::new(),
        advisories: AdvisoryNotes::default(),
    })
}

fn describe(drift: &Drift) -> String {
    match drift {
        Drift::Moved { recorded, current } => {
            format!("the tag now points at {current} (pulled {recorded})")
        }
        Drift::Missing { detail, .. } => detail.clone(),
    }
}

/// The addresses a plan covers: all (`None`), or the targets and what they are built on.
fn scope(
    desired: &Declarations,
    recorded: &BTreeMap<Address, ResourceState>,
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
            return Err(PlanError::UnknownTarget {
                address: target.clone(),
                suggestion: suggestion(desired, recorded, target),
            });
        };
        scope.insert(target.clone());
        if desired.get(target).is_some() {
            scope.extend(resource.depends_on());
        }
    }
    Ok(Some(scope))
}

/// What `target` may have meant: the same name of the other kind, else a close name of the
/// same kind.
fn suggestion(
    desired: &Declarations,
    recorded: &BTreeMap<Address, ResourceState>,
    target: &Address,
) -> Option<String> {
    let known: BTreeSet<&Address> = desired.resources.keys().chain(recorded.keys()).collect();
    let other = Kind::ALL
        .into_iter()
        .filter(|k| *k != target.kind)
        .map(|k| Address::new(k, target.name.clone()))
        .find(|a| known.contains(a));
    if let Some(other) = other {
        return Some(other.to_string());
    }
    let same_kind: Vec<&str> = known
        .iter()
        .filter(|a| a.kind == target.kind)
        .map(|a| a.name.as_str())
        .collect();
    did_you_mean(&target.name, same_kind).map(|name| Address::new(target.kind, name).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::diag::Hint;
    use crate::model::{Kind, Resource, Spec, Tag};
    use crate::plan::Summary;
    use crate::testing::{applied, base, declared, image};

    fn actions(plan: &Plan) -> Vec<(String, Action, Vec<String>)> {
        plan.changes
            .iter()
            .map(|c| (c.address.to_string(), c.action, c.reasons.clone()))
            .collect()
    }

    fn no_drift() -> Observations {
        Observations::default()
    }

    /// The plan for `resources`, applied already, when refresh found `drift` at `address`.
    fn drifted(resources: &[Resource], address: Address, drift: Drift) -> Plan {
        let mut observed = Observations::default();
        observed.drift.insert(address, drift);
        plan(
            &declared(resources),
            Some(&applied(resources)),
            &observed,
            &[],
        )
        .unwrap()
    }

    #[test]
    fn everything_is_created_without_state() {
        let d = declared(&[base("b", "x/b:1"), image("i", "b", Some("numpy"))]);
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
        let resources = [base("b", "x/b:1"), image("i", "b", Some("numpy"))];
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
            image("i", "b", Some("numpy")),
            base("c", "x/c:1"),
            image("j", "c", Some("")),
        ];
        let new = [
            base("b", "x/b:2"),
            image("i", "b", Some("numpy")),
            base("c", "x/c:1"),
            image("j", "c", Some("")),
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
        let old = [base("b", "x/b:1"), image("i", "b", Some("numpy"))];
        let mut tagged = base("b", "x/b:1");
        let Spec::BaseImage(spec) = &mut tagged.spec else {
            unreachable!()
        };
        spec.tags.push(Tag {
            key: "role".into(),
            value: "docs".into(),
        });
        let new = [tagged, image("i", "b", Some("pandas"))];
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
    fn a_rebase_policy_changes_in_place() {
        let old = [base("b", "x/b:1"), image("i", "b", Some("numpy"))];
        let mut never = base("b", "x/b:1");
        let Spec::BaseImage(spec) = &mut never.spec else {
            unreachable!()
        };
        spec.rebase = crate::model::RebasePolicy::Never;
        let new = [never, image("i", "b", Some("numpy"))];
        let p = plan(&declared(&new), Some(&applied(&old)), &no_drift(), &[]).unwrap();
        assert_eq!(
            actions(&p),
            vec![
                (
                    "BaseImage/b".into(),
                    Action::Update,
                    vec!["rebase changed to never".into()]
                ),
                ("Image/i".into(), Action::NoOp, vec![]),
            ]
        );
    }

    #[test]
    fn undeclared_resources_are_deleted() {
        let old = [base("b", "x/b:1"), image("i", "b", Some("numpy"))];
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
    fn an_undeclared_base_is_kept_while_declared_images_are_built_on_it() {
        let old = [base("b", "x/b:1"), base("c", "x/c:1")];
        let declared_images = [image("i", "b", None)];
        let p = plan(
            &declared(&declared_images),
            Some(&applied(&old)),
            &no_drift(),
            &[],
        )
        .unwrap();
        assert_eq!(
            actions(&p),
            vec![
                (
                    "BaseImage/b".into(),
                    Action::NoOp,
                    vec!["not declared, kept: Image/i is built on it".into()]
                ),
                (
                    "BaseImage/c".into(),
                    Action::Delete,
                    vec!["no longer declared".into()]
                ),
                ("Image/i".into(), Action::Create, vec![]),
            ]
        );
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
        let resources = [base("b", "x/b:1"), image("i", "b", Some("numpy"))];
        let p = drifted(
            &resources,
            Address::new(Kind::BaseImage, "b"),
            Drift::Moved {
                recorded: "sha256:aa".into(),
                current: "sha256:bb".into(),
            },
        );
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
        let resources = [base("b", "x/b:1"), image("i", "b", Some("numpy"))];
        let p = drifted(
            &resources,
            Address::new(Kind::Image, "i"),
            Drift::Missing {
                reference: "dispatch/i:1".into(),
                detail: "image is gone".into(),
            },
        );
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
            image("i", "b", Some("")),
            base("c", "x/c:1"),
            image("j", "c", Some("")),
        ]);
        let p = plan(&d, None, &no_drift(), &["Image/i".parse().unwrap()]).unwrap();
        let addresses: Vec<_> = p.changes.iter().map(|c| c.address.to_string()).collect();
        assert_eq!(addresses, ["BaseImage/b", "Image/i"]);
        let err = plan(&d, None, &no_drift(), &["Image/ii".parse().unwrap()]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--target Image/ii: no such resource in the declarations or the state"
        );
        assert_eq!(err.hint().as_deref(), Some("did you mean Image/i?"));
        // The name of the other kind, before any close name of the same kind.
        let err = plan(&d, None, &no_drift(), &["Image/b".parse().unwrap()]).unwrap_err();
        assert_eq!(err.hint().as_deref(), Some("did you mean BaseImage/b?"));
        let err = plan(&d, None, &no_drift(), &["BaseImage/j".parse().unwrap()]).unwrap_err();
        assert_eq!(err.hint().as_deref(), Some("did you mean Image/j?"));
        let err = plan(&d, None, &no_drift(), &["BaseImage/zzz".parse().unwrap()]).unwrap_err();
        assert_eq!(err.hint(), None);
    }

    #[test]
    fn a_changed_build_input_replaces_the_images_built_from_it() {
        use crate::build::identity::Identity;
        use crate::model::Language;
        use crate::model::inputs::Inputs;

        let resources = [
            base("b", "x/b:1"),
            image("i", "b", Some("numpy")),
            image("j", "b", Some("pandas")),
        ];
        let identity = |text: &str, arg: &str| {
            let args = [("PYTHON".to_string(), arg.to_string())].into();
            let template = (Language::Python3, "t/py.Dockerfile".to_string(), text);
            Identity::new([template], &args, &["PYTHON".into()])
        };
        let built = identity("FROM a", "3.11").inputs(Language::Python3);
        let mut state = applied(&resources);
        for entry in state.resources.values_mut().skip(1) {
            entry.build_inputs = Some(Inputs::clone(&built));
        }
        let planned = |identity: Identity, state: &State| {
            let mut declared = declared(&resources);
            identity.attach(&mut declared, Some(state));
            plan(&declared, Some(state), &no_drift(), &[]).unwrap()
        };
        assert!(!planned(identity("FROM a", "3.11"), &state).has_changes());
        let p = planned(identity("FROM b", "3.12"), &state);
        let why = vec![
            "template t/py.Dockerfile changed".to_string(),
            "build arg PYTHON changed".to_string(),
        ];
        assert_eq!(
            actions(&p),
            vec![
                ("BaseImage/b".into(), Action::NoOp, vec![]),
                ("Image/i".into(), Action::Replace, why.clone()),
                ("Image/j".into(), Action::Replace, why),
            ]
        );
        assert_eq!(
            p.changes[1].action_reason,
            Some(crate::plan::ActionReason::ReplaceBecauseCannotUpdate)
        );
        // With the declaration changed too, both say why.
        let mut declared = declared(&[
            base("b", "x/b:1"),
            image("i", "b", Some("scipy")),
            image("j", "b", Some("pandas")),
        ]);
        identity("FROM b", "3.11").attach(&mut declared, Some(&state));
        let p = plan(&declared, Some(&state), &no_drift(), &[]).unwrap();
        assert_eq!(
            actions(&p)[1].2,
            ["manifest changed", "template t/py.Dockerfile changed"]
        );
        // A state that recorded no inputs (an earlier dispatch wrote it): nothing to rebuild.
        let earlier = applied(&resources);
        assert!(!planned(identity("FROM b", "3.12"), &earlier).has_changes());
    }
}
