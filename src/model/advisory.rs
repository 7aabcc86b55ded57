//! Advisories: OSV records (<https://ossf.github.io/osv-schema/>) as dispatch keeps them, the
//! fields it reads of them, checked once when they are read ([`Advisory::check`]). What is kept
//! is OSV too, so a record reads back as it was imported, less what no match uses (`GIT`
//! ranges, the packages of ecosystems dispatch does not catalogue).
//!
//! An OSV ecosystem names a catalog's ecosystem and, for a distribution, its release
//! (`Debian:12`, `Alpine:v3.18`); a package's own are read from its purl's `distro` qualifier
//! ([`ecosystems_of`]). A distribution's records name its source packages, which a package is
//! matched as ([`matched_as`]).

use std::time::Duration;

use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer, Serialize};

use super::catalog::{Ecosystem, Package};
use super::versions::{Scheme, Version};

/// One OSV record: a vulnerability, and the packages and versions it affects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Advisory {
    pub id: String,
    /// When the record last changed (RFC 3339): a stored record is replaced only by a newer one.
    pub modified: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    /// When the record was withdrawn: it then affects nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn: Option<String>,
    /// The same vulnerability's other ids (CVE, GHSA).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default)]
    pub affected: Vec<Affected>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub severity: Vec<Severity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<DatabaseSpecific>,
    /// dispatch's, not OSV's: when this version of the record was stored (RFC 3339), set by
    /// the import; a plan notes the applied images it affects that were applied before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imported: Option<String>,
}

/// A package the record affects, and which of its versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Affected {
    pub package: AffectedPackage,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ranges: Vec<Range>,
    /// Versions affected, listed one by one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AffectedPackage {
    /// The OSV ecosystem: `PyPI`, `npm`, `Maven`, `Debian:12`, `Alpine:v3.18`.
    pub ecosystem: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
}

/// Versions from events: `introduced`, then `fixed` or `last_affected`, in the order `kind`
/// names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range {
    #[serde(rename = "type")]
    pub kind: RangeKind,
    pub events: Vec<Event>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RangeKind {
    /// In the ecosystem's own order of versions.
    Ecosystem,
    /// In SemVer 2.0's precedence.
    Semver,
    /// Commits of a repository: no version is in them, so dispatch skips them.
    Git,
}

/// One event of a range, an object with one key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// Affected from this version on (`0`: from the first).
    Introduced(String),
    /// Not affected from this version on.
    Fixed(String),
    /// Affected up to this version, and not after it.
    LastAffected(String),
    /// Nothing at or above this version is in the range (`*`: no limit).
    Limit(String),
}

impl Event {
    pub fn version(&self) -> &str {
        match self {
            Event::Introduced(v) | Event::Fixed(v) | Event::LastAffected(v) | Event::Limit(v) => v,
        }
    }

    fn key(&self) -> &'static str {
        match self {
            Event::Introduced(_) => "introduced",
            Event::Fixed(_) => "fixed",
            Event::LastAffected(_) => "last_affected",
            Event::Limit(_) => "limit",
        }
    }
}

/// A severity: a CVSS vector (`CVSS_V3`, `CVSS_V4`), or a database's own rating.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Severity {
    #[serde(rename = "type")]
    pub kind: String,
    pub score: String,
}

/// What a database adds of its own; only its severity (GHSA's `HIGH`, say) is read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseSpecific {
    #[serde(
        default,
        deserialize_with = "text_or_nothing",
        skip_serializing_if = "Option::is_none"
    )]
    pub severity: Option<String>,
}

/// A string, or `None` for any other value: databases put numbers and objects here too.
fn text_or_nothing<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Loose {
        Text(String),
        Other(IgnoredAny),
    }
    Ok(match Loose::deserialize(d)? {
        Loose::Text(text) => Some(text),
        Loose::Other(_) => None,
    })
}

