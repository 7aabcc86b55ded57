//! The order of an apply, as a pure state machine over the plan's dependency graph: a build
//! waits for its base's pull, a base's deletion for the images built on it; what waits on a
//! failure is skipped. Which of the ready steps start, and where, is [`super::placement`]'s.

use std::collections::{HashMap, HashSet};

use crate::model::{Address, Kind};
use crate::plan::{Action, Change, Plan};

/// A step never run, because `because` failed (or was skipped itself).
#[derive(Debug, PartialEq)]
pub struct Skipped<'p> {
    pub change: &'p Change,
    pub because: Address,
}

/// The steps of a plan that are left, and how those that ran went.
#[derive(Debug)]
pub struct Schedule<'p> {
    /// Not started yet, in plan order (bases first).
    pending: Vec<&'p Change>,
    waits_for: HashMap<Address, Vec<Address>>,
    succeeded: HashSet<Address>,
    failed: HashSet<Address>,
}

impl<'p> Schedule<'p> {
    /// Every change of `plan` that is not a no-op.
    pub fn new(plan: &'p Plan) -> Self {
        let pending: Vec<&Change> = plan
            .changes
            .iter()
            .filter(|c| c.action != Action::NoOp)
            .collect();
        Schedule {
            waits_for: dependencies(&pending),
            pending,
            succeeded: HashSet::new(),
            failed: HashSet::new(),
        }
    }

    /// Skips whatever waits on a failure (a skipped step fails what waits on it in turn),
    /// and says what.
    pub fn skip(&mut self) -> Vec<Skipped<'p>> {
        let mut skipped = Vec::new();
        let mut index = 0;
        while index < self.pending.len() {
            let change = self.pending[index];
            let waits = &self.waits_for[&change.address];
            match waits.iter().find(|a| self.failed.contains(*a)) {
                Some(broken) => {
                    skipped.push(Skipped {
                        change,
                        because: broken.clone(),
                    });
                    self.failed.insert(change.address.clone());
                    self.pending.remove(index);
                }
                None => index += 1,
            }
        }
        skipped
    }

    /// The steps that may start now, every one they wait for done, in plan order.
    pub fn ready(&self) -> Vec<&'p Change> {
        (self.pending.iter().copied())
            .filter(|c| {
                self.waits_for[&c.address]
                    .iter()
                    .all(|a| self.succeeded.contains(a))
            })
            .collect()
    }

    /// Takes `change`, one that was ready, out of what is left: it started.
    pub fn start(&mut self, change: &Change) {
        self.pending.retain(|c| c.address != change.address);
    }

    /// Records how a started step ended.
    pub fn finished(&mut self, address: &Address, succeeded: bool) {
        let set = if succeeded {
            &mut self.succeeded
        } else {
            &mut self.failed
        };
        set.insert(address.clone());
    }

    /// Puts a started step back, first in line: the engine it ran on went away.
    pub fn retry(&mut self, change: &'p Change) {
        self.pending.insert(0, change);
    }

    /// How many steps never started (after a cancel).
    pub fn not_started(&self) -> usize {
        self.pending.len()
    }
}

