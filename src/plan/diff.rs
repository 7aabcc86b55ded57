//! One resource before and after: which action that takes, and why; and two sets of
//! declarations compared ([`between`]), as `dispatch diff` does.

use std::collections::{BTreeMap, BTreeSet};

use super::{Action, ActionReason, AdvisoryNotes, Change, Plan};
use crate::decl::{Declarations, Declared};
use crate::model::inputs::Inputs;
use crate::model::{Address, Kind, Resource, Spec};

/// The change `action` makes to the resource at `address`, for `reasons`.
pub(super) fn change(
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
        action_reason: match action {
            Action::Replace => Some(ActionReason::ReplaceBecauseCannotUpdate),
            Action::Delete => Some(ActionReason::DeleteBecauseNoResourceConfig),
            Action::Rebase => Some(ActionReason::Rebase),
            Action::NoOp | Action::Create | Action::Update => None,
        },
        before: before.cloned(),
        after: after.cloned(),
        digest: None,
        rebase: None,
    }
}

/// What a resource recorded as `before`, built from `built`, needs to become `after`: `same`
/// when their specs are equal (the digests say so without a look at the fields). A change of
/// the build inputs replaces it; inputs not known on either side (a state written before they
/// were recorded) are taken as unchanged.
pub(super) fn assess(
    before: &Resource,
    built: Option<&Inputs>,
    after: &Declared,
    same: bool,
) -> (Action, Vec<String>) {
    let inputs = match (built, after.build_inputs.as_deref()) {
        (Some(built), Some(declared)) if built != declared => built.changes(declared),
        _ => Vec::new(),
    };
    let (action, mut reasons) = if same {
        (Action::NoOp, Vec::new())
    } else {
        compare(before, &after.resource, after.manifest.as_deref())
    };
    if inputs.is_empty() {
        return (action, reasons);
    }
    reasons.extend(inputs);
    (Action::Replace, reasons)
}

/// Field-by-field comparison of two different specs: tags and a base's `rebase` change in
/// place, anything an image is made of forces a replacement. `manifest_file` names the file the new manifest
/// was read from, for the reason.
fn compare(
    before: &Resource,
    after: &Resource,
    manifest_file: Option<&str>,
) -> (Action, Vec<String>) {
    let mut replace: Vec<String> = Vec::new();
    // What changes in place: how dispatch treats the image, not what it is made of.
    let mut update: Vec<String> = Vec::new();
    match (&before.spec, &after.spec) {
        (Spec::BaseImage(b), Spec::BaseImage(a)) => {
            if b.docker_url != a.docker_url {
                replace.push("dockerUrl changed".into());
            }
            if b.language != a.language {
                replace.push("language changed".into());
            }
            if b.rebase != a.rebase {
                update.push(format!("rebase changed to {}", a.rebase));
            }
        }
        (Spec::Image(b), Spec::Image(a)) => {
            if b.base_image_name != a.base_image_name {
                replace.push("baseImageName changed".into());
            }
            if b.runtime_dependencies != a.runtime_dependencies {
                replace.push(match manifest_file {
                    Some(file) => format!("{file} changed"),
                    None => "manifest changed".into(),
                });
            }
            if b.system_dependencies != a.system_dependencies {
                replace.push("system packages changed".into());
            }
        }
        _ => replace.push("kind changed".into()),
    }
    if before.tags() != after.tags() {
        update.insert(0, "tags changed".into());
    }
    let mut reasons: Vec<String> = replace.clone();
    reasons.extend(update.iter().cloned());
    match (replace.is_empty(), !update.is_empty()) {
        (false, _) => (Action::Replace, reasons),
        (true, true) => (Action::Update, reasons),
        // Same fields, different digest: the state was written by another build; refresh it.
        (true, false) => (
            Action::Update,
            vec!["recorded spec differs only in format".into()],
        ),
    }
}

/// A new base means every image on it must be built again: marks the images of every base
/// that is replaced or pulled again. Bases sort first, so one pass over the images sees every
/// base's final action.
pub(super) fn propagate_bases(changes: &mut BTreeMap<&Address, Change>) {
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
            if change.action != Action::Replace {
                change.action = Action::Replace;
                change.action_reason = Some(ActionReason::ReplaceByTriggers);
            }
            change
                .reasons
                .push(format!("base image {} {what}", image.base_image_name));
        }
    }
}

