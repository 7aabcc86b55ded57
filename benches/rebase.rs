//! A base patched in place under N images: converging by rebase against a forced rebuild of
//! the same N, side by side in one run, on this machine's python3 base (`.ci/python-base`).
//!
//! ```text
//! cargo bench --bench rebase            # 100 images
//! cargo bench --bench rebase -- 20      # chosen sizes
//! ```
//!
//! A base of the bench's own (a tag of `DISPATCH_TEST_PYTHON_BASE`) and N images on it, each
//! installing `six` from the wheelhouse (`DISPATCH_TEST_PIP_INDEX`) with a manifest of its own,
//! are applied (built and pushed; timed, for scale). The base is then patched in place (the same
//! tag, a layer more), and the state copied aside. Then, each a fresh `dispatch apply` of the
//! release binary, timed whole (refresh and plan included, each reading the new base's catalog
//! from the registry, and the pull of the new base):
//!
//! 1. rebase: the N images rebased in the registry;
//! 2. rebuild: from the copied state, `apply --rebuild` into another destination, so that the
//!    N are really built on the new base (its pull is then warm: in the rebuild's favour).
//!
//! Without `--bench` (as `cargo test --all-targets` runs it): one quick run of 2 images. It
//! needs the engine, the test registry, the python3 base and the wheelhouse, and says it was
//! skipped without them.

mod args;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn main() {
    let Some(args) = args::parse(&[100], 2) else {
        return;
    };
    let (Some(registry), Some(python), Some(wheels)) = (
        env("DISPATCH_TEST_REGISTRY"),
        env("DISPATCH_TEST_PYTHON_BASE"),
        env("DISPATCH_TEST_PIP_INDEX"),
    ) else {
        println!(
            "rebase bench skipped: it needs the engine, the test registry, the python3 base and \
             the wheelhouse (`bash .ci/python-base && source /tmp/dispatch-services/env`)"
        );
        return;
    };
    let world = World {
        registry,
        python,
        wheels,
    };
    for &size in &args.sizes {
        world.run(size);
    }
    if !args.bench {
        println!("(a quick check: `cargo bench --bench rebase` measures 100 images)");
    }
}

struct World {
    registry: String,
    python: String,
    wheels: String,
}

fn run(command: &mut Command) -> String {
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{command:?}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn docker(args: &[&str]) -> String {
    run(Command::new("docker").args(args))
}

/// `dispatch apply --auto-approve decl ARGS` in `dir`; its output and how long it took.
fn apply(dir: &Path, args: &[&str]) -> (String, Duration) {
    let started = Instant::now();
    let output = run(Command::new(env!("CARGO_BIN_EXE_dispatch"))
        .current_dir(dir)
        .env("DOCKER_CONFIG", dir.join("docker-config"))
        .args(["apply", "--auto-approve", "decl"])
        .args(args));
    (output, started.elapsed())
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

impl World {
    /// A project of `size` images on `base`, pushed under `<registry>/<id>-<side>`; their
    /// manifests name `id`, so that no build cache of another run serves them.
    fn project(&self, dir: &Path, id: &str, side: &str, base: &str, size: usize) {
        let destination = format!("{}/{id}-{side}", self.registry);
        write(&dir.join("docker-config/config.json"), "{}");
        write(
            &dir.join("dispatch.toml"),
            &format!(
                "parallelism = 4\n[registry]\ndestination = \"{destination}\"\n[build]\nnetwork = \"host\"\n[build.args]\nPIP_FIND_LINKS = \"{}\"\nPIP_NO_INDEX = \"1\"\n",
                self.wheels
            ),
        );
        let mut yaml = format!("kind: BaseImage\nname: py\ndockerUrl: {base}\nlanguage: python3\n");
        for i in 0..size {
            yaml += &format!(
                "---\nkind: Image\nname: app{i}\nbaseImageName: py\nruntimeDependencies:\n  manifest: \"six==1.16.0\\n# app {i} of {id}\\n\"\n"
            );
        }
        write(&dir.join("decl/all.yaml"), &yaml);
    }

    fn run(&self, size: usize) {
        let id = format!("bench-rebase-{}-{size}", std::process::id());
        let base = format!("{}/{id}/python:3", self.registry);
        docker(&["pull", "-q", &self.python]);
        docker(&["tag", &self.python, &base]);
        docker(&["push", "-q", &base]);
        let root = tempfile::tempdir().unwrap();
        let (rebased, rebuilt) = (root.path().join("rebase"), root.path().join("rebuild"));
        self.project(&rebased, &id, "a", &base, size);
        let (_, initial) = apply(&rebased, &[]);

        // Patched in place: the same tag, a layer more.
        let patch = root.path().join("patch");
        write(&patch.join("patch-level"), &format!("{id}\n"));
        write(
            &patch.join("Dockerfile"),
            &format!("FROM {}\nCOPY patch-level /etc/patch-level\n", self.python),
        );
        run(Command::new("docker")
            .args(["build", "-q", "-t", &base])
            .arg(&patch)
            .env("DOCKER_BUILDKIT", "0"));
        docker(&["push", "-q", &base]);
        copy(&rebased.join(".dispatch"), &rebuilt.join(".dispatch"));
        self.project(&rebuilt, &id, "b", &base, size);

        let (said, rebase) = apply(&rebased, &[]);
        assert!(said.contains(&format!("{size} rebased, 0 built")), "{said}");
        let (said, rebuild) = apply(&rebuilt, &["--rebuild"]);
        assert!(said.contains(&format!("{size} built")), "{said}");
        let s = |d: Duration| d.as_secs_f64();
        println!(
            "{size} images on a patched base: rebase {:.1} s, forced rebuild {:.1} s, ratio {:.3} \
             (first build of the {size}: {:.1} s)",
            s(rebase),
            s(rebuild),
            s(rebase) / s(rebuild),
            s(initial)
        );
        // What the engine holds of the bench is dropped; the registry keeps what it was sent.
        let prefix = format!("{}/{id}", self.registry);
        let held = docker(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
        let ours: Vec<&str> = held.lines().filter(|r| r.starts_with(&prefix)).collect();
        if !ours.is_empty() {
            let _ = Command::new("docker")
                .args(["rmi", "-f"])
                .args(&ours)
                .output();
        }
    }
}

/// Copies the folder `from` to `to`, files only (the state, its catalogs).
fn copy(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let target = to.join(entry.path().strip_prefix(from).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else if entry.file_type().is_file() {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