/// What checking a record found wrong; its place in the record is in the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    #[error("its id {0:?} is not one: expected letters, digits and `-._:` (such as PYSEC-2018-28)")]
    Id(String),
    #[error("`modified` {0:?} is not an RFC 3339 time in UTC (such as 2024-10-10T08:00:00Z)")]
    Modified(String),
    #[error(transparent)]
    Range(Problem),
}

/// A range that cannot be evaluated, and where it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "affected[{affected}] ({package}): ranges[{range}] has {detail}; a range of type {kind} \
     needs events each with a version in {order}"
)]
pub struct Problem {
    pub affected: usize,
    pub package: String,
    pub range: usize,
    pub kind: &'static str,
    pub order: &'static str,
    pub detail: String,
}

const NO_EVENTS: &str = "no events";

/// A record checked: what of it dispatch keeps, and the OSV ecosystems of what it skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// `None` when nothing of it is in an ecosystem dispatch matches.
    pub advisory: Option<Advisory>,
    /// The ecosystems of the packages skipped, as the record names them.
    pub skipped: Vec<String>,
    /// The ranges left out because their versions are not in their order (PyPI has releases
    /// such as `2019-09-12` that PEP 440 does not read), each in words: the record's other
    /// ranges and its listed versions still match.
    pub notes: Vec<String>,
}

/// The longest id, alias or version read; real ones are a few dozen characters.
const MAX_TEXT: usize = 256;

impl Advisory {
    /// The record with only what a match uses, or why it cannot be used: an id that is no id, a
    /// `modified` that is no time, a range without events. Packages of other ecosystems, `GIT`
    /// ranges, and ranges whose versions are not in their order are left out (the last with a
    /// note: the record's own data, not a broken file).
    pub fn check(mut self) -> Result<Checked, Invalid> {
        let id_chars = |c: char| c.is_ascii_alphanumeric() || "-._:".contains(c);
        if self.id.is_empty() || self.id.len() > MAX_TEXT || !self.id.chars().all(id_chars) {
            return Err(Invalid::Id(self.id));
        }
        if instant(&self.modified).is_none() {
            return Err(Invalid::Modified(self.modified));
        }
        let mut skipped = Vec::new();
        let mut notes = Vec::new();
        let mut broken = None;
        let mut kept = Vec::new();
        for (i, mut affected) in std::mem::take(&mut self.affected).into_iter().enumerate() {
            let Some(ecosystem) = ecosystem(&affected.package.ecosystem) else {
                skipped.push(affected.package.ecosystem);
                continue;
            };
            affected.ranges.retain(|r| r.kind != RangeKind::Git);
            let package = affected.package.name.clone();
            let mut r = 0;
            affected.ranges.retain(|range| {
                let problem = check_range(range, ecosystem).map(|skip| Problem {
                    affected: i,
                    package: package.clone(),
                    range: r,
                    kind: range.kind.as_str(),
                    order: order_name(range.kind, ecosystem),
                    detail: skip,
                });
                r += 1;
                match problem {
                    Some(problem) if problem.detail == NO_EVENTS => {
                        broken.get_or_insert(problem);
                        true
                    }
                    Some(problem) => {
                        notes.push(problem.to_string());
                        false
                    }
                    None => true,
                }
            });
            if let Some(problem) = broken {
                return Err(Invalid::Range(problem));
            }
            kept.push(affected);
        }
        self.affected = kept;
        let usable = !self.affected.is_empty();
        Ok(Checked {
            advisory: usable.then_some(self),
            skipped,
            notes,
        })
    }

    /// When it was last modified, since the Unix epoch; checked records have one.
    pub fn modified_at(&self) -> Duration {
        instant(&self.modified).unwrap_or_default()
    }

    /// Whether this version of it was imported after `since` (an RFC 3339 time); a record
    /// stored by a dispatch that kept no import time was not.
    pub fn imported_after(&self, since: &str) -> bool {
        let imported = self.imported.as_deref().and_then(instant);
        imported.is_some_and(|at| instant(since).is_none_or(|since| at > since))
    }

