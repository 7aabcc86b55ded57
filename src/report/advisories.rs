//! Advisories and what they affect, for people (tables) and programs (JSON): what an import
//! did, what is loaded (`dispatch advisories`), and what affects each image (`dispatch vulns`).

use serde::Serialize;

use super::get::{grid, noun};
use crate::advisory::Level;
use crate::advisory::find::Finding;
use crate::advisory::tally::{Imported, Loaded};
use crate::model::Kind;
use crate::model::catalog::{Ecosystem, Origin};
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

/// `KIND | NAME | ECOSYSTEM | PACKAGE | VERSION | FROM | ADVISORY | ALIASES | SEVERITY |
/// FIXED IN`: what affects each image.
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
            f.package.name.clone(),
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
            purl: &f.package.purl,
            from: f.origin,
            id: &f.advisory.id,
            aliases: &f.advisory.aliases,
            severity: f.severity,
            fixed: &f.fixed,
        }
    }
}
