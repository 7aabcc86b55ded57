//! What placing steps over a pool of engines saves, against round-robin.
//!
//! ```text
//! cargo bench --bench pool          # 60 images over 3 bases on 3 engines
//! cargo bench --bench pool -- 600   # chosen numbers of images
//! ```
//!
//! The apply's own placement (`apply::placement::Pool`, the pure state machine `apply::run`
//! asks, offered every ready step at once as the apply offers them) against round-robin (each
//! ready step in turn to the next engine with a free slot), driven by the
//! same replay of an apply on a modelled clock: the three base pulls first, each build as soon
//! as its base is pulled, two slots per engine. Each engine pulls at 50 MB/s; the bases weigh
//! 60, 180 and 400 MB; a build takes 10 to 20 s. A step placed on an engine that lacks its base
//! pulls it there first, in its slot, as the apply does. Then a second apply, after every
//! image's manifest changed: every image is built again, each ready at once, and a build on
//! the engine that built its previous version takes 40% of the time (its layers are cached
//! there); the scheduler knows from the state which engine made each image and base, as
//! `apply::run` does. Three real engines would measure the
//! same decisions under seconds of noise (a loopback registry pulls in milliseconds): the
//! model keeps what placement changes, bytes pulled onto engines and the time they take.
//!
//! With `--bench`, also what placement itself costs: the scheduler's replay of the first apply,
//! timed over 100 runs, per step. Without it (as `cargo test --all-targets` runs it): the
//! replays only, which are quick.

mod args;

use std::collections::HashSet;
use std::time::Instant;

use dispatch::apply::placement::{Needs, Pool};
use dispatch::model::{Address, Kind};

const ENGINES: usize = 3;
const SLOTS: usize = 2;
/// Megabytes each base weighs.
const BASES: [f64; 3] = [60.0, 180.0, 400.0];
/// Megabytes per second an engine pulls.
const BANDWIDTH: f64 = 50.0;

fn main() {
    let Some(args) = args::parse(&[60], 60) else {
        return;
    };
    for &images in &args.sizes {
        println!(
            "{images} images over {} bases on {ENGINES} engines, {SLOTS} slots each:",
            BASES.len()
        );
        for scheduler in [true, false] {
            let name = if scheduler {
                "scheduler"
            } else {
                "round-robin"
            };
            let first = replay(images, &mut Placement::new(scheduler), None);
            let mut again = Placement::new(scheduler);
            if let Placement::Scheduler(pool) = &mut again {
                first.recorded(pool);
            }
            let second = replay(images, &mut again, Some(&first));
            for (apply, run) in [("first apply", &first), ("every image changed", &second)] {
                println!(
                    "  {name:<12} {apply:<20} {:>5.0} MB pulled onto engines ({:>2} pulls), {:>3} cached builds, {:>6.1} s",
                    run.megabytes, run.pulls, run.cached, run.seconds
                );
            }
        }
        if args.bench {
            placement_cost(images);
        }
    }
}

/// The scheduler's replay of a first apply of `images`, per step (its pulls and builds).
fn placement_cost(images: usize) {
    const RUNS: u32 = 100;
    let started = Instant::now();
    for _ in 0..RUNS {
        std::hint::black_box(replay(images, &mut Placement::new(true), None));
    }
    let steps = (images + BASES.len()) as u32;
    println!(
        "  placement and replay: {:?} per step",
        started.elapsed() / RUNS / steps
    );
}

fn engine_name(engine: usize) -> String {
    format!("e{engine}")
}

fn base_address(base: usize) -> Address {
    Address::new(Kind::BaseImage, format!("base-{base}"))
}

fn image_address(image: usize) -> Address {
    Address::new(Kind::Image, format!("image-{image}"))
}

/// Which engine a step runs on.
enum Placement {
    Scheduler(Pool),
    RoundRobin(RoundRobin),
}

#[derive(Default)]
struct RoundRobin {
    next: usize,
    running: [usize; ENGINES],
}

impl Placement {
    fn new(scheduler: bool) -> Placement {
        if !scheduler {
            return Placement::RoundRobin(RoundRobin::default());
        }
        let names: Vec<String> = (0..ENGINES).map(engine_name).collect();
        Placement::Scheduler(Pool::new(names.iter().map(|n| (n.as_str(), SLOTS))))
    }

