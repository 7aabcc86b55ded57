//! The planner's rebase pass: each image whose base moved under it (its tag patched in place,
//! or pulled again by an apply that stopped before the image) is rebased onto the new base or
//! rebuilt, as [`crate::model::rebase::decide`] says, and the plan says which and why.

use std::collections::BTreeMap;

use super::{Action, ActionReason, Change, Drift, Observations, Rebase};
use crate::model::rebase::{self, Case, Decision, Rebuild, Unknown};
use crate::model::{Address, BaseImageSpec, Kind, Spec};
use crate::state::{ResourceState, State, Status};

/// `sha256:` and the first 12 hex digits, as plans show a digest in a sentence.
pub fn short(digest: &str) -> &str {
    let end = digest.find(':').map_or(0, |colon| colon + 1) + 12;
    &digest[..digest.len().min(end)]
}

/// Where an image's base moved, and what says so.
struct Move {
    from: String,
    onto: String,
    /// Why the image must leave its base, when the base's own change does not say it.
    trigger: Option<String>,
}

/// Decides, for each image whose base moved, between a rebase and a rebuild. Runs after the
/// bases' changes were propagated to their images (each image replaced because of its base
/// only is one to weigh).
pub(super) fn weigh(
    changes: &mut BTreeMap<&Address, Change>,
    state: Option<&State>,
    observed: &Observations,
) {
    let Some(state) = state else {
        return;
    };
    // Few images move: only those are copied out of the walk.
    let moving: Vec<_> = (changes.keys())
        .filter(|a| a.kind == Kind::Image)
        .filter_map(|a| Some(((*a).clone(), movement(changes, a, state, observed)?)))
        .collect();
    for (address, (base, moved, pushed)) in moving {
        let missing = |what: String| Unknown(format!("{what} was not asked of the registry"));
        let facts = |digest: &str| {
            (observed.bases.get(digest).cloned())
                .unwrap_or_else(|| Err(missing(format!("what base {} holds", short(digest)))))
        };
        let (old, new) = (facts(&moved.from), facts(&moved.onto));
        let image = (observed.images.get(&address).cloned())
            .unwrap_or_else(|| Err(missing("what the image's layers are".into())));
        let decision = match observed.rebuild {
            true => Decision::Rebuild(Rebuild::Forced),
            false => rebase::decide(Case {
                policy: base.1.rebase,
                language: base.1.language,
                pushed,
                old: &old,
                new: &new,
                image: &image,
            }),
        };
        let Some(change) = changes.get_mut(&address) else {
            continue;
        };
        if let Some(trigger) = moved.trigger {
            change.reasons.push(trigger);
        }
        match decision {
            Decision::Rebase { changed } => {
                // The base's own sentence is said by the rebase's, with what changed.
                let said = format!("base image {} will be replaced", base.0);
                change.reasons.retain(|r| *r != said);
                change
                    .reasons
                    .push(format!("base changed: {}", rebase::summary(&changed)));
                change.action = Action::Rebase;
                change.action_reason = Some(ActionReason::Rebase);
                change.rebase = Some(Rebase {
                    base: base.0,
                    from: moved.from,
                    onto: moved.onto,
                    changed,
                });
            }
            Decision::Rebuild(why) => {
                if change.action != Action::Replace {
                    change.action = Action::Replace;
                    change.action_reason = Some(ActionReason::ReplaceByTriggers);
                }
                change.reasons.push(format!("not rebased: {why}"));
            }
        }
    }
}

