//! The examples, for real: `examples/python` applied against the test registry, with pip
//! installing its requirements from the local wheelhouse (`.ci/python-base` makes both).

mod common;
use common::env;

use std::path::Path;
use std::process::Command as Process;

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
    crate::common::needs!(services, python);
    let dir = example("python");
    let run = common::dispatch_command(dir.path())
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

    let get = common::dispatch_command(dir.path())
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

/// Runs dispatch in `dir`; its exit code and stdout, stderr appended on failure messages.
fn dispatch(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let run = common::dispatch_command(dir)
        .env("DOCKER_CONFIG", dir)
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .unwrap();
    (
        run.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&run.stdout).into_owned(),
        String::from_utf8_lossy(&run.stderr).into_owned(),
    )
}

/// `dispatch ARGS` in `dir`, which must succeed, read as JSON.
fn json(dir: &Path, args: &[&str]) -> serde_json::Value {
    let (code, stdout, stderr) = dispatch(dir, args);
    assert_eq!(code, 0, "{args:?}: {stdout}\n{stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {stdout}"))
}

/// `ecosystem name version origin` of each package of a `catalog -o json` listing.
fn packages(listing: &serde_json::Value) -> Vec<String> {
    listing["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            format!(
                "{} {} {} {}",
                p["ecosystem"], p["name"], p["version"], p["origin"]
            )
            .replace('"', "")
        })
        .collect()
}

