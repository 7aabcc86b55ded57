//! Apply: run a plan's changes against the engine and registries as a dependency graph (pulls
//! first, each build as soon as its base is ready), saving the state after every resource.
//! [`schedule`] decides the order, [`step`] does one change (a rebase in `rebase`), [`record`]
//! writes it down.

mod rebase;
pub mod record;
pub mod schedule;
pub mod step;

use std::sync::atomic::{AtomicBool, Ordering};

use futures_util::stream::{FuturesUnordered, StreamExt};

use crate::engine::Engine;
use crate::model::Address;
use crate::model::image::Progress;
use crate::model::policy::Policy;
use crate::plan::Plan;
use crate::registry::Registry;
use crate::state::{Catalogs, State, StateError, StateLock};
use record::{Outcome, Stamp, Tally};
use schedule::{Next, Schedule};
use step::Finished;
pub use step::Options;

/// Receives what an apply is doing. Shared by every running step.
pub trait Reporter: Sync {
    fn started(&self, address: &Address, what: &str);
    fn progress(&self, address: &Address, progress: &Progress);
    fn finished(&self, address: &Address, outcome: Outcome, message: &str);
}

/// Everything a step needs besides its own change.
pub struct Context<'a, E, R> {
    pub engine: &'a E,
    pub registries: &'a R,
    pub options: &'a Options,
    /// Where the catalog of each pulled or built image is recorded.
    pub catalogs: &'a dyn Catalogs,
    /// What images may hold: one that breaks an error-severity rule is refused, not pushed.
    pub policies: &'a [Policy],
    pub reporter: &'a dyn Reporter,
    /// Set on Ctrl-C: no new step starts; running ones finish.
    pub cancel: &'a AtomicBool,
}

