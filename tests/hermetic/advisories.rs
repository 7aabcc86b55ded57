//! `dispatch advisories import|status` and `dispatch vulns` end to end, on a state whose
//! images have recorded catalogs: the real PyPA advisories (a vendored subset, and the whole
//! snapshot in `../shared` where it is), small OSV fixtures of the other ecosystems
//! (`testdata/advisories/osv`), and input that must be refused with nothing imported.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::common::Run;
use dispatch::model::catalog::{Catalog, Distro, Ecosystem, Package, Source};
use dispatch::model::reference::ImageRef;
use dispatch::model::{BaseImageSpec, ImageSpec, Language, Resource, Spec};
use dispatch::state::conformance::holder;
use dispatch::state::local::LocalBackend;
use dispatch::state::{Backend, Catalogs, Observed, ResourceState, State};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `dispatch --state STATE ARGS` in the repository, so paths read `testdata/...`; the state's
/// folder shows as `[dir]`.
fn dispatch(state: &Path, args: &[&str]) -> Run {
    let output = crate::common::dispatch_command(root())
        .arg("--state")
        .arg(state)
        .args(args)
        .output()
        .unwrap();
    let mut run = Run::from(output);
    let dir = state.parent().unwrap().display().to_string();
    run.stdout = run.stdout.replace(&dir, "[dir]");
    run.stderr = run.stderr.replace(&dir, "[dir]");
    run
}

/// A Debian package of bookworm, with the purl a scan gives it.
fn deb(name: &str, version: &str) -> Package {
    Package {
        ecosystem: Ecosystem::Deb,
        name: name.into(),
        version: version.into(),
        purl: format!("pkg:deb/debian/{name}@{version}?arch=amd64&distro=debian-12"),
        source: None,
        license: None,
    }
}

/// `package` built from the source `name` (its purl's `upstream`, as a scan writes it).
fn built_from(mut package: Package, name: &str) -> Package {
    package.purl = format!("{}&upstream={name}", package.purl);
    package.source = Some(Source {
        name: name.into(),
        version: None,
    });
    package
}

/// A state of two bases (Debian with Python, Alpine) and three images on the first, each
/// with its catalog recorded: what `apply` leaves. Debian's `libssl3` and Alpine's
/// `libcrypto3` are built from `openssl`, which the distributions' advisories name.
fn fleet(dir: &Path) -> PathBuf {
    let path = dir.join("state.json");
    let backend = LocalBackend::new(&path);
    let python = Catalog::layered(
        vec![
            deb("openssl", "3.0.11-1~deb12u1"),
            built_from(deb("libssl3", "3.0.11-1~deb12u1"), "openssl"),
            deb("libc6", "2.36-9+deb12u4"),
            Package::plain(Ecosystem::Pypi, "pip", "23.0.1"),
        ],
        None,
    )
    .with_os(Some(Distro {
        id: "debian".into(),
        version: Some("12".into()),
        name: Some("Debian GNU/Linux 12 (bookworm)".into()),
    }));
    let apk = |name: &str| Package {
        ecosystem: Ecosystem::Apk,
        name: name.into(),
        version: "3.1.4-r0".into(),
        purl: format!("pkg:apk/alpine/{name}@3.1.4-r0?arch=x86_64&distro=alpine-3.18.4"),
        source: None,
        license: None,
    };
    let alpine = Catalog::layered(
        vec![apk("openssl"), built_from(apk("libcrypto3"), "openssl")],
        None,
    );
    let on_python = |packages: Vec<Package>| {
        let mut all = python.packages.clone();
        all.extend(packages);
        Catalog::layered(all, Some(("sha256:b1", &python)))
    };
    let images = [
        (
            "api",
            on_python(vec![
                Package::plain(Ecosystem::Pypi, "requests", "2.19.1"),
                Package::plain(Ecosystem::Pypi, "urllib3", "1.24.1"),
                Package::plain(Ecosystem::Npm, "lodash", "4.17.20"),
            ]),
        ),
        (
            "reports",
            on_python(vec![
                Package::plain(
                    Ecosystem::Maven,
                    "org.apache.logging.log4j:log4j-core",
                    "2.14.1",
                ),
                Package::plain(Ecosystem::Pypi, "Jinja2", "2.10"),
            ]),
        ),
        (
            "clean",
            on_python(vec![Package::plain(Ecosystem::Pypi, "requests", "2.32.3")]),
        ),
    ];
    let mut state = State::new();
    let mut record = |resource: Resource, id: &str| {
        let mut entry = ResourceState::applied(resource, "2026-11-25T08:00:00Z");
        // The registry's digest, which the SBOMs name, beside the engine's id.
        let digest = format!("sha256:{:0>64}", id.trim_start_matches("sha256:"));
        entry.observed = Some(Observed {
            image_id: Some(id.into()),
            digest: Some(digest),
            reference: None,
            created: None,
            ..Default::default()
        });
        state.resources.insert(entry.resource.address(), entry);
    };
    for (name, id, catalog) in [
        ("python3", "sha256:b1", &python),
        ("alpine", "sha256:b2", &alpine),
    ] {
        backend.put_catalog(id, catalog).unwrap();
        let spec = Spec::BaseImage(BaseImageSpec {
            docker_url: ImageRef::parse(&format!("127.0.0.1:5000/base/{name}:1")).unwrap(),
            language: Language::Python3,
            tags: vec![],
            rebase: Default::default(),
        });
        record(
            Resource {
                name: name.into(),
                spec,
            },
            id,
        );
    }
    for (i, (name, catalog)) in images.iter().enumerate() {
        let id = format!("sha256:i{i}");
        backend.put_catalog(&id, catalog).unwrap();
        let spec = Spec::Image(ImageSpec {
            base_image_name: "python3".into(),
            runtime_dependencies: None,
            system_dependencies: None,
            tags: vec![],
        });
        record(
            Resource {
                name: name.to_string(),
                spec,
            },
            &id,
        );
    }
    backend
        .lock(Duration::ZERO, &holder("test"))
        .unwrap()
        .save(&mut state)
        .unwrap();
    path
}

