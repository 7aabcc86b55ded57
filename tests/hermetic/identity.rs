//! Every build input is part of an image's identity: the Dockerfile template `[templates]`
//! names and the build args `[build] identity-args` names. Plans against states on disk that
//! record what an earlier apply built each image from (or, written by an earlier dispatch,
//! nothing).

use std::path::Path;
use std::time::Duration;

use dispatch::config::{Config, Overrides};
use dispatch::ops::{Input, Workspace};
use dispatch::state::conformance::holder;
use dispatch::state::local::LocalBackend;
use dispatch::state::{Backend, ResourceState, State};

use crate::common::{Run, run_dispatch};

const TEMPLATE: &str = "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY packages.txt /function/\n";

const DECLARATIONS: &str = "\
kind: BaseImage
name: python3
dockerUrl: 127.0.0.1:5000/base/python3:1
language: python3
---
kind: BaseImage
name: node
dockerUrl: 127.0.0.1:5000/base/node:1
language: nodejs
---
kind: Image
name: pandas
baseImageName: python3
runtimeDependencies:
  manifest: |
    pandas==2.2.0
---
kind: Image
name: web
baseImageName: python3
---
kind: Image
name: app
baseImageName: node
";

/// A project with a python3 template, two images on a python3 base and one on a nodejs base.
fn project(settings: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let write = |path: &str, text: &str| {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(
        "dispatch.toml",
        &format!("[templates]\npython3 = \"templates/python3.Dockerfile\"\n{settings}"),
    );
    write("templates/python3.Dockerfile", TEMPLATE);
    write("decl/all.yaml", DECLARATIONS);
    dir
}

/// The state an apply of `dir` leaves, as it is now: every resource READY, each image with
/// the build inputs it was built from, or none (`legacy`: a dispatch that did not record them).
fn applied(dir: &Path, legacy: bool) {
    let config = Config::load(dir, Overrides::default()).unwrap();
    let ws = Workspace::new(config, "test".into()).unwrap();
    let input = Input {
        path: dir.join("decl"),
        ..Input::default()
    };
    let declared = ws.declarations(&input, None).unwrap();
    let mut state = State::new();
    for (address, d) in declared.resources {
        let mut entry = ResourceState::applied(d.resource, "2026-11-25T08:00:00Z");
        if !legacy {
            entry.build_inputs = d.build_inputs.map(|i| (*i).clone());
        }
        state.resources.insert(address, entry);
    }
    LocalBackend::new(dir.join(".dispatch/state.json"))
        .lock(Duration::ZERO, &holder("test"))
        .unwrap()
        .save(&mut state)
        .unwrap();
}

/// `dispatch plan decl` against the state alone: these tests have no registry to ask.
fn plan(dir: &Path, args: &[&str]) -> Run {
    let args = [&["plan", "decl", "--refresh=false"], args].concat();
    run_dispatch(dir, &args, &[])
}

fn edit(dir: &Path, path: &str, from: &str, to: &str) {
    let path = dir.join(path);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{text}");
    std::fs::write(path, text.replace(from, to)).unwrap();
}

#[test]
fn editing_the_template_rebuilds_the_images_of_its_language() {
    let project = project("");
    let dir = project.path();
    applied(dir, false);
    let unchanged = plan(dir, &["--detailed-exitcode"]);
    assert_eq!(
        unchanged.code, 0,
        "{}{}",
        unchanged.stdout, unchanged.stderr
    );

    edit(
        dir,
        "templates/python3.Dockerfile",
        "COPY",
        "RUN pip3 --version\nCOPY",
    );
    let run = plan(dir, &["--detailed-exitcode"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    insta::assert_snapshot!("template_edited", run.stdout);
    insta::assert_snapshot!("template_edited_compact", plan(dir, &["--compact"]).stdout);
    let markdown = plan(dir, &["-o", "markdown"]);
    insta::assert_snapshot!("template_edited_markdown", markdown.stdout);
    let json = plan(dir, &["-o", "json"]);
    let value: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    crate::common::assert_plan_schema(&value);
    insta::assert_json_snapshot!(
        "template_edited_json",
        value["resource_changes"],
        {"[].change.before" => "[resource]", "[].change.after" => "[resource]"}
    );

    // The same text under another name builds the same images.
    std::fs::rename(
        dir.join("templates/python3.Dockerfile"),
        dir.join("templates/py.Dockerfile"),
    )
    .unwrap();
    edit(dir, "dispatch.toml", "python3.Dockerfile", "py.Dockerfile");
    edit(dir, "templates/py.Dockerfile", "RUN pip3 --version\n", "");
    let moved = plan(dir, &["--detailed-exitcode"]);
    assert_eq!(moved.code, 0, "{}{}", moved.stdout, moved.stderr);
    // No template at all: the built-in Dockerfile builds them.
    edit(
        dir,
        "dispatch.toml",
        "python3 = \"templates/py.Dockerfile\"\n",
        "",
    );
    let run = plan(dir, &["--compact"]);
    insta::assert_snapshot!("template_removed_compact", run.stdout);
}

#[test]
fn only_the_build_args_declared_part_of_the_identity_rebuild() {
    let settings = "[build]\nidentity-args = [\"PYTHON_VERSION\"]\n[build.args]\nPYTHON_VERSION = \"3.11.9\"\nPIP_INDEX_URL = \"http://127.0.0.1:1/simple\"\n";
    let project = project(settings);
    let dir = project.path();
    applied(dir, false);
    let state = std::fs::read_to_string(dir.join(".dispatch/state.json")).unwrap();
    assert!(
        state.contains("PYTHON_VERSION") && !state.contains("3.11.9"),
        "the state keeps the digest of a build arg's value, never the value: {state}"
    );
    // A package index elsewhere builds the same images.
    edit(dir, "dispatch.toml", "127.0.0.1:1", "127.0.0.1:2");
    let run = plan(dir, &["--detailed-exitcode"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    edit(dir, "dispatch.toml", "3.11.9", "3.12.4");
    let run = plan(dir, &["--compact", "--detailed-exitcode"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    insta::assert_snapshot!("identity_arg_changed_compact", run.stdout);
    // A name [build.args] does not set is refused at its line.
    edit(
        dir,
        "dispatch.toml",
        "[\"PYTHON_VERSION\"]",
        "[\"PYTHON_VERSON\"]",
    );
    let run = plan(dir, &[]);
    assert_eq!(run.code, 1);
    insta::assert_snapshot!("identity_arg_unset", run.stderr);
}

#[test]
fn a_state_from_a_dispatch_that_recorded_no_inputs_plans_no_rebuild() {
    let project = project("");
    let dir = project.path();
    applied(dir, true);
    edit(
        dir,
        "templates/python3.Dockerfile",
        "COPY",
        "RUN true\nCOPY",
    );
    // Nothing says what the images were built from: they are taken as built from what is
    // there now (the next apply records it), not all rebuilt on upgrade.
    let run = plan(dir, &["--detailed-exitcode"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.stdout, "No changes. Images match the declarations.\n");
}
