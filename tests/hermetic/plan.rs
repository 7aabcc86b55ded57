//! Golden tests of `dispatch plan`, `show` and `state`: text, compact and JSON plans, saved
//! plans, exit codes, and the state lock as a second writer sees it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::common::Run;
use dispatch::decl::{self, LoadOptions};
use dispatch::source::fs::FsSource;
use dispatch::state::conformance::holder;
use dispatch::state::local::LocalBackend;
use dispatch::state::{Backend, ResourceState, State};

/// The repository root, so paths in output read `testdata/...`.
fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A state in which every resource of `dir` has been applied.
fn applied_state(dir: &str, path: &Path) {
    let declared = decl::load(&FsSource::new(root().join(dir)), LoadOptions::default()).unwrap();
    let mut state = State::new();
    for (address, d) in declared.resources {
        state.resources.insert(
            address,
            ResourceState::applied(d.resource, "2026-11-25T08:00:00Z"),
        );
    }
    LocalBackend::new(path)
        .lock(Duration::ZERO, &holder("test"))
        .unwrap()
        .save(&mut state)
        .unwrap();
}

fn dispatch(state: &Path, args: &[&str]) -> Run {
    let output = crate::common::dispatch_command(root())
        .arg("--state")
        .arg(state)
        .args(args)
        .output()
        .unwrap();
    Run::from(output)
}

/// `dispatch plan` against the state alone: these tests have no registry to ask.
fn plan(state: &Path, args: &[&str]) -> Run {
    dispatch(state, &[&["plan", "--refresh=false"], args].concat())
}

fn temp_state() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    (dir, path)
}

