//! An apply over several real Docker engines (`.ci/engines` starts three besides the main one,
//! one of them over TLS; `.ci/sshd` an sshd whose sessions reach engine b): builds spread over
//! them, a rebuild sent back to the engine that built the image before, an engine killed in
//! the middle of an apply, one down at the start, one reached over TLS, one over ssh.

use crate::common::{Sandbox, base_doc, engine_address, env, ok};

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// An engine's `host` line in dispatch.toml.
fn host(address: String) -> String {
    format!("host = \"{address}\"")
}

/// The TLS engine `t`, its server certificate checked against `ca` (a file of its certificates'
/// directory).
fn tls_engine(ca: &str) -> String {
    let certs = env("DISPATCH_TEST_ENGINE_T_CERTS");
    format!(
        "{}\ntls = {{ ca = \"{certs}/{ca}\", cert = \"{certs}/cert.pem\", key = \"{certs}/key.pem\" }}",
        host(env("DISPATCH_TEST_ENGINE_T"))
    )
}

/// dispatch.toml for `engines` (name, how it is reached), two slots each, pushing to the test registry, and
/// a template whose builds take `seconds`.
fn pool(s: &Sandbox, engines: &[(&str, String)], seconds: f32) {
    s.write(
        "template.Dockerfile",
        &format!("ARG BASE_IMAGE\nFROM ${{BASE_IMAGE}}\nARG PACKAGES_FILE\nCOPY ${{PACKAGES_FILE}} /manifest.txt\nRUN cat /manifest.txt && sleep {seconds}\n"),
    );
    let mut settings = format!(
        "[registry]\ndestination = \"{}/{}\"\n[templates]\npython3 = \"template.Dockerfile\"\n",
        env("DISPATCH_TEST_REGISTRY"),
        s.id
    );
    for (name, reach) in engines {
        settings.push_str(&format!(
            "[[engines]]\nname = \"{name}\"\n{reach}\nparallelism = 2\n"
        ));
    }
    s.write("dispatch.toml", &settings);
}

/// `n` images on one busybox base, in `decl/`.
fn declarations(s: &Sandbox, n: usize) {
    versions(s, &vec![1; n]);
}

/// One image on one busybox base per entry of `versions`, the version in its manifest.
fn versions(s: &Sandbox, versions: &[usize]) {
    let mut docs = vec![base_doc("busybox", &env("DISPATCH_TEST_BASE"))];
    docs.extend(
        (versions.iter().enumerate())
            .map(|(i, version)| s.image_doc(&format!("{}-{i}", s.id), "busybox", *version)),
    );
    s.write("decl/all.yaml", &docs.join("---\n"));
}

/// Each image's status and the engine that made it, and whether the plan after is empty.
fn settled(s: &Sandbox) -> (BTreeMap<String, (String, String)>, i32) {
    let images = s.json(&["get", "images", "-o", "json"]);
    let made = (images.as_array().unwrap().iter())
        .map(|i| {
            let text = |key: &str| i[key].as_str().unwrap_or_default().to_string();
            (text("name"), (text("status"), text("engine")))
        })
        .collect();
    let plan = s.dispatch(&["plan", "decl", "--detailed-exitcode"]);
    (made, plan.code)
}

#[test]
fn builds_spread_over_the_engines() {
    crate::common::needs!(services, engines);
    let s = Sandbox::new("pool-spread");
    pool(
        &s,
        &[
            ("a", host(engine_address())),
            ("b", host(env("DISPATCH_TEST_ENGINE_B"))),
        ],
        0.3,
    );
    declarations(&s, 6);
    ok(&s.dispatch(&["apply", "--auto-approve", "decl"]));
    let (made, plan) = settled(&s);
    assert_eq!(made.len(), 6);
    assert!(
        made.values().all(|(status, _)| status == "READY"),
        "{made:?}"
    );
    let engines: std::collections::BTreeSet<&str> =
        made.values().map(|(_, e)| e.as_str()).collect();
    assert_eq!(engines, ["a", "b"].into(), "{made:?}");
    assert_eq!(
        plan, 0,
        "the images are in the registry: nothing left to do"
    );
}

