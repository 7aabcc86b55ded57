//! Advisories and what they affect, for people (tables) and programs (JSON): what an import
//! did, what is loaded (`dispatch advisories`), and what affects each image (`dispatch vulns`).

use std::fmt::Write;
use std::time::Duration;

use anstyle::{AnsiColor, Style};
use serde::Serialize;

use super::Painter;
use super::get::{grid, noun};
use crate::advisory::Level;
use crate::advisory::find::{Finding, Newly};
use crate::advisory::tally::{Imported, Loaded, Stale};
use crate::model::Kind;
use crate::model::catalog::{Ecosystem, Origin, Package, Source};
use crate::model::diag::{Diagnostic, Location, Pos};
use crate::model::text::escape;
use crate::model::words::agree;
use crate::model::words::count;
use crate::plan::AdvisoryNotes;

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

/// The package as the table names it: `libssl3 (src:openssl)` where its source is another,
/// `libc6 (src:glibc 2.36-9)` where its version is too (a column of its own would widen a
/// wide table for a few rows).
fn package_cell(package: &Package) -> String {
    match package.built_from() {
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
            source: f.package.built_from(),
            purl: &f.package.purl,
            from: f.origin,
            id: &f.advisory.id,
            aliases: &f.advisory.aliases,
            severity: f.severity,
            fixed: &f.fixed,
        }
    }
}

/// What a plan says of `stale` data, in words every renderer uses; `max_age` as configured.
pub fn stale(stale: &Stale, max_age: Duration) -> Diagnostic {
    let location = Location {
        file: "dispatch.toml".into(),
        pos: Pos::FILE,
    };
    Diagnostic::new(
        location,
        format!(
            "the advisories of {} are {} old (the newest was modified {}), older than \
             max-advisory-age ({}): what was published since is not matched",
            escape(&stale.ecosystem),
            count(stale.days as usize, "day"),
            escape(&stale.newest),
            humantime::format_duration(max_age),
        ),
    )
    .with_hint("import fresh ones: dispatch advisories import PATH (osv.dev's all.zip of the ecosystem, say)")
    .with_rule("max-advisory-age")
}

/// The most applied images a plan's note lists one by one.
const MAX_NEWLY: usize = 10;

/// One advisory imported since `n`'s image was applied, in words: `PYSEC-2024-60
/// (CVE-2024-3651) in idna 3.6 (pypi), severity unknown, fixed in 3.7`.
pub fn described(n: &Newly) -> String {
    let v = &n.vulnerable;
    let aliases = match v.aliases.is_empty() {
        true => String::new(),
        false => format!(" ({})", v.aliases.join(", ")),
    };
    let fixed = match v.fixed.is_empty() {
        true => "no fix known".to_string(),
        false => format!("fixed in {}", v.fixed.join(", ")),
    };
    escape(&format!(
        "{}{aliases} in {} {} ({}), severity {}, {fixed}",
        v.id,
        v.package,
        v.version,
        v.ecosystem,
        v.severity.as_str()
    ))
    .into_owned()
}

/// The lines of a plan's note on applied images affected by advisories imported since: one an
/// advisory and image, the first [`MAX_NEWLY`], then how many more.
pub fn newly(newly: &[Newly]) -> Vec<String> {
    let mut lines: Vec<String> = (newly.iter().take(MAX_NEWLY))
        .map(|n| format!("{}: {}", n.address, described(n)))
        .collect();
    if newly.len() > MAX_NEWLY {
        lines.push(format!("and {} more", newly.len() - MAX_NEWLY));
    }
    lines
}

/// The warnings of a plan's stale advisories.
pub fn stale_all(notes: &AdvisoryNotes) -> Vec<Diagnostic> {
    let max_age = notes.max_age.unwrap_or_default();
    notes.stale.iter().map(|s| stale(s, max_age)).collect()
}

/// The first line of that note.
pub const NEWLY: &str = "Advisories imported after these images were applied affect them \
(`dispatch vulns` lists every finding):";

/// A plan's warnings of stale advisories and its note on applied images, as text.
pub fn plan_notes(painter: &Painter, notes: &AdvisoryNotes) -> String {
    let mut out = String::new();
    let warning = painter.paint(AnsiColor::Yellow.on_default().bold(), "Warning:");
    for stale in stale_all(notes) {
        let _ = write!(out, "\n{warning} {stale}\n");
    }
    if !notes.newly.is_empty() {
        let note = painter.paint(Style::new().bold(), "Note:");
        let _ = writeln!(out, "\n{note} {NEWLY}");
        for line in newly(&notes.newly) {
            let _ = writeln!(out, "  {line}");
        }
    }
    out
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
            assert_eq!(package.built_from().map(|s| s.name.as_str()), source);
        }
    }
}