#[test]
fn first_plan_creates_everything() {
    let (_dir, state) = temp_state();
    let run = plan(&state, &["testdata/plan/v1", "--detailed-exitcode"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        !run.stdout.contains('\x1b'),
        "no colour when stdout is not a terminal"
    );
    insta::assert_snapshot!("v1_from_nothing", run.stdout);
    let compact = plan(&state, &["testdata/plan/v1", "--compact"]);
    assert_eq!(compact.code, 0);
    insta::assert_snapshot!("v1_from_nothing_compact", compact.stdout);
}

#[test]
fn hostile_values_cannot_forge_or_hide_lines() {
    let (_dir, state) = temp_state();
    let dir = "testdata/plan/hostile";
    let hazard = |text: &str| {
        text.chars()
            .find(|&c| c.is_control() && c != '\n' && c != '\t')
    };
    for (name, args) in [
        ("hostile_plan", vec![dir]),
        ("hostile_plan_compact", vec![dir, "--compact"]),
        ("hostile_plan_markdown", vec![dir, "-o", "markdown"]),
    ] {
        let run = plan(&state, &args);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(hazard(&run.stdout), None, "{name}: {:?}", run.stdout);
        assert!(!run.stdout.contains('\u{202e}'), "{name}");
        assert!(
            !run.stdout.lines().any(|l| l.starts_with("Plan: 0")),
            "{name}: a value started a line of its own"
        );
        insta::assert_snapshot!(name, run.stdout);
    }
    // JSON keeps the values exactly, escaped as JSON escapes them.
    let json = plan(&state, &[dir, "-o", "json"]);
    let value: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(hazard(&json.stdout), None);
    let tags = &value["resource_changes"][0]["change"]["after"]["tags"][0];
    assert_eq!(tags["value"], "x\u{1b}[2K\u{1b}[1A\u{1b}[8mhidden");
}

#[test]
fn policy_warnings_follow_the_plan_and_are_listed_in_its_json() {
    let (_dir, state) = temp_state();
    let policy = ["--policy", "testdata/plan/policies/warn.yaml"];
    let run = plan(
        &state,
        &[&policy[..], &["testdata/plan/v1", "--no-color"]].concat(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    insta::assert_snapshot!("v1_policy_warnings", run.stdout);
    let json = plan(
        &state,
        &[&policy[..], &["testdata/plan/v1", "-o", "json"]].concat(),
    );
    let document: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    crate::common::assert_plan_schema(&document);
    insta::assert_json_snapshot!("v1_policy_warnings_json", document["policy_violations"]);
    // In a pull request's comment, under the counts.
    let markdown = plan(
        &state,
        &[&policy[..], &["testdata/plan/v1", "-o", "markdown"]].concat(),
    );
    insta::assert_snapshot!(
        "v1_policy_warnings_markdown",
        markdown.stdout.split("<details>").next().unwrap()
    );
    // On GitLab, each is a minor issue of the code quality report.
    let gitlab = plan(
        &state,
        &[&policy[..], &["testdata/plan/v1", "-o", "gitlab"]].concat(),
    );
    let issues: serde_json::Value = serde_json::from_str(&gitlab.stdout).unwrap();
    assert_eq!(issues.as_array().map(Vec::len), Some(4), "{issues}");
    assert_eq!(issues[3]["severity"], "minor");
    assert_eq!(
        issues[3]["location"]["path"],
        "testdata/plan/v1/images.yaml"
    );
    // On GitHub, each is a warning annotation where it is broken.
    let github = plan(
        &state,
        &[&policy[..], &["testdata/plan/v1", "-o", "github"]].concat(),
    );
    assert!(
        github.stdout.contains("::warning file=testdata/plan/v1/images.yaml,line=11,col=3,title=policy advice::\"express\": \"4.18.2\" is denied by policy advice (express@<4.19.2)%0Ahint: "),
        "{}",
        github.stdout
    );
}

#[test]
fn errors_keep_the_policy_warnings_beside_them() {
    let (_dir, state) = temp_state();
    let policy = ["--policy", "testdata/plan/policies/mixed.yaml"];
    let run = plan(
        &state,
        &[&policy[..], &["testdata/plan/v1", "--no-color"]].concat(),
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
    insta::assert_snapshot!("v1_policy_errors_and_warnings", run.stderr);
    // GitLab's widget compares both branches' reports: the warning stays a minor issue.
    let gitlab = plan(
        &state,
        &[&policy[..], &["testdata/plan/v1", "-o", "gitlab"]].concat(),
    );
    let issues: serde_json::Value = serde_json::from_str(&gitlab.stdout).unwrap();
    let severities: Vec<&str> = (issues.as_array().unwrap().iter())
        .map(|i| i["severity"].as_str().unwrap())
        .collect();
    assert_eq!(severities, ["major", "major", "major", "minor"], "{issues}");
    let markdown = plan(
        &state,
        &[&policy[..], &["testdata/plan/v1", "-o", "markdown"]].concat(),
    );
    insta::assert_snapshot!("v1_policy_errors_and_warnings_markdown", markdown.stdout);
    let github = plan(
        &state,
        &[&policy[..], &["testdata/plan/v1", "-o", "github"]].concat(),
    );
    assert!(
        github
            .stdout
            .contains("::warning file=testdata/plan/v1/images.yaml,line=11,col=3,"),
        "{}",
        github.stdout
    );
}

#[test]
fn catalog_names_what_it_cannot_show_and_why() {
    let (_dir, state) = temp_state();
    applied_state("testdata/plan/same-name", &state);
    let ambiguous = dispatch(&state, &["catalog", "api"]);
    assert_eq!(ambiguous.code, 1);
    insta::assert_snapshot!("catalog_ambiguous", ambiguous.stderr);
    // Recorded, but never pulled or built by this state: nothing to read.
    let unmade = dispatch(&state, &["catalog", "Image/api"]);
    assert_eq!(unmade.code, 1);
    insta::assert_snapshot!("catalog_no_image", unmade.stderr);
    let unknown = dispatch(&state, &["catalog", "nope"]);
    assert_eq!(unknown.code, 1);
    assert!(
        unknown
            .stderr
            .starts_with("error: no image or base image is called \"nope\""),
        "{}",
        unknown.stderr
    );
    let close = dispatch(&state, &["catalog", "apl"]);
    insta::assert_snapshot!("catalog_close_name", close.stderr);
    let query = dispatch(&state, &["catalog", "--package", "pandas<<<1"]);
    assert_eq!(query.code, 1);
    insta::assert_snapshot!("catalog_bad_query", query.stderr);
    let sbom = dispatch(&state, &["catalog", "--package", "pandas", "-o", "spdx"]);
    assert_eq!(sbom.code, 1, "{}", sbom.stdout);
    assert!(
        sbom.stderr
            .contains("name one, or --all, instead of --package"),
        "{}",
        sbom.stderr
    );
}

#[test]
fn asking_where_nothing_was_applied_says_so() {
    let (_dir, state) = temp_state();
    let listed = dispatch(&state, &["get", "images"]);
    assert_eq!((listed.code, listed.stdout.as_str()), (0, ""));
    assert!(
        listed.stderr.starts_with("No state at ") && listed.stderr.contains("state.json"),
        "{}",
        listed.stderr
    );
    let json = dispatch(&state, &["get", "base-images", "-o", "json"]);
    assert_eq!((json.code, json.stdout.trim()), (0, "[]"));
    let one = dispatch(&state, &["get", "image", "x"]);
    assert_eq!(one.code, 1);
    assert!(
        one.stderr.contains("nothing has been applied here yet"),
        "{}",
        one.stderr
    );
}

#[test]
fn a_failure_says_so_where_the_reviewer_looks() {
    let (dir, state) = temp_state();
    let broken = "testdata/invalid/errors-across-files";
    let markdown = plan(&state, &[broken, "-o", "markdown"]);
    assert_eq!(markdown.code, 1);
    assert!(markdown.stderr.contains("error:"), "the log has it too");
    insta::assert_snapshot!("failed_markdown", markdown.stdout);
    let verdict = dispatch(&state, &["validate", broken, "-o", "markdown"]);
    assert_eq!((verdict.code, &verdict.stdout), (1, &markdown.stdout));
    // GitHub: the annotations in the log, and the failure in the step summary.
    let summary = dir.path().join("summary.md");
    let output = crate::common::dispatch_command(root())
        .env("GITHUB_STEP_SUMMARY", &summary)
        .args(["validate", broken, "-o", "github"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stdout).contains("::error file="));
    let written = std::fs::read_to_string(&summary).unwrap();
    assert!(written.starts_with("## dispatch: failed\n"), "{written}");
}

#[test]
fn applied_declarations_plan_no_changes() {
    let (_dir, state) = temp_state();
    applied_state("testdata/plan/v1", &state);
    let run = plan(&state, &["testdata/plan/v1", "--detailed-exitcode"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "No changes. Images match the declarations.\n");
}

#[test]
fn changed_declarations_show_every_kind_of_change() {
    let (_dir, state) = temp_state();
    applied_state("testdata/plan/v1", &state);
    let run = plan(&state, &["testdata/plan/v2", "--detailed-exitcode"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    insta::assert_snapshot!("v1_to_v2", run.stdout);
    let compact = plan(&state, &["testdata/plan/v2", "--compact"]);
    insta::assert_snapshot!("v1_to_v2_compact", compact.stdout);
    let json = plan(&state, &["testdata/plan/v2", "--json"]);
    assert_eq!(json.code, 0);
    let value: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    crate::common::assert_plan_schema(&value);
    // `-o json` is `--json`.
    assert_eq!(
        plan(&state, &["testdata/plan/v2", "-o", "json"]).stdout,
        json.stdout
    );
    insta::assert_json_snapshot!("v1_to_v2_json", value, {".dispatch_version" => "[version]"});
}

#[test]
fn targets_limit_the_plan_to_a_resource_and_its_base() {
    let (_dir, state) = temp_state();
    applied_state("testdata/plan/v1", &state);
    let run = plan(
        &state,
        &["testdata/plan/v2", "--compact", "--target", "Image/pandas"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    insta::assert_snapshot!("target_pandas", run.stdout);
    let unknown = plan(&state, &["testdata/plan/v2", "--target", "Image/panda"]);
    assert_eq!(unknown.code, 1);
    insta::assert_snapshot!("target_unknown", unknown.stderr);
}

#[test]
fn saved_plan_is_private_and_shows_the_same() {
    let (dir, state) = temp_state();
    applied_state("testdata/plan/v1", &state);
    let file = dir.path().join("v2.plan");
    let planned = plan(
        &state,
        &["testdata/plan/v2", "--out", file.to_str().unwrap()],
    );
    assert_eq!(planned.code, 0, "{}", planned.stderr);
    assert!(
        planned
            .stdout
            .ends_with(&format!("\nSaved the plan to: {}\n", file.display()))
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let shown = dispatch(&state, &["show", file.to_str().unwrap()]);
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    assert!(planned.stdout.starts_with(&shown.stdout));
    let shown_json = dispatch(&state, &["show", "--json", file.to_str().unwrap()]);
    let planned_json = plan(&state, &["testdata/plan/v2", "--json"]);
    assert_eq!(shown_json.stdout, planned_json.stdout);
    let file_json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    crate::common::assert_plan_schema(&file_json);
    let shown_value: serde_json::Value = serde_json::from_str(&shown_json.stdout).unwrap();
    crate::common::assert_plan_schema(&shown_value);
    let saved = dispatch::planfile::load(&file).unwrap();
    let current = LocalBackend::new(&state).load().unwrap();
    assert_eq!(saved.serial, 1);
    saved.check_current(current.as_ref()).unwrap();
}

#[test]
fn show_refuses_a_file_that_is_not_a_plan() {
    let (_dir, state) = temp_state();
    let run = dispatch(&state, &["show", "testdata/plan/v1/requirements.txt"]);
    assert_eq!(run.code, 1);
    insta::assert_snapshot!("show_not_a_plan", run.stderr);
}

#[test]
fn second_writer_is_told_who_holds_the_lock() {
    let (_dir, state) = temp_state();
    applied_state("testdata/plan/v1", &state);
    let _held = LocalBackend::new(&state)
        .lock(
            Duration::ZERO,
            &dispatch::host::holder("dispatch apply examples"),
        )
        .unwrap();
    let run = dispatch(&state, &["state", "rm", "Image/pandas"]);
    assert_eq!(run.code, 1);
    let host = gethostname::gethostname().to_string_lossy().into_owned();
    let expected = format!(
        "error: state is locked by pid {} on {host} (`dispatch apply examples`) since ",
        std::process::id()
    );
    assert!(run.stderr.starts_with(&expected), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("hint: wait for that run to finish, or pass --lock-timeout"),
        "{}",
        run.stderr
    );
}

#[test]
fn state_rm_forgets_a_resource() {
    let (_dir, state) = temp_state();
    applied_state("testdata/plan/v1", &state);
    let run = dispatch(&state, &["state", "rm", "Image/pandas"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "Removed Image/pandas from the state (its image was left alone).\n"
    );
    let list = dispatch(&state, &["state", "list"]);
    insta::assert_snapshot!("state_list_after_rm", list.stdout);
    let plan = plan(&state, &["testdata/plan/v1", "--compact"]);
    assert_eq!(
        plan.stdout,
        "+ Image/pandas (create)\nPlan: 1 to add, 0 to change, 0 to destroy.\nDispatch: 1 build.\n"
    );
    let missing = dispatch(&state, &["state", "rm", "Image/pandas"]);
    assert_eq!(missing.code, 1);
    assert_eq!(
        missing.stderr,
        "error: Image/pandas is not in the state\n  hint: `dispatch state list` shows what is\n"
    );
}

#[test]
fn corrupt_state_is_reported_and_left_alone() {
    let (_dir, state) = temp_state();
    std::fs::write(&state, "{\"version\": 1, \"lineage\": ").unwrap();
    let run = plan(&state, &["testdata/plan/v1"]);
    assert_eq!(run.code, 1);
    let stderr = run.stderr.replace(state.to_str().unwrap(), "STATE");
    insta::assert_snapshot!("corrupt_state", stderr);
    assert_eq!(
        std::fs::read_to_string(&state).unwrap(),
        "{\"version\": 1, \"lineage\": "
    );
    // With a backup, the hint names it.
    let backup = format!("{}.backup", state.display());
    std::fs::write(&backup, "{}").unwrap();
    let run = plan(&state, &["testdata/plan/v1"]);
    assert!(
        run.stderr.ends_with(&format!(
            "  hint: restore it from {backup}, or move it away to start afresh\n"
        )),
        "{}",
        run.stderr
    );
}

#[test]
fn a_newer_state_names_the_dispatch_that_wrote_it() {
    let (_dir, state) = temp_state();
    std::fs::write(
        &state,
        r#"{"version": 7, "lineage": "x", "written_by": "9.1.0", "shape": "new"}"#,
    )
    .unwrap();
    let run = plan(&state, &["testdata/plan/v1"]);
    assert_eq!(run.code, 1);
    let stderr = run.stderr.replace(state.to_str().unwrap(), "STATE");
    assert_eq!(
        stderr,
        format!(
            "error: state STATE has format version 7 (written by dispatch 9.1.0), newer than this dispatch ({}) understands (1); it was not changed\n  hint: upgrade dispatch\n",
            env!("CARGO_PKG_VERSION")
        )
    );
    // Every save says who wrote it.
    let (_dir, state) = temp_state();
    applied_state("testdata/plan/v1", &state);
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert_eq!(written["written_by"], env!("CARGO_PKG_VERSION"));
}

#[test]
fn errors_say_what_failed_once_and_a_refusal_says_what_to_check() {
    // Even root may not create files in sysfs.
    if !Path::new("/sys/kernel").is_dir() {
        return;
    }
    let state = Path::new("/sys/kernel/dispatch-test/state.json");
    let run = dispatch(state, &["state", "rm", "Image/x"]);
    assert_eq!(run.code, 1);
    assert!(!run.stderr.contains("os error"), "{}", run.stderr);
    assert_eq!(
        run.stderr.matches("not permitted").count(),
        1,
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("  hint: check that you may read and write"),
        "{}",
        run.stderr
    );
    // A temp file is how a write is done, not what the user asked to write.
    let (_dir, fresh) = temp_state();
    let run = plan(
        &fresh,
        &[
            "testdata/plan/v1",
            "--out",
            "/sys/kernel/dispatch-test.plan",
        ],
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.starts_with(
            "error: cannot write saved plan /sys/kernel/dispatch-test.plan: Permission denied\n"
        ),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains(".tmp"), "{}", run.stderr);
}

#[test]
fn the_schema_refuses_what_is_not_a_plan() {
    let (_dir, state) = temp_state();
    let run = plan(&state, &["testdata/plan/v1", "-o", "json"]);
    let mut value: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    crate::common::assert_plan_schema(&value);
    value["resource_changes"][0]["change"]["actions"] = serde_json::json!(["replace"]);
    assert!(
        !crate::common::plan_schema_errors(&value).is_empty(),
        "an unknown action list passed the schema"
    );
}

/// A plan in which base `py` was patched in place: `app1` and `app2` rebased, `app3` rebuilt
/// (it installed curl), `local` rebuilt (kept in the engine only), saved as `plan --out` saves
/// it.
fn rebase_plan(dir: &Path) -> PathBuf {
    use dispatch::model::catalog::{Ecosystem, Package};
    use dispatch::model::rebase::{BaseFacts, ImageFacts};
    use dispatch::model::{Address, Kind};
    use dispatch::plan::{Drift, Observations, saved::SavedPlan};
    use dispatch::state::Observed;
    use dispatch::testing::{applied, base, declared, image};

    let old = format!("sha256:{}", "9a".repeat(32));
    let new = format!("sha256:{}", "9f2c".repeat(16));
    let resources = [
        base("py", "127.0.0.1:5000/base/py:3.11"),
        image("app1", "py", Some("numpy==1.26.4\n")),
        image("app2", "py", None),
        image("app3", "py", None),
        image("local", "py", None),
    ];
    let mut state = applied(&resources);
    for (address, entry) in state.resources.iter_mut() {
        entry.observed = Some(Observed {
            digest: (address.name != "local").then(|| old.clone()),
            reference: Some(format!("127.0.0.1:5000/fn/{}:1", address.name)),
            base: Some(old.clone()),
            ..Observed::default()
        });
    }
    let py = Address::new(Kind::BaseImage, "py");
    let mut observed = Observations::default();
    observed.drift.insert(
        py.clone(),
        Drift::Moved {
            recorded: old.clone(),
            current: new.clone(),
        },
    );
    observed.digests.insert(py, new.clone());
    let deb = |name: &str, version: &str| Package::plain(Ecosystem::Deb, name, version);
    let facts = |packages: Vec<Package>, layer: &str| {
        Ok(BaseFacts {
            os: "linux".into(),
            architecture: "amd64".into(),
            diff_ids: vec![layer.to_string()],
            packages: Some(packages),
        })
    };
    let before = vec![
        deb("libc6", "2.36-9+deb12u3"),
        deb("libssl3", "3.0.11-1~deb12u1"),
        deb("openssl", "3.0.11-1~deb12u1"),
        deb("python3.11", "3.11.2-6"),
        deb("tzdata", "2024a-0+deb12u1"),
    ];
    let after = vec![
        deb("libc6", "2.36-9+deb12u4"),
        deb("libssl3", "3.0.11-1~deb12u2"),
        deb("openssl", "3.0.11-1~deb12u2"),
        deb("python3.11", "3.11.2-6+deb12u1"),
        deb("tzdata", "2024b-0+deb12u1"),
    ];
    observed
        .bases
        .insert(old.clone(), facts(before, "sha256:old"));
    observed
        .bases
        .insert(new.clone(), facts(after, "sha256:new"));
    for name in ["app1", "app2", "app3"] {
        let own = ImageFacts {
            diff_ids: vec!["sha256:old".into(), format!("sha256:{name}")],
            system_packages: match name {
                "app3" => vec!["curl 7.88.1".into()],
                _ => vec![],
            },
        };
        observed
            .images
            .insert(Address::new(Kind::Image, name), Ok(own));
    }
    let plan = dispatch::plan::plan(&declared(&resources), Some(&state), &observed, &[]).unwrap();
    let saved = SavedPlan::new(plan, Some(&state), "2026-11-25T08:00:00Z".into());
    let file = dir.join("rebase.plan");
    dispatch::planfile::save(&file, &saved).unwrap();
    file
}

#[test]
fn rebases_show_in_every_output() {
    let (dir, state) = temp_state();
    let file = rebase_plan(dir.path());
    let file = file.to_str().unwrap();
    let text = dispatch(&state, &["show", file]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    insta::assert_snapshot!("rebase_text", text.stdout);
    let compact = dispatch(&state, &["show", "--compact", file]);
    insta::assert_snapshot!("rebase_compact", compact.stdout);
    let markdown = dispatch(&state, &["show", "-o", "markdown", file]);
    insta::assert_snapshot!("rebase_markdown", markdown.stdout);
    let json = dispatch(&state, &["show", "-o", "json", file]);
    let value: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    crate::common::assert_plan_schema(&value);
    let app1 = &value["resource_changes"][1];
    assert_eq!(app1["change"]["actions"], serde_json::json!(["update"]));
    assert_eq!(app1["action_reason"], "rebase");
    assert_eq!(app1["rebase"]["changed"].as_array().unwrap().len(), 5);
    assert_eq!(value["summary"]["rebase"], 2);
    let saved = dispatch::planfile::load(Path::new(file)).unwrap();
    assert_eq!(
        saved.plan.summary().rebase,
        2,
        "a saved plan keeps its rebases"
    );
}
