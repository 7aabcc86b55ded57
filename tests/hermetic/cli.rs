//! The command line as a pipeline sees it: exit codes, closed pipes, flags and their
//! environment variables, `-C`, saved plans that cannot be read, completions and man pages.
//! No engine or registry: everything here is decided before either is asked.

use crate::common::{Run, dispatch_command, run_dispatch, with_open_umask};

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};
use std::time::Duration;

use dispatch::model::reference::ImageRef;
use dispatch::model::{BaseImageSpec, Language, Resource, Spec};
use dispatch::state::local::LocalBackend;
use dispatch::state::{Backend, ResourceState, State, conformance};

/// `dispatch` with no engine to reach: nothing here may need one.
fn dispatch_in(dir: &Path, args: &[&str], vars: &[(&str, &str)]) -> Run {
    let engine = [("DOCKER_HOST", "unix:///nonexistent/docker.sock")];
    run_dispatch(dir, args, &[&engine[..], vars].concat())
}

fn dispatch(dir: &Path, args: &[&str]) -> Run {
    dispatch_in(dir, args, &[])
}

/// A state of `n` base images at `path`, several hundred bytes of output each.
fn state_of(path: &Path, n: usize) {
    let mut state = State::new();
    state.resources = (0..n)
        .map(|i| {
            let resource = Resource {
                name: format!("base-{i}"),
                spec: Spec::BaseImage(BaseImageSpec {
                    docker_url: ImageRef::parse(&format!("127.0.0.1:5000/base/b{i}:1")).unwrap(),
                    language: Language::Python3,
                    tags: vec![],
                    rebase: Default::default(),
                }),
            };
            (
                resource.address(),
                ResourceState::applied(resource, "2026-11-25T08:00:00Z"),
            )
        })
        .collect();
    LocalBackend::new(path)
        .lock(Duration::ZERO, &conformance::holder("test"))
        .unwrap()
        .save(&mut state)
        .unwrap();
}

/// Declarations of `n` base images in `dir`.
fn declarations(dir: &Path, n: usize) -> PathBuf {
    let path = dir.join("bases.yaml");
    let text: String = (0..n)
        .map(|i| {
            format!("---\nkind: BaseImage\nname: base-{i}\ndockerUrl: 127.0.0.1:5000/base/b{i}:1\nlanguage: python3\n")
        })
        .collect();
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs dispatch with stdout into a pipe whose reader takes one line and goes away.
fn first_line_then_close(dir: &Path, args: &[&str]) -> (String, i32, String) {
    let mut child = dispatch_command(dir)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    // The reader is dropped here: the pipe is closed with most of the output unread.
    let output = child.wait_with_output().unwrap();
    (
        line,
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    let dir = tempfile::tempdir().unwrap();
    state_of(&dir.path().join(".dispatch/state.json"), 4_000);
    declarations(dir.path(), 4_000);
    for args in [
        &["state", "list"][..],
        &["get", "base-images", "-o", "json"],
        &["get", "base-images"],
        &["plan", "--refresh=false", "-o", "json"],
        &[
            "plan",
            "--refresh=false",
            "--state",
            "fresh.json",
            "--detailed-exitcode",
        ],
    ] {
        let full = dispatch(dir.path(), args);
        assert!(
            full.stdout.len() > 64 << 10,
            "{args:?}: output too small to fill a pipe"
        );
        let (line, code, stderr) = first_line_then_close(dir.path(), args);
        assert!(!line.is_empty(), "{args:?}");
        assert_eq!(stderr, "", "{args:?}: nothing on stderr");
        // The command's own outcome decides: 0, or 2 for a plan with changes.
        assert_eq!(code, full.code, "{args:?}");
        assert_ne!(code, 101, "{args:?} panicked");
    }
}

#[test]
fn usage_errors_exit_1_and_help_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["plan", "--bogus"][..],
        &["plan", "--target", "pandas"],
        &["plan", "--refresh=no"],
        &["apply", "--parallelism", "0"],
        &["frobnicate"],
    ] {
        let run = dispatch(dir.path(), args);
        assert_eq!(run.code, 1, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains("error:"), "{args:?}: {}", run.stderr);
    }
    // A command without its noun gets the help that lists them, as an error.
    let bare = dispatch(dir.path(), &["get"]);
    assert_eq!(bare.code, 1);
    assert!(bare.stderr.contains("base-image"), "{}", bare.stderr);
    let help = dispatch(dir.path(), &["plan", "--help"]);
    assert_eq!(help.code, 0);
    assert!(help.stdout.contains("Examples:"));
    assert_eq!(dispatch(dir.path(), &["--version"]).code, 0);
    let bad_value = dispatch(dir.path(), &["plan", "--target", "pandas"]);
    insta::assert_snapshot!("usage_error_bad_target", bad_value.stderr);
}

