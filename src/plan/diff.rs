//! One resource before and after: which action that takes, and why.

use std::collections::BTreeMap;

use super::{Action, ActionReason, Change};
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
            Action::NoOp | Action::Create | Action::Update => None,
        },
        before: before.cloned(),
        after: after.cloned(),
        digest: None,
    }
}

/// Field-by-field comparison of two different specs: tags alone change in place, anything
/// an image is made of forces a replacement.
pub(super) fn compare(before: &Resource, after: &Resource) -> (Action, Vec<String>) {
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
