//! SBOMs: one image's catalog as a standard document, CycloneDX 1.5 or SPDX 2.3 JSON, for the
//! scanners and registries that read those rather than `dispatch`'s own catalog. Pure: the time
//! and the document's UUID come in with the subject, so the same subject gives the same bytes.
//!
//! Names, versions and purls are read from files inside images: JSON escaping keeps them inert,
//! and identifiers built from them are sanitized and made unique.

use std::collections::HashSet;
use std::iter;

use cyclonedx_bom::models::component::Classification;
use cyclonedx_bom::models::dependency::{Dependencies, Dependency};
use cyclonedx_bom::models::license::{License, LicenseChoice, Licenses};
use cyclonedx_bom::models::property::{Properties, Property};
use cyclonedx_bom::models::tool::Tools;
use cyclonedx_bom::prelude::{
    Bom, Component, Components, DateTime, Metadata, NormalizedString, SpecVersion, UrnUuid,
};
use serde::Serialize;

use crate::model::catalog::{Ecosystem, Entry};

const TOOL: &str = "dispatch";
const VERSION: &str = env!("CARGO_PKG_VERSION");
/// Names the origin (base or image) of a package in both formats.
const ORIGIN: &str = "dispatch:origin";
/// Names the image reference in both formats.
const REFERENCE: &str = "dispatch:reference";
/// SPDX's "nothing is claimed" value.
const NOASSERTION: &str = "NOASSERTION";

/// One image and its catalog, as the SBOM renderers take it.
pub struct Subject<'a> {
    /// The resource's name, e.g. "python-hello".
    pub name: &'a str,
    /// The image reference, e.g. "127.0.0.1:5000/fn/python-hello:ab12…", or None.
    pub reference: Option<&'a str>,
    /// The engine image id "sha256:…" (content address), if known.
    pub image_id: Option<&'a str>,
    /// Its packages, sorted, each with its origin.
    pub entries: &'a [Entry],
    /// RFC 3339 creation time, passed in so output is deterministic. SPDX wants it in UTC to
    /// the second (`2024-05-01T12:00:00Z`).
    pub created: &'a str,
    /// A UUID (string) for the CycloneDX serialNumber (as urn:uuid:…) and the SPDX documentNamespace.
    pub serial: &'a str,
}

impl Subject<'_> {
    /// What identifies the image's content best: its id, else its reference.
    fn version(&self) -> Option<&str> {
        self.image_id.or(self.reference)
    }
}

/// The subject as a CycloneDX 1.5 JSON document: the image as `metadata.component`, each
/// package as a library component it depends on. A `created` or `serial` that does not parse
/// leaves out the timestamp or serial number rather than the document.
pub fn cyclonedx(subject: &Subject<'_>) -> String {
    let image_ref = subject.version().unwrap_or(subject.name).to_string();
    let refs =
        unique(iter::once(image_ref).chain(subject.entries.iter().map(|e| e.package.purl.clone())));
    let (image_ref, package_refs) = refs.split_first().expect("the image's ref comes first");

    let mut image = Component::new(
        Classification::Container,
        subject.name,
        "",
        Some(image_ref.clone()),
    );
    image.version = subject.version().map(NormalizedString::new);
    image.properties = subject
        .reference
        .map(|reference| Properties(vec![Property::new(REFERENCE, reference)]));
    let tool = Component::new(Classification::Application, TOOL, VERSION, None);

    let components = subject
        .entries
        .iter()
        .zip(package_refs)
        .map(|(entry, bom_ref)| {
            let package = &entry.package;
            // A Maven artifact is named `group:artifact`; CycloneDX keeps the group apart.
            let (group, name) = match (package.ecosystem, package.name.split_once(':')) {
                (Ecosystem::Maven, Some((group, artifact))) => (Some(group), artifact),
                _ => (None, package.name.as_str()),
            };
            let mut component = Component::new(
                Classification::Library,
                name,
                &package.version,
                Some(bom_ref.clone()),
            );
            component.group = group.map(NormalizedString::new);
            component.purl = package.purl.parse().ok();
            // As the package's records state it, by name: an rpm's is not always SPDX.
            component.licenses = package.license.as_deref().map(|license| {
                Licenses(vec![LicenseChoice::License(License::named_license(
                    license,
                ))])
            });
            component.properties = Some(Properties(vec![Property::new(
                ORIGIN,
                &entry.origin.to_string(),
            )]));
            component
        });

    let bom = Bom {
        serial_number: uuid::Uuid::parse_str(subject.serial)
            .ok()
            .map(UrnUuid::from),
        metadata: Some(Metadata {
            timestamp: DateTime::try_from(subject.created.to_string()).ok(),
            tools: Some(Tools::Object {
                services: None,
                components: Some(Components(vec![tool])),
            }),
            component: Some(image),
            ..Metadata::default()
        }),
        components: Some(Components(components.collect())),
        dependencies: Some(Dependencies(vec![Dependency {
            dependency_ref: image_ref.clone(),
            dependencies: package_refs.to_vec(),
        }])),
        // Spelled out: `Bom::default()` would draw a random serial number.
        version: 1,
        spec_version: SpecVersion::V1_5,
        services: None,
        external_references: None,
        compositions: None,
        properties: None,
        vulnerabilities: None,
        signature: None,
        annotations: None,
        formulation: None,
    };
    let mut out = Vec::new();
    bom.output_as_json_v1_5(&mut out)
        .expect("a BOM of our own making serializes as 1.5");
    String::from_utf8(out).expect("JSON is UTF-8")
}

