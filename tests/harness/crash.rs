//! Crash safety, proven by killing. A seeded harness applies 4 base images and 20 images, built
//! and pushed to a destination registry, and SIGKILLs `dispatch apply` at random points (while
//! pulling, building, pushing or writing the state), then, one time in three, kills the apply
//! that resumes too (a double fault). After every kill:
//!
//! - the state, its backup and its journal parse; the lineage never changes; the serial only grows;
//! - every resource recorded READY has its image in its engine and, when built, in the registry;
//! - the next apply leaves no temp file, rebuilds nothing that had finished, and converges:
//!   `plan --detailed-exitcode` exits 0.
//!
//! Each round then moves a few images to another base and patches base 0 in place (a base of
//! the harness's own: a new digest under the same tag, the same runtime), so the next apply has
//! builds and rebases to be killed in. It runs twice: on the one engine, and over two (the main
//! one and `.ci/engines`' engine b, two slots each), where each resource's image is looked for
//! in the engine the state says made it. `DISPATCH_CRASH_KILLS` (default 50) and
//! `DISPATCH_CRASH_POOL_KILLS` (default 12) set how many applies each kills;
//! `DISPATCH_CRASH_SEED` replays a run (the seed is printed). The figures are printed at the
//! end.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command as Process, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Sandbox, base_doc, engine_address, env, ok};
use dispatch::config::engines::DEFAULT_NAME;
use dispatch::state::local::LocalBackend;
use dispatch::state::{Backend, State, Status};

const IMAGES: usize = 20;
const BASES: usize = 4;
/// Images moved to another base each round.
const MOVED: usize = 4;

/// A small, seeded xorshift: enough to spread kills, and replayable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// What the rounds saw, for the closing figures.
#[derive(Default, Debug)]
struct Figures {
    kills: usize,
    double_faults: usize,
    /// What the killed apply was doing, by its last progress line.
    phases: BTreeMap<&'static str, usize>,
    converged: usize,
    /// Images the converging applies rebased.
    rebased: usize,
    ready_checked: usize,
    corrupt: usize,
    ready_without_image: usize,
}

/// The declarations: base 0 at `patched` (a tag of the harness's own, patched in place every
/// round), 1 on one busybox, 2 and 3 on another; image `i` on base `(i + shift[i]) % 4`, its
/// manifest naming the sandbox and its shift, so that its every build is new to the engine.
fn declare(s: &Sandbox, shift: &[usize], patched: &str) {
    let mut yaml = String::new();
    for b in 0..BASES {
        let url = match b {
            0 => patched.to_string(),
            1 => env("DISPATCH_TEST_BASE"),
            _ => env("DISPATCH_TEST_BASE_2"),
        };
        yaml += &base_doc(&format!("b{b}"), &url);
        yaml += "---\n";
    }
    for (i, shift) in shift.iter().enumerate() {
        yaml += &s.image_doc(
            &format!("img{i}"),
            &format!("b{}", (i + shift) % BASES),
            *shift,
        );
        yaml += "---\n";
    }
    s.write("decl/all.yaml", &yaml);
}

