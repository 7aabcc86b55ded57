//! Apply: run a plan's changes against the engine and registries as a dependency graph (pulls
//! first, each build as soon as its base is ready), saving the state after every resource.
//! [`schedule`] decides the order, [`step`] does one change (a rebase in `rebase`), [`record`]
//! writes it down.

pub mod placement;
mod rebase;
pub mod record;
pub mod schedule;
pub mod step;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use futures_util::stream::{FuturesUnordered, StreamExt};

use crate::advisory::Index;
use crate::engine::Engine;
use crate::model::Address;
use crate::model::image::Progress;
use crate::model::policy::Policy;
use crate::plan::Plan;
use crate::registry::Registry;
use crate::state::{Catalogs, State, StateError, StateLock};
use placement::{Needs, Pool};
use record::{Gone, Outcome, Stamp, Tally};
use schedule::{Schedule, Skipped};
use step::Finished;
pub use step::Options;

/// Receives what an apply is doing. Shared by every running step.
pub trait Reporter: Sync {
    fn started(&self, address: &Address, what: &str);
    fn progress(&self, address: &Address, progress: &Progress);
    fn finished(&self, address: &Address, outcome: Outcome, message: &str);
}

/// One engine of the pool an apply spreads its steps over.
pub struct Member<E> {
    pub name: String,
    /// At most this many steps at once on it.
    pub parallelism: usize,
    pub engine: E,
}

/// Everything a step needs besides its own change.
pub struct Context<'a, E, R> {
    /// The engine a step runs on: [`run`] sets it, for each step, to the one of `pool` that
    /// [`placement`] chose.
    pub engine: &'a E,
    /// The engines steps are spread over; one is a pool of one.
    pub pool: &'a [Member<E>],
    /// Whether the state records which engine made each image (`[[engines]]`).
    pub named: bool,
    pub registries: &'a R,
    pub options: &'a Options,
    /// Where the catalog of each pulled or built image is recorded.
    pub catalogs: &'a dyn Catalogs,
    /// What images may hold: one that breaks an error-severity rule is refused, not pushed.
    pub policies: &'a [Policy],
    /// The advisories a `vulnerabilities` rule holds each image to, loaded once per apply.
    pub advisories: Option<&'a Index>,
    pub reporter: &'a dyn Reporter,
    /// Set on Ctrl-C: no new step starts; running ones finish.
    pub cancel: &'a AtomicBool,
}