    /// Where it comes from: its id's prefix (`PYSEC`, `GHSA`, `DSA`).
    pub fn source(&self) -> &str {
        self.id.split('-').next().unwrap_or(&self.id)
    }

    /// The OSV ecosystems it affects packages of, each once.
    pub fn ecosystems(&self) -> Vec<&str> {
        let mut all: Vec<&str> = (self.affected.iter())
            .map(|a| key(&a.package.ecosystem))
            .collect();
        all.sort_unstable();
        all.dedup();
        all
    }
}

impl RangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RangeKind::Ecosystem => "ECOSYSTEM",
            RangeKind::Semver => "SEMVER",
            RangeKind::Git => "GIT",
        }
    }

    /// The order `ecosystem`'s versions are compared in, in a range of this kind.
    pub fn scheme(self, ecosystem: Ecosystem) -> Option<Scheme> {
        match self {
            RangeKind::Ecosystem => Scheme::of(ecosystem),
            RangeKind::Semver => Some(Scheme::Semver),
            RangeKind::Git => None,
        }
    }
}

fn order_name(kind: RangeKind, ecosystem: Ecosystem) -> &'static str {
    match kind.scheme(ecosystem) {
        Some(Scheme::Pep440) => "PEP 440's order",
        Some(Scheme::Semver) => "SemVer's order",
        Some(Scheme::Dpkg) => "dpkg's order",
        Some(Scheme::Apk) => "apk's order",
        Some(Scheme::Rpm) => "rpm's order",
        Some(Scheme::Maven) => "Maven's order",
        None => "no order dispatch knows",
    }
}

/// Why `range` cannot be evaluated in `ecosystem`, if it cannot: it has no events (the record
/// is broken), or an event's version is not one in its order.
fn check_range(range: &Range, ecosystem: Ecosystem) -> Option<String> {
    let Some(scheme) = range.kind.scheme(ecosystem) else {
        return Some("no order".into());
    };
    if range.events.is_empty() {
        return Some(NO_EVENTS.into());
    }
    range.events.iter().find_map(|event| {
        let version = event.version();
        let special = matches!(
            (event, version),
            (Event::Introduced(_), "0") | (Event::Limit(_), "*")
        );
        let readable = version.len() <= MAX_TEXT && Version::parse(scheme, version).is_some();
        (!special && !readable).then(|| format!("`{}: {version:?}`", event.key()))
    })
}

/// `text` as an RFC 3339 time in UTC, since the Unix epoch (a time before it, such as the
/// `0001-01-01T00:00:00Z` some databases write for "unknown", as the epoch).
fn instant(text: &str) -> Option<Duration> {
    let utc = text.strip_suffix("+00:00").map(|t| format!("{t}Z"));
    let text = utc.as_deref().unwrap_or(text);
    if let Ok(parsed) = humantime::parse_rfc3339(text) {
        return parsed.duration_since(std::time::UNIX_EPOCH).ok();
    }
    // humantime reads years from 1970: an earlier one, otherwise well formed, is the epoch.
    let year: u32 = text.get(..4)?.parse().ok()?;
    let later = format!("1970{}", text.get(4..)?);
    (year < 1970 && humantime::parse_rfc3339(&later).is_ok()).then_some(Duration::ZERO)
}

/// A distribution whose OSV records dispatch matches: its os-release `ID` (the purl's
/// namespace), its OSV ecosystem, and how a release is named there from `VERSION_ID`.
struct Distribution {
    id: &'static str,
    osv: &'static str,
    ecosystem: Ecosystem,
    release: fn(&str) -> String,
}

/// `9.4`: `9` (AlmaLinux and Rocky Linux name major releases).
fn major(version: &str) -> String {
    version.split('.').next().unwrap_or(version).to_string()
}

/// `3.18.4`: `v3.18` (Alpine names branches).
fn branch(version: &str) -> String {
    let parts: Vec<&str> = version.split('.').take(2).collect();
    format!("v{}", parts.join("."))
}

