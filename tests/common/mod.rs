//! What the tests share: where `.ci/run` (via `.ci/services` and `.ci/python-base`) says the
//! services are, a sandbox to run dispatch in, and checks of its output.
#![allow(dead_code)] // each test binary uses some of these

pub mod sbom;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A `DISPATCH_TEST_*` variable, or a panic that says how to get the services.
pub fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run `bash .ci/python-base && source /tmp/dispatch-services/env` first (.ci/run does)")
    })
}

/// Services a test needs besides this machine, each known by a variable its script writes.
pub const SERVICES: &[(&str, &str, &str)] = &[
    (
        "services",
        "DISPATCH_TEST_REGISTRY",
        "the Docker engine and the test registries: `source .ci/services`",
    ),
    (
        "postgres",
        "DISPATCH_TEST_PG_URL",
        "a PostgreSQL cluster: `eval \"$(bash .ci/postgres)\"`",
    ),
    (
        "postgres_tls",
        "DISPATCH_TEST_PG_TLS_URL",
        "a PostgreSQL cluster that takes TLS only: `bash .ci/postgres-tls && source /tmp/dispatch-services/env`",
    ),
    (
        "engines",
        "DISPATCH_TEST_ENGINE_B",
        "more Docker engines: `bash .ci/engines && source /tmp/dispatch-services/env`",
    ),
    (
        "engine_tls",
        "DISPATCH_TEST_ENGINE_T",
        "a Docker engine over TLS: `bash .ci/engines && source /tmp/dispatch-services/env`",
    ),
    (
        "engine_ssh",
        "DISPATCH_TEST_SSH_ENGINE",
        "a Docker engine over ssh: `bash .ci/sshd && source /tmp/dispatch-services/env`",
    ),
    (
        "python",
        "DISPATCH_TEST_PIP_INDEX",
        "the python3 base and the wheelhouse: `eval \"$(bash .ci/python-base)\"`",
    ),
];

/// Whether the services `needed` names are there. When one is not, the test is skipped and
/// says why; or, where `DISPATCH_TEST_REQUIRE_SERVICES` is set (`.ci/run` sets it), fails.
pub fn available(needed: &[&str]) -> bool {
    let missing: Vec<&str> = SERVICES
        .iter()
        .filter(|(name, var, _)| needed.contains(name) && std::env::var_os(var).is_none())
        .map(|(_, _, how)| *how)
        .collect();
    if missing.is_empty() {
        return true;
    }
    let test = std::thread::current()
        .name()
        .unwrap_or("a test")
        .to_string();
    let why = format!("{test} needs {}", missing.join("; and "));
    assert!(
        std::env::var_os("DISPATCH_TEST_REQUIRE_SERVICES").is_none(),
        "{why} (DISPATCH_TEST_REQUIRE_SERVICES is set)"
    );
    eprintln!("skipped: {why}");
    false
}

/// Returns from the calling test, saying so, unless the services named are there:
/// `needs!(services)`, `needs!(postgres, services)`.
#[allow(unused_macros)] // each test binary uses some of these
macro_rules! needs {
    ($($service:ident),+) => {
        if !$crate::common::available(&[$(stringify!($service)),+]) {
            return;
        }
    };
}
#[allow(unused_imports)]
pub(crate) use needs;

/// Whether the calling test runs in a process of its own, with `vars` set: for a test that
/// needs an environment no other test may see (the environment is the whole process's, and
/// tests run on threads of one). The first call runs the test again in a child process and
/// checks that it passed; there, it says yes and the test goes on.
pub fn in_own_process(vars: &[(&str, &Path)]) -> bool {
    const CHILD: &str = "DISPATCH_TEST_OWN_PROCESS";
    if std::env::var_os(CHILD).is_some() {
        return true;
    }
    let test = std::thread::current()
        .name()
        .unwrap_or_default()
        .to_string();
    let output = Process::new(std::env::current_exe().unwrap())
        .args([test.as_str(), "--exact", "--nocapture"])
        .env(CHILD, "1")
        .envs(vars.iter().copied())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("test result: ok. 1 passed"),
        "{test}, in a process of its own, did not pass:\n{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    false
}

/// The engine the tests use: `DOCKER_HOST`, else the default socket, as dispatch resolves it.
pub fn engine_address() -> String {
    use dispatch::config::{Config, Overrides, Settings};
    Config::resolve(
        Settings::default(),
        Default::default(),
        Overrides::default(),
        |key| std::env::var(key).ok(),
    )
    .engine()
    .host
    .clone()
}