/// The subject as an SPDX 2.3 JSON document: the image as the described package, containing
/// one package per entry.
pub fn spdx(subject: &Subject<'_>) -> String {
    const IMAGE: &str = "SPDXRef-Image";
    let ids = unique(subject.entries.iter().map(|e| {
        let p = &e.package;
        sanitize(&format!(
            "SPDXRef-Package-{}-{}-{}",
            p.ecosystem, p.name, p.version
        ))
    }));

    let image = SpdxPackage {
        spdx_id: IMAGE.to_string(),
        name: subject.name,
        version_info: subject.version(),
        download_location: NOASSERTION,
        files_analyzed: false,
        primary_package_purpose: "CONTAINER",
        external_refs: Vec::new(),
        comment: subject.reference.map(|r| format!("{REFERENCE}={r}")),
    };
    let packages = subject
        .entries
        .iter()
        .zip(&ids)
        .map(|(entry, id)| SpdxPackage {
            spdx_id: id.clone(),
            name: &entry.package.name,
            version_info: Some(&entry.package.version),
            download_location: NOASSERTION,
            files_analyzed: false,
            primary_package_purpose: "LIBRARY",
            external_refs: vec![ExternalRef {
                reference_category: "PACKAGE-MANAGER",
                reference_type: "purl",
                reference_locator: &entry.package.purl,
            }],
            comment: Some(format!("{ORIGIN}={}", entry.origin)),
        });
    let contains = ids.iter().map(|id| Relationship {
        spdx_element_id: IMAGE,
        relationship_type: "CONTAINS",
        related_spdx_element: id,
    });

    let document = SpdxDocument {
        spdx_version: "SPDX-2.3",
        data_license: "CC0-1.0",
        spdx_id: "SPDXRef-DOCUMENT",
        name: subject.name,
        document_namespace: format!(
            "https://dispatch.invalid/spdx/{}-{}",
            sanitize(subject.name),
            sanitize(subject.serial)
        ),
        creation_info: CreationInfo {
            created: subject.created,
            creators: [format!("Tool: {TOOL}-{VERSION}")],
        },
        document_describes: [IMAGE],
        packages: iter::once(image).chain(packages).collect(),
        relationships: iter::once(Relationship {
            spdx_element_id: "SPDXRef-DOCUMENT",
            relationship_type: "DESCRIBES",
            related_spdx_element: IMAGE,
        })
        .chain(contains)
        .collect(),
    };
    serde_json::to_string_pretty(&document).expect("an SPDX document of our own serializes")
}

/// SPDX 2.3's document, as much of it as an image's catalog fills.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SpdxDocument<'a> {
    spdx_version: &'static str,
    data_license: &'static str,
    #[serde(rename = "SPDXID")]
    spdx_id: &'static str,
    name: &'a str,
    document_namespace: String,
    creation_info: CreationInfo<'a>,
    document_describes: [&'static str; 1],
    packages: Vec<SpdxPackage<'a>>,
    relationships: Vec<Relationship<'a>>,
}

#[derive(Serialize)]
struct CreationInfo<'a> {
    created: &'a str,
    creators: [String; 1],
}

/// A package; where it was downloaded from is unknown and its files are not listed, which is
/// what `NOASSERTION` and `filesAnalyzed: false` say. Licenses are left out (optional in 2.3).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SpdxPackage<'a> {
    #[serde(rename = "SPDXID")]
    spdx_id: String,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    version_info: Option<&'a str>,
    download_location: &'static str,
    files_analyzed: bool,
    primary_package_purpose: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    external_refs: Vec<ExternalRef<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExternalRef<'a> {
    reference_category: &'static str,
    reference_type: &'static str,
    reference_locator: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Relationship<'a> {
    spdx_element_id: &'a str,
    relationship_type: &'static str,
    related_spdx_element: &'a str,
}

/// `text` with every character but ASCII letters, digits, `.` and `-` replaced by `-`: what an
/// SPDXID may hold, and safe in a URI path.
fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// `ids` in order, a repeat suffixed `-2`, `-3`, …: two untrusted names may sanitize, or two
/// packages' purls be, the same, and both formats need their identifiers unique.
fn unique(ids: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut seen = HashSet::new();
    ids.into_iter()
        .map(|id| {
            let mut candidate = id.clone();
            let mut n = 1;
            while !seen.insert(candidate.clone()) {
                n += 1;
                candidate = format!("{id}-{n}");
            }
            candidate
        })
        .collect()
}