/// Whether the image at `address` must leave the base it is on, and for which: its base's
/// name and spec, where it moves, and whether the image is in a registry.
fn movement(
    changes: &BTreeMap<&Address, Change>,
    address: &Address,
    state: &State,
    observed: &Observations,
) -> Option<((String, BaseImageSpec), Move, bool)> {
    let change = changes.get(address)?;
    let Some(Spec::Image(image)) = change.after.as_ref().map(|r| &r.spec) else {
        return None;
    };
    let entry = ready(state.resources.get(address))?;
    let built = entry.observed.as_ref()?;
    let base_address = Address::new(Kind::BaseImage, image.base_image_name.as_str());
    let base_change = changes.get(&base_address)?;
    let Some(Spec::BaseImage(base)) = base_change.after.as_ref().map(|r| &r.spec) else {
        return None;
    };
    let base_entry = ready(state.resources.get(&base_address))?;
    let recorded = base_entry.observed.as_ref()?.digest.as_deref()?;
    let built_on = built.base.as_deref();
    let moved = match (observed.drift.get(&base_address), base_change.action) {
        // Patched in place: the same reference, and the base replaced for that alone.
        (Some(Drift::Moved { current, .. }), Action::Replace)
            if same_image(base_entry, base)
                && change.action == Action::Replace
                && change.action_reason == Some(ActionReason::ReplaceByTriggers) =>
        {
            let (from, onto) = rebase::moving(built_on, recorded, current)?;
            Move {
                from,
                onto,
                trigger: None,
            }
        }
        // Pulled again by an apply that stopped before this image.
        (None, Action::NoOp | Action::Update)
            if matches!(change.action, Action::NoOp | Action::Update) =>
        {
            let (from, onto) = rebase::moving(built_on, recorded, recorded)?;
            Move {
                trigger: Some(format!(
                    "base image {} is at {} now, not the {} it was built on",
                    image.base_image_name,
                    short(&onto),
                    short(&from)
                )),
                from,
                onto,
            }
        }
        _ => return None,
    };
    let base = (image.base_image_name.clone(), base.clone());
    Some((base, moved, built.digest.is_some()))
}

fn ready(entry: Option<&ResourceState>) -> Option<&ResourceState> {
    entry.filter(|e| e.status == Status::Ready)
}

/// Whether the base `entry` records is the declared one, its reference and language the same.
fn same_image(entry: &ResourceState, declared: &BaseImageSpec) -> bool {
    matches!(&entry.resource.spec, Spec::BaseImage(b)
        if b.docker_url == declared.docker_url && b.language == declared.language)
}