/// Starts `dispatch apply`, its progress lines going to `log`.
fn start_apply(s: &Sandbox, log: &Path) -> std::process::Child {
    crate::common::dispatch_command(s.path())
        .env("DOCKER_CONFIG", s.path().join("docker-config"))
        .args(["apply", "--auto-approve", "decl"])
        .stdout(std::fs::File::create(log).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// What the apply that wrote `log` was doing last.
fn phase(log: &Path) -> &'static str {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let last = text.lines().rev().find(|l| l.contains(": ")).unwrap_or("");
    if last.contains(": pulling") {
        "pulling"
    } else if last.contains(": building") || last.contains(": step ") {
        "building"
    } else if last.contains(": pushing") {
        "pushing"
    } else if last.contains(": rebasing") || last.contains(": checking what it holds") {
        "rebasing"
    } else if text.contains("Apply complete!") {
        "done"
    } else if last.contains(": done:") {
        "between steps"
    } else {
        "planning"
    }
}

/// Starts an apply and SIGKILLs it after a random part of `window`. The window follows how
/// long applies take: narrowed when the apply had finished before the kill, widened when not.
fn kill_an_apply(s: &Sandbox, rng: &mut Rng, window: &mut Duration, figures: &mut Figures) {
    let log = s.path().join("killed.log");
    let mut child = start_apply(s, &log);
    let delay = Duration::from_millis(rng.below(window.as_millis() as u64 + 1));
    std::thread::sleep(delay);
    let _ = child.kill();
    child.wait().unwrap();
    figures.kills += 1;
    let phase = phase(&log);
    *figures.phases.entry(phase).or_default() += 1;
    *window = match phase {
        "done" => (*window * 2 / 3).max(Duration::from_millis(300)),
        _ => *window * 11 / 10,
    };
}

/// The engines an apply runs on: name and address.
type Engines = [(&'static str, String)];

/// The images each engine holds, by id, by the engine's name.
fn engine_images(engines: &Engines) -> BTreeMap<&'static str, BTreeSet<String>> {
    (engines.iter())
        .map(|(name, address)| {
            let ids = crate::common::docker(&["-H", address, "images", "-q", "--no-trunc"]);
            (*name, ids.lines().map(str::to_string).collect())
        })
        .collect()
}

/// Whether the registry holds `reference` (`host:port/repo:tag`).
fn in_registry(reference: &str) -> bool {
    let (host, rest) = reference.split_once('/').unwrap();
    let (repo, tag) = rest.rsplit_once(':').unwrap();
    let output = Process::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-I"])
        .args(["-H", "Accept: application/vnd.oci.image.manifest.v1+json"])
        .args([
            "-H",
            "Accept: application/vnd.docker.distribution.manifest.v2+json",
        ])
        .arg(format!("http://{host}/v2/{repo}/manifests/{tag}"))
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout) == "200"
}

/// The invariants after a kill of an apply over `engines`; `seen` is the state the last check
/// saw.
fn check(s: &Sandbox, engines: &Engines, seen: &mut Option<State>, figures: &mut Figures) {
    let dir = s.path().join(".dispatch");
    for name in ["state.json", "state.json.backup"] {
        if let Ok(text) = std::fs::read_to_string(dir.join(name))
            && serde_json::from_str::<State>(&text).is_err()
        {
            figures.corrupt += 1;
            panic!("{name} does not parse after a kill:\n{text}");
        }
    }
    // The state as the next run reads it: the file with its journal folded in.
    let Some(state) = LocalBackend::new(dir.join("state.json"))
        .load()
        .unwrap_or_else(|e| panic!("the state does not load after a kill: {e}"))
    else {
        assert!(seen.is_none(), "the state vanished");
        return;
    };
    if let Some(before) = seen {
        assert_eq!(state.lineage, before.lineage, "the lineage changed");
        assert!(state.serial >= before.serial, "the serial went back");
    }
    let images = engine_images(engines);
    for (address, entry) in &state.resources {
        if entry.status != Status::Ready {
            continue;
        }
        figures.ready_checked += 1;
        let observed = entry.observed.as_ref().unwrap_or_else(|| {
            panic!("{address} is READY with nothing observed");
        });
        // The engine that made it: the state names it only in a pool.
        let engine = entry.engine.as_deref().unwrap_or(DEFAULT_NAME);
        // A rebased image is made in the registry: the engine never held it.
        let in_engine = observed.rebased_from.is_some()
            || (observed.image_id.as_ref())
                .is_none_or(|id| images.get(engine).is_some_and(|held| held.contains(id)));
        let pushed = observed.reference.as_deref().is_none_or(in_registry);
        if !in_engine || !pushed {
            figures.ready_without_image += 1;
            let held_by: Vec<&str> = (images.iter())
                .filter(|(_, held)| {
                    (observed.image_id.as_ref()).is_some_and(|id| held.contains(id))
                })
                .map(|(name, _)| *name)
                .collect();
            panic!(
                "{address} is READY without its image (in engine {engine}: {in_engine}, registry: {pushed}; held by {held_by:?}): {entry:?}"
            );
        }
    }
    *seen = Some(state);
}

/// The resources a plan leaves alone: the next apply must not build them again.
fn finished(s: &Sandbox) -> Vec<String> {
    let plan = s.json(&["plan", "decl", "-o", "json"]);
    plan["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["change"]["actions"] == serde_json::json!(["no-op"]))
        .map(|c| c["address"].as_str().unwrap().to_string())
        .collect()
}

/// Applies to the end; checks that nothing finished was built again, that no temp file is
/// left, and that the declarations and the images now agree.
fn converge(s: &Sandbox, figures: &mut Figures) {
    let done = finished(s);
    let run = s.dispatch(&["apply", "--auto-approve", "decl"]);
    ok(&run);
    for address in &done {
        assert!(
            !run.stdout.contains(&format!("{address}: building")),
            "{address} had finished, and was built again:\n{}",
            run.stdout
        );
    }
    let temps: Vec<String> = std::fs::read_dir(s.path().join(".dispatch"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tmp"))
        .collect();
    assert!(temps.is_empty(), "temp files left: {temps:?}");
    let plan = s.dispatch(&["plan", "decl", "--detailed-exitcode"]);
    assert_eq!(
        plan.code, 0,
        "not converged:\n{}{}",
        plan.stdout, plan.stderr
    );
    figures.converged += 1;
    figures.rebased += run
        .stdout
        .split(", ")
        .find_map(|part| part.strip_suffix(" rebased")?.parse::<usize>().ok())
        .unwrap_or(0);
}

#[test]
fn applies_killed_at_random_points_lose_nothing() {
    crate::common::needs!(services);
    harness(
        &[(DEFAULT_NAME, engine_address())],
        "DISPATCH_CRASH_KILLS",
        50,
    );
}

#[test]
fn applies_over_two_engines_killed_at_random_points_lose_nothing() {
    crate::common::needs!(services, engines);
    let engines = [
        ("a", engine_address()),
        ("b", env("DISPATCH_TEST_ENGINE_B")),
    ];
    harness(&engines, "DISPATCH_CRASH_POOL_KILLS", 12);
}

/// Kills applies over `engines` (one: the default engine, as configured without
/// `[[engines]]`), as many as `kills_var` says or `kills`, and checks after each.
fn harness(engines: &Engines, kills_var: &str, kills: usize) {
    let kills: usize = std::env::var(kills_var)
        .ok()
        .and_then(|k| k.parse().ok())
        .unwrap_or(kills);
    let seed: u64 = std::env::var("DISPATCH_CRASH_SEED")
        .ok()
        .and_then(|k| k.parse().ok())
        .unwrap_or(0x05ee_dd15_a7c4);
    let name = match engines {
        [_] => "crash harness".to_string(),
        _ => format!("crash harness over {} engines", engines.len()),
    };
    println!("{name}: {kills} kills, seed {seed} (DISPATCH_CRASH_SEED to replay)");
    let started = Instant::now();
    let mut rng = Rng(seed | 1);
    let s = Sandbox::new(if engines.len() > 1 {
        "crash-pool"
    } else {
        "crash"
    });
    s.build_and_push();
    if let [_, _, ..] = engines {
        let mut settings = std::fs::read_to_string(s.path().join("dispatch.toml")).unwrap();
        for (name, address) in engines {
            settings +=
                &format!("[[engines]]\nname = \"{name}\"\nhost = \"{address}\"\nparallelism = 2\n");
        }
        s.write("dispatch.toml", &settings);
    }
    let patched = format!("{}/{}/b0:1", env("DISPATCH_TEST_REGISTRY"), s.id);
    let patch = |round: usize| {
        let openssl = format!("3.0.11-1~deb12u{round}");
        s.python_base(
            &patched,
            &round.to_string(),
            &[("openssl", &openssl), ("python3", "3.11.2-1")],
        );
    };
    patch(0);
    let mut shift = vec![0; IMAGES];
    declare(&s, &shift, &patched);
    let mut figures = Figures::default();
    let mut seen = None;
    let mut window = Duration::from_secs(10);
    while figures.kills < kills {
        kill_an_apply(&s, &mut rng, &mut window, &mut figures);
        check(&s, engines, &mut seen, &mut figures);
        if rng.below(3) == 0 && figures.kills < kills {
            figures.double_faults += 1;
            kill_an_apply(&s, &mut rng, &mut window, &mut figures);
            check(&s, engines, &mut seen, &mut figures);
        }
        converge(&s, &mut figures);
        check(&s, engines, &mut seen, &mut figures);
        // Work for the next round.
        for _ in 0..MOVED {
            shift[rng.below(IMAGES as u64) as usize] += 1 + rng.below(BASES as u64 - 1) as usize;
        }
        declare(&s, &shift, &patched);
        patch(figures.kills);
        crate::common::progress(&format!(
            "{name} progress: {}/{kills} kills after {:.0?}",
            figures.kills,
            started.elapsed()
        ));
    }
    println!(
        "{name}: {} applies killed ({} of them resuming a killed one) in {:.0?}; killed while {:?}; \
         {} READY resources checked, {} without their image; {} corrupt states; {}/{} re-applies converged, \
         rebasing {} images",
        figures.kills,
        figures.double_faults,
        started.elapsed(),
        figures.phases,
        figures.ready_checked,
        figures.ready_without_image,
        figures.corrupt,
        figures.converged,
        figures.converged,
        figures.rebased
    );
    assert!(figures.kills >= kills);
}