const DISTRIBUTIONS: &[Distribution] = &[
    Distribution {
        id: "debian",
        osv: "Debian",
        ecosystem: Ecosystem::Deb,
        release: str::to_string,
    },
    // `Ubuntu:22.04:LTS` is kept under `Ubuntu:22.04` ([`key`]).
    Distribution {
        id: "ubuntu",
        osv: "Ubuntu",
        ecosystem: Ecosystem::Deb,
        release: str::to_string,
    },
    Distribution {
        id: "alpine",
        osv: "Alpine",
        ecosystem: Ecosystem::Apk,
        release: branch,
    },
    Distribution {
        id: "almalinux",
        osv: "AlmaLinux",
        ecosystem: Ecosystem::Rpm,
        release: major,
    },
    Distribution {
        id: "rocky",
        osv: "Rocky Linux",
        ecosystem: Ecosystem::Rpm,
        release: major,
    },
    Distribution {
        id: "opensuse-leap",
        osv: "openSUSE",
        ecosystem: Ecosystem::Rpm,
        release: |version| format!("Leap {version}"),
    },
    Distribution {
        id: "opensuse-tumbleweed",
        osv: "openSUSE",
        ecosystem: Ecosystem::Rpm,
        release: |_| "Tumbleweed".into(),
    },
    Distribution {
        id: "photon",
        osv: "Photon OS",
        ecosystem: Ecosystem::Rpm,
        release: str::to_string,
    },
    Distribution {
        id: "mageia",
        osv: "Mageia",
        ecosystem: Ecosystem::Rpm,
        release: str::to_string,
    },
];

/// The OSV ecosystems dispatch matches, as messages list them.
pub const MATCHED: &str = "PyPI, npm, Maven, Debian, Ubuntu, Alpine, AlmaLinux, Rocky Linux, \
openSUSE, Photon OS and Mageia";

/// The catalog ecosystem an OSV ecosystem names, if dispatch matches it: `PyPI`, `npm`,
/// `Maven`, and the distributions of [`DISTRIBUTIONS`] with or without a release. Ubuntu Pro's
/// records (`Ubuntu:Pro:18.04:LTS`, fixes only a subscription installs) are not matched.
pub fn ecosystem(osv: &str) -> Option<Ecosystem> {
    let (name, release) = osv.split_once(':').unwrap_or((osv, ""));
    match (name, release.is_empty()) {
        ("PyPI", true) => Some(Ecosystem::Pypi),
        ("npm", true) => Some(Ecosystem::Npm),
        ("Maven", true) => Some(Ecosystem::Maven),
        ("Ubuntu", _) if release.starts_with("Pro") => None,
        _ => (DISTRIBUTIONS.iter())
            .find(|d| d.osv == name)
            .map(|d| d.ecosystem),
    }
}

/// The name records of the OSV ecosystem `osv` are kept and looked up under: OSV's own, but an
/// Ubuntu release without the `:LTS` some carry, as os-release names it (`Ubuntu:22.04`).
pub fn key(osv: &str) -> &str {
    match osv.strip_prefix("Ubuntu:") {
        Some(release) => osv
            .strip_suffix(":LTS")
            .filter(|_| !release.starts_with("Pro"))
            .unwrap_or(osv),
        None => osv,
    }
}

