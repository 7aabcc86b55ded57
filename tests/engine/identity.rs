//! Every build input is part of an image's identity, against the real engine: a template
//! edited, or a build arg of the identity changed, rebuilds the images built from it (the plan
//! says why, apply builds the new image, the next plan has nothing to do); a state written by a
//! dispatch that recorded no build inputs plans no rebuild, and the next apply records them.

use std::path::Path;

use crate::common::{Run, Sandbox, base_doc, contains, docker, env, golden, image_exists, ok};

const TEMPLATE: &str = "ARG BASE_IMAGE
FROM ${BASE_IMAGE}
ARG PACKAGES_FILE
ARG GREETING
COPY ${PACKAGES_FILE} /packages.txt
RUN echo \"template one: $GREETING\" > /built.txt
";

/// A python3 base and one image on it, built from `templates/python3.Dockerfile` with the
/// identity arg `GREETING`, and applied.
fn applied() -> Sandbox {
    // A name no earlier run used: the engine keeps what those built under a recycled pid,
    // and an image it already holds is not built again.
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros();
    let s = Sandbox::new(&format!("identity{run}"));
    s.write("templates/python3.Dockerfile", TEMPLATE);
    s.write(
        "dispatch.toml",
        "[templates]\npython3 = \"templates/python3.Dockerfile\"\n[build]\nidentity-args = [\"GREETING\"]\n[build.args]\nGREETING = \"hello\"\n",
    );
    let image = format!("kind: Image\nname: {}\nbaseImageName: busybox\n", s.id);
    let base = base_doc("busybox", &env("DISPATCH_TEST_BASE"));
    s.write("decl/all.yaml", &format!("{base}---\n{image}"));
    let first = s.dispatch(&["apply", "decl", "--auto-approve"]);
    ok(&first);
    contains(&first.stdout, "1 pulled, 1 built");
    s
}

/// The recorded entry of the sandbox's image.
fn recorded(s: &Sandbox) -> serde_json::Value {
    let state = std::fs::read_to_string(s.path().join(".dispatch/state.json")).unwrap();
    let state: serde_json::Value = serde_json::from_str(&state).unwrap();
    state["resources"][format!("Image/{}", s.id)].clone()
}

fn reference(s: &Sandbox) -> String {
    recorded(s)["observed"]["reference"]
        .as_str()
        .unwrap()
        .to_string()
}

/// What the build wrote into the image.
fn built(image: &str) -> String {
    docker(&["run", "--rm", image, "cat", "/built.txt"])
}

fn edit(dir: &Path, path: &str, from: &str, to: &str) {
    let path = dir.join(path);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{text}");
    std::fs::write(path, text.replace(from, to)).unwrap();
}

fn plan(s: &Sandbox) -> Run {
    s.dispatch(&["plan", "decl", "--detailed-exitcode"])
}

#[test]
fn an_edited_template_or_identity_arg_rebuilds_with_its_reason() {
    crate::common::needs!(services);
    let s = applied();
    let first = reference(&s);
    assert_eq!(built(&first), "template one: hello\n");
    assert_eq!(
        recorded(&s)["buildInputs"]["template"]["path"],
        "templates/python3.Dockerfile"
    );
    assert_eq!(plan(&s).code, 0);

    edit(s.path(), "templates/python3.Dockerfile", "one", "two");
    let planned = plan(&s);
    assert_eq!(planned.code, 2, "{}", planned.stderr);
    golden!("template_edited_plan", &s, &planned.stdout);
    let rebuilt = s.dispatch(&["apply", "decl", "--auto-approve"]);
    ok(&rebuilt);
    contains(&rebuilt.stdout, "0 pulled, 1 built");
    let second = reference(&s);
    assert_ne!(second, first, "a new template is a new tag");
    assert_eq!(built(&second), "template two: hello\n");
    assert!(!image_exists(&first), "the image it replaced is removed");
    assert_eq!(plan(&s).code, 0, "applied: nothing left to do");

    edit(s.path(), "dispatch.toml", "\"hello\"", "\"bonjour\"");
    let planned = s.dispatch(&["plan", "decl", "--compact"]);
    ok(&planned);
    contains(
        &planned.stdout,
        format!("-/+ Image/{} (replace: build arg GREETING changed)", s.id),
    );
    ok(&s.dispatch(&["apply", "decl", "--auto-approve"]));
    assert_eq!(built(&reference(&s)), "template two: bonjour\n");
    assert_eq!(plan(&s).code, 0);
}

#[test]
fn a_state_without_build_inputs_has_them_recorded_and_nothing_rebuilt() {
    crate::common::needs!(services);
    let s = applied();
    let image = reference(&s);
    // As a dispatch that did not record build inputs wrote the state.
    let path = s.path().join(".dispatch/state.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut state: serde_json::Value = serde_json::from_str(&text).unwrap();
    for entry in state["resources"].as_object_mut().unwrap().values_mut() {
        entry.as_object_mut().unwrap().remove("buildInputs");
    }
    std::fs::write(&path, serde_json::to_string_pretty(&state).unwrap()).unwrap();
    assert_eq!(recorded(&s).get("buildInputs"), None);

    assert_eq!(plan(&s).code, 0, "no image is rebuilt on upgrade");
    let adopted = s.dispatch(&["apply", "decl", "--auto-approve"]);
    ok(&adopted);
    assert_eq!(
        adopted.stdout,
        "No changes. Images match the declarations.\n"
    );
    golden!("inputs_recorded_notice", &s, &adopted.stderr);
    assert_eq!(reference(&s), image, "nothing was built");
    assert_eq!(
        recorded(&s)["buildInputs"]["template"]["path"],
        "templates/python3.Dockerfile"
    );
    let again = s.dispatch(&["apply", "decl", "--auto-approve"]);
    assert_eq!(again.stderr, "", "recorded once");

    // From then on, an edit is seen.
    edit(s.path(), "templates/python3.Dockerfile", "one", "two");
    let planned = s.dispatch(&["plan", "decl", "--compact"]);
    contains(
        &planned.stdout,
        format!(
            "-/+ Image/{} (replace: template templates/python3.Dockerfile changed)",
            s.id
        ),
    );
}