/// For each step, the steps it must wait for: a build waits for its base's pull; a base's
/// deletion waits for the images that were built on it.
fn dependencies(steps: &[&Change]) -> HashMap<Address, Vec<Address>> {
    let in_plan: HashMap<&Address, Action> = steps.iter().map(|c| (&c.address, c.action)).collect();
    steps
        .iter()
        .map(|change| {
            let mut waits = Vec::new();
            if let Some(base) = change.after.as_ref().and_then(|r| r.depends_on())
                && in_plan.get(&base).is_some_and(|a| *a != Action::Delete)
            {
                waits.push(base);
            }
            if change.address.kind == Kind::BaseImage && change.action == Action::Delete {
                waits.extend(
                    steps
                        .iter()
                        .filter(|c| {
                            c.before.as_ref().and_then(|r| r.depends_on()).as_ref()
                                == Some(&change.address)
                        })
                        .map(|c| c.address.clone()),
                );
            }
            (change.address.clone(), waits)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Resource;
    use crate::testing;

    fn base(name: &str) -> Resource {
        testing::base(name, "x/y:1")
    }

    fn image(name: &str, base: &str) -> Resource {
        testing::image(name, base, None)
    }

    fn change(action: Action, resource: Resource) -> Change {
        let (before, after) = match action {
            Action::Delete => (Some(resource.clone()), None),
            Action::Create => (None, Some(resource.clone())),
            _ => (Some(resource.clone()), Some(resource.clone())),
        };
        Change {
            address: resource.address(),
            action,
            reasons: vec![],
            action_reason: None,
            before,
            after,
            digest: None,
            rebase: None,
        }
    }

    fn names(changes: &[&Change]) -> Vec<String> {
        changes.iter().map(|c| c.address.to_string()).collect()
    }

    /// Starts every ready step; their names.
    fn start_ready(schedule: &mut Schedule<'_>) -> Vec<String> {
        let ready = schedule.ready();
        for change in &ready {
            schedule.start(change);
        }
        names(&ready)
    }

    fn plan(changes: Vec<Change>) -> Plan {
        let mut changes = changes;
        changes.sort_by(|a, b| a.address.cmp(&b.address));
        Plan {
            changes,
            ..Plan::default()
        }
    }

    #[test]
    fn builds_wait_for_their_base_and_no_ops_never_run() {
        let plan = plan(vec![
            change(Action::Create, base("a")),
            change(Action::NoOp, base("b")),
            change(Action::Create, image("i", "a")),
            change(Action::Create, image("j", "b")),
        ]);
        let mut schedule = Schedule::new(&plan);
        assert_eq!(start_ready(&mut schedule), ["BaseImage/a", "Image/j"]);
        assert!(schedule.ready().is_empty());
        schedule.finished(&Address::new(Kind::BaseImage, "a"), true);
        assert_eq!(start_ready(&mut schedule), ["Image/i"]);
        assert_eq!(schedule.not_started(), 0);
    }

    #[test]
    fn what_is_ready_stays_ready_until_it_starts() {
        let plan = plan(
            (0..3)
                .map(|i| change(Action::Create, base(&format!("b{i}"))))
                .collect(),
        );
        let mut schedule = Schedule::new(&plan);
        let ready = schedule.ready();
        assert_eq!(
            names(&ready),
            ["BaseImage/b0", "BaseImage/b1", "BaseImage/b2"]
        );
        schedule.start(ready[1]);
        assert_eq!(names(&schedule.ready()), ["BaseImage/b0", "BaseImage/b2"]);
        assert_eq!(schedule.not_started(), 2);
    }

    #[test]
    fn what_waits_on_a_failure_is_skipped_and_the_rest_goes_on() {
        let plan = plan(vec![
            change(Action::Create, base("a")),
            change(Action::Create, base("b")),
            change(Action::Create, image("i", "a")),
            change(Action::Create, image("j", "b")),
        ]);
        let mut schedule = Schedule::new(&plan);
        assert_eq!(start_ready(&mut schedule).len(), 2);
        schedule.finished(&Address::new(Kind::BaseImage, "a"), false);
        schedule.finished(&Address::new(Kind::BaseImage, "b"), true);
        assert_eq!(
            schedule.skip(),
            [Skipped {
                change: &plan.changes[2],
                because: Address::new(Kind::BaseImage, "a")
            }]
        );
        assert_eq!(start_ready(&mut schedule), ["Image/j"]);
    }

    #[test]
    fn a_step_put_back_starts_again_first() {
        let plan = plan(vec![
            change(Action::Create, base("a")),
            change(Action::Create, base("b")),
        ]);
        let mut schedule = Schedule::new(&plan);
        let a = schedule.ready()[0];
        schedule.start(a);
        schedule.retry(a);
        assert_eq!(start_ready(&mut schedule), ["BaseImage/a", "BaseImage/b"]);
        assert_eq!(schedule.not_started(), 0);
    }

    #[test]
    fn a_base_is_deleted_after_the_images_built_on_it() {
        let plan = plan(vec![
            change(Action::Delete, base("a")),
            change(Action::Delete, image("i", "a")),
        ]);
        let mut schedule = Schedule::new(&plan);
        assert_eq!(start_ready(&mut schedule), ["Image/i"]);
        schedule.finished(&Address::new(Kind::Image, "i"), true);
        assert_eq!(start_ready(&mut schedule), ["BaseImage/a"]);
    }
}