/// Runs every change of `plan` that is not a no-op over the engines of `cx.pool`, recording
/// each result in `state` and checkpointing it as each step ends. A step that fails on an
/// engine that then does not answer is moved to another (a bounded number of times), and
/// nothing of it is recorded.
pub async fn run<E: Engine, R: Registry>(
    plan: &Plan,
    state: &mut State,
    lock: &dyn StateLock,
    cx: &Context<'_, E, R>,
) -> Result<Tally, StateError> {
    let mut schedule = Schedule::new(plan);
    let mut pool = Pool::new(cx.pool.iter().map(|m| (m.name.as_str(), m.parallelism)));
    for (address, recorded) in &state.resources {
        if let Some(engine) = &recorded.engine {
            pool.holds(engine, address);
        }
    }
    let mut gone: Vec<(usize, String)> = Vec::new();
    // The engine each step put back was moved off.
    let mut moving: HashMap<Address, usize> = HashMap::new();
    let mut tally = Tally::default();
    let mut running = FuturesUnordered::new();
    loop {
        for Skipped { change, because } in schedule.skip() {
            let message = format!("{because} failed");
            (cx.reporter).finished(&change.address, Outcome::Skipped, &message);
            tally.skipped += 1;
        }
        let ready = match cx.cancel.load(Ordering::SeqCst) {
            true => Vec::new(),
            false => schedule.ready(),
        };
        let bases: Vec<Option<Address>> = (ready.iter())
            .map(|change| change.after.as_ref().and_then(|r| r.depends_on()))
            .collect();
        let needs: Vec<Needs> = (ready.iter().zip(&bases))
            .map(|(change, base)| Needs {
                built_on: (state.resources.get(&change.address)).and_then(|r| r.engine.as_deref()),
                base: base.as_ref(),
            })
            .collect();
        for (index, engine) in pool.assign(&needs) {
            let change = ready[index];
            schedule.start(change);
            let recorded = step::Recorded::from_state(change, state);
            if let Some(from) = moving.remove(&change.address) {
                pool.moved(from, engine);
            }
            let on = Context {
                engine: &cx.pool[engine].engine,
                ..*cx
            };
            running.push(async move { (change, engine, step::run(change, recorded, &on).await) });
        }
        let Some((change, engine, result)) = running.next().await else {
            break;
        };
        let now = crate::host::now();
        let mut stranded = None;
        // A failure on an engine that no longer answers is the engine's, not the step's.
        if result.is_err() && (!pool.is_up(engine) || cx.pool[engine].engine.ping().await.is_err())
        {
            pool.finished(engine, &[]);
            let name = pool.name(engine).to_string();
            if pool.down(engine) {
                gone.push((engine, now.clone()));
            }
            match pool.retry(&change.address) {
                Ok(()) => {
                    cx.reporter.started(
                        &change.address,
                        &format!("engine {name} went away: moving it to another engine"),
                    );
                    moving.insert(change.address.clone(), engine);
                    schedule.retry(change);
                    continue;
                }
                Err(why) => stranded = Some(format!("engine {name} went away: {why}")),
            }
        }
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
                let base = change.after.as_ref().and_then(|r| r.depends_on());
                let made = done.in_engine();
                let mut message = record::success(state, change, done, inputs, &mut tally, stamp);
                let held = (made.then_some(&change.address).into_iter()).chain(&base);
                pool.finished(engine, &held.collect::<Vec<_>>());
                if made
                    && cx.named
                    && let Some(recorded) = state.resources.get_mut(&change.address)
                {
                    recorded.engine = Some(pool.name(engine).to_string());
                }
                if let Some(note) = note {
                    message.push_str(&format!(" ({note})"));
                }
                (Outcome::Done, message, leftover)
            }
            Err(error) => {
                if stranded.is_none() {
                    pool.finished(engine, &[]);
                }
                let reason = match stranded {
                    Some(why) => format!("{error}\n{why}"),
                    None => error.to_string(),
                };
                record::failure(state, change, &reason, &mut tally, stamp);
                (Outcome::Failed, reason, None)
            }
        };
        schedule.finished(&change.address, succeeded);
        lock.checkpoint(state, &change.address)?;
        // Only once the state no longer names it is an image removed: a kill in between
        // leaves an unused image behind, never a resource recorded READY without its image.
        if let Some(image) = leftover
            && let Err(e) = cx.pool[engine].engine.remove(&image).await
        {
            message.push_str(&format!(
                " (the image it leaves, {image}, was not removed: {e})"
            ));
        }
        cx.reporter.finished(&change.address, outcome, &message);
    }
    lock.finish(state)?;
    tally.not_started = schedule.not_started();
    let moves = pool.moves();
    tally.gone = (gone.into_iter())
        .map(|(engine, at)| {
            let name = pool.name(engine).to_string();
            let moved = (moves.iter())
                .find(|(from, _)| *from == name)
                .map(|(_, to)| to.clone())
                .unwrap_or_default();
            Gone {
                engine: name,
                at,
                moved,
            }
        })
        .collect();
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
        pool: Vec<Member<FakeEngine>>,
    }

    impl Outcomes {
        /// The calls each engine was asked, by name.
        fn calls(&self, name: &str) -> Vec<String> {
            let member = self.pool.iter().find(|m| m.name == name).unwrap();
            member.engine.calls()
        }
    }

    /// One engine, named as the default one is.
    fn one(engine: FakeEngine, parallelism: usize) -> Vec<Member<FakeEngine>> {
        vec![Member {
            name: crate::config::engines::DEFAULT_NAME.into(),
            parallelism,
            engine,
        }]
    }

    fn apply(
        plan: &Plan,
        pool: Vec<Member<FakeEngine>>,
        state: State,
        cancel: &AtomicBool,
    ) -> Outcomes {
        let backend = MemoryBackend::default();
        let lock = backend
            .lock(Duration::ZERO, &conformance::holder("apply"))
            .unwrap();
        let reporter = Recorder::default();
        let options = Options::default();
        let cx = Context {
            engine: &pool[0].engine,
            pool: &pool,
            named: pool.len() > 1,
            registries: pool[0].engine.registry(),
            options: &options,
            catalogs: &backend,
            policies: &[],
            advisories: None,
            reporter: &reporter,
            cancel,
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let mut state = state;
        let tally = runtime
            .block_on(run(plan, &mut state, lock.as_ref(), &cx))
            .unwrap();
        drop(lock);
        Outcomes {
            tally,
            events: reporter.0.into_inner().unwrap(),
            backend,
            pool,
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
        let out = apply(&plan, one(engine, 4), State::new(), &AtomicBool::new(false));
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
            out.calls("default")
                .iter()
                .filter(|c| c.starts_with("build"))
                .count(),
            1,
            "{:?}",
            out.calls("default")
        );
    }

    #[test]
    fn the_original_names_are_pulled_and_built_under_a_valid_repository() {
        let plan = plan_of(&[base("my_py_base"), image("_My__App_", "my_py_base")]);
        let out = apply(
            &plan,
            one(offering(&["my_py_base"]), 2),
            State::new(),
            &AtomicBool::new(false),
        );
        assert_events(
            &out,
            &[
                "BaseImage/my_py_base: Done pulled (sha256:",
                "Image/_My__App_: Done built dispatch/my__app:",
            ],
        );
        assert_eq!(
            status(&out.backend, Kind::Image, "_My__App_"),
            Some(Status::Ready)
        );
    }

    #[test]
    fn the_seed_images_are_pulled_built_and_recorded() {
        let text = crate::decl::seed::declarations("127.0.0.1:5000/dispatchframework").unwrap();
        let source = crate::source::memory::MemorySource::new(&[("seed.yaml", &text)]);
        let declared = crate::decl::load(&source, Default::default()).unwrap();
        let plan = plan::plan(&declared, None, &Observations::default(), &[]).unwrap();
        let references: Vec<String> = declared
            .resources
            .values()
            .filter_map(|d| match &d.resource.spec {
                crate::model::Spec::BaseImage(b) => Some(b.docker_url.to_string()),
                crate::model::Spec::Image(_) => None,
            })
            .collect();
        let references: Vec<&str> = references.iter().map(String::as_str).collect();
        let engine = FakeEngine::pulling_from(FakeRegistry::holding(&references));
        let out = apply(&plan, one(engine, 4), State::new(), &AtomicBool::new(false));
        assert_eq!(
            (out.tally.pulled, out.tally.built),
            (4, 4),
            "{:?}",
            out.events
        );
        let state = out.backend.load().unwrap().unwrap();
        let recorded: Vec<(String, Status, &str)> = state
            .resources
            .iter()
            .map(|(a, r)| (a.to_string(), r.status, r.image_reference().unwrap()))
            .collect();
        let base = |name: &str, tag: &str| {
            let url = format!("127.0.0.1:5000/dispatchframework/{name}-base:{tag}");
            (format!("BaseImage/{name}-base"), url)
        };
        let bases = [
            base("java", "0.0.13"),
            base("nodejs", "0.0.12"),
            base("powershell", "0.0.13"),
            base("python3", "0.0.13"),
        ];
        for ((address, status, reference), (want, url)) in recorded.iter().zip(&bases) {
            assert_eq!(
                (address, *status, *reference),
                (want, Status::Ready, url.as_str())
            );
        }
        for ((address, status, reference), name) in
            recorded[4..]
                .iter()
                .zip(["java", "nodejs", "powershell", "python3"])
        {
            assert_eq!(
                (address.as_str(), *status),
                (format!("Image/{name}").as_str(), Status::Ready)
            );
            assert!(
                reference.starts_with(&format!("dispatch/{name}:")),
                "{reference}"
            );
        }
        assert_eq!(recorded.len(), 8);
    }

    #[test]
    fn a_failed_build_is_recorded_with_its_step_and_the_rest_is_built() {
        // With requirements to install: a build with a step that runs a command.
        let bad = testing::image("bad", "a", Some("requests==2.31.0\n"));
        let plan = plan_of(&[base("a"), bad, image("good", "a")]);
        let engine = offering(&["a"]).failing_build("dispatch/bad:");
        let out = apply(&plan, one(engine, 4), State::new(), &AtomicBool::new(false));
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
        let out = apply(&plan, one(engine, 1), State::new(), &CANCEL);
        assert_eq!(out.calls("default"), ["pull 127.0.0.1:5000/base/a:1"]);
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
        let out = apply(&plan, one(engine, 2), State::new(), &AtomicBool::new(false));
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

    /// Engines named `names`, each with one slot, whose registries hold bases `a` and `b`.
    fn engines(names: &[&str]) -> Vec<Member<FakeEngine>> {
        (names.iter())
            .map(|name| Member {
                name: name.to_string(),
                parallelism: 1,
                engine: offering(&["a", "b"]),
            })
            .collect()
    }

    /// Which engine the state says made each resource.
    fn made_on(out: &Outcomes) -> Vec<(String, Option<String>)> {
        let state = out.backend.load().unwrap().unwrap();
        (state.resources.iter())
            .map(|(a, r)| (a.to_string(), r.engine.clone()))
            .collect()
    }

    fn builds(out: &Outcomes, name: &str) -> Vec<String> {
        let calls = out.calls(name);
        (calls.into_iter())
            .filter_map(|c| {
                c.strip_prefix("build dispatch/")
                    .map(|t| t[..1].to_string())
            })
            .collect()
    }

    #[test]
    fn builds_spread_over_the_engines_and_each_is_recorded_where_it_was_made() {
        let plan = plan_of(&[base("a"), image("i", "a"), image("j", "a"), image("k", "a")]);
        let out = apply(
            &plan,
            engines(&["x", "y"]),
            State::new(),
            &AtomicBool::new(false),
        );
        assert_eq!((out.tally.pulled, out.tally.built), (1, 3));
        // The base goes to the first engine; the first build to where the base is, the
        // second to the free one, which pulls the base (by digest) only then.
        assert_eq!(builds(&out, "x"), ["i", "k"]);
        assert_eq!(builds(&out, "y"), ["j"]);
        assert!(out.calls("y")[0].starts_with("pull 127.0.0.1:5000/base/a@sha256:"));
        assert_eq!(out.calls("x")[0], "pull 127.0.0.1:5000/base/a:1");
        let on = |engine: &str| Some(engine.to_string());
        assert_eq!(
            made_on(&out),
            [
                ("BaseImage/a".into(), on("x")),
                ("Image/i".into(), on("x")),
                ("Image/j".into(), on("y")),
                ("Image/k".into(), on("x")),
            ]
        );
    }

    #[test]
    fn a_build_waits_for_the_engine_that_holds_its_base_rather_than_pull_it_onto_a_busy_one() {
        let plan = plan_of(&[
            base("a"),
            base("b"),
            image("i", "a"),
            image("j", "a"),
            image("k", "a"),
            image("l", "b"),
        ]);
        let mut pool = engines(&["x", "y"]);
        for member in &mut pool {
            member.parallelism = 2;
        }
        let out = apply(&plan, pool, State::new(), &AtomicBool::new(false));
        assert!(out.tally.succeeded(), "{:?} {:#?}", out.tally, out.events);
        // x pulls a and y b; x builds two on a, and the third waits for a slot there rather
        // than pull a onto y, which is busy with b (then l).
        assert_eq!(builds(&out, "x"), ["i", "j", "k"]);
        assert_eq!(builds(&out, "y"), ["l"]);
        let pulls = |name| -> Vec<String> {
            (out.calls(name).into_iter())
                .filter(|c| c.starts_with("pull "))
                .collect()
        };
        assert_eq!(pulls("x"), ["pull 127.0.0.1:5000/base/a:1"]);
        assert_eq!(pulls("y"), ["pull 127.0.0.1:5000/base/b:1"]);
    }

    /// Images i and j on base a, applied over engines x and y from nothing: i on x, j on y.
    fn i_and_j_over_x_and_y() -> Outcomes {
        let first = plan_of(&[base("a"), image("i", "a"), image("j", "a")]);
        apply(
            &first,
            engines(&["x", "y"]),
            State::new(),
            &AtomicBool::new(false),
        )
    }

    #[test]
    fn a_rebuild_goes_to_the_engine_that_built_the_image_before() {
        let out = i_and_j_over_x_and_y();
        assert_eq!(
            (builds(&out, "x"), builds(&out, "y")),
            (vec!["i".into()], vec!["j".into()])
        );
        let state = out.backend.load().unwrap().unwrap();
        // j's manifest changes: x holds its base, but y its layers.
        let changed = testing::image("j", "a", Some("requests==2.31.0\n"));
        let declarations = testing::declared(&[base("a"), image("i", "a"), changed]);
        let second =
            plan::plan(&declarations, Some(&state), &Observations::default(), &[]).unwrap();
        let out = apply(
            &second,
            engines(&["x", "y"]),
            state,
            &AtomicBool::new(false),
        );
        assert_eq!(out.tally.built, 1);
        assert_eq!(builds(&out, "y"), ["j"]);
        assert!(builds(&out, "x").is_empty());
    }

    #[test]
    fn an_image_found_built_on_another_engine_than_the_state_says_is_recorded_there() {
        let out = i_and_j_over_x_and_y();
        let state = out.backend.load().unwrap().unwrap();
        let j = Address::new(Kind::Image, "j");
        assert_eq!(state.resources[&j].engine.as_deref(), Some("y"));
        // j changes; an apply builds it on x (y is left out) and is killed before it records
        // it: x holds the new j, the state still says y.
        let changed = testing::image("j", "a", Some("requests==2.31.0\n"));
        let declarations = testing::declared(&[base("a"), image("i", "a"), changed]);
        let second =
            plan::plan(&declarations, Some(&state), &Observations::default(), &[]).unwrap();
        let mut pool = out.pool;
        pool.truncate(1);
        let killed = apply(&second, pool, state.clone(), &AtomicBool::new(false));
        assert_eq!(builds(&killed, "x"), ["i", "j"], "i in the first apply");
        // The next apply, y left out again, finds j built on x.
        let mut pool = killed.pool;
        pool.extend(engines(&["z"]));
        let out = apply(&second, pool, state, &AtomicBool::new(false));
        assert_eq!((out.tally.built, out.tally.reused), (0, 1));
        let state = out.backend.load().unwrap().unwrap();
        assert_eq!(state.resources[&j].engine.as_deref(), Some("x"));
        // The image it records is x's.
        let recorded = &state.resources[&j];
        let on_x = out.pool[0]
            .engine
            .inspect(recorded.image_reference().unwrap());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let id = runtime.block_on(on_x).unwrap().map(|image| image.id);
        assert_eq!(id, recorded.observed.as_ref().unwrap().image_id);
    }

    #[test]
    fn the_steps_of_an_engine_that_goes_away_move_to_another_and_nothing_of_it_is_kept() {
        let plan = plan_of(&[base("a"), image("i", "a"), image("j", "a")]);
        let mut pool = engines(&["x", "y"]);
        pool[1].engine = offering(&["a", "b"]).going_away_at("build dispatch/j");
        let out = apply(&plan, pool, State::new(), &AtomicBool::new(false));
        assert!(out.tally.succeeded(), "{:?} {:#?}", out.tally, out.events);
        assert_eq!((out.tally.pulled, out.tally.built), (1, 2));
        assert_eq!(builds(&out, "x"), ["i", "j"]);
        let [gone] = &out.tally.gone[..] else {
            panic!("{:?}", out.tally.gone)
        };
        assert_eq!(gone.engine, "y");
        assert_eq!(gone.moved, [("x".to_string(), 1)]);
        assert!(
            made_on(&out)
                .iter()
                .all(|(_, on)| on.as_deref() == Some("x"))
        );
        let line = crate::report::text::tally(&out.tally);
        assert!(
            line.ends_with(&format!(
                "\nengine y went away at {}; 1 build moved to x",
                &gone.at[11..19]
            )),
            "{line}"
        );
    }

    #[test]
    fn a_step_moved_too_often_fails_with_the_reason() {
        let plan = plan_of(&[base("a")]);
        let mut pool = engines(&["x", "y", "z", "w"]);
        for member in &mut pool {
            member.engine = offering(&["a"]).going_away_at("pull");
        }
        let out = apply(&plan, pool, State::new(), &AtomicBool::new(false));
        assert_eq!(out.tally.failed, 1);
        let state = out.backend.load().unwrap().unwrap();
        let reason = &state.resources[&Address::new(Kind::BaseImage, "a")].reason;
        assert_eq!(
            reason.last().map(String::as_str),
            Some("engine z went away: moved 2 times off engines that went away; not moved again"),
            "{reason:?}"
        );
        assert_eq!(out.tally.gone.len(), 3);
    }
}