fn ok(run: &Run) {
    crate::common::ok(run);
}

#[test]
fn imports_show_what_changed_and_vulns_what_affects_each_image() {
    let dir = tempfile::tempdir().unwrap();
    let state = fleet(dir.path());
    let none = dispatch(&state, &["vulns"]);
    ok(&none);
    insta::assert_snapshot!("vulns_nothing_loaded", none.stderr);
    let first = dispatch(
        &state,
        &[
            "advisories",
            "import",
            "testdata/advisories/pypa/vulns",
            "testdata/advisories/osv",
        ],
    );
    ok(&first);
    insta::assert_snapshot!("import_first", first.stdout);
    assert_eq!(first.stderr, "", "no range of the subset is left out");
    // Again, with one record modified later: updated; the rest unchanged.
    let later = dir.path().join("later.json");
    let text = std::fs::read_to_string(root().join("testdata/advisories/osv/maven.json")).unwrap();
    std::fs::write(
        &later,
        text.replace("2024-07-24T15:59:50Z", "2025-01-01T00:00:00Z"),
    )
    .unwrap();
    let again = dispatch(
        &state,
        &[
            "advisories",
            "import",
            "testdata/advisories/osv",
            later.to_str().unwrap(),
            "-o",
            "json",
        ],
    );
    ok(&again);
    insta::assert_snapshot!("import_again_json", again.stdout);
    let status = dispatch(&state, &["advisories", "status"]);
    ok(&status);
    insta::assert_snapshot!("status", status.stdout);
    let vulns = dispatch(&state, &["vulns"]);
    ok(&vulns);
    insta::assert_snapshot!("vulns", vulns.stdout);
    let json = dispatch(&state, &["vulns", "api", "-o", "json"]);
    ok(&json);
    insta::assert_snapshot!("vulns_api_json", json.stdout);
    let by_alias = dispatch(&state, &["vulns", "--id", "cve-2021-44228"]);
    ok(&by_alias);
    insta::assert_snapshot!("vulns_by_alias", by_alias.stdout);
    let clean = dispatch(&state, &["vulns", "alpine", "--id", "CVE-2018-18074"]);
    ok(&clean);
    assert_eq!(clean.stdout, "");
    insta::assert_snapshot!("vulns_clean", clean.stderr);
    let unknown = dispatch(&state, &["vulns", "nope"]);
    assert_eq!(unknown.code, 1, "{}", unknown.stderr);
}