/// The OSV ecosystems (as [`key`] names them) whose records may affect `package`: its
/// ecosystem's, and for a distribution's package the release its purl names
/// (`distro=debian-12`: `Debian:12`; `alpine-3.18.4`: `Alpine:v3.18`; `almalinux-9.4`:
/// `AlmaLinux:9`) as well as the distribution's records that name none. A package of a
/// distribution dispatch does not match (Fedora's rpms) has none.
pub fn ecosystems_of(package: &Package) -> Vec<String> {
    match package.ecosystem {
        Ecosystem::Pypi => return vec!["PyPI".into()],
        Ecosystem::Npm => return vec!["npm".into()],
        Ecosystem::Maven => return vec!["Maven".into()],
        Ecosystem::Powershell => return Vec::new(),
        Ecosystem::Deb | Ecosystem::Apk | Ecosystem::Rpm => {}
    }
    let Ok(purl) = package.purl.parse::<packageurl::PackageUrl>() else {
        return Vec::new();
    };
    let Some(namespace) = purl.namespace() else {
        return Vec::new();
    };
    let Some(distribution) =
        (DISTRIBUTIONS.iter()).find(|d| d.id == namespace && d.ecosystem == package.ecosystem)
    else {
        return Vec::new();
    };
    // `distro=ID-VERSION_ID`; the ID may hold a `-` itself (`opensuse-leap-15.5`).
    let version = (purl.qualifiers().iter())
        .find(|(name, _)| name.as_ref() == "distro")
        .and_then(|(_, value)| {
            Some(
                value
                    .strip_prefix(namespace)?
                    .strip_prefix('-')?
                    .to_string(),
            )
        });
    let mut names = vec![distribution.osv.to_string()];
    names.extend(version.map(|v| format!("{}:{}", distribution.osv, (distribution.release)(&v))));
    names
}

/// The name and version the records of `package`'s ecosystem name it by: Debian's and
/// Alpine's name source packages (`openssl`, which builds `libssl3`) and their versions, as
/// osv-scanner and Trivy match them; every other ecosystem's, the package itself.
pub fn matched_as(package: &Package) -> (&str, &str) {
    match package.ecosystem {
        Ecosystem::Deb | Ecosystem::Apk => package.source_or_self(),
        _ => (&package.name, &package.version),
    }
}

/// What storing a record did to the one stored under its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    New,
    /// Replaced: the incoming record was modified later.
    Updated,
    /// Kept: the stored record is as new or newer.
    Unchanged,
}

impl Stored {
    /// What storing `incoming` over `stored` does: a record is replaced only by a newer one.
    pub fn of(stored: Option<&Advisory>, incoming: &Advisory) -> Stored {
        match stored {
            None => Stored::New,
            Some(stored) if incoming.modified_at() > stored.modified_at() => Stored::Updated,
            Some(_) => Stored::Unchanged,
        }
    }
}

/// How severe an advisory is, CVSS's qualitative scale; `Unknown` where the record says none
/// that can be read (`advisory::severity` rates a record). Ordered from `None` to `Critical`,
/// `Unknown` first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Unknown,
    None,
    Low,
    Medium,
    High,
    Critical,
}

impl Level {
    /// The levels a rule may ask for at least (`minSeverity`): all but `unknown`.
    pub const RATED: [Level; 5] = [
        Level::None,
        Level::Low,
        Level::Medium,
        Level::High,
        Level::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Unknown => "unknown",
            Level::None => "none",
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::Critical => "critical",
        }
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A level that is not one of CVSS's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown severity level {0:?}: expected none, low, medium, high or critical")]
pub struct UnknownLevel(pub String);

impl std::str::FromStr for Level {
    type Err = UnknownLevel;

