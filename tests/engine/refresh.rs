//! `dispatch plan` with refresh, against the real registry started by `.ci/services`:
//! a base image that does not exist fails the plan at its declaration.

use crate::common::env;

fn plan(dir: &std::path::Path) -> (i32, String, String) {
    let output = crate::common::dispatch_command(dir)
        .env("DOCKER_CONFIG", dir.join("docker-config"))
        .args(["plan", "--compact", "."])
        .output()
        .unwrap();
    let text = |b: Vec<u8>| {
        String::from_utf8(b)
            .unwrap()
            .replace(&env("DISPATCH_TEST_REGISTRY"), "REGISTRY")
    };
    (
        output.status.code().unwrap(),
        text(output.stdout),
        text(output.stderr),
    )
}

#[test]
fn existing_base_images_plan_cleanly() {
    crate::common::needs!(services);
    let dir = tempfile::tempdir().unwrap();
    let base = env("DISPATCH_TEST_BASE");
    std::fs::write(
        dir.path().join("bases.yaml"),
        format!("kind: BaseImage\nname: busybox\ndockerUrl: {base}\nlanguage: python3\n"),
    )
    .unwrap();
    let (code, stdout, stderr) = plan(dir.path());
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout,
        "+ BaseImage/busybox (create)\nPlan: 1 to add, 0 to change, 0 to destroy.\nDispatch: 1 pull.\n"
    );
}

#[test]
fn missing_base_image_fails_the_plan_at_its_declaration() {
    crate::common::needs!(services);
    let dir = tempfile::tempdir().unwrap();
    let registry = env("DISPATCH_TEST_REGISTRY");
    let yaml = format!(
        "kind: BaseImage\nname: good\ndockerUrl: {}\nlanguage: python3\n---\nkind: BaseImage\nname: typo\ndockerUrl: {registry}/base/busybxo:1\nlanguage: python3\n",
        env("DISPATCH_TEST_BASE")
    );
    std::fs::write(dir.path().join("bases.yaml"), yaml).unwrap();
    let (code, stdout, stderr) = plan(dir.path());
    assert_eq!(code, 1);
    assert_eq!(stdout, "");
    insta::assert_snapshot!(stderr);
}

#[test]
fn private_base_image_without_credentials_is_denied() {
    crate::common::needs!(services);
    let dir = tempfile::tempdir().unwrap();
    let image = env("DISPATCH_TEST_AUTH_IMAGE");
    std::fs::write(
        dir.path().join("bases.yaml"),
        format!("kind: BaseImage\nname: private\ndockerUrl: {image}\nlanguage: python3\n"),
    )
    .unwrap();
    let (code, _, stderr) = plan(dir.path());
    assert_eq!(code, 1);
    let stderr = stderr.replace(&env("DISPATCH_TEST_AUTH_REGISTRY"), "AUTH_REGISTRY");
    insta::assert_snapshot!(stderr);
    assert!(!stderr.contains(&env("DISPATCH_TEST_AUTH_PASSWORD")));
}
