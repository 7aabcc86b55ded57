//! Registries that blink: a server on loopback that answers every request with an error, or
//! accepts and never answers. dispatch retries what may pass, gives up in bounded time, and
//! says what failed where the declarations needed it. No engine needed: nothing is built.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::common::{Behaviour, registry};

/// `dispatch plan` of one base image at `registry`, with `args`.
fn plan(registry: &str, args: &[&str]) -> (i32, String, Duration) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bases.yaml"),
        format!("kind: BaseImage\nname: flaky\n# the registry that blinks\ndockerUrl: {registry}/base/x:1\nlanguage: python3\n"),
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("docker-config")).unwrap();
    let started = Instant::now();
    let output = crate::common::dispatch_command(dir.path())
        .env("DOCKER_CONFIG", dir.path().join("docker-config"))
        .args(["plan", "--no-color"])
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr)
        .unwrap()
        .replace(registry, "REGISTRY");
    (
        output.status.code().unwrap_or(-1),
        stderr,
        started.elapsed(),
    )
}

#[test]
fn server_errors_are_retried_then_reported_at_the_reference() {
    for (code, name) in [(500, "http_500"), (503, "http_503"), (429, "http_429")] {
        let (address, requests) = registry(Behaviour::Status(code));
        let (exit, stderr, took) = plan(&address, &[]);
        assert_eq!(exit, 1, "{stderr}");
        assert!(
            requests.load(Ordering::SeqCst) >= 3,
            "{code}: asked {} times",
            requests.load(Ordering::SeqCst)
        );
        assert!(took < Duration::from_secs(20), "{code} took {took:?}");
        insta::assert_snapshot!(name, stderr);
    }
}

#[test]
fn a_lasting_refusal_is_not_retried() {
    let (address, requests) = registry(Behaviour::Status(404));
    let (exit, stderr, _) = plan(&address, &[]);
    assert_eq!(exit, 1);
    assert!(
        stderr.contains("does not exist in the registry"),
        "{stderr}"
    );
    // One attempt: the client's probe, HEAD, then GET; a retry would ask again.
    assert!(
        requests.load(Ordering::SeqCst) <= 4,
        "{}",
        requests.load(Ordering::SeqCst)
    );
}

#[test]
fn a_registry_that_never_answers_is_given_up_at_the_timeout() {
    let (address, _) = registry(Behaviour::Hang);
    let (exit, stderr, took) = plan(&address, &["--timeout", "2s"]);
    assert_eq!(exit, 1, "{stderr}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert!(
        stderr.contains("BaseImage/flaky: cannot reach registry REGISTRY (no answer within 2s"),
        "{stderr}"
    );
    assert!(
        stderr.starts_with("./bases.yaml:4:12: "),
        "points at the dockerUrl line: {stderr}"
    );
}

#[test]
fn an_engine_that_never_answers_is_given_up_at_the_timeout_and_named() {
    let (engine, _) = registry(Behaviour::Hang);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bases.yaml"),
        "kind: BaseImage\nname: b\ndockerUrl: 127.0.0.1:1/base/x:1\nlanguage: python3\n",
    )
    .unwrap();
    let started = Instant::now();
    let output = crate::common::dispatch_command(dir.path())
        .env("DOCKER_HOST", format!("tcp://{engine}"))
        .args([
            "apply",
            "--auto-approve",
            "--no-color",
            "--timeout",
            "2s",
            ".",
        ])
        .output()
        .unwrap();
    let took = started.elapsed();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert!(
        stderr.contains(&format!(
            "cannot reach the Docker engine at tcp://{engine}: no answer within 2s"
        )),
        "{stderr}"
    );
    assert!(
        !dir.path().join(".dispatch/state.json").exists(),
        "nothing recorded"
    );
}
