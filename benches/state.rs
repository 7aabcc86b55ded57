//! Checkpoint benchmark: what apply pays to record each finished resource, by backend and by
//! the size of the state. Apply calls `StateLock::checkpoint` once per finished resource (the
//! engine's work is not part of it), so this times exactly those calls: a state of N
//! resources is saved, then K of its resources change one at a time, each followed by a
//! checkpoint. For comparison, the local file rewritten whole (`save`, what every checkpoint
//! cost before the journal).
//!
//! ```text
//! cargo bench --bench state                     # 100 / 1,000 / 10,000 resources
//! cargo bench --bench state -- 1000             # chosen sizes
//! ```
//!
//! PostgreSQL is measured when `DISPATCH_BENCH_PG_URL` (or the tests' `DISPATCH_TEST_PG_URL`)
//! names a database; `.ci/postgres` starts one on loopback. Without `--bench` (as `cargo test
//! --all-targets` runs it) it does one quick round of 100 resources.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use dispatch::config::PgSettings;
use dispatch::state::local::LocalBackend;
use dispatch::state::postgres::PgBackend;
use dispatch::state::{Backend, State, conformance};

mod args;

const DEFAULT_SIZES: [usize; 3] = [100, 1_000, 10_000];
const QUICK_SIZE: usize = 100;

fn main() {
    let Some(args::Args { bench, sizes }) = args::parse(&DEFAULT_SIZES, QUICK_SIZE) else {
        return;
    };
    let (checkpoints, saves) = if bench { (300, 20) } else { (20, 3) };
    let pg_url = ["DISPATCH_BENCH_PG_URL", "DISPATCH_TEST_PG_URL"]
        .iter()
        .find_map(|key| std::env::var(key).ok().filter(|v| !v.is_empty()));
    if pg_url.is_none() {
        eprintln!("no DISPATCH_BENCH_PG_URL: PostgreSQL is not measured");
    }

    let mut out = String::from(
        "\nPer-resource state write during apply, median / p95 of the writes, by state size.\n\n",
    );
    let _ = writeln!(
        out,
        "{:>10}  {:>24}  {:>24}  {:>24}",
        "resources", "local journal", "PostgreSQL (loopback)", "local whole file (save)"
    );
    for size in sizes {
        let dir = tempfile::tempdir().expect("tempdir");
        let local = LocalBackend::new(dir.path().join("state.json"));
        let journal = checkpoint_times(&local, size, checkpoints);
        let whole = save_times(&local, size, saves);
        let pg = pg_url.as_ref().map(|url| {
            let backend = PgBackend::new(
                &PgSettings {
                    url: Some(url.clone()),
                    schema: "dispatch_bench".into(),
                    workspace: format!("checkpoints-{size}-{}", uuid::Uuid::new_v4().simple()),
                    lock_ttl: Duration::from_secs(120),
                    connect_timeout: Duration::from_secs(10),
                },
                |key| std::env::var(key).ok(),
            )
            .expect("PostgreSQL settings");
            checkpoint_times(&backend, size, checkpoints)
        });
        let _ = writeln!(
            out,
            "{size:>10}  {:>24}  {:>24}  {:>24}",
            summary(&journal),
            pg.as_deref().map_or("-".into(), summary),
            summary(&whole)
        );
    }
    print!("{out}");
}

/// Saves a state of `size` resources to `backend`, then times `count` checkpoints, each after
/// one resource changed.
fn checkpoint_times(backend: &dyn Backend, size: usize, count: usize) -> Vec<Duration> {
    let lock = backend
        .lock(Duration::ZERO, &conformance::holder("bench"))
        .expect("lock");
    let mut state = conformance::sample(size);
    lock.save(&mut state).expect("save");
    let addresses: Vec<_> = state.resources.keys().cloned().collect();
    let mut times = Vec::with_capacity(count);
    for i in 0..count {
        let address = &addresses[i * addresses.len() / count];
        state.resources.get_mut(address).expect("present").reason = vec![format!("run {i}")];
        let started = Instant::now();
        lock.checkpoint(&mut state, address).expect("checkpoint");
        times.push(started.elapsed());
    }
    lock.finish(&mut state).expect("finish");
    drop(lock);
    // The bench checks itself: every checkpoint is in the state read back.
    let read = backend.load().expect("load").expect("a state");
    assert_eq!(
        read, state,
        "the state read back differs from the one written"
    );
    times
}

/// Times `count` whole-state saves of a state of `size` resources.
fn save_times(backend: &dyn Backend, size: usize, count: usize) -> Vec<Duration> {
    let lock = backend
        .lock(Duration::ZERO, &conformance::holder("bench"))
        .expect("lock");
    let mut state: State = conformance::sample(size);
    (0..count)
        .map(|_| {
            let started = Instant::now();
            lock.save(&mut state).expect("save");
            started.elapsed()
        })
        .collect()
}

fn summary(times: &[Duration]) -> String {
    let mut sorted = times.to_vec();
    sorted.sort();
    let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
    format!("{} / {}", ms(at(0.5)), ms(at(0.95)))
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}
