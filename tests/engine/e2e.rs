//! End to end, against the real Docker engine and registries that `.ci/services` starts:
//! the original Dispatch commands, apply, drift, failures, auth and saved plans.

use crate::common::{Sandbox, base_doc, contains, docker, env, golden, image_exists, ok};

use std::process::Command as Process;

#[test]
fn create_get_delete_with_the_original_commands() {
    crate::common::needs!(services);
    let s = Sandbox::new("imperative");
    let base = env("DISPATCH_TEST_BASE");
    let image = format!("{}-plain", s.id);
    ok(&s.dispatch(&[
        "create",
        "base-image",
        "busybox",
        &base,
        "--language",
        "python3",
        "--tag",
        "role=test",
    ]));
    let table = s.dispatch(&["get", "base-image"]);
    ok(&table);
    golden!("get_base_image_table", &s, &table.stdout);
    assert!(
        table.stdout.starts_with("  NAME    | URL"),
        "{}",
        table.stdout
    );
    contains(&table.stdout, format!("  busybox | {base} | READY  | "));
    let object = s.json(&["get", "base-image", "busybox", "--json"]);
    assert_eq!(object["status"], "READY");
    assert_eq!(object["dockerUrl"], base.as_str());
    assert_eq!(object["language"], "python3");
    assert_eq!(object["tags"][0]["key"], "role");
    assert_eq!(object["digest"], env("DISPATCH_TEST_BASE_DIGEST").as_str());
    let yaml = s.dispatch(&["get", "base-image", "busybox", "-o", "yaml"]);
    contains(&yaml.stdout, "status: READY");
    golden!("get_base_image_yaml", &s, &yaml.stdout);

    let again = s.dispatch(&[
        "create",
        "base-image",
        "busybox",
        &base,
        "--language",
        "python3",
    ]);
    assert_eq!(again.code, 1);
    golden!("create_existing", &s, &again.stderr);

    ok(&s.dispatch(&["create", "image", &image, "busybox"]));
    let built = s.json(&["get", "image", &image, "--json"]);
    assert_eq!(built["status"], "READY");
    assert_eq!(built["baseImageName"], "busybox");
    let url = built["dockerUrl"].as_str().unwrap().to_string();
    assert!(url.starts_with(&format!("dispatch/{image}:")), "{url}");
    assert!(image_exists(&url));
    let list = s.dispatch(&["get", "image"]);
    golden!("get_image_table", &s, &list.stdout);
    golden!(
        "get_image_json",
        &s,
        &s.dispatch(&["get", "image", &image, "--json"]).stdout,
    );
    contains(&list.stdout, "BASEIMAGE");

    let in_use = s.dispatch(&["delete", "base-image", "busybox"]);
    assert_eq!(in_use.code, 1);
    golden!("delete_in_use", &s, &in_use.stderr);
    contains(
        &in_use.stderr,
        format!("BaseImage/busybox is still used by Image/{image}"),
    );
    ok(&s.dispatch(&["delete", "image", &image]));
    assert!(!image_exists(&url), "the built image is removed");
    ok(&s.dispatch(&["delete", "base-image", "busybox"]));
    assert_eq!(
        s.json(&["get", "base-image", "--json"]),
        serde_json::json!([])
    );
}

