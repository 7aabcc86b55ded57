//! The original Dispatch's names, fields and flags (vmware/dispatch, CLI v0.1.24): what it
//! accepted is accepted, what it refused is refused, and the outputs are pinned beside the ones
//! its documentation shows (testdata/original/). No engine or registry.

use std::path::Path;

use crate::common::{Run, assert_plan_schema, run_dispatch};

/// The repository root, so paths in output read `testdata/...`.
fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Declarations with names the original accepted and dispatch used to refuse.
const NAMES: &str = "testdata/original/names";

/// `dispatch ARGS` in `dir`, with no engine to reach.
fn dispatch(dir: &Path, args: &[&str]) -> Run {
    let engine = [("DOCKER_HOST", "unix:///nonexistent/docker.sock")];
    run_dispatch(dir, args, &engine)
}

#[test]
fn the_original_names_are_read_everywhere_names_are() {
    let state = tempfile::tempdir().unwrap();
    let state = state.path().join("state.json");
    let state = state.to_str().unwrap();
    let valid = dispatch(root(), &["validate", NAMES]);
    assert_eq!(valid.code, 0, "{}", valid.stderr);
    insta::assert_snapshot!("names_valid", valid.stdout);
    let plan = dispatch(
        root(),
        &[
            "plan",
            "--refresh=false",
            "--state",
            state,
            NAMES,
            "--compact",
        ],
    );
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    insta::assert_snapshot!("names_plan", plan.stdout);
    // In a JSON plan, whose schema holds addresses to the same rule.
    let json = dispatch(
        root(),
        &[
            "plan",
            "--refresh=false",
            "--state",
            state,
            NAMES,
            "-o",
            "json",
        ],
    );
    let json: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_plan_schema(&json);
    let addresses: Vec<&str> = json["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["address"].as_str().unwrap())
        .collect();
    assert_eq!(
        addresses,
        [
            "BaseImage/_private",
            "BaseImage/my_py_base",
            "Image/My_App",
            "Image/worker__2"
        ]
    );
    // As a target, and an image's base through it.
    let targeted = dispatch(
        root(),
        &[
            "plan",
            "--refresh=false",
            "--state",
            state,
            NAMES,
            "--compact",
            "--target",
            "Image/My_App",
        ],
    );
    assert_eq!(targeted.code, 0, "{}", targeted.stderr);
    assert_eq!(
        targeted.stdout.lines().take(2).collect::<Vec<_>>(),
        ["+ BaseImage/my_py_base (create)", "+ Image/My_App (create)"]
    );
}

#[test]
fn names_the_original_refused_are_refused_on_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut said = String::new();
    for args in [
        &[
            "create",
            "base-image",
            "my.base",
            "x/y:1",
            "--language",
            "python3",
        ][..],
        &["create", "image", "app", "py base"],
        &["get", "image", "café"],
        &["delete", "base-image", "a/b"],
        &["plan", "--target", "Image/-x"],
    ] {
        let run = dispatch(dir.path(), &[&["--no-color"], args].concat());
        assert_eq!(run.code, 1, "{args:?}: {}", run.stderr);
        said += &format!("$ dispatch {}\n{}\n", args.join(" "), run.stderr);
    }
    insta::assert_snapshot!("names_refused", said);
    // Accepted by the parser: the error is that nothing of that name exists.
    let missing = dispatch(dir.path(), &["create", "image", "my_app", "my_py_base"]);
    assert!(
        missing
            .stderr
            .contains("Image/my_app names base image `my_py_base`, which does not exist"),
        "{}",
        missing.stderr
    );
}
