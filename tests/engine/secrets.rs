//! No secret leaks: with a registry behind htpasswd and its password in a docker config (as
//! `auths`, then through a credential helper), a whole round of plan, saved plan, apply (pull,
//! build, push), get and show leaves the password in no output, no file dispatch writes (state,
//! backup, journal, lock, saved plan) and no built image, in any of its base64 forms; and those
//! files are 0600 under umask 000.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::common::{Sandbox, base_doc, env};
use base64::Engine as _;

/// The password as it could appear: itself, and base64 of it or of `user:password` in either
/// alphabet at each of the three alignments it can take inside a longer base64 text (a JSON
/// auth header, say), cut to the characters no neighbour changes.
fn forms() -> Vec<String> {
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    let password = env("DISPATCH_TEST_AUTH_PASSWORD");
    let pair = format!("{}:{password}", env("DISPATCH_TEST_AUTH_USER"));
    let mut forms = vec![password.clone()];
    for text in [&password, &pair] {
        for engine in [STANDARD_NO_PAD, URL_SAFE_NO_PAD] {
            for offset in 0..3 {
                let encoded = engine.encode([&[0u8; 2][..offset], text.as_bytes()].concat());
                let start = (offset * 8).div_ceil(6);
                forms.push(encoded[start..encoded.len() - 2].to_string());
            }
        }
    }
    forms.sort();
    forms.dedup();
    forms
}

/// The form of the password `bytes` hold, if any.
fn found<'f>(bytes: &[u8], forms: &'f [String]) -> Option<&'f String> {
    forms
        .iter()
        .find(|form| bytes.windows(form.len()).any(|w| w == form.as_bytes()))
}

/// Fails if `bytes` (named `what`) hold any form of the password.
fn clean(what: &str, bytes: &[u8], forms: &[String]) {
    if let Some(form) = found(bytes, forms) {
        panic!("{what} holds the password (as {form:?})");
    }
}

/// `dispatch ARGS` in `s` under umask 000, its output checked for the password.
fn run(s: &Sandbox, args: &[&str], vars: &[(&str, &str)], forms: &[String]) -> String {
    let mut command = crate::common::dispatch_command(s.path());
    let output = crate::common::with_open_umask(&mut command)
        .env("DOCKER_CONFIG", s.path().join("docker-config"))
        .envs(vars.iter().copied())
        .args(args)
        .output()
        .unwrap();
    let name = format!("dispatch {}", args.join(" "));
    clean(&format!("the stdout of `{name}`"), &output.stdout, forms);
    clean(&format!("the stderr of `{name}`"), &output.stderr, forms);
    assert!(output.status.success(), "{name}: {output:?}");
    String::from_utf8(output.stdout).unwrap()
}

/// Every file under `dir` is free of the password; those dispatch wrote are 0600.
fn files_clean(dir: &Path, forms: &[String]) -> usize {
    let mut checked = 0;
    for entry in walkdir::WalkDir::new(dir) {
        let entry = entry.unwrap();
        if !entry.file_type().is_file() {
            continue;
        }
        let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{} is {mode:o}", entry.path().display());
        clean(
            &entry.path().display().to_string(),
            &std::fs::read(entry.path()).unwrap(),
            forms,
        );
        checked += 1;
    }
    checked
}

/// The built image, as `docker save` writes it (config, labels, history, layers).
fn image_clean(reference: &str, forms: &[String]) {
    let dir = tempfile::tempdir().unwrap();
    let tar = dir.path().join("image.tar");
    crate::common::docker(&["save", "-o", tar.to_str().unwrap(), reference]);
    clean(
        &format!("the image {reference}"),
        &std::fs::read(tar).unwrap(),
        forms,
    );
}

/// One round: declarations on the private base, pushed to the private registry.
fn round(s: &Sandbox, version: usize, vars: &[(&str, &str)], forms: &[String]) {
    let mut yaml = base_doc("private", &env("DISPATCH_TEST_AUTH_IMAGE"));
    yaml += "---\n";
    yaml += &s.image_doc("app", "private", version);
    s.write("decl/all.yaml", &yaml);
    run(s, &["plan", "decl", "--out", "saved.plan"], vars, forms);
    run(s, &["show", "saved.plan"], vars, forms);
    run(s, &["apply", "--auto-approve", "saved.plan"], vars, forms);
    let got = run(s, &["get", "image", "app", "-o", "json"], vars, forms);
    let pushed: serde_json::Value = serde_json::from_str(&got).unwrap();
    image_clean(pushed["dockerUrl"].as_str().unwrap(), forms);
    run(s, &["state", "list", "-o", "json"], vars, forms);
    let mode = std::fs::metadata(s.path().join("saved.plan"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the saved plan is {:o}", mode & 0o777);
    clean(
        "the saved plan",
        &std::fs::read(s.path().join("saved.plan")).unwrap(),
        forms,
    );
}

#[test]
fn the_password_is_in_no_output_file_or_image() {
    crate::common::needs!(services);
    let forms = forms();
    // The search finds the password where a leak would put it: an X-Registry-Auth header.
    let header = base64::engine::general_purpose::URL_SAFE.encode(format!(
        r#"{{"username":"dispatch","password":"{}","serveraddress":"x"}}"#,
        env("DISPATCH_TEST_AUTH_PASSWORD")
    ));
    assert!(
        found(header.as_bytes(), &forms).is_some(),
        "the search misses an encoded password"
    );
    let s = Sandbox::new("secrets");
    s.build_and_push();
    let registry = env("DISPATCH_TEST_AUTH_REGISTRY");
    // Pushed to the private registry, as the pull came from it.
    let toml = std::fs::read_to_string(s.path().join("dispatch.toml")).unwrap();
    s.write(
        "dispatch.toml",
        &toml.replace(&env("DISPATCH_TEST_REGISTRY"), &registry),
    );

    // The credentials in the docker config.
    let auth = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        env("DISPATCH_TEST_AUTH_USER"),
        env("DISPATCH_TEST_AUTH_PASSWORD")
    ));
    s.write(
        "docker-config/config.json",
        &format!(r#"{{"auths": {{"{registry}": {{"auth": "{auth}"}}}}}}"#),
    );
    round(&s, 1, &[], &forms);

    // Through a credential helper on PATH instead.
    let bin = s.path().join("bin");
    let helper = s.write(
        "bin/docker-credential-dispatchtest",
        &format!(
            "#!/bin/sh\n[ \"$1\" = get ] || exit 1\ncat >/dev/null\nprintf '{{\"Username\":\"%s\",\"Secret\":\"%s\"}}' '{}' '{}'\n",
            env("DISPATCH_TEST_AUTH_USER"),
            env("DISPATCH_TEST_AUTH_PASSWORD")
        ),
    );
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    s.write(
        "docker-config/config.json",
        &format!(r#"{{"credHelpers": {{"{registry}": "dispatchtest"}}}}"#),
    );
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    round(&s, 2, &[("PATH", &path)], &forms);

    let checked = files_clean(&s.path().join(".dispatch"), &forms);
    assert!(checked >= 3, "state, backup and lock: {checked} files");
    println!(
        "secrets: {} forms of the password searched in every output, {checked} state files, 2 saved plans and 2 built images: none found",
        forms.len()
    );
}