#[test]
fn failed_pull_is_recorded_with_the_engine_message() {
    crate::common::needs!(services);
    let s = Sandbox::new("pullfail");
    let missing = format!(
        "{}/base/does-not-exist:0.0.1",
        env("DISPATCH_TEST_REGISTRY")
    );
    let run = s.dispatch(&[
        "create",
        "base-image",
        "does-not-exist",
        &missing,
        "--language",
        "python3",
    ]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    contains(&run.stdout, "\nFailed 1, created 0.\n");
    golden!("pull_failure_apply", &s, &run.stdout);
    let object = s.json(&["get", "base-image", "does-not-exist", "--json"]);
    assert_eq!(object["status"], "ERROR");
    let reason = object["reason"][0].as_str().unwrap();
    assert!(
        reason.starts_with(&format!("error when pulling image {missing}: ")),
        "{reason}"
    );
    assert!(reason.contains("manifest unknown"), "{reason}");
}

#[test]
fn failed_build_names_the_step_and_its_output() {
    crate::common::needs!(services);
    let s = Sandbox::new("buildfail");
    let base = env("DISPATCH_TEST_BASE");
    s.write(
        "decl/all.yaml",
        &format!(
            "{}---\nkind: Image\nname: {}-curl\nbaseImageName: busybox\nsystemDependencies:\n  packages:\n    - name: curl\n",
            base_doc("busybox", &base),
            s.id
        ),
    );
    let run = s.dispatch(&["apply", "decl", "--auto-approve"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    contains(
        &run.stdout,
        "Apply complete! 1 pulled, 0 built, 0 deleted, 1 failed.",
    );
    golden!("build_failure_apply", &s, &run.stdout);
    let object = s.json(&["get", "image", &format!("{}-curl", s.id), "--json"]);
    assert_eq!(object["status"], "ERROR");
    let reason: Vec<&str> = object["reason"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert!(
        reason[0].starts_with("error when building image dispatch/"),
        "{reason:?}"
    );
    assert!(
        reason.iter().any(|l| l.starts_with("failed at Step ")),
        "{reason:?}"
    );
}

#[test]
fn a_base_older_than_a_policy_allows_is_refused_when_pulled() {
    crate::common::needs!(services);
    let s = Sandbox::new("maxage");
    s.write(
        "decl/base.yaml",
        &base_doc("aged", &env("DISPATCH_TEST_BASE")),
    );
    s.write(
        "policy.yaml",
        "kind: Policy\nname: fresh\nmaxBaseAge:\n  age: 1s\n",
    );
    let run = s.dispatch(&["apply", "--policy", "policy.yaml", "decl", "--auto-approve"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let object = s.json(&["get", "base-image", "aged", "--json"]);
    assert_eq!(object["status"], "ERROR");
    let reason = object["reason"][0].as_str().unwrap();
    assert!(
        reason.starts_with("refused by policy: base image aged was made ")
            && reason.ends_with(" ago, more than the 1 second policy fresh allows"),
        "{reason}"
    );
    // As a warning, it is pulled and the warning is noted where the pull is reported.
    s.write(
        "policy.yaml",
        "kind: Policy\nname: fresh\nmaxBaseAge:\n  age: 1s\n  severity: warning\n",
    );
    let run = s.dispatch(&["apply", "--policy", "policy.yaml", "decl", "--auto-approve"]);
    ok(&run);
    contains(&run.stdout, "(policy warning: base image aged was made ");
    // It ages where it was pulled: every plan checks it, at its dockerUrl.
    let run = s.dispatch(&["plan", "--policy", "policy.yaml", "decl"]);
    ok(&run);
    contains(&run.stdout, "No changes.");
    contains(
        &run.stdout,
        "Warning: decl/base.yaml:3:12: base image aged was made ",
    );
    s.write(
        "policy.yaml",
        "kind: Policy\nname: fresh\nmaxBaseAge:\n  age: 1s\n",
    );
    let run = s.dispatch(&["plan", "--policy", "policy.yaml", "decl"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    contains(
        &run.stderr,
        "decl/base.yaml:3:12: base image aged was made ",
    );
}

#[test]
fn apply_builds_a_directory_and_reapplies_nothing() {
    crate::common::needs!(services);
    let s = Sandbox::new("directory");
    let (base1, base2) = (env("DISPATCH_TEST_BASE"), env("DISPATCH_TEST_BASE_2"));
    let mut yaml = format!(
        "{}---\nkind: BaseImage\nname: two\ndockerUrl: {base2}\nlanguage: nodejs\n",
        base_doc("one", &base1)
    );
    for (i, base) in ["one", "one", "two", "two"].iter().enumerate() {
        yaml += &format!(
            "---\nkind: Image\nname: {}-img{i}\nbaseImageName: {base}\ntags:\n  - key: n\n    value: \"{i}\"\n",
            s.id
        );
    }
    s.write("decl/all.yaml", &yaml);
    let first = s.dispatch(&["apply", "decl", "--auto-approve", "--parallelism", "2"]);
    ok(&first);
    contains(
        &first.stdout,
        "Apply complete! 2 pulled, 4 built, 0 deleted, 0 failed.",
    );
    let serial = s
        .json(&["state", "list", "--json"])
        .as_array()
        .unwrap()
        .len();
    assert_eq!(serial, 6);
    let state_before = std::fs::read_to_string(s.path().join(".dispatch/state.json")).unwrap();
    let again = s.dispatch(&["apply", "decl", "--auto-approve"]);
    ok(&again);
    assert_eq!(again.stdout, "No changes. Images match the declarations.\n");
    let state_after = std::fs::read_to_string(s.path().join(".dispatch/state.json")).unwrap();
    assert_eq!(
        state_before, state_after,
        "a no-change apply writes nothing"
    );

    // The same inputs under a new state are never built again.
    std::fs::remove_dir_all(s.path().join(".dispatch")).unwrap();
    let fresh = s.dispatch(&["apply", "decl", "--auto-approve"]);
    ok(&fresh);
    contains(&fresh.stdout, "0 built, 4 already built");
}

#[test]
fn drift_is_planned_and_repaired() {
    crate::common::needs!(services);
    let s = Sandbox::new("drift");
    let base = s.own_base(&env("DISPATCH_TEST_BASE"));
    let image = format!("{}-app", s.id);
    s.write(
        "decl/all.yaml",
        &format!(
            "{}---\nkind: Image\nname: {image}\nbaseImageName: moving\n",
            base_doc("moving", &base)
        ),
    );
    ok(&s.dispatch(&["apply", "decl", "--auto-approve"]));
    let built = s.json(&["get", "image", &image, "--json"])["dockerUrl"]
        .as_str()
        .unwrap()
        .to_string();

    // The tag moves to another image in the registry: re-pull, and rebuild what is on it.
    let moved = env("DISPATCH_TEST_BASE_2");
    docker(&["pull", &moved]);
    docker(&["tag", &moved, &base]);
    docker(&["push", &base]);
    let plan = s.dispatch(&["plan", "decl", "--compact", "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}", plan.stderr);
    golden!("drift_plan", &s, &plan.stdout);
    let digest = env("DISPATCH_TEST_BASE_2_DIGEST");
    contains(
        &plan.stdout,
        format!("-/+ BaseImage/moving (replace: the tag now points at {digest}"),
    );
    contains(
        &plan.stdout,
        format!(
            "-/+ Image/{image} (replace: base image moving will be replaced; not rebased: it is kept in the engine only"
        ),
    );
    ok(&s.dispatch(&["apply", "decl", "--auto-approve"]));
    let rebuilt = s.json(&["get", "image", &image, "--json"])["dockerUrl"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(built, rebuilt, "a new base gives a new image");
    assert!(!image_exists(&built), "the replaced image is removed");

    // The built image is deleted behind dispatch's back: plan says so, apply rebuilds it.
    docker(&["rmi", &rebuilt]);
    let plan = s.dispatch(&["plan", "decl", "--compact"]);
    contains(
        &plan.stdout,
        format!("+ Image/{image} (create: image {rebuilt} is gone from the engine)"),
    );
    ok(&s.dispatch(&["apply", "decl", "--auto-approve"]));
    assert!(image_exists(&rebuilt));
}

#[test]
fn private_registry_credentials_come_from_the_docker_config() {
    crate::common::needs!(services);
    let s = Sandbox::new("auth");
    let private = env("DISPATCH_TEST_AUTH_IMAGE");
    s.write("decl/base.yaml", &base_doc("private", &private));
    s.write(
        "decl/image.yaml",
        &format!("kind: Image\nname: {}\nbaseImageName: private\n", s.id),
    );
    let denied = s.dispatch(&["plan", "decl"]);
    assert_eq!(denied.code, 1);
    contains(&denied.stderr, "refused access");

    use base64::Engine as _;
    let password = env("DISPATCH_TEST_AUTH_PASSWORD");
    let auth = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{password}", env("DISPATCH_TEST_AUTH_USER")));
    s.write(
        "docker-config/config.json",
        &format!(
            r#"{{"auths": {{"{}": {{"auth": "{auth}"}}}}}}"#,
            env("DISPATCH_TEST_AUTH_REGISTRY")
        ),
    );
    let applied = s.dispatch(&["apply", "decl", "--auto-approve"]);
    ok(&applied);
    contains(&applied.stdout, "1 pulled, 1 built");
    let state = std::fs::read_to_string(s.path().join(".dispatch/state.json")).unwrap();
    for secret in [password.as_str(), auth.as_str()] {
        assert!(
            !state.contains(secret)
                && !applied.stdout.contains(secret)
                && !applied.stderr.contains(secret)
        );
    }
}

#[test]
fn stale_saved_plan_is_refused() {
    crate::common::needs!(services);
    let s = Sandbox::new("stale");
    let base = env("DISPATCH_TEST_BASE");
    s.write("decl/base.yaml", &base_doc("busybox", &base));
    ok(&s.dispatch(&["plan", "decl", "--out", "first.plan"]));
    ok(&s.dispatch(&["plan", "decl", "--out", "second.plan"]));
    ok(&s.dispatch(&["apply", "first.plan"]));
    let stale = s.dispatch(&["apply", "second.plan"]);
    assert_eq!(stale.code, 1);
    golden!("stale_plan", &s, &stale.stderr);
}

#[test]
fn a_stale_plan_is_planned_again_and_applied_only_as_reviewed() {
    crate::common::needs!(services);
    let s = Sandbox::new("replan");
    let base = env("DISPATCH_TEST_BASE");
    let declare = |name: &str| s.write(&format!("decl/{name}.yaml"), &base_doc(name, &base));
    let forget = |name: &str| std::fs::remove_file(s.path().join(format!("decl/{name}.yaml")));
    declare("main");
    ok(&s.dispatch(&["apply", "decl", "--auto-approve"]));
    // Two pull requests reviewed against the same state, each adding one base.
    declare("a");
    ok(&s.dispatch(&["plan", "decl", "--out", "a.plan"]));
    forget("a").unwrap();
    declare("b");
    ok(&s.dispatch(&["plan", "decl", "--out", "b.plan"]));
    // Both merged, the first applied: the second's plan is stale, but planned again it does
    // what was reviewed.
    declare("a");
    ok(&s.dispatch(&["apply", "a.plan"]));
    let refused = s.dispatch(&["apply", "b.plan"]);
    assert_eq!(refused.code, 1, "{}", refused.stdout);
    let replanned = s.dispatch(&["apply", "b.plan", "--if-stale", "replan"]);
    ok(&replanned);
    golden!("replanned_as_reviewed", &s, &replanned.stderr);
    contains(&replanned.stdout, "BaseImage/b will be pulled");
    contains(&replanned.stdout, "1 pulled");
    let names = s.json(&["get", "base-image", "-o", "json"]);
    assert_eq!(names.as_array().map(Vec::len), Some(3), "{names}");
    // Reviewed: add c. Meanwhile another change applied d; planned again, d would be
    // deleted, which nobody reviewed.
    declare("c");
    ok(&s.dispatch(&["plan", "decl", "--out", "c.plan"]));
    forget("c").unwrap();
    declare("d");
    ok(&s.dispatch(&["apply", "decl", "--auto-approve"]));
    forget("d").unwrap();
    declare("c");
    let diverged = s.dispatch(&["apply", "c.plan", "--if-stale", "replan"]);
    assert_eq!(diverged.code, 1, "{}", diverged.stdout);
    golden!("replanned_diverged", &s, &diverged.stderr);
    let names = s.json(&["get", "base-image", "-o", "json"]);
    assert_eq!(
        names.as_array().map(Vec::len),
        Some(4),
        "nothing applied: {names}"
    );
}

#[test]
fn unreachable_engine_changes_nothing() {
    crate::common::needs!(services);
    let s = Sandbox::new("noengine");
    let base = env("DISPATCH_TEST_BASE");
    s.write("decl/base.yaml", &base_doc("busybox", &base));
    let run = s.dispatch_with(
        &["apply", "decl", "--auto-approve"],
        &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")],
    );
    assert_eq!(run.code, 1);
    golden!("engine_unreachable", &s, &run.stderr);
    s.write(
        "dispatch.toml",
        "[engine]\nhost = \"unix:///nonexistent/configured.sock\"\n",
    );
    let configured = s.dispatch_with(&["apply", "decl", "--auto-approve"], &[("DOCKER_HOST", "")]);
    assert_eq!(configured.code, 1);
    contains(
        &configured.stderr,
        "cannot reach the Docker engine at unix:///nonexistent/configured.sock",
    );
    assert!(!s.path().join(".dispatch/state.json").exists());
}

#[test]
fn built_images_are_pushed_to_the_destination() {
    crate::common::needs!(services);
    let s = Sandbox::new("push");
    let base = env("DISPATCH_TEST_BASE");
    let destination = format!("{}/{}", env("DISPATCH_TEST_REGISTRY"), s.id);
    s.write(
        "dispatch.toml",
        &format!("[registry]\ndestination = \"{destination}\"\n"),
    );
    s.write(
        "decl/all.yaml",
        &format!(
            "{}---\nkind: Image\nname: pushed\nbaseImageName: busybox\n",
            base_doc("busybox", &base)
        ),
    );
    ok(&s.dispatch(&["apply", "decl", "--auto-approve"]));
    let object = s.json(&["get", "image", "pushed", "--json"]);
    let url = object["dockerUrl"].as_str().unwrap();
    assert!(url.starts_with(&format!("{destination}/pushed:")), "{url}");
    let digest = object["digest"].as_str().unwrap();
    let (repository, tag) = url.rsplit_once(':').unwrap();
    let path = repository.split_once('/').unwrap().1;
    let head = Process::new("curl")
        .args([
            "-sfI",
            "-H",
            "Accept: application/vnd.docker.distribution.manifest.v2+json",
        ])
        .arg(format!(
            "http://{}/v2/{path}/manifests/{tag}",
            env("DISPATCH_TEST_REGISTRY")
        ))
        .output()
        .unwrap();
    let headers = String::from_utf8_lossy(&head.stdout).to_lowercase();
    assert!(
        headers.contains(&format!("docker-content-digest: {digest}")),
        "{headers}"
    );
}

#[test]
fn create_update_delete_from_files() {
    crate::common::needs!(services);
    let s = Sandbox::new("files");
    let base = env("DISPATCH_TEST_BASE");
    let image = format!("{}-svc", s.id);
    s.write("bases.yaml", &base_doc("busybox", &base));
    // The image file names a base that is not in it: created earlier, it is found in the state.
    s.write(
        "image.yaml",
        &format!("kind: Image\nname: {image}\nbaseImageName: busybox\n"),
    );
    let early = s.dispatch(&["create", "-f", "image.yaml"]);
    assert_eq!(early.code, 1);
    contains(
        &early.stderr,
        "names base image `busybox`, which is not declared",
    );
    ok(&s.dispatch(&["create", "-f", "bases.yaml"]));
    // `plan` accepts what `create -f` accepts: the base is kept for the image built on it.
    let planned = s.dispatch(&["plan", "image.yaml", "--refresh=false"]);
    ok(&planned);
    contains(
        &planned.stdout,
        format!("# BaseImage/busybox is not declared, kept: Image/{image} is built on it"),
    );
    contains(
        &planned.stdout,
        "Plan: 1 to add, 0 to change, 0 to destroy.",
    );
    ok(&s.dispatch(&["create", "-f", "image.yaml"]));
    let twice = s.dispatch(&["create", "-f", "image.yaml"]);
    assert_eq!(twice.code, 1);
    contains(&twice.stderr, format!("Image/{image} already exists"));
    contains(&twice.stderr, "dispatch update -f");

    s.write("image.yaml", &format!("kind: Image\nname: {image}\nbaseImageName: busybox\ntags:\n  - key: v\n    value: \"2\"\n"));
    let updated = s.dispatch(&["update", "-f", "image.yaml"]);
    ok(&updated);
    contains(&updated.stdout, "\nUpdated 1.\n");
    assert_eq!(
        s.json(&["get", "image", &image, "--json"])["tags"][0]["value"],
        "2"
    );

    let url = s.json(&["get", "image", &image, "--json"])["dockerUrl"]
        .as_str()
        .unwrap()
        .to_string();
    let kept = s.dispatch(&["delete", "-f", "image.yaml", "--keep-images"]);
    ok(&kept);
    assert!(image_exists(&url), "--keep-images leaves the built image");
    ok(&s.dispatch(&["delete", "-f", "bases.yaml"]));
    assert_eq!(s.json(&["get", "image", "--json"]), serde_json::json!([]));
}

#[test]
fn interrupt_finishes_running_work_and_starts_nothing_new() {
    crate::common::needs!(services);
    let s = Sandbox::new("interrupt");
    let base = env("DISPATCH_TEST_BASE");
    // A template whose build takes a few seconds, so the interrupt lands during the first build.
    // The run's id in the command defeats the builder cache, so every run really sleeps.
    let template = format!(
        "ARG BASE_IMAGE\nFROM ${{BASE_IMAGE}}\nRUN echo {} && sleep 3\n",
        s.id
    );
    s.write("slow.Dockerfile", &template);
    s.write(
        "dispatch.toml",
        "parallelism = 1\n[templates]\npython3 = \"slow.Dockerfile\"\n",
    );
    let mut yaml = base_doc("busybox", &base);
    for i in 0..2 {
        yaml += &format!(
            "---\nkind: Image\nname: {}-slow{i}\nbaseImageName: busybox\ntags:\n  - key: run\n    value: \"{}\"\n",
            s.id, i
        );
    }
    s.write("decl/all.yaml", &yaml);
    // The pull first, alone, so the interrupt is timed against a build.
    ok(&s.dispatch(&[
        "apply",
        "decl",
        "--auto-approve",
        "--target",
        "BaseImage/busybox",
    ]));
    let child = crate::common::dispatch_command(s.path())
        .env("DOCKER_CONFIG", s.path().join("docker-config"))
        .args(["apply", "decl", "--auto-approve"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let killed = Process::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout
            .contains("Apply interrupted! 0 pulled, 1 built, 0 deleted, 0 failed, 1 not started."),
        "{stdout}"
    );
    let images = s.json(&["get", "image", "--json"]);
    assert_eq!(
        images.as_array().unwrap().len(),
        1,
        "the finished build is in the state: {images}"
    );
    assert_eq!(images[0]["status"], "READY");
}

#[test]
fn system_deps_file_is_checked_like_declarations() {
    crate::common::needs!(services);
    let s = Sandbox::new("sysdeps");
    let base = env("DISPATCH_TEST_BASE");
    ok(&s.dispatch(&[
        "create",
        "base-image",
        "busybox",
        &base,
        "--language",
        "python3",
    ]));
    s.write("evil.yaml", "- name: \"curl'; rm -rf / #\"\n");
    let evil = s.dispatch(&[
        "create",
        "image",
        "evil",
        "busybox",
        "--system-deps",
        "evil.yaml",
    ]);
    assert_eq!(evil.code, 1);
    golden!(
        "system_deps_invalid",
        &s,
        &evil
            .stderr
            .replace(&s.path().display().to_string(), "[dir]"),
    );
    assert_eq!(
        s.json(&["get", "image", "--json"]),
        serde_json::json!([]),
        "nothing was recorded"
    );

    s.write(
        "deps.yaml",
        "packages:\n  - name: curl\n    version: 7.61.1\n",
    );
    s.write("requirements.txt", "six==1.16.0\n");
    let run = s.dispatch(&[
        "create",
        "image",
        &format!("{}-deps", s.id),
        "busybox",
        "--system-deps",
        "deps.yaml",
        "--runtime-deps",
        "requirements.txt",
    ]);
    assert_eq!(
        run.code, 1,
        "busybox has no package manager: {}",
        run.stdout
    );
    let object = s.json(&["get", "image", &format!("{}-deps", s.id), "--json"]);
    assert_eq!(
        object["systemDependencies"]["packages"][0]["version"],
        "7.61.1"
    );
    assert_eq!(object["runtimeDependencies"]["manifest"], "six==1.16.0\n");
    assert_eq!(object["status"], "ERROR");
}

#[test]
fn base_gone_from_the_engine_is_pulled_again_to_build_on() {
    crate::common::needs!(services);
    let s = Sandbox::new("gone");
    let base = s.own_base(&env("DISPATCH_TEST_BASE"));
    s.write("decl/base.yaml", &base_doc("busybox", &base));
    ok(&s.dispatch(&["apply", "decl", "--auto-approve"]));

    // The engine forgets the base (a fresh CI runner, say) while the state says it is READY.
    let repository = base.rsplit_once(':').unwrap().0;
    let pinned = docker(&[
        "image",
        "inspect",
        "-f",
        "{{range .RepoDigests}}{{println .}}{{end}}",
        &base,
    ])
    .lines()
    .find(|d| d.starts_with(&format!("{repository}@")))
    .expect("the pulled base has a digest")
    .to_string();
    docker(&["rmi", &pinned, &base]);
    assert!(!image_exists(&pinned));

    s.write(
        "decl/image.yaml",
        &format!("kind: Image\nname: {}\nbaseImageName: busybox\n", s.id),
    );
    let applied = s.dispatch(&["apply", "decl", "--auto-approve"]);
    ok(&applied);
    contains(&applied.stdout, format!("pulling its base {pinned}"));
    contains(&applied.stdout, "0 pulled, 1 built");
    assert!(image_exists(&pinned), "the base is back in the engine");
}
