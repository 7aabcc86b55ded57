//! Faults outside dispatch: an engine that is not there, a disk that fills up under the state.
//! Each must end in bounded time with a message naming what failed, exit 1, leave the previous
//! state as it was, and converge once the fault is gone. (Registries that blink or hang:
//! tests/blink.rs; a registry stopped mid-apply: tests/exact.rs.)

use std::path::PathBuf;
use std::process::Command as Process;
use std::time::{Duration, Instant};

use crate::common::{Sandbox, base_doc, contains, env, ok};

/// Declarations of one base and `n` images at `version`, with work to do.
fn declare(s: &Sandbox, n: usize, version: usize) {
    let mut yaml = base_doc("b", &env("DISPATCH_TEST_BASE"));
    for i in 0..n {
        yaml += "---\n";
        yaml += &s.image_doc(&format!("img{i}"), "b", version);
    }
    s.write("decl/all.yaml", &yaml);
}

fn state_bytes(s: &Sandbox) -> Vec<u8> {
    std::fs::read(s.path().join(".dispatch/state.json")).unwrap()
}

fn converges(s: &Sandbox) {
    ok(&s.dispatch(&["apply", "--auto-approve", "-q", "decl"]));
    let plan = s.dispatch(&["plan", "decl", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{}{}", plan.stdout, plan.stderr);
}

#[test]
fn an_engine_that_is_not_there_is_named_and_nothing_is_recorded() {
    crate::common::needs!(services);
    let s = Sandbox::new("no-engine");
    s.build_and_push();
    declare(&s, 2, 1);
    converges(&s);
    let before = state_bytes(&s);
    declare(&s, 2, 2);
    for host in ["unix:///nonexistent/docker.sock", "tcp://127.0.0.1:1"] {
        let started = Instant::now();
        let run = s.dispatch_with(
            &["apply", "--auto-approve", "--timeout", "5s", "decl"],
            &[("DOCKER_HOST", host)],
        );
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "{host}: {:?}",
            started.elapsed()
        );
        assert_eq!(run.code, 1, "{host}: {}", run.stderr);
        contains(
            &run.stderr,
            format!("cannot reach the Docker engine at {host}"),
        );
        assert_eq!(state_bytes(&s), before, "{host}: the state changed");
    }
    converges(&s);
}

/// A tmpfs of `size` mounted on `dir`, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: PathBuf, size: &str) -> Tmpfs {
        std::fs::create_dir_all(&dir).unwrap();
        let status = Process::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(&dir)
            .status()
            .unwrap();
        assert!(
            status.success(),
            "mount a tmpfs (this test needs root, as .ci/run has)"
        );
        Tmpfs(dir)
    }

    /// Fills what is left, as another process would; removed by [`Tmpfs::drain`].
    fn fill(&self) {
        // dd stops at ENOSPC, as it should.
        let _ = Process::new("dd")
            .args(["if=/dev/zero", "bs=4k"])
            .arg(format!("of={}", self.0.join("filler").display()))
            .output()
            .unwrap();
    }

    fn drain(&self) {
        std::fs::remove_file(self.0.join("filler")).unwrap();
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Process::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_under_the_state_is_named_and_the_state_survives() {
    crate::common::needs!(services);
    let s = Sandbox::new("disk-full");
    s.build_and_push();
    let disk = Tmpfs::mount(s.path().join(".dispatch"), "1m");
    declare(&s, 3, 1);
    converges(&s);
    let before = state_bytes(&s);
    declare(&s, 3, 2);
    disk.fill();
    let started = Instant::now();
    let run = s.dispatch(&["apply", "--auto-approve", "decl"]);
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    contains(&run.stderr, "No space left on device");
    contains(&run.stderr, ".dispatch/state");
    assert_eq!(state_bytes(&s), before, "the state file changed");
    let backend = dispatch::state::local::LocalBackend::new(s.path().join(".dispatch/state.json"));
    let loaded = dispatch::state::Backend::load(&backend).expect("the state still loads");
    assert!(loaded.is_some());
    disk.drain();
    converges(&s);
}
