//! What a finished step changes in the state, and the tally of an apply: pure functions of the
//! outcome (and the time, passed in).

use crate::build::identity::Identity;
use crate::model::image::BuildFailure;
use crate::model::inputs::Inputs;
use crate::model::{Address, Kind, Revision, Spec};
use crate::plan::{Action, Change, Plan};
use crate::state::{Observed, ResourceState, State, Status};

/// When a step ended, and the commit its declaration came from: what its record says.
#[derive(Debug, Clone, Copy)]
pub struct Stamp<'a> {
    pub time: &'a str,
    pub revision: Option<&'a Revision>,
}

/// What a successful step leaves behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Done {
    Pulled(Observed),
    Built(Observed),
    /// An image already built with the same inputs: nothing was built.
    Reused(Observed),
    /// An image built earlier but never pushed: pushed now.
    Pushed(Observed),
    /// An image rebased onto its base patched in place, in the registry: nothing built.
    Rebased(Observed),
    Updated,
    Deleted,
}

impl Done {
    /// Whether what it records is an image the engine the step ran on holds: pulled or built
    /// there, or found built there (and pushed now, or already pushed). An image found only
    /// in the registry, or rebased there, is in no engine.
    pub fn in_engine(&self) -> bool {
        match self {
            Done::Pulled(_) | Done::Built(_) => true,
            Done::Pushed(observed) | Done::Reused(observed) => observed.image_id.is_some(),
            Done::Rebased(_) | Done::Updated | Done::Deleted => false,
        }
    }
}

/// How a step ended, as the progress shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Done,
    Failed,
    /// Not run, because something it needs failed.
    Skipped,
}

/// An engine of the pool that stopped answering during an apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gone {
    pub engine: String,
    /// When it was found gone (RFC 3339).
    pub at: String,
    /// How many of its steps went to each other engine, by name.
    pub moved: Vec<(String, usize)>,
}

/// What an apply did, counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    pub pulled: usize,
    pub built: usize,
    /// Images whose tag already existed, so nothing was built.
    pub reused: usize,
    /// Images rebased onto their base patched in place.
    pub rebased: usize,
    pub updated: usize,
    pub deleted: usize,
    pub failed: usize,
    pub skipped: usize,
    pub not_started: usize,
    /// The engines that went away, in the order they did.
    pub gone: Vec<Gone>,
}

impl Tally {
    pub fn succeeded(&self) -> bool {
        self.failed == 0 && self.skipped == 0 && self.not_started == 0
    }
}

/// Records a finished step, and the `inputs` of the image it built or found, counts it, and
/// says in a few words what it did.
pub fn success(
    state: &mut State,
    change: &Change,
    done: Done,
    mut inputs: Option<Inputs>,
    tally: &mut Tally,
    stamp: Stamp<'_>,
) -> String {
    let (observed, message) = match done {
        Done::Deleted => {
            state.resources.remove(&change.address);
            tally.deleted += 1;
            return "deleted".into();
        }
        Done::Updated => {
            tally.updated += 1;
            // The image is the same: what it was built from too.
            let kept = state.resources.get(&change.address);
            inputs = kept.and_then(|r| r.build_inputs.clone());
            (
                kept.and_then(|r| r.observed.clone()),
                "tags updated".to_string(),
            )
        }
        Done::Pulled(observed) => {
            tally.pulled += 1;
            let message = format!(
                "pulled ({})",
                observed
                    .digest
                    .as_deref()
                    .or(observed.image_id.as_deref())
                    .unwrap_or_default()
            );
            (Some(observed), message)
        }
        Done::Built(observed) => {
            tally.built += 1;
            let message = format!(
                "built {}",
                observed.reference.as_deref().unwrap_or_default()
            );
            (Some(observed), message)
        }
        Done::Pushed(observed) => {
            tally.reused += 1;
            let message = format!(
                "pushed {}, built earlier",
                observed.reference.as_deref().unwrap_or_default()
            );
            (Some(observed), message)
        }
        Done::Rebased(observed) => {
            tally.rebased += 1;
            let message = format!(
                "rebased as {}",
                observed.reference.as_deref().unwrap_or_default()
            );
            (Some(observed), message)
        }
        Done::Reused(observed) => {
            tally.reused += 1;
            let message = format!(
                "already built as {}",
                observed.reference.as_deref().unwrap_or_default()
            );
            (Some(observed), message)
        }
    };
    record(
        state,
        change,
        Status::Ready,
        Vec::new(),
        observed,
        inputs,
        stamp,
    );
    message
}