/// What merging changes: the plan from declarations `before` to declarations `after`, with no
/// state, engine or registry. Resources are matched by address, so a file renamed or a
/// resource moved between files is no change.
pub fn between(before: &Declarations, after: &Declarations) -> Plan {
    let addresses: BTreeSet<&Address> = before
        .resources
        .keys()
        .chain(after.resources.keys())
        .collect();
    let mut changes: BTreeMap<&Address, Change> = BTreeMap::new();
    for address in addresses {
        let old = before.resources.get(address);
        let new = after.resources.get(address);
        let change = match (old, new) {
            (None, Some(new)) => change(address, Action::Create, vec![], None, Some(&new.resource)),
            (Some(old), None) => change(
                address,
                Action::Delete,
                vec!["no longer declared".into()],
                Some(&old.resource),
                None,
            ),
            (Some(old), Some(new)) => {
                let same = old.resource == new.resource;
                let built = old.build_inputs.as_deref();
                let (action, reasons) = assess(&old.resource, built, new, same);
                let (before, after) = (Some(&old.resource), Some(&new.resource));
                change(address, action, reasons, before, after)
            }
            (None, None) => unreachable!("every address is on one side"),
        };
        changes.insert(address, change);
    }
    propagate_bases(&mut changes);
    Plan {
        changes: changes.into_values().collect(),
        drift: Vec::new(),
        warnings: after.warnings.clone(),
        base_problems: Vec::new(),
        advisories: AdvisoryNotes::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{base, declared, image};

    fn actions(plan: &Plan) -> Vec<(String, Action, Vec<String>)> {
        plan.changes
            .iter()
            .filter(|c| c.action != Action::NoOp)
            .map(|c| (c.address.to_string(), c.action, c.reasons.clone()))
            .collect()
    }

    #[test]
    fn between_two_sets_of_declarations() {
        let before = declared(&[
            base("b", "x/b:1"),
            image("i", "b", Some("numpy")),
            image("gone", "b", None),
            image("same", "b", Some("x")),
        ]);
        let mut after = declared(&[
            base("b", "x/b:2"),
            image("i", "b", Some("pandas")),
            image("new", "b", None),
            image("same", "b", Some("x")),
        ]);
        after
            .resources
            .get_mut(&Address::new(Kind::Image, "i"))
            .unwrap()
            .manifest = Some("requirements.txt".into());
        let plan = between(&before, &after);
        assert_eq!(
            actions(&plan),
            vec![
                (
                    "BaseImage/b".into(),
                    Action::Replace,
                    vec!["dockerUrl changed".into()]
                ),
                (
                    "Image/gone".into(),
                    Action::Delete,
                    vec!["no longer declared".into()]
                ),
                (
                    "Image/i".into(),
                    Action::Replace,
                    vec![
                        "requirements.txt changed".into(),
                        "base image b will be replaced".into()
                    ]
                ),
                ("Image/new".into(), Action::Create, vec![]),
                (
                    "Image/same".into(),
                    Action::Replace,
                    vec!["base image b will be replaced".into()]
                ),
            ]
        );
        // Identical sets: nothing to do, however the files were arranged.
        assert!(!between(&before, &before).has_changes());
    }

    #[test]
    fn between_two_revisions_whose_templates_differ() {
        use crate::build::identity::Identity;
        use crate::model::Language;

        let resources = [base("b", "x/b:1"), image("i", "b", None)];
        let at = |text: &str| {
            let mut declarations = declared(&resources);
            let template = (Language::Python3, "t/py.Dockerfile".to_string(), text);
            Identity::new([template], &Default::default(), &[]).attach(&mut declarations, None);
            declarations
        };
        assert!(!between(&at("FROM a"), &at("FROM a")).has_changes());
        assert_eq!(
            actions(&between(&at("FROM a"), &at("FROM b"))),
            vec![(
                "Image/i".into(),
                Action::Replace,
                vec!["template t/py.Dockerfile changed".into()]
            )]
        );
        // A side whose inputs are not known changes nothing.
        assert!(!between(&declared(&resources), &at("FROM b")).has_changes());
    }
}