/// What the state says of each resource of `kind`: its engine and image reference, by name.
fn made(s: &Sandbox, kind: &str) -> BTreeMap<String, (String, String)> {
    let got = s.json(&["get", kind, "-o", "json"]);
    (got.as_array().unwrap().iter())
        .map(|i| {
            let text = |key: &str| i[key].as_str().unwrap_or_default().to_string();
            (text("name"), (text("engine"), text("dockerUrl")))
        })
        .collect()
}

/// Whether the engine at `address` holds `reference`, asked with the docker CLI.
fn holds(address: &str, reference: &str) -> bool {
    std::process::Command::new("docker")
        .args(["-H", address, "image", "inspect", reference])
        .output()
        .unwrap()
        .status
        .success()
}

#[test]
fn a_rebuild_after_a_manifest_change_goes_back_to_the_engine_that_built_it() {
    crate::common::needs!(services, engines);
    let s = Sandbox::new("pool-affinity");
    let engines = [
        ("a", engine_address()),
        ("b", env("DISPATCH_TEST_ENGINE_B")),
    ];
    let hosts: Vec<(&str, String)> = (engines.iter())
        .map(|(name, address)| (*name, host(address.clone())))
        .collect();
    pool(&s, &hosts, 0.3);
    let mut version = vec![1; 4];
    versions(&s, &version);
    ok(&s.dispatch(&["apply", "--auto-approve", "decl"]));
    let first = made(&s, "images");
    // For each engine, one image it built: where the base was pulled, and the other engine,
    // which pulled the base only for its builds (the state does not say it holds it, so only
    // the image's previous build can send the image back there).
    let mut changed = Vec::new();
    for (engine, _) in &engines {
        let (name, _) = (first.iter())
            .find(|(_, (on, _))| on == engine)
            .unwrap_or_else(|| panic!("nothing built on {engine}: {first:?}"));
        let i: usize = name.rsplit('-').next().unwrap().parse().unwrap();
        version[i] = 2;
        changed.push(name.clone());
    }
    versions(&s, &version);
    let apply = s.dispatch(&["apply", "--auto-approve", "decl"]);
    ok(&apply);
    assert!(
        apply.stdout.contains("Apply complete! 0 pulled, 2 built"),
        "{}",
        apply.stdout
    );
    let second = made(&s, "images");
    let address = |engine: &str| &engines.iter().find(|(e, _)| *e == engine).unwrap().1;
    for name in &changed {
        let (before, old) = &first[name];
        let (after, new) = &second[name];
        assert_eq!(
            after, before,
            "{name} was built on {before}, then on {after}"
        );
        assert_ne!(new, old, "{name} was not rebuilt");
        // The engines agree: the new image is where the state says, and there only; the
        // version it replaces was removed from there.
        for (engine, at) in &engines {
            assert_eq!(holds(at, new), engine == before, "{new} on {engine}");
        }
        assert!(!holds(address(before), old), "{old} left on {before}");
    }
    assert_eq!(settled(&s).1, 0, "every image is in the registry");
}