/// Records a failed step, with its reason, one line an entry.
pub fn failure(
    state: &mut State,
    change: &Change,
    reason: &str,
    tally: &mut Tally,
    stamp: Stamp<'_>,
) {
    tally.failed += 1;
    let reason = reason.lines().map(str::to_string).collect();
    record(state, change, Status::Error, reason, None, None, stamp);
}

/// Records the build inputs of each image `plan` leaves alone that `state` holds without them
/// (a dispatch that kept no such record built it): it is taken as built from the inputs
/// `identity` gives it now, and is not built again. The addresses recorded, to be saved.
pub fn adopt_inputs(state: &mut State, plan: &Plan, identity: &Identity) -> Vec<Address> {
    let mut adopted = Vec::new();
    for change in plan.changes.iter().filter(|c| c.action == Action::NoOp) {
        let Some(entry) = state.resources.get(&change.address) else {
            continue;
        };
        let Spec::Image(image) = &entry.resource.spec else {
            continue;
        };
        if entry.status != Status::Ready || entry.build_inputs.is_some() {
            continue;
        }
        let base = Address::new(Kind::BaseImage, image.base_image_name.as_str());
        let language = match state.resources.get(&base).map(|b| &b.resource.spec) {
            Some(Spec::BaseImage(base)) => base.language,
            _ => continue,
        };
        let inputs = Inputs::clone(&identity.inputs(language));
        if let Some(entry) = state.resources.get_mut(&change.address) {
            entry.build_inputs = Some(inputs);
            adopted.push(change.address.clone());
        }
    }
    adopted
}

/// Why building `reference` failed: the engine's message, the step, its last lines.
pub fn build_failure_reason(reference: &str, failure: &BuildFailure) -> String {
    let mut reason = format!("error when building image {reference}: {}", failure.message);
    if let Some(step) = &failure.step {
        reason.push_str(&format!("\nfailed at {step}"));
    }
    for line in &failure.last_lines {
        reason.push_str(&format!("\n  {line}"));
    }
    reason
}

