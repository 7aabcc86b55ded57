//! Version ranges written in each ecosystem's own syntax, and the package queries built on
//! them: `dispatch catalog --package 'pandas<1.0'` and a policy's `packages.deny` rules. Pure:
//! a range is parsed once and then tests the versions of many images' packages.
//!
//! A range tests installed versions, not candidates to install, so pre-releases are in a range
//! as their ordering puts them: PEP 440 counts a pre-release "already present on the system"
//! (still, `<1.0` holds no pre-release of 1.0 itself), and npm ranges are read with npm's
//! `includePrerelease` (`<5` holds 4.18.0-rc.1; `^4.17.0` holds no 5.0.0 pre-release).

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use super::catalog::{Ecosystem, Package};

/// A version range in one ecosystem's syntax.
#[derive(Debug, Clone)]
pub struct Range {
    ecosystem: Ecosystem,
    text: String,
    test: Test,
}

/// How a range tests a version.
#[derive(Debug, Clone)]
enum Test {
    Pep440(pep440_rs::VersionSpecifiers),
    Npm(nodejs_semver::Range),
    /// dpkg relations (the orderings each accepts, and its bound), all of which must hold.
    Dpkg(Vec<(&'static [Ordering], String)>),
    Exact(String),
    /// Any version starting with this.
    Prefix(String),
}

/// dpkg's relations, two-character ones first so that `<<` is not read as `<`.
const RELATIONS: [(&str, &[Ordering]); 5] = [
    ("<<", &[Ordering::Less]),
    ("<=", &[Ordering::Less, Ordering::Equal]),
    (">>", &[Ordering::Greater]),
    (">=", &[Ordering::Greater, Ordering::Equal]),
    ("=", &[Ordering::Equal]),
];

impl Range {
    /// `text` as a range in `ecosystem`'s syntax; the error names the syntax expected.
    pub fn parse(ecosystem: Ecosystem, text: &str) -> Result<Range, String> {
        let text = text.trim();
        let test = if text.is_empty() {
            Err(None)
        } else {
            Test::parse(ecosystem, text)
        };
        test.map(|test| Range {
            ecosystem,
            text: text.to_string(),
            test,
        })
        .map_err(|detail| {
            let expected = format!(
                "invalid {ecosystem} version range {text:?}: expected {}",
                expected(ecosystem)
            );
            match detail {
                Some(detail) => format!("{expected} ({detail})"),
                None => expected,
            }
        })
    }

    /// The ecosystem whose syntax the range is written in, and whose versions it holds.
    pub fn ecosystem(&self) -> Ecosystem {
        self.ecosystem
    }

    /// Whether `version` is in the range; a version that does not parse in the range's
    /// ecosystem is not.
    pub fn contains(&self, version: &str) -> bool {
        match &self.test {
            Test::Pep440(specifiers) => pep440_rs::Version::from_str(version)
                .is_ok_and(|version| specifiers.contains(&version)),
            Test::Npm(range) => nodejs_semver::Version::parse(version)
                .is_ok_and(|version| range.satisfies_with_prerelease(&version, true)),
            Test::Dpkg(relations) => relations.iter().all(|(accepted, bound)| {
                dpkg_compare(version, bound).is_some_and(|order| accepted.contains(&order))
            }),
            Test::Exact(exact) => version == exact,
            Test::Prefix(prefix) => version.starts_with(prefix.as_str()),
        }
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The syntax a range in `ecosystem` is written in, for errors.
fn expected(ecosystem: Ecosystem) -> &'static str {
    match ecosystem {
        Ecosystem::Pypi => "a PEP 440 specifier such as <1.0,>=0.23",
        Ecosystem::Npm => "an npm semver range such as ^4.17.0 or >=1.2.3 <2.0.0",
        Ecosystem::Deb => {
            "a Debian version such as 3.0.11-1, a prefix such as 3.0.*, or dpkg relations \
             such as >=3.0,<<3.0.11"
        }
        Ecosystem::Apk => "an Alpine version such as 3.1.4-r0 or a prefix such as 3.1.*",
        Ecosystem::Maven => "a Maven version such as 2.14.1 or a prefix such as 2.14.*",
        Ecosystem::Powershell => {
            "a PowerShell module version such as 7.2.0 or a prefix such as 7.2.*"
        }
    }
}

impl Test {
    /// The test `text` (trimmed, not empty) writes in `ecosystem`; the error may say what is
    /// wrong beyond the syntax expected.
    fn parse(ecosystem: Ecosystem, text: &str) -> Result<Test, Option<String>> {
        match ecosystem {
            Ecosystem::Pypi => pep440_rs::VersionSpecifiers::from_str(text)
                .map(Test::Pep440)
                // The library's first line; the rest points a caret at `text`.
                .map_err(|e| e.to_string().lines().next().map(str::to_string)),
            Ecosystem::Npm => nodejs_semver::Range::parse(text)
                .map(Test::Npm)
                .map_err(|_| None),
            Ecosystem::Deb if text.starts_with(['<', '>', '=']) => dpkg_relations(text),
            Ecosystem::Deb | Ecosystem::Apk | Ecosystem::Maven | Ecosystem::Powershell => {
                plain(text).ok_or(None)
            }
        }
    }
}

/// An exact version, or a prefix: `2.14.*` or `2.14.` (any version starting `2.14.`), `*`.
fn plain(text: &str) -> Option<Test> {
    let (body, prefix) = match text.strip_suffix('*') {
        Some(body) => (body, true),
        None => (text, text.ends_with('.')),
    };
    // The characters of these ecosystems' versions: not an operator, bracket or space.
    let version = body
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._-+~:".contains(c));
    version.then(|| {
        if prefix {
            Test::Prefix(body.to_string())
        } else {
            Test::Exact(body.to_string())
        }
    })
}

/// Comma-separated dpkg relations such as `>=3.0, <<3.0.11`.
fn dpkg_relations(text: &str) -> Result<Test, Option<String>> {
    text.split(',')
        .map(|relation| {
            let relation = relation.trim();
            let Some((operator, accepted)) = RELATIONS
                .into_iter()
                .find(|(op, _)| relation.starts_with(op))
            else {
                // dpkg still reads the deprecated `<` and `>` as `<=` and `>=`.
                let deprecated = relation.starts_with(['<', '>']);
                return Err(deprecated.then(|| {
                    "dpkg reads < as <= and > as >=: write << or <=, >> or >=".to_string()
                }));
            };
            let bound = relation[operator.len()..].trim();
            dpkg_version(bound).ok_or(None)?;
            Ok((accepted, bound.to_string()))
        })
        .collect::<Result<_, _>>()
        .map(Test::Dpkg)
}

/// A Debian version as dpkg splits it, `[epoch:]upstream[-revision]`, if dpkg accepts it.
fn dpkg_version(version: &str) -> Option<(u64, &str, &str)> {
    let (epoch, rest) = match version.split_once(':') {
        Some((epoch, rest)) if !epoch.is_empty() && epoch.bytes().all(|c| c.is_ascii_digit()) => {
            (epoch.parse().ok()?, rest)
        }
        Some(_) => return None,
        None => (0, version),
    };
    let (upstream, revision) = match rest.rsplit_once('-') {
        Some((_, "")) => return None,
        Some(split) => split,
        None => (rest, ""),
    };
    let made_of = |part: &str, symbols: &str| {
        part.chars()
            .all(|c| c.is_ascii_alphanumeric() || symbols.contains(c))
    };
    (!upstream.is_empty() && made_of(upstream, ".+~-:") && made_of(revision, ".+~"))
        .then_some((epoch, upstream, revision))
}

/// How dpkg orders two Debian versions: epoch, then upstream, then revision (an absent one is
/// empty, so `1.0` = `1.0-0`); `None` if either is not one.
fn dpkg_compare(a: &str, b: &str) -> Option<Ordering> {
    let ((a_epoch, a_upstream, a_revision), (b_epoch, b_upstream, b_revision)) =
        (dpkg_version(a)?, dpkg_version(b)?);
    Some(
        a_epoch
            .cmp(&b_epoch)
            .then_with(|| verrevcmp(a_upstream, b_upstream))
            .then_with(|| verrevcmp(a_revision, b_revision)),
    )
}

/// dpkg's `verrevcmp`: alternate runs of non-digits, compared character by character with
/// letters before other symbols and `~` before everything, even the run's end (so `1.0~rc1` <
/// `1.0` < `1.0+b1`), and runs of digits, compared as numbers.
fn verrevcmp(mut a: &str, mut b: &str) -> Ordering {
    fn order(c: Option<&u8>) -> i32 {
        match c {
            None => 0,
            Some(b'~') => -1,
            Some(c) if c.is_ascii_alphabetic() => i32::from(*c),
            Some(c) => i32::from(*c) + 256,
        }
    }
    fn run(s: &str, digits: bool) -> (&str, &str) {
        s.split_at(
            s.find(|c: char| c.is_ascii_digit() != digits)
                .unwrap_or(s.len()),
        )
    }
    while !a.is_empty() || !b.is_empty() {
        let ((a_text, a_tail), (b_text, b_tail)) = (run(a, false), run(b, false));
        let text = (0..a_text.len().max(b_text.len()))
            .map(|i| order(a_text.as_bytes().get(i)).cmp(&order(b_text.as_bytes().get(i))))
            .find(|ordering| ordering.is_ne())
            .unwrap_or(Ordering::Equal);
        let ((a_number, a_rest), (b_number, b_rest)) = (run(a_tail, true), run(b_tail, true));
        let (a_number, b_number) = (
            a_number.trim_start_matches('0'),
            b_number.trim_start_matches('0'),
        );
        let ordering = text
            .then(a_number.len().cmp(&b_number.len()))
            .then(a_number.cmp(b_number));
        if ordering.is_ne() {
            return ordering;
        }
        (a, b) = (a_rest, b_rest);
    }
    Ordering::Equal
}

/// What `--package` asks for, or a policy's deny rule: packages by name, in a version range.
///
/// Written `[ECOSYSTEM:]NAME[RANGE]`, where `ECOSYSTEM:` counts only when it names an
/// ecosystem (else it is part of the name, as in a Maven `group:artifact`), and the name ends
/// at `@` or a space (dropped) or at the first of `<>=!~^` (which begins the range):
/// `pypi:pandas<1.0`, `pandas >=0.23,<1.0`, `npm:@scope/name@^1.0`,
/// `maven:org.example:core@2.14.*`, `deb:openssl`.
#[derive(Debug, Clone)]
pub struct Query {
    /// Only packages of this ecosystem; of any when `None`.
    pub ecosystem: Option<Ecosystem>,
    /// As written: each package's ecosystem compares it to the package's name.
    pub name: String,
    /// The range, in each ecosystem whose syntax reads it: a package of another ecosystem is
    /// outside it. Empty for any version.
    pub ranges: Vec<Range>,
}

impl Query {
    /// `text` as written above; the error says what is missing, or names the syntax expected.
    pub fn parse(text: &str) -> Result<Query, String> {
        let text = text.trim();
        let prefixed = text
            .split_once(':')
            .and_then(|(prefix, rest)| Some((prefix.parse().ok()?, rest)));
        let (ecosystem, rest) = prefixed.map_or((None, text), |(e, rest)| (Some(e), rest));
        // No ecosystem's names hold these; a scoped npm name begins with `@`.
        let end = rest
            .char_indices()
            .find(|&(i, c)| (c == '@' && i > 0) || c.is_whitespace() || "<>=!~^".contains(c))
            .map_or(rest.len(), |(i, _)| i);
        let (name, range) = rest.split_at(end);
        let range = range.strip_prefix('@').unwrap_or(range).trim();
        if name.is_empty() {
            return Err(format!(
                "package query {text:?} has no name: expected NAME, NAME RANGE, NAME@RANGE or \
                 NAME<RANGE, optionally after ECOSYSTEM: (such as pypi:pandas<1.0)"
            ));
        }
        let ranges = match (end == rest.len(), ecosystem) {
            (true, _) => Vec::new(),
            (false, Some(ecosystem)) => vec![Range::parse(ecosystem, range)?],
            (false, None) => {
                let ranges: Vec<Range> = Ecosystem::ALL
                    .into_iter()
                    .filter_map(|ecosystem| Range::parse(ecosystem, range).ok())
                    .collect();
                if ranges.is_empty() {
                    return Err(format!(
                        "{range:?} is a version range in no ecosystem's syntax: put the \
                         ecosystem before the name (such as pypi:{name}) to be told what its \
                         syntax expects"
                    ));
                }
                ranges
            }
        };
        Ok(Query {
            ecosystem,
            name: name.to_string(),
            ranges,
        })
    }

    /// Whether `package` is one the query asks for.
    pub fn matches(&self, package: &Package) -> bool {
        self.ecosystem.is_none_or(|e| e == package.ecosystem)
            && same_name(package.ecosystem, &self.name, &package.name)
            && (self.ranges.is_empty()
                || self.ranges.iter().any(|range| {
                    range.ecosystem == package.ecosystem && range.contains(&package.version)
                }))
    }
}

/// Whether `a` and `b` name the same package in `ecosystem`: Python's by their PEP 503 form,
/// Debian's, Alpine's and PowerShell's ignoring case as their tools do, the others exactly.
fn same_name(ecosystem: Ecosystem, a: &str, b: &str) -> bool {
    match ecosystem {
        Ecosystem::Pypi => pep503(a).eq(pep503(b)),
        Ecosystem::Deb | Ecosystem::Apk | Ecosystem::Powershell => a.eq_ignore_ascii_case(b),
        Ecosystem::Npm | Ecosystem::Maven => a == b,
    }
}

/// `name` lowercased with each run of `-_.` as one `-` (PEP 503), the form Python indexes
/// compare names in; without allocating, as it is compared with every package of every image.
pub fn pep503(name: &str) -> impl Iterator<Item = char> + '_ {
    let mut after_separator = false;
    name.chars().filter_map(move |c| {
        let separator = matches!(c, '-' | '_' | '.');
        let repeated = separator && after_separator;
        after_separator = separator;
        match (repeated, separator) {
            (true, _) => None,
            (false, true) => Some('-'),
            (false, false) => Some(c.to_ascii_lowercase()),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(ecosystem: Ecosystem, text: &str) -> Range {
        Range::parse(ecosystem, text).unwrap()
    }

    /// The versions of `versions` that `text` holds in `ecosystem`.
    fn held<'a>(ecosystem: Ecosystem, text: &str, versions: &[&'a str]) -> Vec<&'a str> {
        let range = range(ecosystem, text);
        versions
            .iter()
            .copied()
            .filter(|v| range.contains(v))
            .collect()
    }

    #[test]
    fn pep440_specifiers_hold_installed_prereleases_but_not_those_of_an_excluded_bound() {
        let versions = [
            "0.22",
            "0.23.0",
            "0.25.3",
            "0.9rc1",
            "1.0",
            "1.0rc1",
            "1.0.dev0",
            "1.0.post1",
            "1.4",
            "1.9.2",
            "2.0",
            "not a version",
        ];
        assert_eq!(
            held(Ecosystem::Pypi, "<1.0", &versions),
            ["0.22", "0.23.0", "0.25.3", "0.9rc1"]
        );
        assert_eq!(
            held(Ecosystem::Pypi, ">=0.23,<1.0", &versions),
            ["0.23.0", "0.25.3"]
        );
        assert_eq!(held(Ecosystem::Pypi, "==0.23.*", &versions), ["0.23.0"]);
        assert_eq!(held(Ecosystem::Pypi, "~=1.4", &versions), ["1.4", "1.9.2"]);
        assert_eq!(
            held(Ecosystem::Pypi, ">1.0", &versions),
            ["1.4", "1.9.2", "2.0"]
        );
    }

    #[test]
    fn npm_ranges_hold_prereleases_by_their_order() {
        let versions = [
            "1.2.3",
            "1.9.0",
            "2.0.0",
            "3.0.0",
            "4.17.0-rc.1",
            "4.17.0",
            "4.17.20",
            "4.17.21",
            "4.18.0-rc.1",
            "5.0.0-beta.1",
            "5.0.0",
            "4.17",
        ];
        assert_eq!(
            held(Ecosystem::Npm, "^4.17.0", &versions),
            ["4.17.0", "4.17.20", "4.17.21", "4.18.0-rc.1"]
        );
        assert_eq!(
            held(Ecosystem::Npm, "<4.17.21", &versions),
            [
                "1.2.3",
                "1.9.0",
                "2.0.0",
                "3.0.0",
                "4.17.0-rc.1",
                "4.17.0",
                "4.17.20"
            ]
        );
        assert_eq!(
            held(Ecosystem::Npm, ">=1.2.3 <2.0.0", &versions),
            ["1.2.3", "1.9.0"]
        );
        assert_eq!(
            held(Ecosystem::Npm, "1.x || 2.x", &versions),
            ["1.2.3", "1.9.0", "2.0.0"]
        );
    }

    #[test]
    fn exact_versions_and_prefixes() {
        let versions = ["2.14.0", "2.14.1", "2.14.10", "2.140.0", "2.15.0", "2.14"];
        for ecosystem in [
            Ecosystem::Maven,
            Ecosystem::Apk,
            Ecosystem::Powershell,
            Ecosystem::Deb,
        ] {
            assert_eq!(held(ecosystem, "2.14.1", &versions), ["2.14.1"]);
            assert_eq!(
                held(ecosystem, "2.14.*", &versions),
                ["2.14.0", "2.14.1", "2.14.10"]
            );
            assert_eq!(
                held(ecosystem, "2.14.", &versions),
                held(ecosystem, "2.14.*", &versions)
            );
            assert_eq!(held(ecosystem, "*", &versions), versions);
        }
        assert_eq!(
            held(Ecosystem::Apk, "3.1.4-r0", &["3.1.4-r0", "3.1.4-r1"]),
            ["3.1.4-r0"]
        );
    }

    #[test]
    fn dpkg_orders_versions_as_dpkg_does() {
        use Ordering::{Equal, Greater, Less};
        for (a, b, expected) in [
            ("1.0~rc1", "1.0", Less),
            ("1.0~~", "1.0~", Less),
            ("1.0", "1.0+b1", Less),
            ("1.0a", "1.0+", Less),
            ("1.0", "1.0a", Less),
            ("1.00", "1.0", Equal),
            ("1.0", "1.0-0", Equal),
            ("0:1.0", "1.0", Equal),
            ("1:0.9", "2.0", Greater),
            ("1.10", "1.9", Greater),
            ("3.0.11-1~deb12u2", "3.0.11-1", Less),
            ("2.36-9+deb12u4", "2.36-9+deb12u10", Less),
            ("1.2-3-4", "1.2-3-3", Greater),
        ] {
            assert_eq!(dpkg_compare(a, b), Some(expected), "{a} vs {b}");
            assert_eq!(dpkg_compare(b, a), Some(expected.reverse()), "{b} vs {a}");
        }
        for bad in ["", "1.0-", "a:1.0", ":1.0", "1.0 1", "1.0-1_2"] {
            assert_eq!(dpkg_compare(bad, "1.0"), None, "{bad:?}");
        }
    }

    #[test]
    fn dpkg_relations_hold_what_dpkg_would() {
        let versions = [
            "2.9",
            "3.0~rc1",
            "3.0",
            "3.0.9-1",
            "3.0.11~rc1",
            "3.0.11-1",
            "1:1.0",
        ];
        assert_eq!(
            held(Ecosystem::Deb, ">=3.0, <<3.0.11", &versions),
            ["3.0", "3.0.9-1", "3.0.11~rc1"]
        );
        assert_eq!(
            held(Ecosystem::Deb, ">>3.0.11", &versions),
            ["3.0.11-1", "1:1.0"]
        );
        assert_eq!(
            held(Ecosystem::Deb, "<= 3.0", &versions),
            ["2.9", "3.0~rc1", "3.0"]
        );
        assert_eq!(
            held(Ecosystem::Deb, "=3.0-0", &["0:3.0", "3.0.0"]),
            ["0:3.0"]
        );
    }

    #[test]
    fn bad_ranges_name_the_syntax_expected() {
        for (ecosystem, text, expected) in [
            (
                Ecosystem::Pypi,
                "<1.0x",
                "expected a PEP 440 specifier such as <1.0,>=0.23",
            ),
            (
                Ecosystem::Pypi,
                "~=1",
                "~= operator requires at least two segments",
            ),
            (Ecosystem::Pypi, "1.0", "expected a PEP 440 specifier"),
            (
                Ecosystem::Npm,
                ">=1,<2",
                "expected an npm semver range such as ^4.17.0",
            ),
            (
                Ecosystem::Maven,
                "[2.0,2.15.0)",
                "expected a Maven version such as 2.14.1",
            ),
            (Ecosystem::Maven, "2.*.1", "or a prefix such as 2.14.*"),
            (Ecosystem::Apk, "<3.1", "expected an Alpine version"),
            (
                Ecosystem::Powershell,
                ">=7",
                "expected a PowerShell module version",
            ),
            (Ecosystem::Deb, "<3.0", "write << or <="),
            (
                Ecosystem::Deb,
                ">=3.0,<<",
                "or dpkg relations such as >=3.0,<<3.0.11",
            ),
            (Ecosystem::Deb, "=>3.0", "expected a Debian version"),
            (Ecosystem::Npm, "  ", "invalid npm version range \"\""),
        ] {
            let error = Range::parse(ecosystem, text).unwrap_err();
            assert!(error.contains(expected), "{ecosystem} {text:?}: {error}");
            assert!(!error.contains('\n'), "{error}");
        }
    }

    #[test]
    fn a_range_shows_as_written() {
        assert_eq!(
            range(Ecosystem::Pypi, " >=0.23, <1.0 ").to_string(),
            ">=0.23, <1.0"
        );
        assert_eq!(range(Ecosystem::Npm, "^4.17.0").to_string(), "^4.17.0");
        assert_eq!(range(Ecosystem::Maven, "2.14.*").to_string(), "2.14.*");
    }

    #[test]
    fn queries_parse_in_every_form() {
        let parts = |text: &str| {
            let query = Query::parse(text).unwrap();
            let ranges: Vec<String> = query
                .ranges
                .iter()
                .map(|r| format!("{}:{r}", r.ecosystem()))
                .collect();
            (query.ecosystem, query.name, ranges.join(" "))
        };
        let some = Some;
        for (text, ecosystem, name, ranges) in [
            ("pandas", None, "pandas", ""),
            (
                "pypi:pandas<1.0",
                some(Ecosystem::Pypi),
                "pandas",
                "pypi:<1.0",
            ),
            (
                "pypi:pandas>=0.23,<1.0",
                some(Ecosystem::Pypi),
                "pandas",
                "pypi:>=0.23,<1.0",
            ),
            (
                "pypi:pandas==0.23.*",
                some(Ecosystem::Pypi),
                "pandas",
                "pypi:==0.23.*",
            ),
            (
                "pypi:pandas~=1.4",
                some(Ecosystem::Pypi),
                "pandas",
                "pypi:~=1.4",
            ),
            (
                "pypi:pandas != 1.0",
                some(Ecosystem::Pypi),
                "pandas",
                "pypi:!= 1.0",
            ),
            (
                "pypi:pandas >=0.23",
                some(Ecosystem::Pypi),
                "pandas",
                "pypi:>=0.23",
            ),
            ("pandas<1.0", None, "pandas", "pypi:<1.0 npm:<1.0"),
            (
                "npm:lodash@<4.17.21",
                some(Ecosystem::Npm),
                "lodash",
                "npm:<4.17.21",
            ),
            (
                "npm:lodash >=1.2.3 <2.0.0",
                some(Ecosystem::Npm),
                "lodash",
                "npm:>=1.2.3 <2.0.0",
            ),
            (
                "npm:@scope/name@^1.0",
                some(Ecosystem::Npm),
                "@scope/name",
                "npm:^1.0",
            ),
            ("npm:@scope/name", some(Ecosystem::Npm), "@scope/name", ""),
            ("@scope/name@^1.0", None, "@scope/name", "npm:^1.0"),
            (
                "maven:org.apache.logging.log4j:log4j-core@2.14.1",
                some(Ecosystem::Maven),
                "org.apache.logging.log4j:log4j-core",
                "maven:2.14.1",
            ),
            (
                "maven:org.apache.logging.log4j:log4j-core@2.14.*",
                some(Ecosystem::Maven),
                "org.apache.logging.log4j:log4j-core",
                "maven:2.14.*",
            ),
            (
                "org.apache.logging.log4j:log4j-core@2.14.1",
                None,
                "org.apache.logging.log4j:log4j-core",
                "deb:2.14.1 apk:2.14.1 npm:2.14.1 maven:2.14.1 powershell:2.14.1",
            ),
            ("deb:openssl", some(Ecosystem::Deb), "openssl", ""),
            (
                "deb:openssl>=3.0,<<3.0.11",
                some(Ecosystem::Deb),
                "openssl",
                "deb:>=3.0,<<3.0.11",
            ),
            (
                "apk:openssl@3.1.*",
                some(Ecosystem::Apk),
                "openssl",
                "apk:3.1.*",
            ),
            (
                "powershell:Az.Accounts 2.*",
                some(Ecosystem::Powershell),
                "Az.Accounts",
                "powershell:2.*",
            ),
            ("  Flask_Cors  ", None, "Flask_Cors", ""),
        ] {
            assert_eq!(
                parts(text),
                (ecosystem, name.to_string(), ranges.to_string()),
                "{text:?}"
            );
        }
    }

    #[test]
    fn bad_queries_say_why() {
        for (text, expected) in [
            ("", "has no name"),
            ("pypi:<1.0", "has no name"),
            ("npm:lodash@", "expected an npm semver range"),
            ("pypi:pandas<1.0x", "expected a PEP 440 specifier"),
            ("deb:openssl<3.0", "write << or <="),
            (
                "pandas=>1",
                "\"=>1\" is a version range in no ecosystem's syntax",
            ),
        ] {
            let error = Query::parse(text).unwrap_err();
            assert!(error.contains(expected), "{text:?}: {error}");
        }
    }

    #[test]
    fn queries_match_names_as_each_ecosystem_compares_them() {
        let matches =
            |query: &str, package: &Package| Query::parse(query).unwrap().matches(package);
        let flask_cors = Package::plain(Ecosystem::Pypi, "flask-cors", "4.0.0");
        assert!(matches("Flask_Cors", &flask_cors));
        assert!(matches("pypi:flask..CORS>=4", &flask_cors));
        assert!(!matches("flaskcors", &flask_cors));
        assert!(!matches("flask-cors<4", &flask_cors));
        assert!(matches(
            "deb:OpenSSL",
            &Package::plain(Ecosystem::Deb, "openssl", "3.0.11-1")
        ));
        assert!(!matches(
            "deb:openssl",
            &Package::plain(Ecosystem::Apk, "openssl", "3.1.4-r0")
        ));
        assert!(!matches(
            "npm:Lodash",
            &Package::plain(Ecosystem::Npm, "lodash", "4.17.21")
        ));
        assert!(!matches(
            "flask_cors",
            &Package::plain(Ecosystem::Npm, "flask-cors", "4.0.0")
        ));
    }

    #[test]
    fn a_query_without_ecosystem_reads_its_range_in_each_packages_own() {
        let query = Query::parse("pandas<1.0").unwrap();
        assert!(query.matches(&Package::plain(Ecosystem::Pypi, "pandas", "0.25.3")));
        assert!(!query.matches(&Package::plain(Ecosystem::Pypi, "pandas", "1.0rc1")));
        assert!(query.matches(&Package::plain(Ecosystem::Npm, "pandas", "0.9.0")));
        // `<1.0` is no range in dpkg's syntax: no Debian package is in it.
        assert!(!query.matches(&Package::plain(Ecosystem::Deb, "pandas", "0.9")));
        let query = Query::parse("lodash@<4.17.21").unwrap();
        assert!(query.matches(&Package::plain(Ecosystem::Npm, "lodash", "4.17.20")));
        assert!(!query.matches(&Package::plain(Ecosystem::Npm, "lodash", "4.17.21")));
        let query = Query::parse("maven:org.apache.logging.log4j:log4j-core@2.14.*").unwrap();
        let log4j = |version| {
            Package::plain(
                Ecosystem::Maven,
                "org.apache.logging.log4j:log4j-core",
                version,
            )
        };
        assert!(query.matches(&log4j("2.14.1")));
        assert!(!query.matches(&log4j("2.15.0")));
    }

    #[test]
    fn a_deny_rule_is_a_query_built_from_its_parts() {
        let rule = Query {
            ecosystem: Some(Ecosystem::Npm),
            name: "@scope/name".into(),
            ranges: vec![range(Ecosystem::Npm, "^1.0")],
        };
        assert!(rule.matches(&Package::plain(Ecosystem::Npm, "@scope/name", "1.4.0")));
        assert!(!rule.matches(&Package::plain(Ecosystem::Npm, "@scope/name", "2.0.0")));
    }
}