#[test]
fn an_engine_killed_in_the_middle_of_an_apply_leaves_its_builds_to_the_other() {
    crate::common::needs!(services, engines);
    let s = Sandbox::new("pool-kill");
    pool(
        &s,
        &[
            ("a", host(engine_address())),
            ("c", host(env("DISPATCH_TEST_ENGINE_C"))),
        ],
        3.0,
    );
    declarations(&s, 8);
    let mut apply = crate::common::dispatch_command(s.path());
    apply
        .env("DOCKER_CONFIG", s.path().join("docker-config"))
        .args(["apply", "--auto-approve", "decl"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = apply.spawn().unwrap();
    let mut log = BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    // Once builds run on both engines (the second pulls the base first), c is killed.
    let mut building = 0;
    while building < 4 {
        let mut line = String::new();
        assert!(log.read_line(&mut line).unwrap() > 0, "{seen}");
        building += usize::from(line.contains("building "));
        seen.push_str(&line);
    }
    let pid = std::fs::read_to_string(env("DISPATCH_TEST_ENGINE_C_PIDFILE")).unwrap();
    let killed = std::process::Command::new("kill")
        .args(["-9", pid.trim()])
        .status()
        .unwrap();
    assert!(killed.success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut log, &mut rest).unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Started again for the tests after this one.
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/.ci/engines");
    let restarted = std::process::Command::new("bash")
        .args([script, "start", "c"])
        .status()
        .unwrap();
    assert!(restarted.success());
    assert!(output.status.success(), "{stderr}\n{seen}{rest}");
    let last: Vec<&str> = rest.lines().rev().take(2).collect();
    assert!(
        last[0].starts_with("engine c went away at ")
            && last[1].starts_with("Apply complete! 1 pulled, 8 built"),
        "{seen}{rest}"
    );
    let (made, plan) = settled(&s);
    assert_eq!(made.len(), 8);
    assert!(
        made.values().all(|(status, _)| status == "READY"),
        "{made:?}"
    );
    assert_eq!(plan, 0, "every image is in the registry");
}

/// Every image READY and made by one of `engines`, and the plan after empty.
fn all_ready_on(s: &Sandbox, n: usize, engines: &[&str]) {
    let (made, plan) = settled(s);
    assert_eq!(made.len(), n, "{made:?}");
    assert!(
        made.values()
            .all(|(status, e)| status == "READY" && engines.contains(&e.as_str())),
        "{made:?}"
    );
    assert_eq!(plan, 0, "every image is in the registry");
}

#[test]
fn an_engine_down_at_the_start_is_left_out_within_seconds() {
    crate::common::needs!(services, engines);
    let s = Sandbox::new("pool-down");
    // A socket that takes connections and never answers: a hung engine, the worst case (a
    // missing socket is refused at once).
    let socket = s.path().join("hung.sock");
    let _hung = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    let hung = format!("unix://{}", socket.display());
    pool(
        &s,
        &[("a", host(engine_address())), ("d", host(hung.clone()))],
        0.1,
    );
    declarations(&s, 3);
    let started = Instant::now();
    let apply = s.dispatch(&["apply", "--auto-approve", "decl"]);
    let took = started.elapsed();
    ok(&apply);
    assert!(
        apply.stderr.contains(&format!(
            "engine d does not answer, and is left out of this apply: cannot reach the Docker engine at {hung}: no answer within 5s"
        )),
        "{}",
        apply.stderr
    );
    // The engine timeout (2 minutes) is not waited for.
    assert!(took < Duration::from_secs(60), "{took:?}");
    all_ready_on(&s, 3, &["a"]);
}

#[test]
fn builds_run_on_an_engine_reached_over_tls() {
    crate::common::needs!(services, engines, engine_tls);
    let s = Sandbox::new("pool-tls");
    pool(
        &s,
        &[("a", host(engine_address())), ("t", tls_engine("ca.pem"))],
        1.0,
    );
    declarations(&s, 6);
    let apply = s.dispatch(&["apply", "--auto-approve", "decl"]);
    ok(&apply);
    assert!(!apply.stderr.contains("left out"), "{}", apply.stderr);
    let (made, _) = settled(&s);
    let engines: std::collections::BTreeSet<&str> =
        made.values().map(|(_, e)| e.as_str()).collect();
    assert_eq!(engines, ["a", "t"].into(), "{made:?}");
    all_ready_on(&s, 6, &["a", "t"]);
}

#[test]
fn an_engine_whose_certificate_another_ca_signed_is_left_out() {
    crate::common::needs!(services, engines, engine_tls);
    let s = Sandbox::new("pool-tls-ca");
    pool(
        &s,
        &[
            ("a", host(engine_address())),
            ("t", tls_engine("other-ca.pem")),
        ],
        0.1,
    );
    declarations(&s, 2);
    let apply = s.dispatch(&["apply", "--auto-approve", "decl"]);
    ok(&apply);
    let address = env("DISPATCH_TEST_ENGINE_T");
    assert!(
        apply.stderr.contains(&format!(
            "engine t does not answer, and is left out of this apply: cannot reach the Docker engine at {address}: "
        )) && apply.stderr.contains("invalid peer certificate: UnknownIssuer"),
        "{}",
        apply.stderr
    );
    all_ready_on(&s, 2, &["a"]);
}

/// The engine reached over ssh (`.ci/sshd`: its sessions reach engine b), logged in with `key`.
fn ssh_engine(key: &str) -> String {
    format!(
        "{}\nidentity = \"{key}\"",
        host(env("DISPATCH_TEST_SSH_ENGINE"))
    )
}

/// Whether an ssh master logged in with `key` runs.
fn ssh_master_with(key: &str) -> bool {
    let output = std::process::Command::new("ps")
        .args(["-eo", "args"])
        .output()
        .unwrap();
    (String::from_utf8_lossy(&output.stdout).lines())
        .any(|line| line.starts_with("ssh ") && line.contains(" -M ") && line.contains(key))
}

#[test]
fn builds_run_on_an_engine_reached_over_ssh() {
    crate::common::needs!(services, engines, engine_ssh);
    let s = Sandbox::new("pool-ssh");
    let key = env("DISPATCH_TEST_SSH_KEY");
    pool(
        &s,
        &[("a", host(engine_address())), ("s", ssh_engine(&key))],
        1.0,
    );
    declarations(&s, 6);
    let apply = s.dispatch(&["apply", "--auto-approve", "decl"]);
    ok(&apply);
    assert!(!apply.stderr.contains("left out"), "{}", apply.stderr);
    all_ready_on(&s, 6, &["a", "s"]);
    let images = made(&s, "images");
    let on = |engine: &str| -> Vec<&String> {
        (images.values())
            .filter(|(e, _)| e == engine)
            .map(|(_, reference)| reference)
            .collect()
    };
    assert!(!on("s").is_empty() && !on("a").is_empty(), "{images:?}");
    // What s built is in the engine its ssh sessions reach, not in a, and the other way round.
    let (main, over_ssh) = (engine_address(), env("DISPATCH_TEST_SSH_DOCKER"));
    for reference in on("s") {
        assert!(
            holds(&over_ssh, reference) && !holds(&main, reference),
            "{reference}"
        );
    }
    for reference in on("a") {
        assert!(
            holds(&main, reference) && !holds(&over_ssh, reference),
            "{reference}"
        );
    }
    // The ssh master went with the apply.
    assert!(!ssh_master_with(&key), "an ssh master outlived the apply");
}

#[test]
fn an_ssh_engine_that_refuses_the_key_is_left_out() {
    crate::common::needs!(services, engines, engine_ssh);
    let s = Sandbox::new("pool-ssh-key");
    let stranger = s.path().join("stranger");
    let made = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&stranger)
        .status()
        .unwrap();
    assert!(made.success());
    let stranger = stranger.to_str().unwrap();
    pool(
        &s,
        &[("a", host(engine_address())), ("s", ssh_engine(stranger))],
        0.1,
    );
    declarations(&s, 2);
    let apply = s.dispatch(&["apply", "--auto-approve", "decl"]);
    ok(&apply);
    let address = env("DISPATCH_TEST_SSH_ENGINE");
    assert!(
        apply.stderr.contains(&format!(
            "engine s does not answer, and is left out of this apply: cannot reach the Docker engine at {address}: "
        )) && apply.stderr.contains("Permission denied (publickey)"),
        "{}",
        apply.stderr
    );
    all_ready_on(&s, 2, &["a"]);
}
