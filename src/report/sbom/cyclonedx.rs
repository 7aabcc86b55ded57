//! CycloneDX 1.5 JSON, through cyclonedx-bom: the image as `metadata.component`, its
//! operating system as a component of type `operating-system` that the distribution's
//! packages belong to, every package as a library, and what the loaded advisories say
//! affects them as `vulnerabilities`.
//!
//! The source package a distribution's package was built from is the purl's `upstream`
//! qualifier the catalog records (`pkg:deb/debian/libssl3@…&upstream=openssl`), not
//! `pedigree.ancestors`: syft writes it so, and grype reads it back from an SBOM to match
//! Debian's and Alpine's advisories by source, while pedigree describes a component's
//! modification from an upstream one (a fork, a patch), which neither reads for matching.

use std::collections::{BTreeMap, HashMap};
use std::iter;

use cyclonedx_bom::models::component::Classification;
use cyclonedx_bom::models::dependency::{Dependencies, Dependency};
use cyclonedx_bom::models::license::{License, LicenseChoice, Licenses};
use cyclonedx_bom::models::property::{Properties, Property};
use cyclonedx_bom::models::tool::Tools;
use cyclonedx_bom::models::vulnerability::{Vulnerabilities, Vulnerability};
use cyclonedx_bom::models::vulnerability_rating::{
    Score, ScoreMethod, Severity, VulnerabilityRating, VulnerabilityRatings,
};
use cyclonedx_bom::models::vulnerability_reference::{
    VulnerabilityReference, VulnerabilityReferences,
};
use cyclonedx_bom::models::vulnerability_source::VulnerabilitySource;
use cyclonedx_bom::models::vulnerability_target::{
    Version, Versions, VulnerabilityTarget, VulnerabilityTargets,
};
use cyclonedx_bom::prelude::{
    Bom, Component, Components, DateTime, Metadata, NormalizedString, SpecVersion, UrnUuid,
};

use super::{IMAGE_ID, ORIGIN, REFERENCE, Stated, Subject, TOOL, VERSION, unique};
use crate::advisory::find::Finding;
use crate::advisory::severity::{self, Cvss};
use crate::model::advisory::Advisory;
use crate::model::catalog::{Ecosystem, Entry, Package};

/// The subject as a CycloneDX 1.5 JSON document. A `created` or `serial` that does not parse
/// leaves out the timestamp or serial number rather than the document.
pub fn cyclonedx(subject: &Subject<'_>) -> String {
    let image_ref = (subject.purl())
        .or_else(|| subject.version().map(str::to_string))
        .unwrap_or_else(|| subject.name.to_string());
    let os_ref = subject.os.map(|os| match &os.version {
        Some(version) => format!("operating-system:{}@{version}", os.id),
        None => format!("operating-system:{}", os.id),
    });
    let count = usize::from(os_ref.is_some());
    let refs = unique(
        iter::once(image_ref)
            .chain(os_ref)
            .chain(subject.entries.iter().map(|e| e.package.purl.clone())),
    );
    let (image_ref, refs) = refs.split_first().expect("the image's ref comes first");
    let (os_ref, package_refs) = refs.split_at(count);
    let os_ref = os_ref.first();

    let mut image = Component::new(
        Classification::Container,
        subject.name,
        "",
        Some(image_ref.clone()),
    );
    image.version = subject.version().map(NormalizedString::new);
    image.purl = subject.purl().and_then(|purl| purl.parse().ok());
    let properties: Vec<Property> = [(REFERENCE, subject.reference), (IMAGE_ID, subject.image_id)]
        .into_iter()
        .filter_map(|(name, value)| Some(Property::new(name, value?)))
        .collect();
    image.properties = (!properties.is_empty()).then_some(Properties(properties));
    let tool = Component::new(Classification::Application, TOOL, VERSION, None);

    let os = subject.os.zip(os_ref).map(|(os, bom_ref)| {
        let mut component = Component::new(
            Classification::OperatingSystem,
            &os.id,
            os.version.as_deref().unwrap_or(""),
            Some(bom_ref.clone()),
        );
        component.version = os.version.as_deref().map(NormalizedString::new);
        component.description = os.name.as_deref().map(NormalizedString::new);
        component
    });
    let packages = subject
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
            component.licenses = package.license.as_deref().map(licenses);
            component.properties = Some(Properties(vec![Property::new(
                ORIGIN,
                &entry.origin.to_string(),
            )]));
            component
        });

    // The distribution's packages belong to its operating system; the rest to the image.
    let (system, own): (Vec<_>, Vec<_>) = (subject.entries.iter().zip(package_refs))
        .partition(|(entry, _)| os_ref.is_some() && entry.package.ecosystem.is_system());
    let refs_of = |pairs: Vec<(&Entry, &String)>| -> Vec<String> {
        pairs.into_iter().map(|(_, r)| r.clone()).collect()
    };
    let mut dependencies = vec![Dependency {
        dependency_ref: image_ref.clone(),
        dependencies: os_ref.cloned().into_iter().chain(refs_of(own)).collect(),
    }];
    dependencies.extend(os_ref.map(|os_ref| Dependency {
        dependency_ref: os_ref.clone(),
        dependencies: refs_of(system),
    }));

    let by_package: HashMap<&Package, &String> = (subject.entries.iter())
        .map(|e| &e.package)
        .zip(package_refs)
        .collect();
    let bom = Bom {
        serial_number: uuid::Uuid::parse_str(&subject.serial)
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
        components: Some(Components(os.into_iter().chain(packages).collect())),
        dependencies: Some(Dependencies(dependencies)),
        vulnerabilities: (subject.vulnerabilities.as_deref())
            .map(|findings| vulnerabilities(findings, &by_package)),
        // Spelled out: `Bom::default()` would draw a random serial number.
        version: 1,
        spec_version: SpecVersion::V1_5,
        services: None,
        external_references: None,
        compositions: None,
        properties: None,
        signature: None,
        annotations: None,
        formulation: None,
    };
    let mut out = Vec::new();
    bom.output_as_json_v1_5(&mut out)
        .expect("a BOM of our own making serializes as 1.5");
    String::from_utf8(out).expect("JSON is UTF-8")
}

