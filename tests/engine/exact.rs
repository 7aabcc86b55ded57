//! Nothing recorded that did not happen, and a saved plan applied as it was reviewed: against
//! the real engine, the shared test registry and registries of the tests' own that blink.

use crate::common::{
    OwnRegistry, Run, Sandbox, base_doc, contains, delete_manifest, docker, env, ok,
};

use std::io::{BufRead, BufReader};
use std::process::Stdio;

/// Declarations of the base `base` at `url` and images `names` on it, in `decl/all.yaml`.
fn declare(s: &Sandbox, base: &str, url: &str, names: &[String]) {
    let images: String = names
        .iter()
        .map(|name| format!("---\nkind: Image\nname: {name}\nbaseImageName: {base}\n"))
        .collect();
    s.write("decl/all.yaml", &format!("{}{images}", base_doc(base, url)));
}

/// Moves the tag `url` to the second test base.
fn move_tag(url: &str) {
    let moved = env("DISPATCH_TEST_BASE_2");
    docker(&["pull", &moved]);
    docker(&["tag", &moved, url]);
    docker(&["push", url]);
}

/// What `/etc/dispatch-test-variant` says in `image`: which test base it was built on.
fn variant(image: &str) -> String {
    docker(&[
        "run",
        "--rm",
        "--pull",
        "never",
        "--network",
        "none",
        image,
        "cat",
        "/etc/dispatch-test-variant",
    ])
    .trim()
    .to_string()
}

