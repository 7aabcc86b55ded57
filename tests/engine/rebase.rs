//! Rebase instead of rebuild, against the real engine and registries: images on a base patched
//! in place are rebased in the registry and run with the new base's files and their own; a
//! base whose runtime moves, `rebase: never` and `apply --rebuild` build instead; a registry
//! the layers cannot be mounted from has them copied.

use crate::common::{OwnRegistry, Sandbox, contains, docker, env, golden, ok};

const V1: [(&str, &str); 4] = [
    ("libc6", "2.36-9+deb12u3"),
    ("openssl", "3.0.11-1~deb12u1"),
    ("python3", "3.11.2-1+b1"),
    ("python3.11", "3.11.2-6"),
];

/// V1 with security fixes: the same runtime line.
const PATCHED: [(&str, &str); 4] = [
    ("libc6", "2.36-9+deb12u4"),
    ("openssl", "3.0.11-1~deb12u2"),
    ("python3", "3.11.2-1+b1"),
    ("python3.11", "3.11.2-6+deb12u1"),
];

/// A sandbox whose images are pushed to the test registry, a base `py` of its own at V1 (with
/// `rebase` as given), and `count` images on it, applied. The base's tag.
fn applied(s: &Sandbox, count: usize, rebase: Option<&str>) -> String {
    s.build_and_push();
    let tag = format!("{}/{}/py:3.11", env("DISPATCH_TEST_REGISTRY"), s.id);
    s.python_base(&tag, "1", &V1);
    declare(s, &tag, count, rebase);
    let run = s.dispatch(&["apply", "decl", "--auto-approve"]);
    ok(&run);
    contains(&run.stdout, format!("{count} built"));
    tag
}

fn declare(s: &Sandbox, tag: &str, count: usize, rebase: Option<&str>) {
    let mut yaml = crate::common::base_doc("py", tag);
    if let Some(rebase) = rebase {
        yaml += &format!("rebase: {rebase}\n");
    }
    for i in 0..count {
        yaml += "---\n";
        yaml += &s.image_doc(&format!("app{i}"), "py", i);
    }
    s.write("decl/all.yaml", &yaml);
}

/// The reference image `name` is recorded at.
fn reference(s: &Sandbox, name: &str) -> String {
    s.json(&["get", "image", name, "--json"])["dockerUrl"]
        .as_str()
        .unwrap()
        .to_string()
}

/// What `command` prints in a container of `image`, pulled first.
fn run_in(image: &str, command: &str) -> String {
    docker(&["pull", "-q", image]);
    docker(&[
        "run",
        "--rm",
        "--network",
        "none",
        image,
        "sh",
        "-c",
        command,
    ])
    .trim()
    .to_string()
}

