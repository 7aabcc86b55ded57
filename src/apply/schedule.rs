//! The order of an apply, as a pure state machine over the plan's dependency graph: a build
//! waits for its base's pull, a base's deletion for the images built on it; what waits on a
//! failure is skipped; once cancelled, nothing new starts.

use std::collections::{HashMap, HashSet};

use crate::model::{Address, Kind};
use crate::plan::{Action, Change, Plan};

/// What the scheduler says to do next.
#[derive(Debug, PartialEq)]
pub enum Next<'p> {
    Start(&'p Change),
    /// Never run, because `because` failed (or was skipped itself).
    Skip {
        change: &'p Change,
        because: Address,
    },
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

    /// What to do now that `running` steps run: skip whatever waits on a failure, and start
    /// what is ready, in plan order, while fewer than `parallelism` run, unless `cancelled`.
    pub fn next(&mut self, running: usize, parallelism: usize, cancelled: bool) -> Vec<Next<'p>> {
        let mut next = Vec::new();
        let mut started = 0;
        let mut index = 0;
        while index < self.pending.len() {
            let change = self.pending[index];
            let waits = &self.waits_for[&change.address];
            if let Some(broken) = waits.iter().find(|a| self.failed.contains(*a)) {
                next.push(Next::Skip {
                    change,
                    because: broken.clone(),
                });
                self.failed.insert(change.address.clone());
                self.pending.remove(index);
            } else if waits.iter().all(|a| self.succeeded.contains(a))
                && running + started < parallelism.max(1)
                && !cancelled
            {
                next.push(Next::Start(change));
                started += 1;
                self.pending.remove(index);
            } else {
                index += 1;
            }
        }
        next
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

    fn names(next: &[Next<'_>]) -> Vec<String> {
        next.iter()
            .map(|n| match n {
                Next::Start(c) => format!("start {}", c.address),
                Next::Skip { change, because } => format!("skip {} ({because})", change.address),
            })
            .collect()
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
        assert_eq!(
            names(&schedule.next(0, 4, false)),
            ["start BaseImage/a", "start Image/j"]
        );
        assert!(schedule.next(2, 4, false).is_empty());
        schedule.finished(&Address::new(Kind::BaseImage, "a"), true);
        assert_eq!(names(&schedule.next(1, 4, false)), ["start Image/i"]);
        assert_eq!(schedule.not_started(), 0);
    }

    #[test]
    fn parallelism_bounds_what_runs() {
        let plan = plan(
            (0..5)
                .map(|i| change(Action::Create, base(&format!("b{i}"))))
                .collect(),
        );
        let mut schedule = Schedule::new(&plan);
        assert_eq!(schedule.next(0, 2, false).len(), 2);
        assert_eq!(schedule.next(2, 2, false).len(), 0);
        assert_eq!(schedule.next(1, 2, false).len(), 1);
        // Zero means one, not none.
        assert_eq!(schedule.next(0, 0, false).len(), 1);
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
        assert_eq!(schedule.next(0, 4, false).len(), 2);
        schedule.finished(&Address::new(Kind::BaseImage, "a"), false);
        schedule.finished(&Address::new(Kind::BaseImage, "b"), true);
        assert_eq!(
            names(&schedule.next(0, 4, false)),
            ["skip Image/i (BaseImage/a)", "start Image/j"]
        );
    }

    #[test]
    fn a_cancelled_apply_starts_nothing_new() {
        let plan = plan(vec![
            change(Action::Create, base("a")),
            change(Action::Create, base("b")),
        ]);
        let mut schedule = Schedule::new(&plan);
        assert_eq!(schedule.next(0, 1, false).len(), 1);
        assert!(schedule.next(0, 1, true).is_empty());
        assert_eq!(schedule.not_started(), 1);
    }

    #[test]
    fn a_step_put_back_starts_again_first() {
        let plan = plan(vec![
            change(Action::Create, base("a")),
            change(Action::Create, base("b")),
        ]);
        let mut schedule = Schedule::new(&plan);
        let first = schedule.next(0, 1, false);
        let [Next::Start(a)] = first[..] else {
            panic!("{first:?}")
        };
        schedule.retry(a);
        assert_eq!(names(&schedule.next(0, 1, false)), ["start BaseImage/a"]);
        assert_eq!(schedule.not_started(), 1);
    }

    #[test]
    fn a_base_is_deleted_after_the_images_built_on_it() {
        let plan = plan(vec![
            change(Action::Delete, base("a")),
            change(Action::Delete, image("i", "a")),
        ]);
        let mut schedule = Schedule::new(&plan);
        assert_eq!(names(&schedule.next(0, 4, false)), ["start Image/i"]);
        schedule.finished(&Address::new(Kind::Image, "i"), true);
        assert_eq!(names(&schedule.next(0, 4, false)), ["start BaseImage/a"]);
    }
}
