//! Advisories and what they affect, for people (tables) and programs (JSON): what an import
//! did, what is loaded (`dispatch advisories`), and what affects each image (`dispatch vulns`).

use serde::Serialize;

use super::get::{grid, noun};
use crate::advisory::Level;
use crate::advisory::find::Finding;
use crate::advisory::tally::{Imported, Loaded};
use crate::model::Kind;
use crate::model::catalog::{Ecosystem, Origin, Package, Source};
use crate::model::words::agree;

/// `ECOSYSTEM | NEW | UPDATED | UNCHANGED`, a line of what was left out, and one of the total.
pub fn imported(imported: &Imported) -> String {
    let rows = imported.ecosystems.iter().map(|(ecosystem, c)| {
        vec![
            ecosystem.clone(),
            c.new.to_string(),
            c.updated.to_string(),
            c.unchanged.to_string(),
        ]
    });
    let mut text = grid(&["ECOSYSTEM", "NEW", "UPDATED", "UNCHANGED"], rows);
    if !imported.skipped.is_empty() {
        let skipped: Vec<String> = (imported.skipped.iter())
            // Named by the advisory files, which may hold anything.
            .map(|(ecosystem, n)| format!("{} ({n})", crate::model::text::escape(ecosystem)))
            .collect();
        let total: usize = imported.skipped.values().sum();
        text.push_str(&format!(
            "Skipped {total} {} of ecosystems dispatch does not match: {}.\n",
            agree(total, "record", "records"),
            skipped.join(", ")
        ));
    }
    text
}

/// `SOURCE | ECOSYSTEM | RECORDS | NEWEST`: what is loaded.
pub fn status(loaded: &[Loaded]) -> String {
    let rows = loaded.iter().map(|l| {
        vec![
            l.source.clone(),
            l.ecosystem.clone(),
            l.count.to_string(),
            l.newest.clone(),
        ]
    });
    grid(&["SOURCE", "ECOSYSTEM", "RECORDS", "NEWEST MODIFIED"], rows)
}

/// The source `package` was built from, where it is not the package itself (`libssl3`'s
/// `openssl`; `libc6 2.36-9+b1`'s `glibc 2.36-9`): what a distribution's advisory names.
fn other_source(package: &Package) -> Option<&Source> {
    let source = package.source.as_ref()?;
    let version = source.version.as_ref();
    (source.name != package.name || version.is_some_and(|v| *v != package.version))
        .then_some(source)
}

/// The package as the table names it: `libssl3 (src:openssl)` where its source is another,
/// `libc6 (src:glibc 2.36-9)` where its version is too (a column of its own would widen a
/// wide table for a few rows).
fn package_cell(package: &Package) -> String {
    match other_source(package) {
        None => package.name.clone(),
        Some(Source {
            name,
            version: Some(version),
        }) if *version != package.version => format!("{} (src:{name} {version})", package.name),
        Some(source) => format!("{} (src:{})", package.name, source.name),
    }
}

/// `KIND | NAME | ECOSYSTEM | PACKAGE | VERSION | FROM | ADVISORY | ALIASES | SEVERITY |
/// FIXED IN`: what affects each image; a package built from another source names it.
pub fn findings(findings: &[Finding<'_>]) -> String {
    let rows = findings.iter().map(|f| {
        let fixed = if f.fixed.is_empty() {
            "(no fix)".to_string()
        } else {
            f.fixed.join(", ")
        };
        vec![
            noun(f.address.kind).to_string(),
            f.address.name.clone(),
            f.package.ecosystem.to_string(),
            package_cell(f.package),
            f.package.version.clone(),
            f.origin.to_string(),
            f.advisory.id.clone(),
            f.advisory.aliases.join(", "),
            f.severity.to_string(),
            fixed,
        ]
    });
    let header = [
        "KIND",
        "NAME",
        "ECOSYSTEM",
        "PACKAGE",
        "VERSION",
        "FROM",
        "ADVISORY",
        "ALIASES",
        "SEVERITY",
        "FIXED IN",
    ];
    grid(&header, rows)
}

/// A finding as JSON: which image, which package, which advisory, how severe, what fixes it.
#[derive(Debug, Serialize)]
pub struct FindingJson<'a> {
    pub kind: Kind,
    pub image: &'a str,
    pub ecosystem: Ecosystem,
    pub package: &'a str,
    pub version: &'a str,
    /// The source it was built from, where that is another package (Debian's and Alpine's
    /// advisories name sources).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<&'a Source>,
    pub purl: &'a str,
    pub from: Origin,
    pub id: &'a str,
    pub aliases: &'a [String],
    pub severity: Level,
    /// The versions that fix it; empty: no fix is known.
    pub fixed: &'a [String],
}

impl<'a> FindingJson<'a> {
    pub fn new(f: &'a Finding<'a>) -> Self {
        FindingJson {
            kind: f.address.kind,
            image: &f.address.name,
            ecosystem: f.package.ecosystem,
            package: &f.package.name,
            version: &f.package.version,
            source: other_source(f.package),
            purl: &f.package.purl,
            from: f.origin,
            id: &f.advisory.id,
            aliases: &f.advisory.aliases,
            severity: f.severity,
            fixed: &f.fixed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_package_built_from_another_source_names_it() {
        let built = |name: &str, version: &str, source: Option<(&str, Option<&str>)>| Package {
            source: source.map(|(name, version)| Source {
                name: name.into(),
                version: version.map(str::to_string),
            }),
            ..Package::plain(Ecosystem::Deb, name, version)
        };
        for (package, cell, source) in [
            (built("openssl", "3.0.11-1", None), "openssl", None),
            (
                built("libssl3", "3.0.11-1", Some(("openssl", None))),
                "libssl3 (src:openssl)",
                Some("openssl"),
            ),
            (
                built("libc6", "2.36-9+b1", Some(("glibc", Some("2.36-9")))),
                "libc6 (src:glibc 2.36-9)",
                Some("glibc"),
            ),
            (
                built("bash", "5.2-2+b1", Some(("bash", Some("5.2-2")))),
                "bash (src:bash 5.2-2)",
                Some("bash"),
            ),
            // As recorded by hand or by an rpm: the same name and version is no other source.
            (
                built("bash", "5.2-2", Some(("bash", Some("5.2-2")))),
                "bash",
                None,
            ),
        ] {
            assert_eq!(package_cell(&package), cell);
            assert_eq!(other_source(&package).map(|s| s.name.as_str()), source);
        }
    }
}