/// `change` built rather than rebased: `apply --rebuild`.
pub(super) fn rebuild(change: &mut Change) {
    let Some(rebase) = change.rebase.take() else {
        return;
    };
    change.action = Action::Replace;
    change.action_reason = Some(ActionReason::ReplaceByTriggers);
    change.reasons.retain(|r| !r.starts_with("base changed: "));
    change.reasons.push(format!(
        "base image {} moved to {}",
        rebase.base,
        short(&rebase.onto)
    ));
    change.reasons.push("not rebased: --rebuild".into());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::catalog::{Ecosystem, Package};
    use crate::model::rebase::{BaseFacts, ImageFacts, RebasePolicy};
    use crate::model::{Kind, Resource};
    use crate::plan::{Plan, plan};
    use crate::state::Observed;
    use crate::testing::{applied, base, declared, image};

    const OLD: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const NEW: &str = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    fn at(kind: Kind, name: &str) -> Address {
        Address::new(kind, name)
    }

    /// Base `b` pulled at OLD, images `pushed` (in a registry) and `local` (engine only) on it.
    fn state(resources: &[Resource]) -> State {
        let mut state = applied(resources);
        for (address, entry) in state.resources.iter_mut() {
            entry.observed = Some(match address.kind {
                Kind::BaseImage => Observed {
                    image_id: Some("sha256:old-id".into()),
                    digest: Some(OLD.into()),
                    ..Observed::default()
                },
                Kind::Image => Observed {
                    image_id: Some(format!("sha256:{}-id", address.name)),
                    digest: (address.name != "local").then(|| format!("sha256:{}", address.name)),
                    reference: Some(format!("r/{}:1", address.name)),
                    base: Some(OLD.into()),
                    ..Observed::default()
                },
            });
        }
        state
    }

    fn facts(packages: &[(&str, &str)], layer: &str) -> BaseFacts {
        BaseFacts {
            os: "linux".into(),
            architecture: "amd64".into(),
            diff_ids: vec![format!("sha256:{layer}")],
            packages: Some(
                (packages.iter())
                    .map(|(n, v)| Package::plain(Ecosystem::Deb, n, v))
                    .collect(),
            ),
        }
    }

    /// What refresh finds when `b`'s tag moved from OLD to NEW, onto a base holding `new`.
    fn moved(images: &[&str], new: &[(&str, &str)]) -> Observations {
        let mut observed = Observations::default();
        observed.drift.insert(
            at(Kind::BaseImage, "b"),
            Drift::Moved {
                recorded: OLD.into(),
                current: NEW.into(),
            },
        );
        observed
            .digests
            .insert(at(Kind::BaseImage, "b"), NEW.into());
        let old = [("python3", "3.11.2-1"), ("openssl", "3.0.11-1~deb12u1")];
        observed.bases.insert(OLD.into(), Ok(facts(&old, "old")));
        observed.bases.insert(NEW.into(), Ok(facts(new, "new")));
        for name in images {
            let own = ImageFacts {
                diff_ids: vec!["sha256:old".into(), format!("sha256:{name}")],
                system_packages: vec![],
            };
            observed.images.insert(at(Kind::Image, name), Ok(own));
        }
        observed
    }

    fn planned(resources: &[Resource], state: &State, observed: &Observations) -> Plan {
        plan(&declared(resources), Some(state), observed, &[]).unwrap()
    }

    fn said(plan: &Plan, name: &str) -> (Action, Vec<String>) {
        let change = (plan.changes.iter())
            .find(|c| c.address == at(Kind::Image, name))
            .unwrap();
        (change.action, change.reasons.clone())
    }

    const PATCHED: [(&str, &str); 2] = [("python3", "3.11.2-2"), ("openssl", "3.0.11-1~deb12u2")];

    #[test]
    fn images_on_a_base_patched_in_place_are_rebased() {
        let resources = [
            base("b", "x/b:1"),
            image("app", "b", Some("numpy")),
            image("local", "b", None),
            image("mine", "b", Some("x")),
        ];
        let state = state(&resources);
        let observed = moved(&["app", "mine"], &PATCHED);
        let p = planned(&resources, &state, &observed);
        assert_eq!(
            said(&p, "app"),
            (
                Action::Rebase,
                vec![
                    "base changed: openssl 3.0.11-1~deb12u1 -> 3.0.11-1~deb12u2, python3 3.11.2-1 -> 3.11.2-2"
                        .to_string()
                ]
            )
        );
        let app = &p.changes[1];
        assert_eq!(app.action_reason, Some(ActionReason::Rebase));
        let rebase = app.rebase.as_ref().unwrap();
        assert_eq!(
            (
                rebase.base.as_str(),
                rebase.from.as_str(),
                rebase.onto.as_str()
            ),
            ("b", OLD, NEW)
        );
        assert_eq!(rebase.changed.len(), 2);
        assert_eq!(
            said(&p, "local"),
            (
                Action::Replace,
                vec![
                    "base image b will be replaced".to_string(),
                    "not rebased: it is kept in the engine only, and a rebase is made in the destination registry".to_string()
                ]
            )
        );
        let summary = p.summary();
        assert_eq!((summary.rebase, summary.change, summary.replace), (2, 2, 2));
        // The base is pulled again, as before.
        assert_eq!(p.changes[0].action, Action::Replace);
        assert_eq!(p.changes[0].digest.as_deref(), Some(NEW));

        // --rebuild: every rebase a build, saying why.
        let rebuilt = p.rebuilt();
        assert_eq!(
            said(&rebuilt, "app"),
            (
                Action::Replace,
                vec![
                    "base image b moved to sha256:bbbbbbbbbbbb".to_string(),
                    "not rebased: --rebuild".to_string()
                ]
            )
        );
        assert_eq!(rebuilt.summary().rebase, 0);
        assert!(rebuilt.changes.iter().all(|c| c.rebase.is_none()));
    }

    #[test]
    fn a_runtime_bump_a_policy_or_own_reasons_rebuild() {
        let resources = [base("b", "x/b:1"), image("app", "b", Some("numpy"))];
        let state = state(&resources);
        let bumped = moved(
            &["app"],
            &[("python3", "3.12.1-1"), ("openssl", "3.0.11-1~deb12u1")],
        );
        assert_eq!(
            said(&planned(&resources, &state, &bumped), "app"),
            (
                Action::Replace,
                vec![
                    "base image b will be replaced".to_string(),
                    "not rebased: the runtime changed, python3 3.11.2 -> python3 3.12.1"
                        .to_string()
                ]
            )
        );
        // `rebase: never` on the base: asked nothing, rebuilt.
        let mut never = resources.to_vec();
        let Spec::BaseImage(spec) = &mut never[0].spec else {
            unreachable!()
        };
        spec.rebase = RebasePolicy::Never;
        let mut state_never = state.clone();
        state_never
            .resources
            .get_mut(&at(Kind::BaseImage, "b"))
            .unwrap()
            .resource = never[0].clone();
        let p = planned(&never, &state_never, &moved(&[], &[]));
        assert_eq!(
            said(&p, "app").1,
            [
                "base image b will be replaced",
                "not rebased: its base image says `rebase: never`"
            ]
        );
        // The image changed on its own: built, the base's move beside the point.
        let edited = [base("b", "x/b:1"), image("app", "b", Some("pandas"))];
        let p = planned(&edited, &state, &moved(&["app"], &PATCHED));
        assert_eq!(
            said(&p, "app"),
            (
                Action::Replace,
                vec![
                    "manifest changed".to_string(),
                    "base image b will be replaced".to_string()
                ]
            )
        );
        // --rebuild: nothing asked, every one built.
        let mut forced = moved(&[], &PATCHED);
        forced.rebuild = true;
        assert_eq!(
            said(&planned(&resources, &state, &forced), "app").1,
            ["base image b will be replaced", "not rebased: --rebuild"]
        );
        // Facts not asked (a plan without them): rebuilt, saying so.
        let mut unasked = moved(&[], &PATCHED);
        unasked.bases.clear();
        assert_eq!(
            said(&planned(&resources, &state, &unasked), "app").1[1],
            "not rebased: what base sha256:aaaaaaaaaaaa holds was not asked of the registry"
        );
    }

    #[test]
    fn a_base_pulled_again_before_its_images_were_moved_moves_them() {
        // An apply pulled the new base, recorded it, and stopped before the image.
        let resources = [base("b", "x/b:1"), image("app", "b", Some("numpy"))];
        let mut state = state(&resources);
        let base_entry = state.resources.get_mut(&at(Kind::BaseImage, "b")).unwrap();
        base_entry.observed.as_mut().unwrap().digest = Some(NEW.into());
        let mut observed = moved(&["app"], &PATCHED);
        observed.drift.clear();
        let p = planned(&resources, &state, &observed);
        assert_eq!(p.changes[0].action, Action::NoOp);
        assert_eq!(said(&p, "app").0, Action::Rebase);
        assert_eq!(p.changes[1].rebase.as_ref().unwrap().from, OLD);
        // Kept in the engine only, it is built again, saying why.
        let mut local = state.clone();
        let entry = local.resources.get_mut(&at(Kind::Image, "app")).unwrap();
        entry.observed.as_mut().unwrap().digest = None;
        assert_eq!(
            said(&planned(&resources, &local, &observed), "app"),
            (
                Action::Replace,
                vec![
                    "base image b is at sha256:bbbbbbbbbbbb now, not the sha256:aaaaaaaaaaaa it was built on".to_string(),
                    "not rebased: it is kept in the engine only, and a rebase is made in the destination registry".to_string()
                ]
            )
        );
        // A state from before the base was recorded with each image: nothing moved.
        let mut earlier = state.clone();
        let entry = earlier.resources.get_mut(&at(Kind::Image, "app")).unwrap();
        entry.observed.as_mut().unwrap().base = None;
        assert!(!planned(&resources, &earlier, &observed).has_changes());
    }
}