/// Where `plan` (a JSON plan or a saved plan) breaks the published JSON Schema.
pub fn plan_schema_errors(plan: &serde_json::Value) -> Vec<String> {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../src/plan/plan.schema.json"))
            .expect("the schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("the schema is a valid JSON Schema");
    validator
        .iter_errors(plan)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

/// Asserts that `plan` (a JSON plan or a saved plan) follows the published JSON Schema.
pub fn assert_plan_schema(plan: &serde_json::Value) {
    let errors = plan_schema_errors(plan);
    assert!(
        errors.is_empty(),
        "the plan breaks its schema:\n{}\n{plan:#}",
        errors.join("\n")
    );
}

/// What a test's own environment must not pass on to the dispatch it runs, besides every
/// `DISPATCH_*` setting: colour, the CI system's variables, libpq's.
const SCRUBBED: &[&str] = &[
    "NO_COLOR",
    "CLICOLOR_FORCE",
    "CI",
    "GITHUB_ACTIONS",
    "GITHUB_STEP_SUMMARY",
    "GITHUB_WORKSPACE",
    "GITLAB_CI",
];

/// `dispatch` as every test runs it: in `dir`, with none of the caller's settings (every
/// `DISPATCH_*` variable but the tests' own `DISPATCH_TEST_*`, colour, CI and `PG*`
/// variables), so that what a test sees depends only on what it sets.
pub fn dispatch_command(dir: &Path) -> Process {
    let mut command = Process::new(env!("CARGO_BIN_EXE_dispatch"));
    command.current_dir(dir);
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        let setting = key.starts_with("DISPATCH_") && !key.starts_with("DISPATCH_TEST_");
        if setting || key.starts_with("PG") || SCRUBBED.contains(&key.as_ref()) {
            command.env_remove(key.as_ref());
        }
    }
    command
}

/// Makes `command` run under umask 000, so that only the modes it sets itself protect files.
pub fn with_open_umask(command: &mut Process) -> &mut Process {
    // SAFETY: umask is async-signal-safe, as pre_exec requires.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(command, || {
            libc::umask(0);
            Ok(())
        })
    }
}

/// Runs `dispatch ARGS` in `dir` with `vars` (and nothing else of the caller's settings).
pub fn run_dispatch(dir: &Path, args: &[&str], vars: &[(&str, &str)]) -> Run {
    let mut command = dispatch_command(dir);
    command.envs(vars.iter().copied()).args(args);
    Run::from(command.output().unwrap())
}

/// Says how a long test is getting on, at once: straight to the process's stderr, which the
/// test harness does not capture, so that a log shows no long silence.
pub fn progress(line: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// A directory with its own state, dispatch.toml and (empty) docker config.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
    /// Unique per test, so parallel tests never share image names or registry repositories.
    pub id: String,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<std::process::Output> for Run {
    fn from(output: std::process::Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        }
    }
}

