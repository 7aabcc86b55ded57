//! SPDX 2.3 JSON: the image as the described package (`CONTAINER`), which contains its
//! operating system (`OPERATING_SYSTEM`), which contains the distribution's packages; the
//! image contains the rest.
//!
//! A distribution's package built from another source (`libssl3` from `openssl`) is
//! `GENERATED_FROM` a package of purpose `SOURCE` for it, SPDX's own way to say a binary was
//! made from a source; it also says so in `sourceInfo` as Trivy writes it and reads it back
//! (`built package from: openssl 3.0.11-1~deb12u2`), and its purl keeps the `upstream`
//! qualifier syft and grype use. A license that is no SPDX expression (an rpm's `GPLv3+`,
//! pip's `MIT License`) is declared as a `LicenseRef-` with its words as the extracted text,
//! as syft does.

use std::collections::{BTreeMap, HashMap};
use std::iter;

use serde::Serialize;

use super::{IMAGE_ID, ORIGIN, REFERENCE, Stated, Subject, TOOL, VERSION, sanitize, unique};
use crate::model::catalog::{Entry, Package, Source};

/// SPDX's "nothing is claimed" value.
const NOASSERTION: &str = "NOASSERTION";
const IMAGE: &str = "SPDXRef-Image";
const OS: &str = "SPDXRef-OperatingSystem";

/// The subject as an SPDX 2.3 JSON document.
pub fn spdx(subject: &Subject<'_>) -> String {
    let ids = unique(subject.entries.iter().map(|e| {
        let p = &e.package;
        sanitize(&format!(
            "SPDXRef-Package-{}-{}-{}",
            p.ecosystem, p.name, p.version
        ))
    }));
    let licenses = Licenses::of(&subject.entries);
    let sources = Sources::of(&subject.entries);

    let comment: Vec<String> = [(REFERENCE, subject.reference), (IMAGE_ID, subject.image_id)]
        .into_iter()
        .filter_map(|(name, value)| Some(format!("{name}={}", value?)))
        .collect();
    let image = SpdxPackage {
        spdx_id: IMAGE.to_string(),
        name: subject.name.to_string(),
        version_info: subject.version().map(str::to_string),
        primary_package_purpose: "CONTAINER",
        external_refs: subject.purl().map(purl).into_iter().collect(),
        comment: (!comment.is_empty()).then(|| comment.join("\n")),
        ..SpdxPackage::default()
    };
    let os = subject.os.map(|os| SpdxPackage {
        spdx_id: OS.to_string(),
        name: os.id.clone(),
        version_info: os.version.clone(),
        primary_package_purpose: "OPERATING_SYSTEM",
        description: os.name.clone(),
        ..SpdxPackage::default()
    });
    let packages = subject.entries.iter().zip(&ids).map(|(entry, id)| {
        let package = &entry.package;
        SpdxPackage {
            spdx_id: id.clone(),
            name: package.name.clone(),
            version_info: Some(package.version.clone()),
            primary_package_purpose: "LIBRARY",
            external_refs: vec![purl(package.purl.clone())],
            license_declared: package.license.as_deref().map(|l| licenses.declared(l)),
            source_info: package.built_from().map(|source| {
                let version = source.version.as_deref().unwrap_or(&package.version);
                format!("built package from: {} {version}", source.name)
            }),
            comment: Some(format!("{ORIGIN}={}", entry.origin)),
            ..SpdxPackage::default()
        }
    });

    let relationship = |from: &str, kind: &'static str, to: &str| Relationship {
        spdx_element_id: from.to_string(),
        relationship_type: kind,
        related_spdx_element: to.to_string(),
    };
    let mut relationships = vec![relationship("SPDXRef-DOCUMENT", "DESCRIBES", IMAGE)];
    relationships.extend(os.as_ref().map(|_| relationship(IMAGE, "CONTAINS", OS)));
    for (entry, id) in subject.entries.iter().zip(&ids) {
        // The distribution's packages are its operating system's.
        let holder = match os.is_some() && entry.package.ecosystem.is_system() {
            true => OS,
            false => IMAGE,
        };
        relationships.push(relationship(holder, "CONTAINS", id));
    }
    for (entry, id) in subject.entries.iter().zip(&ids) {
        if let Some(source) = sources.id(&entry.package) {
            relationships.push(relationship(id, "GENERATED_FROM", source));
        }
    }

    let document = SpdxDocument {
        spdx_version: "SPDX-2.3",
        data_license: "CC0-1.0",
        spdx_id: "SPDXRef-DOCUMENT",
        name: subject.name,
        document_namespace: format!(
            "https://dispatch.invalid/spdx/{}-{}",
            sanitize(subject.name),
            sanitize(&subject.serial)
        ),
        creation_info: CreationInfo {
            created: subject.created,
            creators: [format!("Tool: {TOOL}-{VERSION}")],
        },
        document_describes: [IMAGE],
        packages: (iter::once(image).chain(os).chain(packages))
            .chain(sources.packages())
            .collect(),
        has_extracted_licensing_infos: licenses.extracted(),
        relationships,
    };
    serde_json::to_string_pretty(&document).expect("an SPDX document of our own serializes")
}

