//! rpm bases, as the original Dispatch's Photon ones: a busybox base holding a real
//! `rpmdb.sqlite` (made by Debian's rpm, testdata/rpm) and Photon 5's os-release, applied and
//! catalogued; and one whose rpm database is broken, which gets no catalog and says why.

use std::path::Path;
use std::process::Command as Process;

use crate::common::{Sandbox, base_doc, contains, docker, env, ok};

const OS_RELEASE: &str = "NAME=\"VMware Photon OS\"\nVERSION=\"5.0\"\nID=photon\nVERSION_ID=5.0\n";

/// Pushes `tag` (under the sandbox's repository): the test base with `files` (path in the
/// image, bytes) added.
fn rpm_base(s: &Sandbox, tag: &str, files: &[(&str, &[u8])]) -> String {
    let context = tempfile::tempdir().unwrap();
    let mut dockerfile = format!("FROM {}\n", env("DISPATCH_TEST_BASE"));
    for (i, (path, bytes)) in files.iter().enumerate() {
        std::fs::write(context.path().join(i.to_string()), bytes).unwrap();
        dockerfile.push_str(&format!("COPY {i} {path}\n"));
    }
    std::fs::write(context.path().join("Dockerfile"), dockerfile).unwrap();
    let reference = format!("{}/{}/rpm-base:{tag}", env("DISPATCH_TEST_REGISTRY"), s.id);
    let built = Process::new("docker")
        .env("DOCKER_BUILDKIT", "0")
        .args(["build", "-q", "-t", &reference])
        .arg(context.path())
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    docker(&["push", &reference]);
    reference
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/rpm")
            .join(name),
    )
    .unwrap()
}

/// `name version origin` of each rpm package of a `catalog -o json` listing.
fn rpm_packages(listing: &serde_json::Value) -> Vec<String> {
    listing["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["ecosystem"] == "rpm")
        .map(|p| format!("{} {} {}", p["name"], p["version"], p["origin"]).replace('"', ""))
        .collect()
}

/// The resources and versions `catalog --package QUERY` finds.
fn holders(s: &Sandbox, query: &str) -> Vec<String> {
    let found = s.json(&["catalog", "--package", query, "-o", "json"]);
    found
        .as_array()
        .unwrap()
        .iter()
        .map(|f| format!("{} {}", f["resource"], f["version"]).replace('"', ""))
        .collect()
}

#[test]
fn an_rpm_base_is_catalogued_from_its_sqlite_database() {
    crate::common::needs!(services);
    let s = Sandbox::new("rpm");
    let photon = rpm_base(
        &s,
        "photon",
        &[
            ("/var/lib/rpm/rpmdb.sqlite", &fixture("rpmdb.sqlite")),
            ("/etc/os-release", OS_RELEASE.as_bytes()),
        ],
    );
    s.write("bases.yaml", &base_doc("photon", &photon));
    ok(&s.dispatch(&["apply", "--auto-approve"]));

    let listing = s.json(&["catalog", "photon", "-o", "json"]);
    assert_eq!(
        rpm_packages(&listing),
        [
            "bash 5.2.15-2.ph5 base",
            "curl 8.1.2~rc1-1.ph5 base",
            "openssl-libs 3.0.8-1.ph5 base",
            "tzdata 1:2023c-1.ph5 base",
        ],
        "{listing}"
    );
    let openssl = listing["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "openssl-libs")
        .unwrap();
    assert_eq!(
        openssl["purl"],
        "pkg:rpm/photon/openssl-libs@3.0.8-1.ph5?arch=noarch&distro=photon-5.0&upstream=openssl-3.0.8-1.ph5.src.rpm"
    );
    assert_eq!(
        openssl["source"],
        serde_json::json!({"name": "openssl", "version": "3.0.8-1.ph5"})
    );
    assert_eq!(openssl["license"], "Apache-2.0");

    // Ranges in rpm's own order: epochs first, a tilde before the release it precedes.
    assert_eq!(
        holders(&s, "rpm:openssl-libs<3.0.9"),
        ["BaseImage/photon 3.0.8-1.ph5"]
    );
    assert_eq!(holders(&s, "rpm:openssl-libs<3.0.8"), Vec::<String>::new());
    assert_eq!(holders(&s, "rpm:curl>=8.1.2"), Vec::<String>::new());
    assert_eq!(
        holders(&s, "curl<8.1.2"),
        ["BaseImage/photon 8.1.2~rc1-1.ph5"]
    );
    assert_eq!(
        holders(&s, "rpm:tzdata>2024a"),
        ["BaseImage/photon 1:2023c-1.ph5"]
    );

    let table = s.dispatch(&["catalog", "photon"]);
    ok(&table);
    contains(&table.stdout, " rpm       | openssl-libs | 3.0.8-1.ph5");
    let cyclonedx = s.json(&["catalog", "photon", "-o", "cyclonedx"]);
    assert_eq!(
        crate::common::sbom::cyclonedx_errors(&cyclonedx),
        Vec::<String>::new()
    );
    contains(
        &cyclonedx.to_string(),
        "pkg:rpm/photon/tzdata@2023c-1.ph5?arch=noarch&distro=photon-5.0&epoch=1",
    );

    // Photon's advisories match by its release, in rpm's order: 5.0's record, fixed in a later
    // release of the package, affects it; 4.0's does not.
    let record = |id: &str, release: &str, fixed: &str| {
        format!(
            r#"{{"id": "{id}", "modified": "2023-06-01T00:00:00Z", "aliases": ["CVE-2023-0464"],
               "affected": [{{"package": {{"ecosystem": "Photon OS:{release}", "name": "openssl-libs"}},
               "ranges": [{{"type": "ECOSYSTEM", "events": [{{"introduced": "0"}}, {{"fixed": "{fixed}"}}]}}]}}]}}"#
        )
    };
    s.write(
        "advisories/photon.json",
        &format!(
            "[{}, {}]",
            record("PHSA-2023-5.0-0001", "5.0", "3.0.8-2.ph5"),
            record("PHSA-2023-4.0-0001", "4.0", "3.0.9-1.ph4")
        ),
    );
    ok(&s.dispatch(&["advisories", "import", "advisories/photon.json"]));
    let found = s.json(&["vulns", "photon", "-o", "json"]);
    let found: Vec<String> = (found.as_array().unwrap().iter())
        .map(|f| {
            format!(
                "{} {} {} {}",
                f["package"], f["version"], f["id"], f["fixed"]
            )
        })
        .collect();
    assert_eq!(
        found,
        [r#""openssl-libs" "3.0.8-1.ph5" "PHSA-2023-5.0-0001" ["3.0.8-2.ph5"]"#]
    );
}

#[test]
fn an_rpm_base_whose_database_is_broken_gets_no_catalog_and_says_why() {
    crate::common::needs!(services);
    let s = Sandbox::new("rpm-broken");
    let mut packages = fixture("Packages");
    packages.truncate(packages.len() - 100);
    let broken = rpm_base(&s, "broken", &[("/var/lib/rpm/Packages", &packages)]);
    s.write("bases.yaml", &base_doc("broken", &broken));
    let applied = s.dispatch(&["apply", "--auto-approve"]);
    ok(&applied);
    contains(
        &applied.stdout,
        "cannot read rpm's database /var/lib/rpm/Packages: it is truncated: it has 6 pages of \
         8192 bytes, the file 49052 bytes",
    );
    let listing = s.dispatch(&["catalog", "broken"]);
    assert_eq!(listing.code, 1, "{}", listing.stdout);
    contains(&listing.stderr, "BaseImage/broken has no catalog");
}