#[test]
fn a_flag_of_another_command_says_whose_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let run = dispatch(dir.path(), &["--no-color", "plan", "--parallelism", "3"]);
    assert_eq!(run.code, 1);
    insta::assert_snapshot!("flag_of_another_command", run.stderr);
    let apply = dispatch(dir.path(), &["apply", "--detailed-exitcode"]);
    assert!(
        apply
            .stderr
            .contains("--detailed-exitcode is a flag of `dispatch plan` and `dispatch diff`"),
        "{}",
        apply.stderr
    );
    // A flag no command has keeps clap's own words.
    let unknown = dispatch(dir.path(), &["plan", "--bogus"]);
    assert!(
        !unknown.stderr.contains("is a flag of"),
        "{}",
        unknown.stderr
    );
}

#[test]
fn flags_that_do_nothing_are_not_offered() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &[
            "create",
            "base-image",
            "b",
            "x/y:1",
            "--language",
            "python3",
            "--keep-images",
        ][..],
        &["create", "-f", "x.yaml", "--keep-images"],
        &["delete", "base-image", "b", "--parallelism", "2"],
        &["get", "images", "--lock-timeout", "1s"],
    ] {
        let run = dispatch(dir.path(), args);
        assert_eq!(run.code, 1, "{args:?}");
        assert!(
            run.stderr.contains("unexpected argument"),
            "{args:?}: {}",
            run.stderr
        );
    }
}

#[test]
fn language_values_are_checked_and_listed() {
    let dir = tempfile::tempdir().unwrap();
    let run = dispatch(
        dir.path(),
        &["create", "base-image", "b", "x/y:1", "--language", "cobol"],
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("[possible values: python3, nodejs, java, powershell]"),
        "{}",
        run.stderr
    );
}

#[test]
fn global_flags_go_before_or_after_the_command() {
    let dir = tempfile::tempdir().unwrap();
    state_of(&dir.path().join(".dispatch/state.json"), 1);
    for args in [
        &["-q", "delete", "image", "nope"][..],
        &["delete", "image", "nope", "-q"],
        &["--no-color", "delete", "image", "nope"],
        &["delete", "image", "nope", "--no-color"],
    ] {
        let run = dispatch(dir.path(), args);
        // Parsed: the error is the command's own, not a usage error.
        assert_eq!(
            run.stderr,
            "error: Image/nope does not exist\n  hint: `dispatch get base-image` and `dispatch get image` list what does\n",
            "{args:?}"
        );
    }
    // On a command that writes nothing too.
    let plan = dispatch(dir.path(), &["plan", "nope", "-q"]);
    assert!(
        plan.stderr
            .starts_with("error: nope: no such file or directory"),
        "{}",
        plan.stderr
    );
}

#[test]
fn no_color_covers_the_parsers_own_errors() {
    let dir = tempfile::tempdir().unwrap();
    let forced = [("CLICOLOR_FORCE", "1")];
    let colored = dispatch_in(dir.path(), &["plan", "--bogus"], &forced);
    assert!(colored.stderr.contains('\x1b'), "{:?}", colored.stderr);
    let plain = dispatch_in(dir.path(), &["--no-color", "plan", "--bogus"], &forced);
    assert!(!plain.stderr.contains('\x1b'), "{:?}", plain.stderr);
    assert_eq!(plain.code, 1);
}

