//! The team adopting dispatch: its repository (a bare `origin` the CI clones, and a clone of
//! the developers' own that pushes to it), dispatch's source (which the pipelines build), and
//! the state the team shares in PostgreSQL.

use std::path::{Path, PathBuf};
use std::process::Command as Process;

use crate::common::{self, Run, env};

/// A git command in `dir`, which must succeed; its stdout, trimmed.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let output = Process::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=developer",
            "-c",
            "user.email=dev@example.invalid",
        ])
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "advice.detachedHead=false",
        ])
        .args(args)
        .env_remove("GIT_DIR")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "git {args:?} in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

/// A bare repository that serves any commit it holds, as the forges do.
fn bare(path: &Path) {
    std::fs::create_dir_all(path).unwrap();
    git(path, &["init", "-q", "--bare"]);
    git(path, &["config", "uploadpack.allowAnySHA1InWant", "true"]);
}

/// The repository a team keeps its declarations in, and the state it shares.
pub struct Team {
    dir: tempfile::TempDir,
    /// Unique per test: the registry repositories and the state's workspace are named by it.
    pub id: String,
    pub workspace: String,
}

impl Team {
    /// A repository whose `main` holds dispatch.toml (destination registry, template,
    /// policies), a template, a policy, a base image and one image; and dispatch's source.
    pub fn new(name: &str) -> Team {
        let dir = tempfile::tempdir().unwrap();
        let id = format!("{name}-{}", std::process::id());
        let team = Team {
            workspace: format!(
                "{}_{}",
                name.replace('-', "_"),
                uuid::Uuid::new_v4().simple()
            ),
            id,
            dir,
        };
        bare(&team.origin());
        let work = team.work();
        std::fs::create_dir_all(&work).unwrap();
        git(&work, &["init", "-q"]);
        git(&work, &["remote", "add", "origin", &team.url()]);
        team.write("dispatch.toml", &team.settings());
        team.write(
            "templates/python3.Dockerfile",
            "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nARG PACKAGES_FILE\nCOPY ${PACKAGES_FILE} /manifest.txt\n",
        );
        team.write(
            "policies/platform.yaml",
            "kind: Policy\nname: platform\nlanguages:\n  allowed: [python3]\n",
        );
        team.write(
            "images/bases.yaml",
            &team.base("busybox", &env("DISPATCH_TEST_BASE")),
        );
        team.write("images/app.yaml", &team.image("app", "busybox", 1));
        team.write("README.md", "Our images.\n");
        git(&work, &["add", "-A"]);
        git(&work, &["commit", "-q", "-m", "Our images"]);
        git(&work, &["push", "-q", "origin", "main"]);
        team.source();
        team
    }

    fn settings(&self) -> String {
        format!(
            "policies = [\"policies\"]\n\n[registry]\ndestination = \"{}/{}\"\n\n[templates]\npython3 = \"templates/python3.Dockerfile\"\n",
            env("DISPATCH_TEST_REGISTRY"),
            self.id
        )
    }

    /// A BaseImage document.
    pub fn base(&self, name: &str, url: &str) -> String {
        common::base_doc(name, url)
    }