impl Sandbox {
    pub fn new(id: &str) -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("docker-config")).unwrap();
        Sandbox {
            dir,
            id: format!("{id}-{}", std::process::id()),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    pub fn dispatch(&self, args: &[&str]) -> Run {
        self.dispatch_with(args, &[])
    }

    pub fn dispatch_with(&self, args: &[&str], vars: &[(&str, &str)]) -> Run {
        let config = self.path().join("docker-config");
        let config = [("DOCKER_CONFIG", config.to_str().unwrap())];
        run_dispatch(self.path(), args, &[&config[..], vars].concat())
    }

    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let run = self.dispatch(args);
        assert_eq!(run.code, 0, "{}", run.stderr);
        serde_json::from_str(&run.stdout).unwrap()
    }

    /// `dispatch apply` of a base image at a registry that never answers, with `vars`: it
    /// holds the state lock until `--timeout`, or until killed.
    pub fn stuck_apply(&self, timeout: &str, vars: &[(&str, &str)]) -> std::process::Child {
        let (silent, _) = registry(Behaviour::Hang);
        self.write(
            "stuck/bases.yaml",
            &base_doc("stuck", &format!("{silent}/base/x:1")),
        );
        let mut command = dispatch_command(self.path());
        command
            .env("DOCKER_CONFIG", self.path().join("docker-config"))
            .args([
                "apply",
                "--auto-approve",
                "-q",
                "--timeout",
                timeout,
                "stuck",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        for (key, value) in vars {
            command.env(key, value);
        }
        command.spawn().unwrap()
    }

    /// Settings for builds that take a moment and are pushed: parallelism 4, the test registry
    /// as destination, and a template whose build runs a step in a container.
    pub fn build_and_push(&self) {
        self.write(
            "template.Dockerfile",
            "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nARG PACKAGES_FILE\nCOPY ${PACKAGES_FILE} /manifest.txt\nRUN cat /manifest.txt && sleep 0.3\n",
        );
        self.write(
            "dispatch.toml",
            &format!(
                "parallelism = 4\n[registry]\ndestination = \"{}/{}\"\n[templates]\npython3 = \"template.Dockerfile\"\n",
                env("DISPATCH_TEST_REGISTRY"),
                self.id
            ),
        );
    }

    /// An Image on `base` whose manifest names this sandbox and `version`: each new version
    /// is a build new to the engine (see [`Sandbox::build_and_push`]).
    pub fn image_doc(&self, name: &str, base: &str, version: usize) -> String {
        format!(
            "kind: Image\nname: {name}\nbaseImageName: {base}\nruntimeDependencies:\n  manifest: \"{} {version}\"\n",
            self.id
        )
    }

    /// A python3 base of our own: the test busybox with a dpkg status naming `packages` (name,
    /// version), `/etc/base-version` saying `version`, and `BASE_VERSION` set to it; built,
    /// tagged `tag` and pushed (patched in place when the tag exists). Its registry digest.
    pub fn python_base(&self, tag: &str, version: &str, packages: &[(&str, &str)]) -> String {
        let dir = self.path().join(format!("base-{version}"));
        let status: String = packages
            .iter()
            .map(|(name, version)| {
                format!(
                    "Package: {name}\nStatus: install ok installed\nArchitecture: amd64\nVersion: {version}\n\n"
                )
            })
            .collect();
        write_file(&dir.join("root/var/lib/dpkg/status"), &status);
        write_file(&dir.join("root/etc/base-version"), &format!("{version}\n"));
        write_file(
            &dir.join("Dockerfile"),
            &format!(
                "FROM {}\nCOPY root/ /\nENV BASE_VERSION={version}\n",
                env("DISPATCH_TEST_BASE")
            ),
        );
        let built = Process::new("docker")
            .args(["build", "-q", "-t", tag])
            .arg(&dir)
            .env("DOCKER_BUILDKIT", "0")
            .output()
            .unwrap();
        assert!(
            built.status.success(),
            "docker build: {}",
            String::from_utf8_lossy(&built.stderr)
        );
        docker(&["push", tag]);
        let repository = tag.rsplit_once(':').unwrap().0;
        docker(&[
            "image",
            "inspect",
            "-f",
            "{{range .RepoDigests}}{{println .}}{{end}}",
            tag,
        ])
        .lines()
        .find_map(|d| d.strip_prefix(&format!("{repository}@")))
        .expect("a pushed image has a digest")
        .to_string()
    }

    /// A registry tag of our own for the busybox base, so a test can move it.
    pub fn own_base(&self, source: &str) -> String {
        let target = format!("{}/{}/base:1", env("DISPATCH_TEST_REGISTRY"), self.id);
        docker(&["pull", source]);
        docker(&["tag", source, &target]);
        docker(&["push", &target]);
        target
    }
}

/// Writes `text` to `path`, making its folders.
pub fn write_file(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

pub fn docker(args: &[&str]) -> String {
    let output = Process::new("docker").args(args).output().unwrap();
    assert!(
        output.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// A python3 BaseImage document.
pub fn base_doc(name: &str, url: &str) -> String {
    format!("kind: BaseImage\nname: {name}\ndockerUrl: {url}\nlanguage: python3\n")
}

pub fn image_exists(reference: &str) -> bool {
    Process::new("docker")
        .args(["image", "inspect", reference])
        .output()
        .unwrap()
        .status
        .success()
}

/// Pins `text` as the golden snapshot `name` of the calling test (insta's own naming:
/// `tests/<binary>/snapshots/<binary>__<module>__<name>.snap`), with what varies between runs
/// (ports, digests, times, the sandbox id) replaced by placeholders.
#[allow(unused_macros)] // each test binary uses some of these
macro_rules! golden {
    ($name:expr, $sandbox:expr, $text:expr $(,)?) => {
        insta::with_settings!({ filters => $crate::common::VARYING.to_vec() }, {
            insta::assert_snapshot!($name, $crate::common::placeholders($sandbox, $text));
        })
    };
}
#[allow(unused_imports)]
pub(crate) use golden;

/// What varies between runs of the same test, and what a snapshot holds in its place.
pub const VARYING: [(&str, &str); 8] = [
    (r"sha256:[0-9a-f]{8,}…?", "sha256:[digest]"),
    (r":[0-9a-f]{32}\b", ":[inputs]"),
    (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "[time]"),
    // `get`'s times as the original printed them: Unix seconds, Go's time.UnixDate.
    (r#"(Time"?: )\d{9,11}\b"#, "${1}[unix]"),
    (
        r"\b[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d UTC \d{4}\b",
        "[date]",
    ),
    (r"pid \d+ on \S+", "pid [pid] on [host]"),
    // Table columns are as wide as their widest cell, which the placeholders change.
    (r" +\|", " |"),
    (r"-{10,}", "[rule]"),
];

/// `text` with the test registry's address and the sandbox's id as placeholders.
pub fn placeholders(s: &Sandbox, text: &str) -> String {
    text.replace(&env("DISPATCH_TEST_REGISTRY"), "[registry]")
        .replace(&s.id, "[id]")
}

/// Asserts that `haystack` contains `needle`, showing all of it when not.
pub fn contains(haystack: &str, needle: impl AsRef<str>) {
    let needle = needle.as_ref();
    assert!(
        haystack.contains(needle),
        "expected {needle:?} in:\n{haystack}"
    );
}

pub fn ok(run: &Run) {
    assert_eq!(
        run.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
}

/// A registry of the test's own (Debian's `docker-registry`) on a free loopback port, which the
/// test may stop and start again on the same port and data: a registry that blinks.
pub struct OwnRegistry {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<std::process::Child>,
}

impl OwnRegistry {
    pub fn start() -> OwnRegistry {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = format!(
            "version: 0.1\nlog: {{level: error, accesslog: {{disabled: true}}}}\nstorage:\n  filesystem: {{rootdirectory: \"{}\"}}\n  delete: {{enabled: true}}\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.path().join("data").display()
        );
        std::fs::write(dir.path().join("config.yml"), config).unwrap();
        let mut registry = OwnRegistry {
            dir,
            port,
            child: None,
        };
        registry.resume();
        registry
    }

    /// `127.0.0.1:PORT`.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Stops it; requests are refused until [`OwnRegistry::resume`].
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again, with the same port and data, and waits until it answers.
    pub fn resume(&mut self) {
        let child = Process::new("docker-registry")
            .arg("serve")
            .arg(self.dir.path().join("config.yml"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("docker-registry (Debian's package; .ci/services installs it)");
        self.child = Some(child);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while self.code(&format!("http://{}/v2/", self.address())) != "200" {
            assert!(
                std::time::Instant::now() < deadline,
                "the registry did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// The HTTP status of a request to `url` (HEAD with `-I`), or `000` if none came.
    pub fn code(&self, url: &str) -> String {
        let output = Process::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-I"])
            .args([
                "-H",
                "Accept: application/vnd.docker.distribution.manifest.v2+json",
            ])
            .arg(url)
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Whether the registry holds a manifest for `reference` (`127.0.0.1:PORT/path:tag`).
    pub fn holds(&self, reference: &str) -> bool {
        let rest = reference
            .strip_prefix(&format!("{}/", self.address()))
            .expect("a reference in this registry");
        let (path, tag) = rest.rsplit_once(':').unwrap();
        self.code(&format!(
            "http://{}/v2/{path}/manifests/{tag}",
            self.address()
        )) == "200"
    }
}

/// Deletes the manifest `digest` of `reference`'s repository from its registry (which must
/// allow deletes, as the test registries do); the HTTP status.
pub fn delete_manifest(reference: &str, digest: &str) -> String {
    let (repository, _) = reference.rsplit_once(':').unwrap();
    let (registry, path) = repository.split_once('/').unwrap();
    let output = Process::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-X",
            "DELETE",
        ])
        .arg(format!("http://{registry}/v2/{path}/manifests/{digest}"))
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}

impl Drop for OwnRegistry {
    fn drop(&mut self) {
        self.stop();
    }
}

/// How a fake registry answers.
#[derive(Clone, Copy)]
pub enum Behaviour {
    Status(u16),
    /// Accepts the connection, reads the request, and says nothing.
    Hang,
}

/// A registry on a free loopback port that answers as told; counts the requests.
pub fn registry(behaviour: Behaviour) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let requests = Arc::new(AtomicUsize::new(0));
    let counted = requests.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buffer = [0u8; 4096];
            let _ = stream.read(&mut buffer);
            counted.fetch_add(1, Ordering::SeqCst);
            match behaviour {
                Behaviour::Status(code) => {
                    let response = format!(
                        "HTTP/1.1 {code} Trouble\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    );
                    let _ = stream.write_all(response.as_bytes());
                }
                Behaviour::Hang => held.push(stream),
            }
        }
    });
    (address, requests)
}
