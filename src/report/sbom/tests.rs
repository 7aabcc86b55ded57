use serde_json::{Value, json};

use super::schemas::{cyclonedx_errors, cyclonedx_validator, errors, spdx_errors, spdx_validator};
use super::*;
use crate::advisory::Level;
use crate::model::advisory::{Advisory, Severity};
use crate::model::catalog::{Ecosystem, Origin, Package, Source};

fn entry(ecosystem: Ecosystem, name: &str, version: &str, purl: &str, origin: Origin) -> Entry {
    let package = Package {
        ecosystem,
        name: name.into(),
        version: version.into(),
        purl: purl.into(),
        source: None,
        license: None,
    };
    Entry { package, origin }
}

/// `entry` built from `source` (of its own `version` where given), licensed `license`.
fn with(mut entry: Entry, source: Option<(&str, Option<&str>)>, license: Option<&str>) -> Entry {
    entry.package.source = source.map(|(name, version)| Source {
        name: name.into(),
        version: version.map(str::to_string),
    });
    entry.package.license = license.map(str::to_string);
    entry
}

fn entries() -> Vec<Entry> {
    let mut entries = vec![
        with(
            entry(
                Ecosystem::Deb,
                "libc6",
                "2.36-9+deb12u4",
                "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12&upstream=glibc",
                Origin::Base,
            ),
            Some(("glibc", None)),
            Some("LGPL-2.1-or-later"),
        ),
        with(
            entry(
                Ecosystem::Deb,
                "libssl3",
                "3.0.11-1~deb12u1",
                "pkg:deb/debian/libssl3@3.0.11-1~deb12u1?arch=amd64&distro=debian-12&upstream=openssl",
                Origin::Base,
            ),
            Some(("openssl", None)),
            None,
        ),
        with(
            entry(
                Ecosystem::Deb,
                "openssl",
                "3.0.11-1~deb12u1",
                "pkg:deb/debian/openssl@3.0.11-1~deb12u1?arch=amd64&distro=debian-12",
                Origin::Base,
            ),
            None,
            None,
        ),
        with(
            entry(
                Ecosystem::Deb,
                "libzstd1",
                "1.5.4+dfsg2-5+b1",
                "pkg:deb/debian/libzstd1@1.5.4%2Bdfsg2-5%2Bb1?arch=amd64&distro=debian-12&upstream=libzstd%401.5.4%2Bdfsg2-5",
                Origin::Base,
            ),
            Some(("libzstd", Some("1.5.4+dfsg2-5"))),
            None,
        ),
        with(
            entry(
                Ecosystem::Pypi,
                "requests",
                "2.19.1",
                "pkg:pypi/requests@2.19.1",
                Origin::Image,
            ),
            None,
            Some("Apache-2.0"),
        ),
        with(
            entry(
                Ecosystem::Pypi,
                "six",
                "1.16.0",
                "pkg:pypi/six@1.16.0",
                Origin::Image,
            ),
            None,
            Some("MIT License"),
        ),
        with(
            entry(
                Ecosystem::Npm,
                "dual",
                "1.0.0",
                "pkg:npm/dual@1.0.0",
                Origin::Image,
            ),
            None,
            Some("(MIT OR Apache-2.0)"),
        ),
        entry(
            Ecosystem::Maven,
            "org.apache.commons:commons-lang3",
            "3.14.0",
            "pkg:maven/org.apache.commons/commons-lang3@3.14.0",
            Origin::Image,
        ),
        with(
            entry(
                Ecosystem::Rpm,
                "openssl-libs",
                "1:3.0.8-1.ph5",
                "pkg:rpm/photon/openssl-libs@3.0.8-1.ph5?arch=noarch&distro=photon-5.0&epoch=1&upstream=openssl-3.0.8-1.ph5.src.rpm",
                Origin::Base,
            ),
            Some(("openssl", Some("3.0.8-1.ph5"))),
            Some("OpenSSL and Apache-2.0"),
        ),
        with(
            entry(
                Ecosystem::Npm,
                "evil\u{1b}[31m\nname",
                "6.6.6",
                "pkg:npm/evil%1B%5B31m%0Aname@6.6.6",
                Origin::Image,
            ),
            None,
            Some("GPLv3+ \u{1b}[31m"),
        ),
    ];
    entries.sort();
    entries
}

fn debian() -> Distro {
    Distro {
        id: "debian".into(),
        version: Some("12".into()),
        name: Some("Debian GNU/Linux 12 (bookworm)".into()),
    }
}

fn subject<'a>(entries: Vec<Entry>, os: Option<&'a Distro>) -> Subject<'a> {
    Subject {
        name: "python-hello",
        reference: Some("127.0.0.1:5000/fn/python-hello:ab12cd34"),
        digest: Some("sha256:0d2e1c3b4a5f69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"),
        image_id: Some("sha256:4f3c2b1a0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b"),
        os,
        entries,
        vulnerabilities: None,
        created: "2024-05-01T12:00:00Z",
        serial: "6f1c2f5e-8d3b-4a51-9c1e-2b7d4e0a9f13".into(),
    }
}