/// Runs every change of `plan` that is not a no-op, recording each result in `state` and
/// checkpointing it as each step ends.
pub async fn run<E: Engine, R: Registry>(
    plan: &Plan,
    state: &mut State,
    lock: &dyn StateLock,
    cx: &Context<'_, E, R>,
) -> Result<Tally, StateError> {
    let mut schedule = Schedule::new(plan);
    let mut tally = Tally::default();
    let mut running = FuturesUnordered::new();
    loop {
        let cancelled = cx.cancel.load(Ordering::SeqCst);
        for next in schedule.next(running.len(), cx.options.parallelism, cancelled) {
            match next {
                Next::Skip { change, because } => {
                    let message = format!("{because} failed");
                    cx.reporter
                        .finished(&change.address, Outcome::Skipped, &message);
                    tally.skipped += 1;
                }
                Next::Start(change) => {
                    let recorded = step::Recorded::from_state(change, state);
                    running.push(async move { (change, step::run(change, recorded, cx).await) });
                }
            }
        }
        let Some((change, result)) = running.next().await else {
            break;
        };
        let now = crate::host::now();
        let stamp = Stamp {
            time: &now,
            revision: cx.options.revision.as_ref(),
        };
        let succeeded = result.is_ok();
        let (outcome, mut message, leftover) = match result {
            Ok(Finished {
                done,
                leftover,
                note,
                inputs,
            }) => {
                let mut message = record::success(state, change, done, inputs, &mut tally, stamp);
                if let Some(note) = note {
                    message.push_str(&format!(" ({note})"));
                }
                (Outcome::Done, message, leftover)
            }
            Err(error) => {
                let reason = error.to_string();
                record::failure(state, change, &reason, &mut tally, stamp);
                (Outcome::Failed, reason, None)
            }
        };
        schedule.finished(&change.address, succeeded);
        lock.checkpoint(state, &change.address)?;
        // Only once the state no longer names it is an image removed: a kill in between
        // leaves an unused image behind, never a resource recorded READY without its image.
        if let Some(image) = leftover
            && let Err(e) = cx.engine.remove(&image).await
        {
            message.push_str(&format!(
                " (the image it leaves, {image}, was not removed: {e})"
            ));
        }
        cx.reporter.finished(&change.address, outcome, &message);
    }
    lock.finish(state)?;
    tally.not_started = schedule.not_started();
    Ok(tally)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use super::*;
    use crate::engine::fake::FakeEngine;
    use crate::model::{Kind, Resource};
    use crate::plan::{self, Observations};
    use crate::registry::fake::FakeRegistry;
    use crate::state::memory::MemoryBackend;
    use crate::state::{Backend, Status, conformance};
    use crate::testing;

    /// Every event, as `address: outcome message`.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<String>>);

    impl Reporter for Recorder {
        fn started(&self, _: &Address, _: &str) {}
        fn progress(&self, _: &Address, _: &Progress) {}
        fn finished(&self, address: &Address, outcome: Outcome, message: &str) {
            let first = message.lines().next().unwrap_or_default();
            self.0
                .lock()
                .unwrap()
                .push(format!("{address}: {outcome:?} {first}"));
        }
    }

    fn base(name: &str) -> Resource {
        testing::base(name, &format!("127.0.0.1:5000/base/{name}:1"))
    }

    fn image(name: &str, base: &str) -> Resource {
        testing::image(name, base, None)
    }

    /// An engine whose registry holds the bases `names`.
    fn offering(names: &[&str]) -> FakeEngine {
        let references: Vec<String> = names
            .iter()
            .map(|name| format!("127.0.0.1:5000/base/{name}:1"))
            .collect();
        let references: Vec<&str> = references.iter().map(String::as_str).collect();
        FakeEngine::pulling_from(FakeRegistry::holding(&references))
    }

    fn plan_of(resources: &[Resource]) -> Plan {
        let declarations = testing::declared(resources);
        plan::plan(&declarations, None, &Observations::default(), &[]).unwrap()
    }

    struct Outcomes {
        tally: Tally,
        events: Vec<String>,
        backend: MemoryBackend,
    }

    fn apply(
        plan: &Plan,
        engine: &FakeEngine,
        parallelism: usize,
        cancel: &AtomicBool,
    ) -> Outcomes {
        let backend = MemoryBackend::default();
        let lock = backend
            .lock(Duration::ZERO, &conformance::holder("apply"))
            .unwrap();
        let reporter = Recorder::default();
        let options = Options {
            parallelism,
            ..Options::default()
        };
        let cx = Context {
            engine,
            registries: engine.registry(),
            options: &options,
            catalogs: &backend,
            policies: &[],
            reporter: &reporter,
            cancel,
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let mut state = State::new();
        let tally = runtime
            .block_on(run(plan, &mut state, lock.as_ref(), &cx))
            .unwrap();
        Outcomes {
            tally,
            events: reporter.0.into_inner().unwrap(),
            backend,
        }
    }

    /// Asserts that the events, sorted (steps run concurrently), start with `want`.
    fn assert_events(out: &Outcomes, want: &[&str]) {
        let mut got = out.events.clone();
        got.sort();
        assert_eq!(got.len(), want.len(), "{got:#?}");
        for (got_one, want_one) in got.iter().zip(want) {
            assert!(got_one.starts_with(want_one), "{got:#?}");
        }
    }

    fn status(backend: &MemoryBackend, kind: Kind, name: &str) -> Option<Status> {
        let state = backend.load().unwrap().unwrap();
        state
            .resources
            .get(&Address::new(kind, name))
            .map(|r| r.status)
    }

    #[test]
    fn independent_work_goes_on_after_a_failure_and_dependents_are_skipped() {
        let plan = plan_of(&[base("a"), base("b"), image("i", "a"), image("j", "b")]);
        // The registry lacks base a.
        let engine = offering(&["b"]);
        let out = apply(&plan, &engine, 4, &AtomicBool::new(false));
        assert_eq!(
            out.tally,
            Tally {
                pulled: 1,
                built: 1,
                failed: 1,
                skipped: 1,
                ..Tally::default()
            }
        );
        assert_events(
            &out,
            &[
                "BaseImage/a: Failed error when pulling image 127.0.0.1:5000/base/a:1: manifest for 127.0.0.1:5000/base/a:1 not found: manifest unknown",
                "BaseImage/b: Done pulled (sha256:",
                "Image/i: Skipped BaseImage/a failed",
                "Image/j: Done built dispatch/j:",
            ],
        );
        assert_eq!(
            status(&out.backend, Kind::BaseImage, "a"),
            Some(Status::Error)
        );
        assert_eq!(
            status(&out.backend, Kind::BaseImage, "b"),
            Some(Status::Ready)
        );
        assert_eq!(status(&out.backend, Kind::Image, "j"), Some(Status::Ready));
        assert_eq!(
            status(&out.backend, Kind::Image, "i"),
            None,
            "a skipped image is not recorded"
        );
        let state = out.backend.load().unwrap().unwrap();
        assert_eq!(
            state.resources[&Address::new(Kind::BaseImage, "a")].reason,
            [
                "error when pulling image 127.0.0.1:5000/base/a:1: manifest for 127.0.0.1:5000/base/a:1 not found: manifest unknown: manifest unknown"
            ]
        );
        assert_eq!(
            engine
                .calls()
                .iter()
                .filter(|c| c.starts_with("build"))
                .count(),
            1,
            "{:?}",
            engine.calls()
        );
    }

    #[test]
    fn a_failed_build_is_recorded_with_its_step_and_the_rest_is_built() {
        // With requirements to install: a build with a step that runs a command.
        let bad = testing::image("bad", "a", Some("requests==2.31.0\n"));
        let plan = plan_of(&[base("a"), bad, image("good", "a")]);
        let engine = offering(&["a"]).failing_build("dispatch/bad:");
        let out = apply(&plan, &engine, 4, &AtomicBool::new(false));
        assert_eq!((out.tally.built, out.tally.failed), (1, 1));
        let state = out.backend.load().unwrap().unwrap();
        let reason = &state.resources[&Address::new(Kind::Image, "bad")].reason;
        assert!(
            reason[0].starts_with("error when building image dispatch/bad:"),
            "{reason:?}"
        );
        assert_eq!(
            reason[1..],
            [
                "failed at Step 3/3 : RUN set -e; cd /function; PIP_BREAK_SYSTEM_PACKAGES=1 pip3 install --no-cache-dir -r requirements.txt"
            ]
        );
        assert_eq!(
            status(&out.backend, Kind::Image, "good"),
            Some(Status::Ready)
        );
    }

    #[test]
    fn an_interrupt_lets_running_work_finish_and_starts_nothing_new() {
        let plan = plan_of(&[base("a"), base("b"), base("c"), image("i", "a")]);
        static CANCEL: AtomicBool = AtomicBool::new(false);
        let engine = offering(&["a", "b", "c"]).on_call(|call| {
            if call.ends_with("/a:1") {
                // Ctrl-C while the first pull runs.
                CANCEL.store(true, Ordering::SeqCst);
            }
        });
        let out = apply(&plan, &engine, 1, &CANCEL);
        assert_eq!(engine.calls(), ["pull 127.0.0.1:5000/base/a:1"]);
        assert_eq!(out.tally.pulled, 1, "the running pull finished");
        assert_eq!(out.tally.not_started, 3);
        assert!(!out.tally.succeeded());
        assert_eq!(
            status(&out.backend, Kind::BaseImage, "a"),
            Some(Status::Ready)
        );
        assert_eq!(status(&out.backend, Kind::BaseImage, "b"), None);
    }

    #[test]
    fn the_state_is_saved_after_each_resource() {
        let plan = plan_of(&[base("a"), base("b"), image("i", "a"), image("j", "b")]);
        let engine = offering(&["a", "b"]);
        let out = apply(&plan, &engine, 2, &AtomicBool::new(false));
        let saves = out.backend.saves();
        assert_eq!(saves.len(), 4, "one save per finished resource");
        let sizes: Vec<usize> = saves.iter().map(|s| s.resources.len()).collect();
        assert_eq!(sizes, [1, 2, 3, 4]);
        let serials: Vec<u64> = saves.iter().map(|s| s.serial).collect();
        assert_eq!(serials, [1, 2, 3, 4]);
        // Each image is saved after its base.
        let first_with =
            |address: &Address| saves.iter().position(|s| s.resources.contains_key(address));
        for (image, base) in [("i", "a"), ("j", "b")] {
            assert!(
                first_with(&Address::new(Kind::BaseImage, base))
                    < first_with(&Address::new(Kind::Image, image))
            );
        }
    }
}