fn purl(locator: String) -> ExternalRef {
    ExternalRef {
        reference_category: "PACKAGE-MANAGER",
        reference_type: "purl",
        reference_locator: locator,
    }
}

/// The licenses that are no SPDX expression, each given a `LicenseRef-` of its own.
struct Licenses<'a> {
    refs: BTreeMap<&'a str, String>,
}

impl<'a> Licenses<'a> {
    fn of(entries: &'a [Entry]) -> Self {
        let mut named: Vec<&str> = (entries.iter())
            .filter_map(|e| e.package.license.as_deref())
            .filter(|license| matches!(Stated::of(license), Stated::Named(_)))
            .collect();
        named.sort_unstable();
        named.dedup();
        let refs = unique(named.iter().map(|n| sanitize(&format!("LicenseRef-{n}"))));
        Licenses {
            refs: named.into_iter().zip(refs).collect(),
        }
    }

    /// `license` as a declared license: itself where it is an SPDX expression, else its
    /// `LicenseRef-`.
    fn declared(&self, license: &str) -> String {
        (self.refs.get(license).cloned()).unwrap_or_else(|| license.to_string())
    }

    fn extracted(&self) -> Vec<Extracted> {
        (self.refs.iter())
            .map(|(text, id)| Extracted {
                license_id: id.clone(),
                extracted_text: text.to_string(),
                name: text.to_string(),
            })
            .collect()
    }
}

/// The source packages the entries were built from (where another than themselves), each
/// once: by ecosystem, name and version, with the purl of a source of its distribution; and
/// which entries each built.
struct Sources {
    ids: HashMap<Package, String>,
    packages: Vec<SpdxPackage>,
}