#[test]
fn five_images_on_a_base_patched_in_place_are_rebased() {
    crate::common::needs!(services);
    let s = Sandbox::new("rebase");
    let tag = applied(&s, 5, None);
    let built: Vec<String> = (0..5).map(|i| reference(&s, &format!("app{i}"))).collect();
    let old = s.python_base(&tag, "2", &PATCHED);

    let plan = s.dispatch(&["plan", "decl", "--compact", "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}", plan.stderr);
    golden!("patched_plan", &s, &plan.stdout);
    contains(&plan.stdout, "Dispatch: 1 pull, 5 rebases (1 replacement).");
    let json = s.json(&["plan", "decl", "-o", "json"]);
    crate::common::assert_plan_schema(&json);
    let app0 = &json["resource_changes"][1];
    assert_eq!(app0["action_reason"], "rebase");
    assert_eq!(app0["rebase"]["onto"], old.as_str());
    let changed: Vec<&str> = (app0["rebase"]["changed"].as_array().unwrap().iter())
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(changed, ["libc6", "openssl", "python3.11"]);

    let applied = s.dispatch(&["apply", "decl", "--auto-approve"]);
    ok(&applied);
    contains(
        &applied.stdout,
        "Apply complete! 1 pulled, 5 rebased, 0 built",
    );
    for (i, before) in built.iter().enumerate() {
        let after = reference(&s, &format!("app{i}"));
        assert_ne!(&after, before, "app{i} has a new tag");
        // The new base's files and settings, and its own layer.
        assert_eq!(
            run_in(&after, "cat /etc/base-version; echo $BASE_VERSION"),
            "2\n2"
        );
        contains(
            &run_in(&after, "cat /manifest.txt"),
            format!("{} {i}", s.id),
        );
    }
    let wide = s.dispatch(&["get", "images", "-o", "wide"]);
    ok(&wide);
    contains(&wide.stdout, "REBASED FROM");
    let object = s.json(&["get", "image", "app0", "--json"]);
    assert!(
        object["rebasedFrom"]
            .as_str()
            .is_some_and(|d| d.starts_with("sha256:"))
    );
    let again = s.dispatch(&["plan", "decl", "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}{}", again.stdout, again.stderr);
}

#[test]
fn a_base_that_bumps_or_drops_its_runtime_rebuilds_saying_why() {
    crate::common::needs!(services);
    let s = Sandbox::new("runtime");
    let tag = applied(&s, 1, None);
    let dropped = [("libc6", "2.36-9+deb12u4"), ("openssl", "3.0.11-1~deb12u2")];
    s.python_base(&tag, "2", &dropped);
    let plan = s.dispatch(&["plan", "decl", "--compact"]);
    contains(
        &plan.stdout,
        "-/+ Image/app0 (replace: base image py will be replaced; not rebased: the new base has no runtime, the old one had python3 3.11.2)",
    );
    let bumped = [
        ("libc6", "2.36-9+deb12u4"),
        ("openssl", "3.0.11-1~deb12u2"),
        ("python3", "3.12.1-1"),
        ("python3.12", "3.12.1-2"),
    ];
    s.python_base(&tag, "3", &bumped);
    let plan = s.dispatch(&["plan", "decl", "--compact"]);
    golden!("bumped_plan", &s, &plan.stdout);
    contains(
        &plan.stdout,
        "not rebased: the runtime changed, python3.11 3.11.2 -> python3.12 3.12.1)",
    );
    let applied = s.dispatch(&["apply", "decl", "--auto-approve"]);
    ok(&applied);
    contains(&applied.stdout, "1 pulled, 1 built");
    assert_eq!(run_in(&reference(&s, "app0"), "cat /etc/base-version"), "3");
}

#[test]
fn never_and_rebuild_build_instead() {
    crate::common::needs!(services);
    let s = Sandbox::new("never");
    let tag = applied(&s, 1, Some("never"));
    s.python_base(&tag, "2", &PATCHED);
    let plan = s.dispatch(&["plan", "decl", "--compact"]);
    contains(
        &plan.stdout,
        "-/+ Image/app0 (replace: base image py will be replaced; not rebased: its base image says `rebase: never`)",
    );
    let applied = s.dispatch(&["apply", "decl", "--auto-approve"]);
    ok(&applied);
    contains(&applied.stdout, "1 pulled, 1 built");

    // Allowed again: the base changes in place; patched again, the plan rebases, and
    // `--rebuild` builds.
    declare(&s, &tag, 1, None);
    let allowed = s.dispatch(&["apply", "decl", "--auto-approve"]);
    ok(&allowed);
    contains(&allowed.stdout, "1 updated");
    let mut again = PATCHED;
    again[1].1 = "3.0.11-1~deb12u3";
    s.python_base(&tag, "3", &again);
    let plan = s.dispatch(&["plan", "decl", "--compact"]);
    contains(
        &plan.stdout,
        "~ Image/app0 (rebase: base changed: openssl 3.0.11-1~deb12u2 -> 3.0.11-1~deb12u3)",
    );
    s.dispatch(&["plan", "decl", "--out", "reviewed.plan"]);
    let rebuilt = s.dispatch(&["apply", "reviewed.plan", "--rebuild"]);
    ok(&rebuilt);
    contains(&rebuilt.stdout, "1 pulled, 1 built");
    assert!(!rebuilt.stdout.contains("rebased"), "{}", rebuilt.stdout);
    let object = s.json(&["get", "image", "app0", "--json"]);
    assert!(object.get("rebasedFrom").is_none(), "{object}");
    let after = s.dispatch(&["plan", "decl", "--detailed-exitcode"]);
    assert_eq!(after.code, 0, "{}{}", after.stdout, after.stderr);
}

#[test]
fn layers_are_copied_from_a_registry_they_cannot_be_mounted_from() {
    crate::common::needs!(services);
    let s = Sandbox::new("copied");
    s.build_and_push();
    // The base in a registry of its own: its layers cannot be mounted into the destination.
    let own = OwnRegistry::start();
    let tag = format!("{}/{}/py:3.11", own.address(), s.id);
    s.python_base(&tag, "1", &V1);
    declare(&s, &tag, 1, None);
    ok(&s.dispatch(&["apply", "decl", "--auto-approve"]));
    s.python_base(&tag, "2", &PATCHED);
    let applied = s.dispatch(&["apply", "decl", "--auto-approve"]);
    ok(&applied);
    contains(&applied.stdout, "1 pulled, 1 rebased, 0 built");
    contains(&applied.stdout, "(1 layer copied)");
    assert_eq!(run_in(&reference(&s, "app0"), "cat /etc/base-version"), "2");
}