    /// An Image document whose manifest says its `version`.
    pub fn image(&self, name: &str, base: &str, version: usize) -> String {
        format!(
            "kind: Image\nname: {name}\nbaseImageName: {base}\nruntimeDependencies:\n  manifest: \"# {name} v{version}\"\n"
        )
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The bare repository the CI clones.
    pub fn origin(&self) -> PathBuf {
        self.path().join("forge/example/images.git")
    }

    pub fn url(&self) -> String {
        format!("file://{}", self.origin().display())
    }

    /// dispatch's source as the pipelines fetch it: a repository with its Cargo.lock, tagged.
    pub fn source_url(&self) -> String {
        format!(
            "file://{}",
            self.path().join("forge/example/dispatch.git").display()
        )
    }

    pub const SOURCE_TAG: &'static str = "v0.1.0";

    fn source(&self) {
        let bare_dir = self.path().join("forge/example/dispatch.git");
        bare(&bare_dir);
        let work = self.path().join("dispatch-src");
        std::fs::create_dir_all(&work).unwrap();
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        for file in ["Cargo.toml", "Cargo.lock"] {
            std::fs::copy(root.join(file), work.join(file)).unwrap();
        }
        git(&work, &["init", "-q"]);
        git(&work, &["add", "-A"]);
        git(&work, &["commit", "-q", "-m", "dispatch"]);
        git(&work, &["tag", Self::SOURCE_TAG]);
        let url = format!("file://{}", bare_dir.display());
        git(&work, &["push", "-q", &url, "main", Self::SOURCE_TAG]);
    }

    /// The developers' clone.
    fn work(&self) -> PathBuf {
        self.path().join("developer")
    }

    fn write(&self, name: &str, text: &str) {
        let path = self.work().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// Commits `files` (a `None` text deletes the file) on `branch` (made from main's tip if
    /// new) and pushes it; the commit.
    pub fn push(&self, branch: &str, files: &[(&str, Option<&str>)], message: &str) -> String {
        let work = self.work();
        git(&work, &["fetch", "-q", "origin"]);
        let exists = !git(&work, &["ls-remote", "--heads", "origin", branch]).is_empty();
        let start = if exists {
            format!("origin/{branch}")
        } else {
            "origin/main".into()
        };
        git(&work, &["checkout", "-q", "-B", branch, &start]);
        for (name, text) in files {
            match text {
                Some(text) => self.write(name, text),
                None => {
                    git(&work, &["rm", "-q", name]);
                }
            }
        }
        git(&work, &["add", "-A"]);
        git(&work, &["commit", "-q", "-m", message]);
        git(&work, &["push", "-q", "origin", branch]);
        self.sha(branch)
    }

    /// The commit `rev` names in the developers' clone, after fetching.
    pub fn sha(&self, rev: &str) -> String {
        git(&self.work(), &["fetch", "-q", "origin"]);
        git(&self.work(), &["rev-parse", &format!("origin/{rev}")])
    }

    /// `branch` merged into main as the forge merges (a merge commit), and pushed: its sha.
    pub fn merge(&self, branch: &str, message: &str) -> String {
        let merged = self.merged("main", branch, message);
        git(
            &self.work(),
            &["push", "-q", "origin", &format!("{merged}:refs/heads/main")],
        );
        merged
    }

    /// A merge commit of `branch` into `base`'s tip, pushed to no branch: what GitHub keeps
    /// at `refs/pull/N/merge`.
    pub fn merged(&self, base: &str, branch: &str, message: &str) -> String {
        let work = self.work();
        git(&work, &["fetch", "-q", "origin"]);
        git(
            &work,
            &["checkout", "-q", "--detach", &format!("origin/{base}")],
        );
        git(
            &work,
            &[
                "merge",
                "-q",
                "--no-ff",
                "-m",
                message,
                &format!("origin/{branch}"),
            ],
        );
        git(&work, &["rev-parse", "HEAD"])
    }

    /// Points `reference` (e.g. `refs/pull/1/merge`) of the origin at `sha`.
    pub fn set_ref(&self, reference: &str, sha: &str) {
        git(
            &self.work(),
            &["push", "-q", "-f", "origin", &format!("{sha}:{reference}")],
        );
    }

    /// The files `to` changes from `from` (of a merge commit `M`, `M^1` to `M` is what the pull
    /// request changes).
    pub fn changed(&self, from: &str, to: &str) -> Vec<String> {
        let names = git(&self.work(), &["diff", "--name-only", from, to]);
        names.lines().map(str::to_string).collect()
    }

    /// Points the team's own base tag `base:next` at the image `source`: a tag that moves.
    pub fn move_base(&self, source: &str) -> String {
        let target = format!("{}/{}/base:next", env("DISPATCH_TEST_REGISTRY"), self.id);
        common::docker(&["pull", "-q", source]);
        common::docker(&["tag", source, &target]);
        common::docker(&["push", "-q", &target]);
        target
    }

    pub fn merge_base(&self, one: &str, two: &str) -> String {
        git(&self.work(), &["merge-base", one, two])
    }

    /// The settings that keep the state where the pipelines keep it.
    pub fn state_vars(&self) -> [(&'static str, String); 3] {
        [
            ("DISPATCH_BACKEND", "postgres".into()),
            ("DISPATCH_PG_URL", env("DISPATCH_TEST_PG_URL")),
            ("DISPATCH_WORKSPACE", self.workspace.clone()),
        ]
    }

    /// `dispatch ARGS` against the team's state, in a clone of main: what an engineer sees.
    pub fn dispatch(&self, args: &[&str]) -> Run {
        let clone = self.path().join("engineer");
        if !clone.exists() {
            git(self.path(), &["clone", "-q", &self.url(), "engineer"]);
        }
        git(&clone, &["pull", "-q", "--ff-only", "origin", "main"]);
        let vars = self.state_vars();
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        common::run_dispatch(&clone, args, &vars)
    }

    /// The team's state, as `dispatch get KIND -o json` lists it: `Kind/name` → object.
    pub fn state(&self) -> std::collections::BTreeMap<String, serde_json::Value> {
        let mut all = std::collections::BTreeMap::new();
        for kind in ["base-images", "images"] {
            let run = self.dispatch(&["get", kind, "-o", "json"]);
            common::ok(&run);
            let list: Vec<serde_json::Value> = serde_json::from_str(&run.stdout).unwrap();
            for object in list {
                let address = format!(
                    "{}/{}",
                    object["kind"].as_str().unwrap(),
                    object["name"].as_str().unwrap()
                );
                all.insert(address, object);
            }
        }
        all
    }

    /// `text` with what varies between runs as placeholders: the registry, the id, the
    /// workspace (commits are filtered by the goldens, see `main.rs`).
    pub fn placeholders(&self, text: &str) -> String {
        text.replace(&env("DISPATCH_TEST_REGISTRY"), "[registry]")
            .replace(&self.id, "[id]")
            .replace(&self.workspace, "[workspace]")
    }
}
