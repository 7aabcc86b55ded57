//! The examples, for real: `examples/python` applied against the test registry, with pip
//! installing its requirements from the local wheelhouse (`.ci/python-base` makes both).

mod common;
use common::env;

use std::path::Path;
use std::process::Command as Process;

use assert_cmd::Command;

/// Copies `examples/NAME` to a temp dir, pointing its registry and wheelhouse at the test ones.
fn example(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name);
    let registry = env("DISPATCH_TEST_REGISTRY");
    let index = env("DISPATCH_TEST_PIP_INDEX");
    for entry in std::fs::read_dir(&source).unwrap() {
        let path = entry.unwrap().path();
        if !path.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let text = text
            .replace("127.0.0.1:5000", &registry)
            .replace("http://127.0.0.1:8000/", &index);
        std::fs::write(dir.path().join(path.file_name().unwrap()), text).unwrap();
    }
    dir
}

#[test]
fn python_example_installs_its_requirements() {
    let dir = example("python");
    let run = Command::cargo_bin("dispatch")
        .unwrap()
        .current_dir(dir.path())
        .env("DOCKER_CONFIG", dir.path())
        .args(["apply", "--auto-approve"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        stdout.contains("Apply complete! 1 pulled, 1 built, 0 deleted, 0 failed.")
            || stdout.contains("1 already built"),
        "{stdout}"
    );

    let get = Command::cargo_bin("dispatch")
        .unwrap()
        .current_dir(dir.path())
        .args(["get", "image", "python-deps", "--json"])
        .output()
        .unwrap();
    let object: serde_json::Value = serde_json::from_slice(&get.stdout).unwrap();
    let url = object["dockerUrl"].as_str().unwrap();
    assert!(
        url.starts_with(&format!(
            "{}/functions/python-deps:",
            env("DISPATCH_TEST_REGISTRY")
        )),
        "{url}"
    );
    let imported = Process::new("docker")
        .args([
            "run",
            "--rm",
            "--network",
            "none",
            url,
            "python3",
            "-c",
            "import six, idna; print(six.__version__, idna.__version__)",
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&imported.stdout),
        "1.16.0 3.7\n",
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
}