fn record(
    state: &mut State,
    change: &Change,
    status: Status,
    reason: Vec<String>,
    observed: Option<Observed>,
    inputs: Option<Inputs>,
    stamp: Stamp<'_>,
) {
    let Some(resource) = change.after.clone().or_else(|| change.before.clone()) else {
        return;
    };
    let created_time = state
        .resources
        .get(&change.address)
        .map_or_else(|| stamp.time.to_string(), |r| r.created_time.clone());
    let entry = ResourceState {
        spec_digest: resource.digest(),
        resource,
        status,
        reason,
        created_time,
        modified_time: stamp.time.to_string(),
        observed,
        revision: stamp.revision.cloned(),
        build_inputs: inputs,
        engine: state
            .resources
            .get(&change.address)
            .and_then(|r| r.engine.clone()),
    };
    state.resources.insert(change.address.clone(), entry);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Language;
    use crate::model::image::Step;
    use crate::plan::Observations;
    use crate::testing::{applied, base, declared, image};

    fn create(name: &str) -> Change {
        let resource = crate::testing::base(name, "x/y:1");
        Change {
            address: resource.address(),
            action: Action::Create,
            reasons: vec![],
            action_reason: None,
            before: None,
            after: Some(resource),
            digest: None,
            rebase: None,
        }
    }

    #[test]
    fn successes_are_ready_failures_keep_their_reason_and_creation_stays() {
        let mut state = State::new();
        let mut tally = Tally::default();
        let change = create("b");
        let failed = "error when pulling image x/y:1: manifest unknown\nsecond line";
        let at = |time| Stamp {
            time,
            revision: None,
        };
        failure(&mut state, &change, failed, &mut tally, at("t1"));
        let entry = &state.resources[&change.address];
        assert_eq!(entry.status, Status::Error);
        assert_eq!(entry.reason.len(), 2);
        assert_eq!(entry.observed, None);
        let pulled = Observed {
            image_id: Some("sha256:id".into()),
            digest: Some("sha256:d".into()),
            reference: None,
            created: None,
            ..Default::default()
        };
        let revision = Revision {
            commit: "0123456789abcdef".into(),
            dirty: true,
        };
        let stamped = Stamp {
            time: "t2",
            revision: Some(&revision),
        };
        let message = success(
            &mut state,
            &change,
            Done::Pulled(pulled.clone()),
            None,
            &mut tally,
            stamped,
        );
        assert_eq!(message, "pulled (sha256:d)");
        let entry = &state.resources[&change.address];
        assert_eq!(
            (
                entry.status,
                entry.created_time.as_str(),
                entry.modified_time.as_str()
            ),
            (Status::Ready, "t1", "t2")
        );
        assert_eq!(entry.observed, Some(pulled));
        assert_eq!(entry.revision.as_ref(), Some(&revision));
        assert_eq!(entry.spec_digest, change.after.as_ref().unwrap().digest());
        assert_eq!(
            success(
                &mut state,
                &change,
                Done::Deleted,
                None,
                &mut tally,
                at("t3")
            ),
            "deleted"
        );
        assert!(state.resources.is_empty());
        assert_eq!(
            tally,
            Tally {
                pulled: 1,
                deleted: 1,
                failed: 1,
                ..Tally::default()
            }
        );
        assert!(!tally.succeeded());
    }

    #[test]
    fn build_failures_name_the_step_and_its_last_lines() {
        let failure = BuildFailure {
            message: "the step's command returned a non-zero code: 1".into(),
            step: Some(Step {
                number: 2,
                of: 2,
                text: "RUN make".into(),
            }),
            last_lines: vec!["cc: error".into()],
        };
        assert_eq!(
            build_failure_reason("dispatch/i:abc", &failure),
            "error when building image dispatch/i:abc: the step's command returned a non-zero code: 1\nfailed at Step 2/2 : RUN make\n  cc: error"
        );
    }

    #[test]
    fn images_recorded_without_inputs_take_the_current_ones_unbuilt() {
        let resources = [
            base("b", "x/b:1"),
            image("old", "b", None),
            image("changed", "b", Some("x==1")),
            image("failed", "b", None),
            image("recorded", "b", None),
        ];
        let mut state = applied(&resources);
        let at = |name: &str| Address::new(Kind::Image, name);
        state.resources.get_mut(&at("failed")).unwrap().status = Status::Error;
        let earlier = Inputs::default();
        state
            .resources
            .get_mut(&at("recorded"))
            .unwrap()
            .build_inputs = Some(earlier.clone());
        let mut wanted = resources.to_vec();
        wanted[2] = image("changed", "b", Some("x==2"));
        let plan = crate::plan::plan(
            &declared(&wanted),
            Some(&state),
            &Observations::default(),
            &[],
        )
        .unwrap();
        let identity = Identity::new(
            [(Language::Python3, "t.Dockerfile".to_string(), "FROM x")],
            &Default::default(),
            &[],
        );
        let adopted = adopt_inputs(&mut state, &plan, &identity);
        // Not a base, not what the plan rebuilds, not a failure, not what has its record.
        assert_eq!(adopted, [at("old")]);
        let inputs = |name: &str| state.resources[&at(name)].build_inputs.clone();
        assert_eq!(
            inputs("old"),
            Some(Inputs::clone(&identity.inputs(Language::Python3)))
        );
        assert_eq!(inputs("changed"), None);
        assert_eq!(inputs("failed"), None);
        assert_eq!(inputs("recorded"), Some(earlier));
        assert!(adopt_inputs(&mut state, &plan, &identity).is_empty());
    }
}