impl Sources {
    fn of(entries: &[Entry]) -> Self {
        let mut by_source: BTreeMap<(String, String, String), (String, Vec<&Package>)> =
            BTreeMap::new();
        for package in entries.iter().map(|e| &e.package) {
            let Some(source) = package.built_from() else {
                continue;
            };
            let version = source.version.as_deref().unwrap_or(&package.version);
            let key = (
                package.ecosystem.to_string(),
                source.name.clone(),
                version.to_string(),
            );
            let at = by_source.entry(key).or_insert_with(|| {
                (
                    source_purl(package, source, version).unwrap_or_default(),
                    Vec::new(),
                )
            });
            at.1.push(package);
        }
        // A package of a source that others were built from is its own source's, too (Debian's
        // `openssl` beside `libssl3`).
        for package in entries.iter().map(|e| &e.package) {
            let key = (
                package.ecosystem.to_string(),
                package.name.clone(),
                package.version.clone(),
            );
            if package.source.is_none()
                && let Some((_, binaries)) = by_source.get_mut(&key)
            {
                binaries.push(package);
            }
        }
        let ids = unique((by_source.keys()).map(|(ecosystem, name, version)| {
            sanitize(&format!("SPDXRef-Source-{ecosystem}-{name}-{version}"))
        }));
        let mut built = HashMap::new();
        let mut packages = Vec::new();
        for (((_, name, version), (purl_text, binaries)), id) in by_source.into_iter().zip(ids) {
            built.extend(binaries.into_iter().map(|b| (b.clone(), id.clone())));
            packages.push(SpdxPackage {
                spdx_id: id,
                name,
                version_info: Some(version),
                primary_package_purpose: "SOURCE",
                external_refs: (!purl_text.is_empty())
                    .then(|| purl(purl_text))
                    .into_iter()
                    .collect(),
                ..SpdxPackage::default()
            });
        }
        Sources {
            ids: built,
            packages,
        }
    }

    fn id(&self, package: &Package) -> Option<&str> {
        self.ids.get(package).map(String::as_str)
    }

    fn packages(self) -> Vec<SpdxPackage> {
        self.packages
    }
}

/// The purl of the source package `binary` was built from, in its distribution: its type,
/// namespace and `distro`, and the architecture sources have (`source` for a deb, `src` for
/// an rpm, none for apk's origins).
fn source_purl(binary: &Package, source: &Source, version: &str) -> Option<String> {
    let read: packageurl::PackageUrl = binary.purl.parse().ok()?;
    let mut purl = packageurl::PackageUrl::new(read.ty().to_string(), source.name.as_str()).ok()?;
    if let Some(namespace) = read.namespace() {
        purl.with_namespace(namespace.to_string()).ok()?;
    }
    purl.with_version(version).ok()?;
    let arch = match read.ty() {
        "deb" => Some("source"),
        "rpm" => Some("src"),
        _ => None,
    };
    if let Some(arch) = arch {
        purl.add_qualifier("arch", arch).ok()?;
    }
    let distro = (read.qualifiers().iter()).find(|(key, _)| key.as_ref() == "distro");
    if let Some((_, distro)) = distro {
        purl.add_qualifier("distro", distro.to_string()).ok()?;
    }
    Some(purl.to_string())
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
    packages: Vec<SpdxPackage>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    has_extracted_licensing_infos: Vec<Extracted>,
    relationships: Vec<Relationship>,
}

#[derive(Serialize)]
struct CreationInfo<'a> {
    created: &'a str,
    creators: [String; 1],
}

/// A package; where it was downloaded from is unknown and its files are not listed, which is
/// what `NOASSERTION` and `filesAnalyzed: false` say.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SpdxPackage {
    #[serde(rename = "SPDXID")]
    spdx_id: String,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    version_info: Option<String>,
    download_location: &'static str,
    files_analyzed: bool,
    /// As its records state it: an SPDX expression, or a `LicenseRef-` to their words.
    #[serde(skip_serializing_if = "Option::is_none")]
    license_declared: Option<String>,
    primary_package_purpose: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_info: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    external_refs: Vec<ExternalRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
}

impl Default for SpdxPackage {
    fn default() -> Self {
        SpdxPackage {
            spdx_id: String::new(),
            name: String::new(),
            version_info: None,
            download_location: NOASSERTION,
            files_analyzed: false,
            license_declared: None,
            primary_package_purpose: "LIBRARY",
            description: None,
            source_info: None,
            external_refs: Vec::new(),
            comment: None,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExternalRef {
    reference_category: &'static str,
    reference_type: &'static str,
    reference_locator: String,
}

/// A license declared by reference, with the words it stands for.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Extracted {
    license_id: String,
    extracted_text: String,
    name: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Relationship {
    spdx_element_id: String,
    relationship_type: &'static str,
    related_spdx_element: String,
}