/// The official schemas, as the integration tests check real images' SBOMs against them.
#[cfg(test)]
#[path = "../../tests/common/sbom.rs"]
mod schemas;

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::model::catalog::{Origin, Package, Source};

    use super::schemas::{cyclonedx_validator, errors, spdx_validator};

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

    fn entries() -> Vec<Entry> {
        let mut entries = vec![
            entry(
                Ecosystem::Deb,
                "libc6",
                "2.36-9+deb12u4",
                "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64",
                Origin::Base,
            ),
            entry(
                Ecosystem::Pypi,
                "requests",
                "2.31.0",
                "pkg:pypi/requests@2.31.0",
                Origin::Image,
            ),
            entry(
                Ecosystem::Maven,
                "org.apache.commons:commons-lang3",
                "3.14.0",
                "pkg:maven/org.apache.commons/commons-lang3@3.14.0",
                Origin::Image,
            ),
            Entry {
                package: Package {
                    source: Some(Source::from_rpm("openssl-3.0.8-1.ph5.src.rpm")),
                    license: Some("OpenSSL and Apache-2.0".into()),
                    ..entry(
                        Ecosystem::Rpm,
                        "openssl-libs",
                        "1:3.0.8-1.ph5",
                        "pkg:rpm/photon/openssl-libs@3.0.8-1.ph5?arch=noarch&distro=photon-5.0&epoch=1",
                        Origin::Base,
                    )
                    .package
                },
                origin: Origin::Base,
            },
            entry(
                Ecosystem::Npm,
                "evil\u{1b}[31m\nname",
                "6.6.6",
                "pkg:npm/evil%1B%5B31m%0Aname@6.6.6",
                Origin::Image,
            ),
        ];
        entries.sort();
        entries
    }

    fn subject(entries: &[Entry]) -> Subject<'_> {
        Subject {
            name: "python-hello",
            reference: Some("127.0.0.1:5000/fn/python-hello:ab12cd34"),
            image_id: Some(
                "sha256:4f3c2b1a0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b",
            ),
            entries,
            created: "2024-05-01T12:00:00Z",
            serial: "6f1c2f5e-8d3b-4a51-9c1e-2b7d4e0a9f13",
        }
    }

    /// The document with dispatch's own version masked, so a release leaves the snapshots be.
    fn redacted(text: &str) -> String {
        text.replace(&format!("dispatch-{VERSION}"), "dispatch-[version]")
            .replace(&format!("\"{VERSION}\""), "\"[version]\"")
    }

    #[test]
    fn cyclonedx_is_valid_1_5() {
        let entries = entries();
        let text = cyclonedx(&subject(&entries));
        let document: Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(
            errors(&cyclonedx_validator(), &document),
            Vec::<String>::new()
        );
        assert_eq!(document["specVersion"], "1.5");
        insta::assert_snapshot!("cyclonedx", redacted(&text));
    }

    #[test]
    fn spdx_is_valid_2_3() {
        let entries = entries();
        let text = spdx(&subject(&entries));
        let document: Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(errors(&spdx_validator(), &document), Vec::<String>::new());
        insta::assert_snapshot!("spdx", redacted(&text));
    }

    #[test]
    fn the_validators_reject_broken_documents() {
        let entries = entries();
        let subject = subject(&entries);
        let cyclonedx_validator = cyclonedx_validator();
        let mut bom: Value = serde_json::from_str(&cyclonedx(&subject)).expect("JSON");
        bom["components"][0]["licenses"] = json!([{ "license": { "id": "MIT" } }]);
        assert!(
            cyclonedx_validator.is_valid(&bom),
            "a listed license passes"
        );
        bom["components"][0]["licenses"] = json!([{ "license": { "id": "No-Such-License" } }]);
        assert!(
            !cyclonedx_validator.is_valid(&bom),
            "the SPDX license list is checked"
        );
        bom["components"][0]["licenses"] = json!([]);
        bom["components"][0]
            .as_object_mut()
            .expect("object")
            .remove("name");
        assert!(
            !cyclonedx_validator.is_valid(&bom),
            "a component needs a name"
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
    }

    #[test]
    fn identifiers_from_untrusted_names_are_sanitized_and_unique() {
        let purl = "pkg:pypi/a-b@1";
        let entries = [
            entry(Ecosystem::Pypi, "a b", "1", purl, Origin::Base),
            entry(Ecosystem::Pypi, "a/b", "1", purl, Origin::Image),
            entry(Ecosystem::Pypi, "a-b", "1", purl, Origin::Image),
        ];
        let subject = Subject {
            reference: None,
            image_id: None,
            ..subject(&entries)
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
        assert_eq!(errors(&cyclonedx_validator(), &bom), Vec::<String>::new());
        assert_eq!(errors(&spdx_validator(), &document), Vec::<String>::new());
    }
}