/// A license as CycloneDX carries it: an SPDX identifier, an SPDX expression, or the
/// package's own words by name (an rpm's `GPLv3+`, pip's `MIT License`).
fn licenses(license: &str) -> Licenses {
    Licenses(vec![match Stated::of(license) {
        Stated::Id(id) => LicenseChoice::License(License::license_id(id)),
        Stated::Expression(expression) => LicenseChoice::expression(expression),
        Stated::Named(name) => LicenseChoice::License(License::named_license(name)),
    }])
}

/// One entry per advisory, by id, affecting each package it was found in (by bom-ref, the
/// version installed), its fixed versions as the recommendation.
fn vulnerabilities(findings: &[Finding<'_>], refs: &HashMap<&Package, &String>) -> Vulnerabilities {
    let mut by_id: BTreeMap<&str, Vec<&Finding<'_>>> = BTreeMap::new();
    for finding in findings {
        by_id.entry(&finding.advisory.id).or_default().push(finding);
    }
    Vulnerabilities(
        (by_id.into_values())
            .map(|found| {
                let first = found[0];
                let advisory = first.advisory;
                let mut entry = Vulnerability::new(None);
                entry.id = Some(NormalizedString::new(&advisory.id));
                entry.vulnerability_source = Some(source(&advisory.id));
                entry.vulnerability_references = (!advisory.aliases.is_empty()).then(|| {
                    VulnerabilityReferences(
                        (advisory.aliases.iter())
                            .map(|alias| VulnerabilityReference::new(alias, source(alias)))
                            .collect(),
                    )
                });
                entry.vulnerability_ratings = Some(ratings(advisory, first));
                entry.description = advisory.summary.clone();
                entry.recommendation = Some(recommendation(&found));
                entry.published =
                    (advisory.published.clone()).and_then(|time| DateTime::try_from(time).ok());
                entry.updated = DateTime::try_from(advisory.modified.clone()).ok();
                entry.vulnerability_targets = Some(VulnerabilityTargets(
                    (found.iter())
                        .filter_map(|f| {
                            let mut target =
                                VulnerabilityTarget::new(refs.get(f.package)?.to_string());
                            target.versions =
                                Some(Versions(vec![Version::new(&f.package.version, "affected")]));
                            Some(target)
                        })
                        .collect(),
                ));
                entry
            })
            .collect(),
    )
}

/// The database an id is of: its prefix (`DSA`, `PYSEC`, `GHSA`, `CVE`).
fn source(id: &str) -> VulnerabilitySource {
    let prefix = id.split('-').next().unwrap_or(id);
    VulnerabilitySource::new(Some(prefix.to_string()), None)
}

/// Each CVSS vector the record has, scored; else the level rated from it as the findings
/// have it (its database's rating, or `unknown`).
fn ratings(advisory: &Advisory, finding: &Finding<'_>) -> VulnerabilityRatings {
    let scored = severity::scored(advisory);
    let level = |level: severity::Level| Some(Severity::new_unchecked(level.as_str()));
    if scored.is_empty() {
        return VulnerabilityRatings(vec![VulnerabilityRating::new(
            None,
            level(finding.severity),
            None,
        )]);
    }
    VulnerabilityRatings(
        (scored.into_iter())
            .map(|s| {
                let method = match s.cvss {
                    Cvss::V2 => ScoreMethod::CVSSv2,
                    Cvss::V30 => ScoreMethod::CVSSv3,
                    Cvss::V31 => ScoreMethod::CVSSv31,
                    Cvss::V40 => ScoreMethod::CVSSv4,
                };
                let mut rating = VulnerabilityRating::new(
                    Score::from_f32(s.score as f32),
                    level(s.level),
                    Some(method),
                );
                rating.vector = Some(NormalizedString::new(s.vector));
                rating
            })
            .collect(),
    )
}

/// What fixes it, per package: `libssl3 3.0.11-1~deb12u1: fixed in 3.0.13-1~deb12u1`, or
/// `no fix known`.
fn recommendation(found: &[&Finding<'_>]) -> String {
    let lines: Vec<String> = (found.iter())
        .map(|f| {
            let fix = match f.fixed.as_slice() {
                [] => "no fix known".to_string(),
                fixed => format!("fixed in {}", fixed.join(", ")),
            };
            format!("{} {}: {fix}", f.package.name, f.package.version)
        })
        .collect();
    lines.join("; ")
}