fn url_of(s: &Sandbox, kind: &str, name: &str) -> String {
    s.json(&["get", kind, name, "--json"])["dockerUrl"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn a_saved_plan_is_applied_as_reviewed_after_the_tag_moved() {
    crate::common::needs!(services);
    let s = Sandbox::new("reviewed");
    let url = s.own_base(&env("DISPATCH_TEST_BASE"));
    let image = format!("{}-app", s.id);
    declare(&s, "moving", &url, std::slice::from_ref(&image));
    ok(&s.dispatch(&["plan", "decl", "--out", "reviewed.plan"]));
    let reviewed = env("DISPATCH_TEST_BASE_DIGEST");
    let shown = s.json(&["show", "-o", "json", "reviewed.plan"]);
    assert_eq!(shown["resource_changes"][0]["digest"], reviewed.as_str());

    move_tag(&url);
    let moved = env("DISPATCH_TEST_BASE_2_DIGEST");
    let applied = s.dispatch(&["apply", "reviewed.plan"]);
    ok(&applied);
    contains(
        &applied.stdout,
        format!("pulling {url} at the planned {reviewed}: the tag has moved to {moved} since"),
    );
    assert_eq!(
        s.json(&["get", "base-image", "moving", "--json"])["digest"],
        reviewed.as_str()
    );
    assert_eq!(
        variant(&url_of(&s, "image", &image)),
        "1",
        "built on the reviewed base, not the one the tag points at now"
    );

    // The next plan sees the move, and applying it builds on the new base.
    let next = s.dispatch(&["plan", "decl", "--compact", "--detailed-exitcode"]);
    assert_eq!(next.code, 2, "{}", next.stderr);
    contains(&next.stdout, format!("the tag now points at {moved}"));
    ok(&s.dispatch(&["apply", "decl", "--auto-approve"]));
    assert_eq!(variant(&url_of(&s, "image", &image)), "variant 2");
}

#[test]
fn a_saved_plan_whose_digest_is_gone_is_refused_as_such() {
    crate::common::needs!(services);
    let s = Sandbox::new("gone");
    // A registry of its own: the shared one is busy with every other test's pulls and pushes.
    let registry = OwnRegistry::start();
    let url = format!("{}/gone/base:1", registry.address());
    for args in [
        vec!["pull", env("DISPATCH_TEST_BASE").as_str()],
        vec!["tag", env("DISPATCH_TEST_BASE").as_str(), &url],
        vec!["push", &url],
    ] {
        docker(&args);
    }
    declare(&s, "vanishing", &url, &[]);
    ok(&s.dispatch(&["plan", "decl", "--out", "reviewed.plan"]));
    let reviewed = env("DISPATCH_TEST_BASE_DIGEST");
    // The tag moves on, and the reviewed manifest is deleted from the registry.
    move_tag(&url);
    assert_eq!(delete_manifest(&url, &reviewed), "202");
    // Forced: a catalog reader of another test may hold a container of the same image.
    docker(&[
        "rmi",
        "--force",
        &format!("{}@{reviewed}", url.rsplit_once(':').unwrap().0),
    ]);
    let applied = s.dispatch(&["apply", "reviewed.plan"]);
    assert_eq!(applied.code, 1, "{}", applied.stdout);
    contains(
        &applied.stdout,
        format!(
            "the plan pulls {url} at {reviewed}, which the registry no longer has: make a new plan"
        ),
    );
    assert_eq!(
        s.json(&["get", "base-image", "vanishing", "--json"])["status"],
        "ERROR"
    );
}

/// `dispatch apply` in `s`, the registry stopped as soon as the first image is pushed.
fn apply_stopping_after_the_first_push(s: &Sandbox, registry: &mut OwnRegistry) -> Run {
    let mut child = crate::common::dispatch_command(s.path())
        .env("DOCKER_CONFIG", s.path().join("docker-config"))
        .args(["apply", "decl", "--auto-approve", "--parallelism", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = String::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if line.contains(": done: built ") {
            registry.stop();
        }
        stdout.push_str(&line);
        stdout.push('\n');
    }
    Run {
        stdout,
        ..Run::from(child.wait_with_output().unwrap())
    }
}

#[test]
fn pushes_that_failed_are_not_recorded_and_the_next_apply_pushes_them() {
    crate::common::needs!(services);
    let s = Sandbox::new("blink");
    let mut registry = OwnRegistry::start();
    s.write(
        "dispatch.toml",
        &format!(
            "[registry]\ndestination = \"{}/{}\"\n",
            registry.address(),
            s.id
        ),
    );
    let names: Vec<String> = ["one", "two", "three"].map(String::from).to_vec();
    declare(&s, "busybox", &env("DISPATCH_TEST_BASE"), &names);
    let first = apply_stopping_after_the_first_push(&s, &mut registry);
    assert_eq!(first.code, 1, "pushes failed:\n{}", first.stdout);
    contains(&first.stdout, "error when pushing image");
    registry.resume();
    let images = s.json(&["get", "images", "-o", "json"]);
    let images = images.as_array().unwrap();
    let ready: Vec<&serde_json::Value> = images.iter().filter(|i| i["status"] == "READY").collect();
    assert_eq!(
        ready.len(),
        1,
        "only the first push went through: {images:#?}"
    );
    for image in &ready {
        assert!(
            registry.holds(image["dockerUrl"].as_str().unwrap()),
            "{image}"
        );
    }

    // With the registry back, the next apply pushes what was built but never pushed.
    let second = s.dispatch(&["apply", "decl", "--auto-approve"]);
    ok(&second);
    contains(&second.stdout, ", built earlier");
    assert!(
        !second.stdout.contains(": building "),
        "nothing is built twice:\n{}",
        second.stdout
    );
    for name in &names {
        let object = s.json(&["get", "image", name, "--json"]);
        assert_eq!(object["status"], "READY", "{object}");
        assert!(
            registry.holds(object["dockerUrl"].as_str().unwrap()),
            "{object}"
        );
    }

    // Refresh asks the registry, not the engine, whether a pushed image is there.
    let url = url_of(&s, "image", "two");
    let digest = s.json(&["get", "image", "two", "--json"])["digest"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(delete_manifest(&url, &digest), "202");
    assert!(!registry.holds(&url), "{url} is gone");
    let plan = s.dispatch(&["plan", "decl", "--compact"]);
    contains(
        &plan.stdout,
        format!("+ Image/two (create: image {url} is gone from the registry)"),
    );
    let third = s.dispatch(&["apply", "decl", "--auto-approve"]);
    ok(&third);
    contains(
        &third.stdout,
        format!("Image/two: done: pushed {url}, built earlier"),
    );
    assert!(registry.holds(&url));
}

#[test]
fn deleting_is_idempotent_when_images_are_gone_or_shared() {
    crate::common::needs!(services);
    let s = Sandbox::new("idem");
    // Identical inputs: the three images are one engine image under three names.
    let names: Vec<String> = ["same-a", "same-b", "same-c"]
        .iter()
        .map(|n| format!("{}-{n}", s.id))
        .collect();
    declare(&s, "busybox", &env("DISPATCH_TEST_BASE"), &names);
    ok(&s.dispatch(&["apply", "decl", "--auto-approve"]));
    let urls: Vec<String> = names.iter().map(|n| url_of(&s, "image", n)).collect();
    let id = |url: &str| docker(&["image", "inspect", "-f", "{{.Id}}", url]);
    assert_eq!(id(&urls[0]), id(&urls[1]), "one image, shared");
    // One of them is already gone from the engine.
    docker(&["rmi", &urls[0]]);
    let deleted = s.dispatch(&["delete", "-f", "decl/all.yaml"]);
    ok(&deleted);
    contains(&deleted.stdout, "\nDeleted 4.\n");
    assert_eq!(
        s.json(&["get", "images", "-o", "json"]),
        serde_json::json!([])
    );
    for url in &urls {
        assert!(!crate::common::image_exists(url), "{url} is left");
    }
}