/// The document with dispatch's own version masked, so a release leaves the snapshots be.
fn redacted(text: &str) -> String {
    text.replace(&format!("dispatch-{VERSION}"), "dispatch-[version]")
        .replace(&format!("\"{VERSION}\""), "\"[version]\"")
}

/// An advisory `id` (aliases `aliases`) rated by `vector`.
fn advisory(id: &str, aliases: &[&str], vector: Option<&str>) -> Advisory {
    Advisory {
        id: id.into(),
        modified: "2024-04-20T08:30:00Z".into(),
        published: Some("2024-04-16T00:00:00Z".into()),
        withdrawn: None,
        aliases: aliases.iter().map(|a| a.to_string()).collect(),
        summary: Some(format!("{id} summary")),
        affected: vec![],
        severity: (vector.iter())
            .map(|v| Severity {
                kind: "CVSS_V3".into(),
                score: v.to_string(),
            })
            .collect(),
        database_specific: None,
        imported: None,
    }
}

#[test]
fn cyclonedx_is_valid_1_5() {
    let os = debian();
    let text = cyclonedx(&subject(entries(), Some(&os)));
    let document: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(cyclonedx_errors(&document), Vec::<String>::new());
    assert_eq!(document["specVersion"], "1.5");
    assert_eq!(
        document["metadata"]["component"]["version"],
        "sha256:0d2e1c3b4a5f69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0",
        "the pushed digest, not the engine's id"
    );
    assert!(document.get("vulnerabilities").is_none(), "nothing checked");
    insta::assert_snapshot!("cyclonedx", redacted(&text));
}

#[test]
fn spdx_is_valid_2_3() {
    let os = debian();
    let text = spdx(&subject(entries(), Some(&os)));
    let document: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(spdx_errors(&document), Vec::<String>::new());
    insta::assert_snapshot!("spdx", redacted(&text));
}

#[test]
fn the_vulnerabilities_affect_packages_by_their_bom_ref() {
    let address = Address::new(Kind::Image, "python-hello");
    let dsa = advisory(
        "DSA-5678-1",
        &["CVE-2024-2511"],
        Some("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:H"),
    );
    let pysec = advisory("PYSEC-2018-28", &["CVE-2018-18074"], None);
    let all = entries();
    let find = |name: &str| &all.iter().find(|e| e.package.name == name).unwrap().package;
    let finding = |package: &str, advisory, severity, fixed: &[&str]| Finding {
        address: &address,
        package: find(package),
        origin: Origin::Base,
        advisory,
        severity,
        fixed: fixed.iter().map(|f| f.to_string()).collect(),
    };
    let findings = vec![
        finding("libssl3", &dsa, Level::Medium, &["3.0.13-1~deb12u1"]),
        finding("openssl", &dsa, Level::Medium, &["3.0.13-1~deb12u1"]),
        finding("requests", &pysec, Level::Unknown, &[]),
    ];
    let os = debian();
    let with_findings = Subject {
        vulnerabilities: Some(findings),
        ..subject(all.clone(), Some(&os))
    };
    let text = cyclonedx(&with_findings);
    let document: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(cyclonedx_errors(&document), Vec::<String>::new());
    insta::assert_json_snapshot!("vulnerabilities", document["vulnerabilities"]);
    // Advisories loaded, none affecting: an empty section says so.
    let clean = Subject {
        vulnerabilities: Some(vec![]),
        ..subject(all.clone(), Some(&os))
    };
    let document: Value = serde_json::from_str(&cyclonedx(&clean)).expect("JSON");
    assert_eq!(document["vulnerabilities"], json!([]));
}

#[test]
fn without_an_os_release_the_image_holds_every_package() {
    let bare = subject(entries(), None);
    let bom: Value = serde_json::from_str(&cyclonedx(&bare)).expect("JSON");
    assert_eq!(cyclonedx_errors(&bom), Vec::<String>::new());
    assert_eq!(bom["dependencies"].as_array().unwrap().len(), 1);
    assert_eq!(
        bom["dependencies"][0]["dependsOn"]
            .as_array()
            .unwrap()
            .len(),
        entries().len()
    );
    let document: Value = serde_json::from_str(&spdx(&bare)).expect("JSON");
    assert_eq!(spdx_errors(&document), Vec::<String>::new());
    let contained: Vec<&Value> = (document["relationships"].as_array().unwrap().iter())
        .filter(|r| r["relationshipType"] == "CONTAINS")
        .map(|r| &r["spdxElementId"])
        .collect();
    assert_eq!(contained, vec!["SPDXRef-Image"; entries().len()]);
}