    /// Which of the `ready` steps start now, and where (index, engine).
    fn assign(&mut self, ready: &[Needs<'_>]) -> Vec<(usize, usize)> {
        match self {
            Placement::Scheduler(pool) => pool.assign(ready),
            Placement::RoundRobin(rr) => (0..ready.len())
                .map_while(|step| {
                    let engine = (0..ENGINES)
                        .map(|i| (rr.next + i) % ENGINES)
                        .find(|&e| rr.running[e] < SLOTS)?;
                    rr.next = (engine + 1) % ENGINES;
                    rr.running[engine] += 1;
                    Some((step, engine))
                })
                .collect(),
        }
    }

    fn finished(&mut self, engine: usize, made: &[&Address]) {
        match self {
            Placement::Scheduler(pool) => pool.finished(engine, made),
            Placement::RoundRobin(rr) => rr.running[engine] -= 1,
        }
    }
}

/// A step: pulling base `base`, or building image `image` on it.
#[derive(Clone, Copy)]
struct Step {
    base: usize,
    image: Option<usize>,
}

/// What an apply did.
struct Run {
    megabytes: f64,
    pulls: usize,
    /// Builds on the engine that built the image's previous version.
    cached: usize,
    seconds: f64,
    /// The engine each base was pulled on by its own step, and each image built on.
    bases_on: Vec<usize>,
    images_on: Vec<usize>,
    /// Which engines hold which bases after it.
    held: HashSet<(usize, usize)>,
}

impl Run {
    /// What the state says after this apply, told to the next one's placement.
    fn recorded(&self, pool: &mut Pool) {
        for (base, engine) in self.bases_on.iter().enumerate() {
            pool.holds(&engine_name(*engine), &base_address(base));
        }
        for (image, engine) in self.images_on.iter().enumerate() {
            pool.holds(&engine_name(*engine), &image_address(image));
        }
    }
}

/// An apply of `images` builds and, without a `previous` apply, their bases' pulls first,
/// replayed on the modelled clock.
fn replay(images: usize, placement: &mut Placement, previous: Option<&Run>) -> Run {
    let bases: Vec<Address> = (0..BASES.len()).map(base_address).collect();
    let images_of: Vec<Address> = (0..images).map(image_address).collect();
    let names: Vec<String> = (0..ENGINES).map(engine_name).collect();
    let mut ready: Vec<Step> = match previous {
        None => (0..BASES.len())
            .map(|base| Step { base, image: None })
            .collect(),
        Some(_) => (0..images)
            .map(|i| Step {
                base: i % BASES.len(),
                image: Some(i),
            })
            .collect(),
    };
    let mut run = Run {
        megabytes: 0.0,
        pulls: 0,
        cached: 0,
        seconds: 0.0,
        bases_on: previous.map_or_else(|| vec![0; BASES.len()], |p| p.bases_on.clone()),
        images_on: vec![0; images],
        held: previous.map(|p| p.held.clone()).unwrap_or_default(),
    };
    // Running steps: when each ends, on which engine.
    let mut running: Vec<(f64, usize, Step)> = Vec::new();
    let mut now = 0.0;
    loop {
        let needs: Vec<Needs> = (ready.iter())
            .map(|step| Needs {
                built_on: previous
                    .zip(step.image)
                    .map(|(p, i)| names[p.images_on[i]].as_str()),
                base: step.image.map(|_| &bases[step.base]),
            })
            .collect();
        let placed = placement.assign(&needs);
        let mut started = vec![false; ready.len()];
        for (index, engine) in placed {
            let step = ready[index];
            started[index] = true;
            let mut takes = 0.0;
            if run.held.insert((engine, step.base)) {
                run.megabytes += BASES[step.base];
                run.pulls += 1;
                takes += BASES[step.base] / BANDWIDTH;
            }
            match step.image {
                None => run.bases_on[step.base] = engine,
                Some(i) => {
                    let mut build = 10.0 + (i * 7 % 11) as f64;
                    if needs[index].built_on == Some(names[engine].as_str()) {
                        run.cached += 1;
                        build *= 0.4;
                    }
                    takes += build;
                    run.images_on[i] = engine;
                }
            }
            running.push((now + takes, engine, step));
        }
        let waiting: Vec<Step> = (ready.iter().zip(&started))
            .filter(|(_, started)| !**started)
            .map(|(step, _)| *step)
            .collect();
        ready = waiting;
        let Some(first) = (0..running.len()).min_by(|&a, &b| running[a].0.total_cmp(&running[b].0))
        else {
            break;
        };
        let (ends, engine, step) = running.swap_remove(first);
        now = ends;
        match step.image {
            None => {
                placement.finished(engine, &[&bases[step.base]]);
                ready.extend((step.base..images).step_by(BASES.len()).map(|i| Step {
                    base: step.base,
                    image: Some(i),
                }));
            }
            Some(i) => placement.finished(engine, &[&images_of[i], &bases[step.base]]),
        }
    }
    run.seconds = now;
    run
}