#[test]
fn python_example_is_catalogued_from_its_files() {
    crate::common::needs!(services, python);
    let dir = example("python");
    let (code, stdout, stderr) = dispatch(dir.path(), &["apply", "--auto-approve"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");

    // The image's own packages are pip's, as the wheelhouse has them; the base's are Debian's.
    let image = packages(&json(dir.path(), &["catalog", "python-deps", "-o", "json"]));
    for own in ["pypi idna 3.7 image", "pypi six 1.16.0 image"] {
        assert!(image.iter().any(|p| p == own), "{own} not in {image:?}");
    }
    let from_base = |name: &str| {
        image
            .iter()
            .any(|p| p.starts_with(&format!("deb {name} ")) && p.ends_with(" base"))
    };
    assert!(
        from_base("python3") && from_base("libc6") && from_base("python3-pip"),
        "{image:?}"
    );
    let base = packages(&json(
        dir.path(),
        &["catalog", "python3-debian", "-o", "json"],
    ));
    assert!(base.iter().all(|p| p.ends_with(" base")), "{base:?}");
    assert!(!base.iter().any(|p| p.starts_with("pypi six ")), "{base:?}");
    assert_eq!(
        image.len(),
        base.len() + 2,
        "the image adds six and idna to its base"
    );

    let (_, table, _) = dispatch(dir.path(), &["catalog", "python-deps"]);
    assert!(
        table.lines().next().unwrap().contains("ECOSYSTEM | NAME"),
        "{table}"
    );
    assert!(table.contains(" pypi      | six "), "{table}");

    // Which images hold a package, in the ecosystem's own version syntax.
    let found = json(dir.path(), &["catalog", "--package", "six<2", "-o", "json"]);
    assert_eq!(found.as_array().unwrap().len(), 1, "{found}");
    assert_eq!(found[0]["resource"], "Image/python-deps");
    assert_eq!(found[0]["purl"], "pkg:pypi/six@1.16.0");
    let none = json(
        dir.path(),
        &["catalog", "--package", "six<1.16", "-o", "json"],
    );
    assert_eq!(none, serde_json::json!([]));
    let libc = json(
        dir.path(),
        &["catalog", "--package", "deb:libc6", "-o", "json"],
    );
    let holders: Vec<&str> = libc
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["resource"].as_str().unwrap())
        .collect();
    assert_eq!(holders, ["BaseImage/python3-debian", "Image/python-deps"]);

    // `get` sums it up.
    let object = json(dir.path(), &["get", "image", "python-deps", "-o", "json"]);
    assert!(object["catalog"]["deb"].as_u64().unwrap() > 50, "{object}");
    assert!(object["catalog"]["pypi"].as_u64().unwrap() >= 2, "{object}");
    let (_, wide, _) = dispatch(dir.path(), &["get", "images", "-o", "wide"]);
    assert!(
        wide.lines().next().unwrap().ends_with("| PACKAGES"),
        "{wide}"
    );
    assert!(wide.contains(&format!("| {}\n", image.len())), "{wide}");

    // Debian's packages name the source they were built from, in the purl too.
    let listing = json(dir.path(), &["catalog", "python-deps", "-o", "json"]);
    let package = |ecosystem: &str, name: &str| {
        (listing["packages"].as_array().unwrap().iter())
            .find(|p| p["ecosystem"] == ecosystem && p["name"] == name)
            .unwrap_or_else(|| panic!("{ecosystem} {name} in {listing}"))
            .clone()
    };
    let libssl = package("deb", "libssl3");
    assert_eq!(libssl["source"]["name"], "openssl", "{libssl}");
    assert!(
        (libssl["purl"].as_str().unwrap()).ends_with("&distro=debian-12&upstream=openssl"),
        "{libssl}"
    );
    assert!(
        package("deb", "python3").get("source").is_some(),
        "python3-defaults"
    );
    // pip's license, as the wheel's metadata states it.
    assert_eq!(package("pypi", "six")["license"], "MIT");

    // Standard SBOMs, valid against their official schemas, naming the image by the digest it
    // was pushed as, with its operating system.
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join(".dispatch/state.json")).unwrap())
            .unwrap();
    let pushed = &state["resources"]["Image/python-deps"]["observed"]["digest"];
    assert!(pushed.as_str().unwrap().starts_with("sha256:"), "{state}");
    let cyclonedx = json(dir.path(), &["catalog", "python-deps", "-o", "cyclonedx"]);
    assert_eq!(
        common::sbom::cyclonedx_errors(&cyclonedx),
        Vec::<String>::new()
    );
    assert_eq!(cyclonedx["specVersion"], "1.5");
    assert_eq!(&cyclonedx["metadata"]["component"]["version"], pushed);
    let os = &cyclonedx["components"][0];
    assert_eq!(
        (&os["type"], &os["name"], &os["version"]),
        (&"operating-system".into(), &"debian".into(), &"12".into()),
        "{os}"
    );
    let spdx = json(dir.path(), &["catalog", "python-deps", "-o", "spdx"]);
    assert_eq!(common::sbom::spdx_errors(&spdx), Vec::<String>::new());
    assert_eq!(
        json(dir.path(), &["catalog", "python-deps", "-o", "spdx"]),
        spdx,
        "the same image gives the same document"
    );
    assert!(
        spdx.to_string().contains("\"SPDXRef-Source-deb-openssl-"),
        "{spdx}"
    );
    // Every image's, into a folder, as the one printed.
    let (code, stdout, stderr) = dispatch(
        dir.path(),
        &["catalog", "--all", "-o", "spdx", "--out", "sboms"],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(stdout, "Wrote 2 SPDX documents to sboms.\n");
    let written: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("sboms/image-python-deps.spdx.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(written, spdx);
    assert!(
        dir.path()
            .join("sboms/base-image-python3-debian.spdx.json")
            .is_file()
    );

    // A state whose catalogs are gone (an older dispatch's) gets them back without a rebuild.
    std::fs::remove_dir_all(dir.path().join(".dispatch/catalog")).unwrap();
    let (code, _, stderr) = dispatch(dir.path(), &["catalog", "python-deps"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("Image/python-deps has no catalog"),
        "{stderr}"
    );
    let (code, stdout, stderr) = dispatch(dir.path(), &["apply", "--auto-approve"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("No changes."), "{stdout}");
    assert!(
        stdout.contains("Catalogued 2 images recorded without a catalog."),
        "{stdout}"
    );
    assert_eq!(
        packages(&json(dir.path(), &["catalog", "python-deps", "-o", "json"])),
        image
    );
}

/// A wheel of `name` 1.0 that requires `requires`: a dependency the image does not declare.
fn wheel(name: &str, requires: &str) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let info = format!("{name}-1.0.dist-info");
    let files = [
        (format!("{name}/__init__.py"), String::new()),
        (
            format!("{info}/METADATA"),
            format!("Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\nRequires-Dist: {requires}\n"),
        ),
        (
            format!("{info}/WHEEL"),
            "Wheel-Version: 1.0\nGenerator: dispatch-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n".into(),
        ),
        (
            format!("{info}/RECORD"),
            format!("{name}/__init__.py,,\n{info}/METADATA,,\n{info}/WHEEL,,\n{info}/RECORD,,\n"),
        ),
    ];
    for (path, text) in files {
        zip.start_file(path, zip::write::SimpleFileOptions::default())
            .unwrap();
        std::io::Write::write_all(&mut zip, text.as_bytes()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// Serves `dir` over HTTP on a free loopback port until dropped.
struct Wheelhouse(std::process::Child, String);

impl Wheelhouse {
    fn serve(dir: &Path) -> Wheelhouse {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Process::new("python3")
            .args([
                "-m",
                "http.server",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--directory",
            ])
            .arg(dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "the wheelhouse did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Wheelhouse(child, format!("http://127.0.0.1:{port}/"))
    }
}

impl Drop for Wheelhouse {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_denied_transitive_package_fails_the_image_at_apply() {
    crate::common::needs!(services, python);
    let dir = example("python");
    // A wheelhouse with a package that pulls in six, which the image does not name.
    let wheels = tempfile::tempdir().unwrap();
    std::fs::write(
        wheels.path().join("dispatch_demo-1.0-py3-none-any.whl"),
        wheel("dispatch_demo", "six"),
    )
    .unwrap();
    let cache =
        std::env::var("DISPATCH_CACHE_DIR").unwrap_or_else(|_| "/var/cache/dispatch-ci".into());
    std::fs::copy(
        Path::new(&cache).join("wheelhouse/six-1.16.0-py2.py3-none-any.whl"),
        wheels.path().join("six-1.16.0-py2.py3-none-any.whl"),
    )
    .expect("the CI wheelhouse (.ci/python-base) holds six");
    let wheelhouse = Wheelhouse::serve(wheels.path());
    let settings = std::fs::read_to_string(dir.path().join("dispatch.toml")).unwrap();
    let settings = settings.replace(&env("DISPATCH_TEST_PIP_INDEX"), &wheelhouse.1);
    std::fs::write(dir.path().join("dispatch.toml"), settings).unwrap();
    let images = std::fs::read_to_string(dir.path().join("images.yaml")).unwrap();
    std::fs::write(
        dir.path().join("images.yaml"),
        images.replace("name: python-deps", "name: python-refused"),
    )
    .unwrap();
    std::fs::write(dir.path().join("requirements.txt"), "dispatch-demo==1.0\n").unwrap();
    // The policy lives outside the declarations, where CI keeps it.
    let policies = tempfile::tempdir().unwrap();
    let policy = policies.path().join("no-six.yaml");
    std::fs::write(
        &policy,
        "kind: Policy\nname: no-six\npackages:\n  deny:\n    - {ecosystem: pypi, name: six, versions: '<=1.16.0'}\n",
    )
    .unwrap();
    let policy = policy.to_str().unwrap();

    // Nothing declared breaks it: the plan passes.
    let (code, stdout, stderr) = dispatch(dir.path(), &["plan", "--policy", policy]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let (code, stdout, stderr) =
        dispatch(dir.path(), &["apply", "--policy", policy, "--auto-approve"]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let object = json(
        dir.path(),
        &["get", "image", "python-refused", "-o", "json"],
    );
    assert_eq!(object["status"], "ERROR", "{object}");
    assert_eq!(
        object["reason"][0],
        "refused by policy: it holds six 1.16.0 (pypi), denied by policy no-six (six<=1.16.0)"
    );
    // Built, catalogued, and not pushed.
    let found = json(
        dir.path(),
        &["catalog", "--package", "pypi:six", "-o", "json"],
    );
    assert_eq!(
        found.as_array().map(Vec::len),
        Some(0),
        "an image refused is not recorded as made: {found}"
    );
    let pushed = Process::new("curl")
        .args([
            "-s",
            &format!(
                "http://{}/v2/functions/python-refused/tags/list",
                env("DISPATCH_TEST_REGISTRY")
            ),
        ])
        .output()
        .unwrap();
    let tags = String::from_utf8_lossy(&pushed.stdout);
    assert!(!tags.contains("\"tags\":[\""), "pushed: {tags}");
}

#[test]
fn the_example_policy_lets_the_python_example_through_with_a_warning() {
    crate::common::needs!(services, python);
    let dir = example("python");
    let policy = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/policy/platform.yaml");
    let policy = policy.to_str().unwrap();
    let (code, stdout, stderr) = dispatch(dir.path(), &["validate", "--policy", policy]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("is not pinned by digest, as policy platform requires"),
        "{stderr}"
    );
    // A requirement it denies is named at its line.
    std::fs::write(
        dir.path().join("requirements.txt"),
        "six==1.16.0\nPyYAML==5.3.1\n",
    )
    .unwrap();
    let (code, _, stderr) = dispatch(dir.path(), &["validate", "--policy", policy]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains(
            "requirements.txt:2:1: PyYAML==5.3.1 is denied by policy platform (pyyaml<5.4)"
        ),
        "{stderr}"
    );
}

/// The PyPA advisory database (../shared/advisories/pypa), imported whole, against an image
/// that pins idna 3.6, which PYSEC-2024-60 names: the pinned line before merge (a warning, an
/// error under a policy that counts it), the built image's catalog after apply.
#[test]
fn the_pypa_snapshot_finds_a_vulnerable_release_in_the_built_image() {
    crate::common::needs!(services, python);
    let dir = example("python");
    let images = std::fs::read_to_string(dir.path().join("images.yaml")).unwrap();
    std::fs::write(
        dir.path().join("images.yaml"),
        images.replace("name: python-deps", "name: python-vulnerable"),
    )
    .unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/vulnerable/requirements.txt"),
        dir.path().join("requirements.txt"),
    )
    .unwrap();
    let snapshot = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/advisories/pypa/vulns");
    let (code, stdout, stderr) = dispatch(
        dir.path(),
        &["advisories", "import", snapshot.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");

    // Before merge: the pinned line, at its place, with the fix.
    let (code, stdout, stderr) = dispatch(dir.path(), &["plan"]);
    assert_eq!(code, 0, "a warning: {stdout}\n{stderr}");
    assert!(
        stdout.contains(
            "Warning: ./requirements.txt:1:1: idna==3.6 is affected by PYSEC-2024-60 (CVE-2024-3651; severity high)\n  hint: use idna>=3.7"
        ),
        "{stdout}"
    );
    // A policy that counts it stops the plan.
    let policies = tempfile::tempdir().unwrap();
    let policy = policies.path().join("security.yaml");
    std::fs::write(
        &policy,
        "kind: Policy\nname: security\nvulnerabilities:\n  severity: error\n",
    )
    .unwrap();
    let (code, stdout, stderr) =
        dispatch(dir.path(), &["plan", "--policy", policy.to_str().unwrap()]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("./requirements.txt:1:1: idna==3.6 is affected by PYSEC-2024-60"),
        "{stderr}"
    );

    let (code, stdout, stderr) = dispatch(dir.path(), &["apply", "--auto-approve"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let found = json(dir.path(), &["vulns", "python-vulnerable", "-o", "json"]);
    let idna: Vec<&serde_json::Value> = found
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["package"] == "idna")
        .collect();
    assert_eq!(idna.len(), 1, "{found}");
    let finding = idna[0];
    assert_eq!(finding["image"], "python-vulnerable");
    assert_eq!(finding["version"], "3.6");
    assert_eq!(finding["from"], "image", "pip installed it: {finding}");
    assert_eq!(finding["id"], "PYSEC-2024-60");
    assert_eq!(finding["aliases"], serde_json::json!(["CVE-2024-3651"]));
    assert_eq!(finding["fixed"], serde_json::json!(["3.7"]));
    // Asked the other way: which images does the CVE hit.
    let hit = json(
        dir.path(),
        &["vulns", "--id", "cve-2024-3651", "-o", "json"],
    );
    let images: Vec<&str> = hit
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["image"].as_str().unwrap())
        .collect();
    assert_eq!(images, ["python-vulnerable"], "{hit}");
}