#[test]
fn a_comparison_is_read_in_the_packages_own_order() {
    let dir = tempfile::tempdir().unwrap();
    let state = fleet(dir.path());
    let found = dispatch(&state, &["catalog", "--package", "openssl<3.0.12"]);
    ok(&found);
    insta::assert_snapshot!("catalog_openssl_before", found.stdout);
    let apk = dispatch(
        &state,
        &["catalog", "--package", "apk:openssl>=3.1,<3.1.4-r1"],
    );
    ok(&apk);
    assert!(apk.stdout.contains("alpine"), "{}", apk.stdout);
    assert!(!apk.stdout.contains("deb"), "{}", apk.stdout);
}

/// Writes `text` as `name` in `dir`.
fn file(dir: &Path, name: &str, text: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn bad_input_is_named_and_nothing_is_imported() {
    let dir = tempfile::tempdir().unwrap();
    let state = fleet(dir.path());
    let bad = dir.path().join("bad");
    let record =
        std::fs::read_to_string(root().join("testdata/advisories/osv/alpine.json")).unwrap();
    let zip = |entries: &[(&str, &[u8])]| {
        let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, bytes) in entries {
            out.start_file(*name, options).unwrap();
            out.write_all(bytes).unwrap();
        }
        out.finish().unwrap().into_inner()
    };
    let cases: Vec<(&str, String)> = vec![
        (
            "not_osv",
            file(&bad, "a/not-osv.json", b"{\"hello\": \"world\"}"),
        ),
        ("not_json", file(&bad, "b/broken.json", b"{\"id\": ")),
        (
            "no_events",
            file(
                &bad,
                "c/no-events.json",
                record
                    .replace(r#"{"introduced": "0"}, {"fixed": "3.1.4-r1"}"#, "")
                    .as_bytes(),
            ),
        ),
        (
            "two_keys",
            file(
                &bad,
                "d/two-keys.json",
                record
                    .replace(
                        r#"{"introduced": "0"}, "#,
                        r#"{"introduced": "0", "fixed": "1"}, "#,
                    )
                    .as_bytes(),
            ),
        ),
        (
            "bad_modified",
            file(
                &bad,
                "e/modified.json",
                record
                    .replace("2024-01-10T00:00:00Z", "last tuesday")
                    .as_bytes(),
            ),
        ),
        (
            "unknown_ecosystem_only",
            "testdata/advisories/osv/crates.json".to_string(),
        ),
        (
            "zip_bomb",
            file(
                &bad,
                "f/all.zip",
                &zip(&[("bomb.json", &vec![b' '; 8 << 20])]),
            ),
        ),
        ("empty_folder", {
            std::fs::create_dir_all(bad.join("g")).unwrap();
            bad.join("g").display().to_string()
        }),
    ];
    for (name, path) in cases {
        // A good file before the bad one: it is not imported either.
        let run = dispatch(
            &state,
            &[
                "advisories",
                "import",
                "testdata/advisories/osv/npm.yaml",
                &path,
            ],
        );
        assert_eq!(run.code, 1, "{name}: {}", run.stdout);
        let message = run.stderr.replace(&bad.display().to_string(), "[bad]");
        insta::assert_snapshot!(format!("refused_{name}"), message);
    }
    let status = dispatch(&state, &["advisories", "status"]);
    assert_eq!(status.stdout, "", "nothing was imported");
    // A file of a gigabyte is refused before it is read.
    let huge = std::fs::File::create(bad.join("huge.json")).unwrap();
    huge.set_len(1 << 30).unwrap();
    let run = dispatch(
        &state,
        &[
            "advisories",
            "import",
            bad.join("huge.json").to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("huge.json: is 1024 MiB, larger than the 64 MiB"),
        "{}",
        run.stderr
    );
}

/// The whole PyPA snapshot, where `.ci/run` has it (`../shared` beside the clone).
#[test]
fn the_whole_pypa_snapshot_imports_and_matches() {
    let snapshot = root().join("../shared/advisories/pypa/vulns");
    if !snapshot.is_dir() {
        assert!(
            std::env::var_os("DISPATCH_TEST_REQUIRE_SERVICES").is_none(),
            "{} is missing",
            snapshot.display()
        );
        eprintln!("skipped: no PyPA snapshot at {}", snapshot.display());
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let state = fleet(dir.path());
    let run = dispatch(
        &state,
        &[
            "advisories",
            "import",
            snapshot.to_str().unwrap(),
            "-o",
            "json",
        ],
    );
    ok(&run);
    let imported: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let pypi = &imported["ecosystems"]["PyPI"];
    assert!(pypi["new"].as_u64().unwrap() > 2_600, "{pypi}");
    // Two real records have a range PEP 440 cannot read: left out, with a warning each.
    assert_eq!(
        run.stderr.matches("the range is left out").count(),
        2,
        "{}",
        run.stderr
    );
    let found = dispatch(&state, &["vulns", "api", "-o", "json"]);
    ok(&found);
    let findings: Vec<serde_json::Value> = serde_json::from_str(&found.stdout).unwrap();
    let ids = |package: &str| -> Vec<&str> {
        (findings.iter())
            .filter(|f| f["package"] == package)
            .map(|f| f["id"].as_str().unwrap())
            .collect()
    };
    assert!(ids("requests").contains(&"PYSEC-2018-28"), "{findings:?}");
    assert!(ids("urllib3").len() >= 5, "{findings:?}");
}

/// The files `dir` holds, by name.
fn listed(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn document(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn every_image_gets_its_sboms_in_a_folder_with_what_affects_it() {
    let dir = tempfile::tempdir().unwrap();
    let state = fleet(dir.path());
    let out = dir.path().join("sboms");
    let folder = out.to_str().unwrap();
    // Before any advisory is imported, nothing was checked: no vulnerabilities section.
    let run = dispatch(
        &state,
        &["catalog", "--all", "-o", "cyclonedx", "--out", folder],
    );
    ok(&run);
    insta::assert_snapshot!("sboms_written", run.stdout);
    let names = listed(&out);
    assert_eq!(
        names,
        [
            "base-image-alpine.cdx.json",
            "base-image-python3.cdx.json",
            "image-api.cdx.json",
            "image-clean.cdx.json",
            "image-reports.cdx.json",
        ]
    );
    for name in &names {
        let bom = document(&out.join(name));
        assert_eq!(
            crate::common::sbom::cyclonedx_errors(&bom),
            Vec::<String>::new(),
            "{name}"
        );
        assert!(bom.get("vulnerabilities").is_none(), "{name}");
    }
    let api = document(&out.join("image-api.cdx.json"));
    assert_eq!(
        api["metadata"]["component"]["version"],
        format!("sha256:{:0>64}", "i0"),
        "named by its registry digest"
    );
    assert_eq!(
        api["components"][0]["type"], "operating-system",
        "its base's"
    );
    assert_eq!(
        api["components"][0]["description"],
        "Debian GNU/Linux 12 (bookworm)"
    );

    // A folder that holds anything is refused, and left as it was, unless forced.
    let again = dispatch(
        &state,
        &["catalog", "--all", "-o", "cyclonedx", "--out", folder],
    );
    assert_eq!(again.code, 1);
    insta::assert_snapshot!("sboms_not_empty", again.stderr.replace(folder, "[out]"));
    let imported = dispatch(
        &state,
        &[
            "advisories",
            "import",
            "testdata/advisories/pypa/vulns",
            "testdata/advisories/osv",
        ],
    );
    ok(&imported);
    let forced = dispatch(
        &state,
        &[
            "catalog",
            "--all",
            "-o",
            "cyclonedx",
            "--out",
            folder,
            "--force",
        ],
    );
    ok(&forced);
    assert_eq!(listed(&out), names, "replaced, nothing else written");
    let api = document(&out.join("image-api.cdx.json"));
    assert_eq!(
        crate::common::sbom::cyclonedx_errors(&api),
        Vec::<String>::new()
    );
    let affected = |id: &str| -> Vec<String> {
        let vulnerabilities = api["vulnerabilities"].as_array().unwrap();
        let found = vulnerabilities.iter().find(|v| v["id"] == id).unwrap();
        (found["affects"].as_array().unwrap().iter())
            .map(|a| a["ref"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        affected("DSA-5678-1"),
        [
            "pkg:deb/debian/libssl3@3.0.11-1~deb12u1?arch=amd64&distro=debian-12&upstream=openssl",
            "pkg:deb/debian/openssl@3.0.11-1~deb12u1?arch=amd64&distro=debian-12",
        ]
    );
    assert_eq!(affected("PYSEC-2018-28"), ["pkg:pypi/requests@2.19.1"]);
    // The one image printed is the document written for it.
    let printed = dispatch(&state, &["catalog", "api", "-o", "cyclonedx"]);
    ok(&printed);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&printed.stdout).unwrap(),
        api
    );
    // The clean image: advisories checked, none affecting its own packages, its base's do.
    let clean = document(&out.join("image-clean.cdx.json"));
    assert!(clean["vulnerabilities"].as_array().unwrap().len() >= 2);

    // SPDX, into a new folder: the source packages the distribution's were built from.
    let spdx = dir.path().join("spdx");
    let run = dispatch(
        &state,
        &[
            "catalog",
            "--all",
            "-o",
            "spdx",
            "--out",
            spdx.to_str().unwrap(),
        ],
    );
    ok(&run);
    let python = document(&spdx.join("base-image-python3.spdx.json"));
    assert_eq!(
        crate::common::sbom::spdx_errors(&python),
        Vec::<String>::new()
    );
    let generated: Vec<String> = (python["relationships"].as_array().unwrap().iter())
        .filter(|r| r["relationshipType"] == "GENERATED_FROM")
        .map(|r| format!("{} {}", r["spdxElementId"], r["relatedSpdxElement"]).replace('"', ""))
        .collect();
    assert_eq!(
        generated,
        [
            "SPDXRef-Package-deb-libssl3-3.0.11-1-deb12u1 SPDXRef-Source-deb-openssl-3.0.11-1-deb12u1",
            "SPDXRef-Package-deb-openssl-3.0.11-1-deb12u1 SPDXRef-Source-deb-openssl-3.0.11-1-deb12u1",
        ]
    );

    // What cannot be asked.
    for (args, message) in [
        (vec!["catalog", "--all", "-o", "cyclonedx"], "--out <DIR>"),
        (
            vec!["catalog", "--all", "--out", folder],
            "add -o cyclonedx or -o spdx",
        ),
        (vec!["catalog", "api", "--force"], "--out <DIR>"),
    ] {
        let run = dispatch(&state, &args);
        assert_ne!(run.code, 0, "{args:?}");
        assert!(run.stderr.contains(message), "{args:?}: {}", run.stderr);
    }
}

/// The fleet's declarations, as it was applied.
const FLEET: &str = "kind: BaseImage
name: python3
dockerUrl: 127.0.0.1:5000/base/python3:1
language: python3
---
kind: BaseImage
name: alpine
dockerUrl: 127.0.0.1:5000/base/alpine:1
language: python3
---
kind: Image
name: api
baseImageName: python3
---
kind: Image
name: reports
baseImageName: python3
---
kind: Image
name: clean
baseImageName: python3
";

#[test]
fn a_plan_notes_advisories_imported_after_images_were_applied_and_stale_ones() {
    let dir = tempfile::tempdir().unwrap();
    let state = fleet(dir.path());
    std::fs::write(dir.path().join("fleet.yaml"), FLEET).unwrap();
    let plan = |args: &[&str]| {
        let mut all = vec![
            "plan",
            "-C",
            dir.path().to_str().unwrap(),
            "--refresh=false",
        ];
        all.extend(args);
        dispatch(&state, &all)
    };
    let before = plan(&["fleet.yaml"]);
    ok(&before);
    assert!(!before.stdout.contains("Note:"), "{}", before.stdout);
    // The fleet was applied on 2026-11-25; the records are imported now, after it.
    ok(&dispatch(
        &state,
        &[
            "advisories",
            "import",
            "testdata/advisories/pypa/vulns",
            "testdata/advisories/osv",
        ],
    ));
    let after = plan(&["fleet.yaml"]);
    ok(&after);
    insta::assert_snapshot!("plan_newly_affected", after.stdout);
    // Stale: the records' newest `modified` is far older than a week.
    std::fs::write(
        dir.path().join("dispatch.toml"),
        "max-advisory-age = \"7days\"\n",
    )
    .unwrap();
    let stale = plan(&["fleet.yaml"]);
    ok(&stale);
    let warnings: Vec<&str> = (stale.stdout.lines())
        .filter(|l| l.starts_with("Warning:") || l.starts_with("  hint: import"))
        .collect();
    assert!(warnings.len() >= 2, "{}", stale.stdout);
    assert!(
        warnings[0].starts_with("Warning: dispatch.toml: the advisories of ")
            && warnings[0].contains("older than max-advisory-age (7days)"),
        "{}",
        stale.stdout
    );
}
