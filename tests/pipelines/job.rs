//! What a CI job runs in, whichever CI system: a fresh machine (its own home, temp and
//! work folders, nothing of the test's environment but `PATH` and the Docker engine), a clone
//! of one commit, bash, a cache that outlives jobs, and a `cargo` that installs the dispatch
//! this test built instead of compiling it for minutes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command as Process;

use crate::forge::git;

/// A fresh runner for one job.
pub struct Machine {
    pub dir: tempfile::TempDir,
}

impl Machine {
    pub fn new() -> Machine {
        let machine = Machine {
            dir: tempfile::tempdir().unwrap(),
        };
        for folder in ["home", "temp", "work"] {
            std::fs::create_dir_all(machine.dir.path().join(folder)).unwrap();
        }
        machine
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    pub fn temp(&self) -> PathBuf {
        self.dir.path().join("temp")
    }

    pub fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    /// The environment every job starts with: a home of its own, the test's `PATH` behind the
    /// tools that stand in for the runner's (`tools`), and the Docker engine the tests use.
    pub fn env(&self, tools: &Path) -> BTreeMap<String, String> {
        let mut env = BTreeMap::new();
        let path = std::env::var("PATH").unwrap_or_default();
        env.insert("PATH".into(), format!("{}:{path}", tools.display()));
        env.insert("HOME".into(), self.home().display().to_string());
        env.insert("LANG".into(), "C.UTF-8".into());
        if let Ok(host) = std::env::var("DOCKER_HOST") {
            env.insert("DOCKER_HOST".into(), host);
        }
        env
    }
}

/// What a script printed and how it ended.
#[derive(Debug, Clone, Default)]
pub struct Ran {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `script` as both runners run a step: `bash --noprofile --norc -eo pipefail FILE`, in
/// `dir`, with exactly `env`.
pub fn bash(script: &str, dir: &Path, env: &BTreeMap<String, String>, temp: &Path) -> Ran {
    let file = tempfile::Builder::new()
        .suffix(".sh")
        .tempfile_in(temp)
        .unwrap();
    std::fs::write(file.path(), script).unwrap();
    let output = Process::new("bash")
        .args(["--noprofile", "--norc", "-eo", "pipefail"])
        .arg(file.path())
        .current_dir(dir)
        .env_clear()
        .envs(env)
        .output()
        .unwrap();
    Ran {
        ok: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A clone of `url` at `sha` into `dir`, as the runners make it: `git init`, fetch, and a
/// detached checkout. `depth` 0 fetches the whole history, `branches` every branch as
/// `origin/NAME` too (actions/checkout with `fetch-depth: 0`); `local` names the ref it is
/// fetched into.
pub fn clone(url: &str, dir: &Path, sha: &str, local: &str, depth: u32, branches: bool) {
    std::fs::create_dir_all(dir).unwrap();
    git(dir, &["init", "-q"]);
    git(dir, &["remote", "add", "origin", url]);
    if branches {
        git(
            dir,
            &[
                "fetch",
                "-q",
                "--prune",
                "origin",
                "+refs/heads/*:refs/remotes/origin/*",
                "+refs/tags/*:refs/tags/*",
            ],
        );
    }
    let refspec = format!("+{sha}:{local}");
    let mut fetch = vec!["fetch", "-q", "--no-tags"];
    let depth = format!("--depth={depth}");
    if depth != "--depth=0" {
        fetch.push(&depth);
    }
    fetch.extend(["origin", &refspec]);
    git(dir, &fetch);
    git(dir, &["checkout", "-q", "--force", "--detach", sha]);
}

/// The commit `rev` (a branch, tag or sha) names at `url`.
pub fn resolve(url: &str, rev: &str) -> String {
    if rev.len() == 40 && rev.chars().all(|c| c.is_ascii_hexdigit()) {
        return rev.to_string();
    }
    let listed = git(Path::new("/"), &["ls-remote", url, rev]);
    let line = listed
        .lines()
        .next()
        .unwrap_or_else(|| panic!("{url} has no {rev}"));
    line.split_whitespace().next().unwrap().to_string()
}

/// Copies the tree at `from` to `to` (symlinks as symlinks).
pub fn copy_tree(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let target = to.join(entry.path().strip_prefix(from).unwrap());
        let kind = entry.file_type();
        if kind.is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else if kind.is_symlink() {
            let _ = std::fs::remove_file(&target);
            std::os::unix::fs::symlink(std::fs::read_link(entry.path()).unwrap(), &target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// What outlives a job: a cache keyed as the CI system keys it, and the `cargo` a cache miss
/// runs.
pub struct Store {
    dir: tempfile::TempDir,
}

impl Store {
    pub fn new() -> Store {
        let store = Store {
            dir: tempfile::tempdir().unwrap(),
        };
        let tools = store.tools();
        std::fs::create_dir_all(&tools).unwrap();
        let cargo = tools.join("cargo");
        std::fs::write(
            &cargo,
            fake_cargo(env!("CARGO_BIN_EXE_dispatch"), &store.builds_log()),
        )
        .unwrap();
        let mut permissions = std::fs::metadata(&cargo).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
        std::fs::set_permissions(&cargo, permissions).unwrap();
        store
    }

    /// Put first on every job's `PATH`.
    pub fn tools(&self) -> PathBuf {
        self.dir.path().join("tools")
    }

    fn builds_log(&self) -> PathBuf {
        self.dir.path().join("builds.log")
    }

    /// The source folders `cargo install` built, one a line.
    pub fn builds(&self) -> Vec<String> {
        let text = std::fs::read_to_string(self.builds_log()).unwrap_or_default();
        text.lines().map(str::to_string).collect()
    }

    fn entry(&self, key: &str) -> PathBuf {
        self.dir.path().join("cache").join(key.replace('/', "%"))
    }

    /// Restores the cache `key` into `paths` (absolute); whether there was one.
    pub fn restore(&self, key: &str, paths: &[PathBuf]) -> bool {
        let entry = self.entry(key);
        if !entry.exists() {
            return false;
        }
        for (i, path) in paths.iter().enumerate() {
            let saved = entry.join(i.to_string());
            if saved.exists() {
                copy_tree(&saved, path);
            }
        }
        true
    }

    /// Saves `paths` (absolute) as the cache `key`, unless it exists (caches are immutable).
    pub fn save(&self, key: &str, paths: &[PathBuf]) {
        let entry = self.entry(key);
        if entry.exists() {
            return;
        }
        for (i, path) in paths.iter().enumerate() {
            if path.exists() {
                copy_tree(path, &entry.join(i.to_string()));
            }
        }
    }
}

/// A `cargo` that accepts only `install --locked --path SRC --root DIR` of a source with its
/// Cargo.lock, and installs the dispatch this test built there (a link), noting SRC in `log`.
fn fake_cargo(binary: &str, log: &Path) -> String {
    format!(
        r#"#!/usr/bin/env bash
set -euo pipefail
usage() {{ echo "cargo (test stand-in): want install --locked --path SRC --root DIR, got: $*" >&2; exit 101; }}
[ "${{1:-}}" = install ] || usage "$@"
shift
locked="" src="" root=""
while [ $# -gt 0 ]; do
  case "$1" in
    --locked) locked=1 ;;
    --path) src=$2; shift ;;
    --root) root=$2; shift ;;
    *) usage "$@" ;;
  esac
  shift
done
[ -n "$locked" ] && [ -n "$root" ] && [ -f "$src/Cargo.lock" ] && [ -f "$src/Cargo.toml" ] || usage
mkdir -p "$root/bin"
ln -sf "{binary}" "$root/bin/dispatch"
echo "  Installed package \`dispatch\` (executable \`dispatch\`)" >&2
echo "$src" >> "{log}"
"#,
        log = log.display()
    )
}