#[test]
fn the_validators_reject_broken_documents() {
    let os = debian();
    let subject = subject(entries(), Some(&os));
    let cyclonedx_validator = cyclonedx_validator();
    let mut bom: Value = serde_json::from_str(&cyclonedx(&subject)).expect("JSON");
    bom["components"][1]["licenses"] = json!([{ "license": { "id": "MIT" } }]);
    assert!(
        cyclonedx_validator.is_valid(&bom),
        "a listed license passes"
    );
    bom["components"][1]["licenses"] = json!([{ "license": { "id": "No-Such-License" } }]);
    assert!(
        !cyclonedx_validator.is_valid(&bom),
        "the SPDX license list is checked"
    );
    bom["components"][1]["licenses"] = json!([]);
    bom["components"][1]
        .as_object_mut()
        .expect("object")
        .remove("name");
    assert!(
        !cyclonedx_validator.is_valid(&bom),
        "a component needs a name"
    );
    // What the schema leaves to the reader: references to what the document holds.
    let mut bom: Value = serde_json::from_str(&cyclonedx(&subject)).expect("JSON");
    bom["dependencies"][0]["dependsOn"][0] = json!("pkg:nowhere");
    assert_eq!(
        cyclonedx_errors(&bom),
        ["/dependencies/0/dependsOn/0: \"pkg:nowhere\" is no bom-ref of the document"]
    );

    let mut document: Value = serde_json::from_str(&spdx(&subject)).expect("JSON");
    document["packages"][1]
        .as_object_mut()
        .expect("object")
        .remove("downloadLocation");
    assert!(
        !spdx_validator().is_valid(&document),
        "a package needs a download location"
    );
    let mut document: Value = serde_json::from_str(&spdx(&subject)).expect("JSON");
    document["packages"][2]["licenseDeclared"] = json!("MIT License");
    document["relationships"][1]["relatedSpdxElement"] = json!("SPDXRef-Nowhere");
    assert_eq!(
        errors(&spdx_validator(), &document),
        Vec::<String>::new(),
        "the schema reads neither"
    );
    assert_eq!(
        spdx_errors(&document),
        [
            "/packages/2/licenseDeclared: \"MIT License\" is no SPDX license expression",
            "/relationships/1/relatedSpdxElement: \"SPDXRef-Nowhere\" is no SPDXID of the document",
        ]
    );
}

#[test]
fn identifiers_from_untrusted_names_are_sanitized_and_unique() {
    let purl = "pkg:pypi/a-b@1";
    let entries = vec![
        entry(Ecosystem::Pypi, "a b", "1", purl, Origin::Base),
        entry(Ecosystem::Pypi, "a/b", "1", purl, Origin::Image),
        entry(Ecosystem::Pypi, "a-b", "1", purl, Origin::Image),
    ];
    let subject = Subject {
        reference: None,
        digest: None,
        image_id: None,
        ..subject(entries, None)
    };

    let bom: Value = serde_json::from_str(&cyclonedx(&subject)).expect("JSON");
    let refs: Vec<&Value> = bom["components"]
        .as_array()
        .expect("components")
        .iter()
        .map(|c| &c["bom-ref"])
        .collect();
    assert_eq!(refs, [purl, "pkg:pypi/a-b@1-2", "pkg:pypi/a-b@1-3"]);
    assert_eq!(bom["metadata"]["component"]["bom-ref"], "python-hello");
    assert_eq!(
        bom["dependencies"][0]["dependsOn"]
            .as_array()
            .expect("refs")
            .len(),
        3
    );

    let document: Value = serde_json::from_str(&spdx(&subject)).expect("JSON");
    let ids: Vec<&Value> = document["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| &p["SPDXID"])
        .collect();
    assert_eq!(
        ids,
        [
            "SPDXRef-Image",
            "SPDXRef-Package-pypi-a-b-1",
            "SPDXRef-Package-pypi-a-b-1-2",
            "SPDXRef-Package-pypi-a-b-1-3"
        ]
    );
    assert_eq!(cyclonedx_errors(&bom), Vec::<String>::new());
    assert_eq!(spdx_errors(&document), Vec::<String>::new());
}

#[test]
fn file_names_stay_in_the_folder_and_differ_without_case() {
    let addresses = [
        Address::new(Kind::BaseImage, "python3"),
        Address::new(Kind::Image, "api"),
        Address::new(Kind::Image, "API"),
        // Names a state read from disk might hold, though no declaration can.
        Address::new(Kind::Image, "../../etc/passwd"),
        Address::new(Kind::Image, ".hidden"),
        Address::new(Kind::Image, "a/b\u{0}c"),
        Address::new(Kind::Image, "x".repeat(300)),
    ];
    let names = file_names(&addresses, Format::Cyclonedx);
    assert_eq!(
        names[..6],
        [
            "base-image-python3.cdx.json",
            "image-api.cdx.json",
            "image-API-2.cdx.json",
            "image-______etc_passwd.cdx.json",
            "image-_hidden.cdx.json",
            "image-a_b_c.cdx.json",
        ]
    );
    assert_eq!(names[6].len(), "image-".len() + 128 + ".cdx.json".len());
    for name in &names {
        let path = std::path::Path::new(name);
        assert_eq!(path.components().count(), 1, "{name}");
        assert!(!name.starts_with('.'), "{name}");
    }
    assert_eq!(
        file_names(&addresses[..1], Format::Spdx),
        ["base-image-python3.spdx.json"]
    );
}