    /// One of [`Level::RATED`], as written in a policy.
    fn from_str(s: &str) -> Result<Level, UnknownLevel> {
        (Level::RATED.into_iter())
            .find(|level| level.as_str() == s)
            .ok_or_else(|| UnknownLevel(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(json: &str) -> Advisory {
        serde_json::from_str(json).unwrap()
    }

    const REQUESTS: &str = r#"{
        "id": "PYSEC-2018-28", "modified": "2024-10-10T08:00:00.123456Z",
        "aliases": ["CVE-2018-18074", "GHSA-x84v-xcm2-53pg"],
        "affected": [
            {"package": {"ecosystem": "PyPI", "name": "requests"},
             "ranges": [
                {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.20.0"}]},
                {"type": "GIT", "repo": "https://example.invalid/r", "events": [{"introduced": "abc123"}]}
             ],
             "versions": ["2.19.1"]},
            {"package": {"ecosystem": "crates.io", "name": "requests"}, "versions": ["1.0"]}
        ],
        "database_specific": {"severity": "HIGH", "cwe_ids": ["CWE-522"]}
    }"#;

    #[test]
    fn a_record_keeps_what_a_match_uses() {
        let checked = record(REQUESTS).check().unwrap();
        assert_eq!(checked.skipped, ["crates.io"]);
        let advisory = checked.advisory.unwrap();
        assert_eq!(advisory.affected.len(), 1);
        assert_eq!(
            advisory.affected[0].ranges.len(),
            1,
            "GIT ranges are left out"
        );
        assert_eq!(advisory.source(), "PYSEC");
        assert_eq!(advisory.ecosystems(), ["PyPI"]);
        assert_eq!(
            advisory.database_specific.unwrap().severity.as_deref(),
            Some("HIGH")
        );
        assert_eq!(
            record(REQUESTS).modified_at(),
            Duration::new(1_728_547_200, 123_456_000)
        );
    }

    #[test]
    fn a_record_of_other_ecosystems_alone_is_unusable_not_wrong() {
        let rust = record(
            r#"{"id": "RUSTSEC-2024-1", "modified": "2024-01-01T00:00:00Z",
                "affected": [{"package": {"ecosystem": "crates.io", "name": "x"}}],
                "database_specific": {"severity": 7.5}}"#,
        );
        assert_eq!(rust.database_specific.as_ref().unwrap().severity, None);
        let checked = rust.check().unwrap();
        assert_eq!(
            (checked.advisory, checked.skipped),
            (None, vec!["crates.io".into()])
        );
    }

    #[test]
    fn what_cannot_be_read_is_named() {
        let bad = |edit: &dyn Fn(&mut Advisory)| {
            let mut advisory = record(REQUESTS);
            edit(&mut advisory);
            advisory.check().unwrap_err().to_string()
        };
        assert!(bad(&|a| a.id = "PYSEC 1".into()).contains("its id \"PYSEC 1\" is not one"));
        assert!(bad(&|a| a.modified = "yesterday".into()).contains("`modified` \"yesterday\""));
        let noted = |edit: &dyn Fn(&mut Advisory)| {
            let mut advisory = record(REQUESTS);
            edit(&mut advisory);
            let checked = advisory.check().unwrap();
            let kept = checked.advisory.unwrap();
            assert!(kept.affected[0].ranges.is_empty(), "the range is left out");
            assert_eq!(
                kept.affected[0].versions,
                ["2.19.1"],
                "its versions still match"
            );
            checked.notes.join("\n")
        };
        let message = noted(&|a| a.affected[0].ranges[0].events[1] = Event::Fixed("2.x!".into()));
        assert_eq!(
            message,
            "affected[0] (requests): ranges[0] has `fixed: \"2.x!\"`; a range of type ECOSYSTEM \
             needs events each with a version in PEP 440's order"
        );
        let message = noted(&|a| {
            a.affected[0].ranges[0].kind = RangeKind::Semver;
            a.affected[0].ranges[0].events[1] = Event::Fixed("2.20".into());
        });
        assert!(
            message.ends_with("type SEMVER needs events each with a version in SemVer's order"),
            "{message}"
        );
        assert!(bad(&|a| a.affected[0].ranges[0].events.clear()).contains("has no events"));
        // Accepted: `+00:00` as UTC, and a time before the epoch as the epoch.
        let mut unknown = record(REQUESTS);
        unknown.modified = "0001-01-01T00:00:00Z".into();
        assert_eq!(
            unknown.check().unwrap().advisory.unwrap().modified_at(),
            Duration::ZERO
        );
        let mut utc = record(REQUESTS);
        utc.modified = "2024-10-10T08:00:00+00:00".into();
        assert!(utc.check().is_ok());
    }

    #[test]
    fn a_package_names_the_osv_ecosystems_of_its_distribution_and_release() {
        let package = |ecosystem, purl: &str| Package {
            ecosystem,
            name: "x".into(),
            version: "1".into(),
            purl: purl.into(),
            source: None,
            license: None,
        };
        for (ecosystem, purl, expected) in [
            (Ecosystem::Pypi, "pkg:pypi/x@1", vec!["PyPI"]),
            (
                Ecosystem::Deb,
                "pkg:deb/debian/x@1?arch=amd64&distro=debian-12",
                vec!["Debian", "Debian:12"],
            ),
            (Ecosystem::Deb, "pkg:deb/debian/x@1", vec!["Debian"]),
            (
                Ecosystem::Deb,
                "pkg:deb/ubuntu/x@1?distro=ubuntu-22.04",
                vec!["Ubuntu", "Ubuntu:22.04"],
            ),
            (
                Ecosystem::Rpm,
                "pkg:rpm/almalinux/x@1-1.el9?arch=x86_64&distro=almalinux-9.4",
                vec!["AlmaLinux", "AlmaLinux:9"],
            ),
            (
                Ecosystem::Rpm,
                "pkg:rpm/rocky/x@1-1.el9?distro=rocky-9.3",
                vec!["Rocky Linux", "Rocky Linux:9"],
            ),
            (
                Ecosystem::Rpm,
                "pkg:rpm/opensuse-leap/x@1-1?distro=opensuse-leap-15.5",
                vec!["openSUSE", "openSUSE:Leap 15.5"],
            ),
            (
                Ecosystem::Rpm,
                "pkg:rpm/opensuse-tumbleweed/x@1-1?distro=opensuse-tumbleweed-20240101",
                vec!["openSUSE", "openSUSE:Tumbleweed"],
            ),
            (
                Ecosystem::Rpm,
                "pkg:rpm/photon/x@1-1.ph5?distro=photon-5.0",
                vec!["Photon OS", "Photon OS:5.0"],
            ),
            (
                Ecosystem::Rpm,
                "pkg:rpm/mageia/x@1-1.mga9?distro=mageia-9",
                vec!["Mageia", "Mageia:9"],
            ),
            // Fedora's records are not in OSV; a deb that says it is Debian's is not an rpm.
            (
                Ecosystem::Rpm,
                "pkg:rpm/fedora/x@1-1.fc40?distro=fedora-40",
                vec![],
            ),
            (
                Ecosystem::Rpm,
                "pkg:rpm/debian/x@1-1?distro=debian-12",
                vec![],
            ),
            (Ecosystem::Rpm, "pkg:rpm/x@1-1", vec![]),
            (
                Ecosystem::Apk,
                "pkg:apk/alpine/x@1?distro=alpine-3.18.4",
                vec!["Alpine", "Alpine:v3.18"],
            ),
            (Ecosystem::Powershell, "pkg:nuget/x@1", vec![]),
        ] {
            assert_eq!(ecosystems_of(&package(ecosystem, purl)), expected, "{purl}");
        }
        assert_eq!(ecosystem("Debian:12"), Some(Ecosystem::Deb));
        assert_eq!(ecosystem("PyPI:extra"), None);
        assert_eq!(ecosystem("Ubuntu:22.04:LTS"), Some(Ecosystem::Deb));
        assert_eq!(ecosystem("Ubuntu:Pro:18.04:LTS"), None);
        assert_eq!(ecosystem("AlmaLinux:9"), Some(Ecosystem::Rpm));
        assert_eq!(ecosystem("Red Hat:enterprise_linux:9::appstream"), None);
        assert_eq!(key("Ubuntu:22.04:LTS"), "Ubuntu:22.04");
        assert_eq!(key("Ubuntu:24.10"), "Ubuntu:24.10");
        assert_eq!(key("Ubuntu:Pro:18.04:LTS"), "Ubuntu:Pro:18.04:LTS");
        assert_eq!(key("Debian:12"), "Debian:12");
        for distribution in DISTRIBUTIONS {
            assert!(MATCHED.contains(distribution.osv), "{}", distribution.osv);
        }
    }
}