#[test]
fn output_formats_mean_output_and_out_means_a_file() {
    let dir = tempfile::tempdir().unwrap();
    declarations(dir.path(), 2);
    let run = dispatch(dir.path(), &["plan", "--refresh=false", "-o", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!dir.path().join("json").exists(), "-o json wrote a file");
    let value: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    crate::common::assert_plan_schema(&value);
    let saved = dispatch(
        dir.path(),
        &["plan", "--refresh=false", "--out", "p.plan", "-o", "json"],
    );
    assert_eq!(
        saved.stdout, run.stdout,
        "-o json prints the plan, --out saves it"
    );
    assert!(dir.path().join("p.plan").exists());
    let shown = dispatch(dir.path(), &["show", "-o", "json", "p.plan"]);
    assert_eq!(shown.stdout, run.stdout);
    assert_eq!(
        dispatch(dir.path(), &["state", "list", "-o", "json"]).stdout,
        "[]\n"
    );
    assert_eq!(
        dispatch(dir.path(), &["get", "images", "-o", "json"]).stdout,
        "[]\n"
    );
    assert_eq!(
        dispatch(dir.path(), &["get", "base-images", "--json"]).stdout,
        "[]\n"
    );
}

#[test]
fn validate_speaks_json_for_programs() {
    let dir = tempfile::tempdir().unwrap();
    declarations(dir.path(), 2);
    let valid = dispatch(dir.path(), &["validate", "-o", "json"]);
    assert_eq!(valid.code, 0);
    insta::assert_snapshot!("validate_json_valid", valid.stdout);
    std::fs::write(
        dir.path().join("broken.yaml"),
        "kind: Image\nnmae: x\nbaseImageName: nowhere\n",
    )
    .unwrap();
    let invalid = dispatch(dir.path(), &["validate", "--json"]);
    assert_eq!(invalid.code, 1);
    assert_eq!(invalid.stderr, "", "everything is in the JSON");
    insta::assert_snapshot!("validate_json_invalid", invalid.stdout);
}

#[test]
fn settings_come_from_the_environment_and_chdir_moves_everything() {
    let project = tempfile::tempdir().unwrap();
    std::fs::write(
        project.path().join("dispatch.toml"),
        "state = \"custom/state.json\"\n",
    )
    .unwrap();
    state_of(&project.path().join("custom/state.json"), 3);
    let elsewhere = tempfile::tempdir().unwrap();
    let dir = project.path().to_str().unwrap();
    let listed = dispatch(elsewhere.path(), &["-C", dir, "state", "list"]);
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    assert_eq!(listed.stdout.lines().count(), 3, "{}", listed.stdout);
    let by_env = dispatch_in(
        elsewhere.path(),
        &["state", "list"],
        &[("DISPATCH_CHDIR", dir)],
    );
    assert_eq!(by_env.stdout, listed.stdout);
    // DISPATCH_STATE wins over dispatch.toml; a flag over both.
    state_of(&elsewhere.path().join("other.json"), 1);
    let other = elsewhere.path().join("other.json");
    let by_state = dispatch_in(
        elsewhere.path(),
        &["-C", dir, "state", "list"],
        &[("DISPATCH_STATE", other.to_str().unwrap())],
    );
    assert_eq!(by_state.stdout.lines().count(), 1);
    let by_flag = dispatch_in(
        elsewhere.path(),
        &["-C", dir, "state", "list", "--state", "custom/state.json"],
        &[("DISPATCH_STATE", other.to_str().unwrap())],
    );
    assert_eq!(by_flag.stdout.lines().count(), 3);
    // A bad value from the environment is refused like a bad flag.
    let bad = dispatch_in(
        elsewhere.path(),
        &["apply", "--auto-approve"],
        &[("DISPATCH_PARALLELISM", "none")],
    );
    assert_eq!(bad.code, 1);
    assert!(bad.stderr.contains("--parallelism"), "{}", bad.stderr);
    let missing = dispatch(
        elsewhere.path(),
        &["-C", "/nonexistent/dir", "state", "list"],
    );
    assert_eq!(missing.code, 1);
    assert!(
        missing
            .stderr
            .starts_with("error: cannot change to the folder /nonexistent/dir (-C)"),
        "{}",
        missing.stderr
    );
}

#[test]
fn a_saved_plan_that_cannot_be_read_is_not_read_as_yaml() {
    let dir = tempfile::tempdir().unwrap();
    declarations(dir.path(), 2);
    let made = dispatch(
        dir.path(),
        &["plan", "--refresh=false", "--out", "good.plan"],
    );
    assert_eq!(made.code, 0, "{}", made.stderr);
    let bytes = std::fs::read(dir.path().join("good.plan")).unwrap();
    std::fs::write(dir.path().join("truncated.plan"), &bytes[..bytes.len() / 2]).unwrap();
    let mut old: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    old["format_version"] = serde_json::json!(1);
    std::fs::write(dir.path().join("old.plan"), old.to_string()).unwrap();
    for (file, why) in [
        ("truncated.plan", "EOF while parsing"),
        ("old.plan", "format version 1, this dispatch reads 2.4"),
    ] {
        let run = dispatch(dir.path(), &["apply", file]);
        assert_eq!(run.code, 1, "{file}");
        assert!(
            run.stderr
                .starts_with(&format!("error: {file} is not a dispatch plan (")),
            "{file}: {}",
            run.stderr
        );
        assert!(run.stderr.contains(why), "{file}: {}", run.stderr);
        assert!(!run.stderr.contains("YAML"), "{file}: {}", run.stderr);
    }
}

#[test]
fn completions_and_manual_pages() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let run = dispatch(dir.path(), &["completions", shell]);
        assert_eq!(run.code, 0, "{shell}: {}", run.stderr);
        for word in ["plan", "apply", "base-image", "detailed-exitcode"] {
            assert!(run.stdout.contains(word), "{shell} completes no {word}");
        }
    }
    let bash = dispatch(dir.path(), &["completions", "bash"]).stdout;
    let script = dir.path().join("dispatch.bash");
    std::fs::write(&script, bash).unwrap();
    let syntax = Process::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    assert!(syntax.status.success(), "{syntax:?}");

    let page = dispatch(dir.path(), &["man"]);
    assert_eq!(page.code, 0);
    assert!(
        page.stdout.starts_with(".ie \\n(.g .ds Aq") || page.stdout.contains(".TH dispatch"),
        "{}",
        &page.stdout[..200]
    );
    assert!(page.stdout.contains(".TH dispatch 1"));
    let pages = dir.path().join("man1");
    let run = dispatch(dir.path(), &["man", "--out-dir", pages.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for name in [
        "dispatch.1",
        "dispatch-plan.1",
        "dispatch-get-image.1",
        "dispatch-state-rm.1",
    ] {
        let text =
            std::fs::read_to_string(pages.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(text.contains(".SH"), "{name}");
    }
}

#[test]
fn the_original_plural_nouns_work() {
    let dir = tempfile::tempdir().unwrap();
    state_of(&dir.path().join(".dispatch/state.json"), 2);
    let singular = dispatch(dir.path(), &["get", "base-image", "-o", "json"]);
    let plural = dispatch(dir.path(), &["get", "base-images", "-o", "json"]);
    assert_eq!(plural.code, 0);
    assert_eq!(plural.stdout, singular.stdout);
    let parsed: serde_json::Value = serde_json::from_str(&plural.stdout).unwrap();
    assert_eq!(parsed.as_array().unwrap().len(), 2);
    let deleted = dispatch(dir.path(), &["delete", "images", "nope"]);
    assert!(
        deleted.stderr.contains("Image/nope does not exist"),
        "{}",
        deleted.stderr
    );
}

#[test]
fn force_unlock_frees_a_dead_runs_lock_but_not_a_live_one() {
    let s = crate::common::Sandbox::new("unlock");
    let lock_file = s.path().join(".dispatch/state.lock");
    let mut stuck = s.stuck_apply("2m", &[]);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let holder = loop {
        let text = std::fs::read_to_string(&lock_file).unwrap_or_default();
        if let Ok(holder) = serde_json::from_str::<dispatch::state::Holder>(&text) {
            break holder;
        }
        assert!(std::time::Instant::now() < deadline, "no lock was taken");
        std::thread::sleep(Duration::from_millis(50));
    };
    let refused = s.dispatch(&["force-unlock", &holder.id]);
    assert_eq!(refused.code, 1);
    crate::common::contains(
        &refused.stderr,
        format!("is held by a running process (pid {})", stuck.id()),
    );
    let unknown = s.dispatch(&["force-unlock", "not-a-lock"]);
    assert_eq!(unknown.code, 1);
    crate::common::contains(&unknown.stderr, "no lock not-a-lock on the state");
    stuck.kill().unwrap();
    stuck.wait().unwrap();
    let freed = s.dispatch(&["force-unlock", &holder.id]);
    crate::common::ok(&freed);
    crate::common::contains(&freed.stdout, format!("Freed the lock {}", holder.id));
}

#[cfg(unix)]
#[test]
fn the_state_its_backup_and_its_lock_are_private_under_any_umask() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    state_of(&dir.path().join("state.json"), 2);
    std::fs::remove_file(dir.path().join("state.lock")).unwrap();
    let status = with_open_umask(&mut dispatch_command(dir.path()))
        .args(["--state", "state.json", "state", "rm", "BaseImage/base-0"])
        .output()
        .unwrap();
    assert!(status.status.success(), "{status:?}");
    for name in ["state.json", "state.json.backup", "state.lock"] {
        let mode = std::fs::metadata(dir.path().join(name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{name} is {:o}", mode & 0o777);
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_lock_left_by_a_run_that_died_is_named_and_taken() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    state_of(&state, 2);
    let mut gone = Process::new("true").spawn().unwrap();
    let pid = gone.id();
    gone.wait().unwrap();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let left = dispatch::state::Holder {
        pid,
        host: host.trim().into(),
        command: "dispatch apply".into(),
        ..conformance::holder("x")
    };
    std::fs::write(
        dir.path().join("state.lock"),
        serde_json::to_string(&left).unwrap(),
    )
    .unwrap();
    let run = dispatch_in(
        dir.path(),
        &["--state", "state.json", "state", "rm", "BaseImage/base-0"],
        &[],
    );
    crate::common::ok(&run);
    crate::common::contains(
        &run.stderr,
        format!(
            "the state lock was left by pid {pid} (`dispatch apply`, since {}), which is no longer running; proceeding",
            left.since
        ),
    );
}

#[cfg(target_os = "linux")]
#[test]
fn a_holder_that_recorded_nothing_is_named_by_the_os() {
    let dir = tempfile::tempdir().unwrap();
    state_of(&dir.path().join("state.json"), 2);
    let lock = dir.path().join("state.lock");
    std::fs::write(&lock, "").unwrap();
    let mut holder = Process::new("flock")
        .arg(&lock)
        .args(["sleep", "60"])
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let run = loop {
        let run = dispatch_in(
            dir.path(),
            &["--state", "state.json", "state", "rm", "BaseImage/base-0"],
            &[],
        );
        if run.code != 0 || std::time::Instant::now() > deadline {
            break run;
        }
        // flock had not taken it yet: put the resource back and try again.
        state_of(&dir.path().join("state.json"), 2);
        std::thread::sleep(Duration::from_millis(100));
    };
    holder.kill().unwrap();
    holder.wait().unwrap();
    assert_eq!(run.code, 1, "{}", run.stderr);
    crate::common::contains(
        &run.stderr,
        format!("state is locked by pid {} (`flock ", holder.id()),
    );
    crate::common::contains(&run.stderr, "which recorded nothing in the lock file");
}

#[test]
fn engines_that_cannot_work_together_are_refused_at_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let pool = "[[engines]]\nname = \"a\"\nhost = \"unix:///var/run/docker.sock\"\n\n[[engines]]\nname = \"b\"\nhost = \"tcp://builder-2.example:2376\"\n";
    let mut errors = String::new();
    for settings in [
        format!("[engine]\nhost = \"unix:///x.sock\"\n\n{pool}"),
        pool.to_string(),
        format!(
            "[registry]\ndestination = \"127.0.0.1:5000/f\"\n{}",
            pool.replace("\"b\"", "\"a\"")
        ),
        format!(
            "[registry]\ndestination = \"127.0.0.1:5000/f\"\n{}",
            pool.replace("tcp://builder-2.example:2376", "http://builder-2.example")
        ),
    ] {
        std::fs::write(dir.path().join("dispatch.toml"), settings).unwrap();
        let run = dispatch(dir.path(), &["plan"]);
        assert_eq!(run.code, 1, "{}", run.stderr);
        errors.push_str(&run.stderr);
    }
    insta::assert_snapshot!("engines_refused", errors);
}
