//! Version ranges written in each ecosystem's own syntax, and the package queries built on
//! them ([`query`]): `dispatch catalog --package 'pandas<1.0'` and a policy's `packages.deny`
//! rules. Pure: a range is parsed once and then tests the versions of many images' packages.
//!
//! A range tests installed versions, not candidates to install, so pre-releases are in a range
//! as their ordering puts them: PEP 440 counts a pre-release "already present on the system"
//! (still, `<1.0` holds no pre-release of 1.0 itself), and npm ranges are read with npm's
//! `includePrerelease` (`<5` holds 4.18.0-rc.1; `^4.17.0` holds no 5.0.0 pre-release). In the
//! ecosystems whose syntax has no ranges (Debian, Alpine, Maven), comparisons such as
//! `>=3.0,<3.0.12` are read in the ecosystem's own order ([`order`]: dpkg's, apk's, Maven's),
//! the one place each ecosystem's order of versions is kept; rpm's relations are rpm's
//! ([`rpm`]: a bound without a release ignores releases).

mod apk;
mod deb;
pub mod order;
pub mod query;
mod relations;
mod rpm;

use std::fmt;
use std::str::FromStr;

use super::catalog::Ecosystem;

pub use order::{Scheme, Version};
pub use query::{Query, QueryError, normal_name, pep503};

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
    /// Comparisons in the ecosystem's own order.
    Compare(Scheme, relations::Relations),
    Exact(String),
    /// Any version starting with this.
    Prefix(String),
}

/// Text that is no range in its ecosystem's syntax.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct RangeError {
    pub ecosystem: Ecosystem,
    /// As written, trimmed.
    pub text: String,
    /// What is wrong beyond the syntax, when known.
    pub detail: Option<String>,
}

impl fmt::Display for RangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let RangeError {
            ecosystem,
            text,
            detail,
        } = self;
        write!(
            f,
            "invalid {ecosystem} version range {text:?}: expected {}",
            expected(*ecosystem)
        )?;
        match detail {
            Some(detail) => write!(f, " ({detail})"),
            None => Ok(()),
        }
    }
}

impl Range {
    /// `text` as a range in `ecosystem`'s syntax; the error names the syntax expected.
    pub fn parse(ecosystem: Ecosystem, text: &str) -> Result<Range, RangeError> {
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
        .map_err(|detail| RangeError {
            ecosystem,
            text: text.to_string(),
            detail,
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
            Test::Compare(scheme, relations) => {
                Version::parse(*scheme, version).is_some_and(|v| relations.contains(&v))
            }
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
            "a Debian version such as 3.0.11-1, a prefix such as 3.0.*, or comparisons \
             such as >=3.0,<3.0.12 (dpkg's << and >> too)"
        }
        Ecosystem::Apk => {
            "an Alpine version such as 3.1.4-r0, a prefix such as 3.1.*, or comparisons such \
             as >=3.1,<3.1.4-r2"
        }
        Ecosystem::Maven => {
            "a Maven version such as 2.14.1, a prefix such as 2.14.*, or comparisons such as \
             >=2.0,<2.15.0"
        }
        Ecosystem::Rpm => {
            "an rpm version such as 3.0.8-1.ph5 or 1:2.0, a prefix such as 3.0.*, or rpm \
             relations such as >=3.0,<3.0.9"
        }
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
            Ecosystem::Deb | Ecosystem::Apk | Ecosystem::Rpm | Ecosystem::Maven
                if text.starts_with(['<', '>', '=', '!']) =>
            {
                let scheme = Scheme::of(ecosystem).expect("these ecosystems have an order");
                relations::Relations::parse(scheme, text)
                    .map(|relations| Test::Compare(scheme, relations))
                    .ok_or(None)
            }
            // An rpm version may hold a caret, which is in no version elsewhere; a prefix ends
            // with `.` or `*`.
            Ecosystem::Rpm
                if !text.ends_with(['.', '*']) && rpm::Version::parse(text).is_some() =>
            {
                Ok(Test::Exact(text.into()))
            }
            Ecosystem::Deb
            | Ecosystem::Apk
            | Ecosystem::Rpm
            | Ecosystem::Maven
            | Ecosystem::Powershell => plain(text).ok_or(None),
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

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn range(ecosystem: Ecosystem, text: &str) -> Range {
        Range::parse(ecosystem, text).unwrap()
    }

    /// The versions of `versions` that `text` holds in `ecosystem`.
    pub(super) fn held<'a>(ecosystem: Ecosystem, text: &str, versions: &[&'a str]) -> Vec<&'a str> {
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
            Ecosystem::Rpm,
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
    fn comparisons_are_read_in_each_ecosystems_own_order() {
        let deb = ["3.0.9-1", "3.0.11-1~deb12u2", "3.0.12", "3.0.12-1", "1:1.0"];
        assert_eq!(
            held(Ecosystem::Deb, "<3.0.12", &deb),
            ["3.0.9-1", "3.0.11-1~deb12u2"]
        );
        assert_eq!(
            held(Ecosystem::Deb, "<=3.0.12", &deb),
            held(Ecosystem::Deb, "<<3.0.12-0", &deb)
                .into_iter()
                .chain(["3.0.12"])
                .collect::<Vec<_>>()
        );
        assert_eq!(held(Ecosystem::Deb, ">3.0.12", &deb), ["3.0.12-1", "1:1.0"]);
        assert_eq!(
            held(Ecosystem::Deb, ">=3.0.11, !=3.0.12", &deb),
            ["3.0.11-1~deb12u2", "3.0.12-1", "1:1.0"]
        );
        let apk = [
            "3.1.4-r0",
            "3.1.4-r1",
            "3.1.4-r10",
            "3.1.5_rc1",
            "3.1.5",
            "x",
        ];
        assert_eq!(
            held(Ecosystem::Apk, ">=3.1.4-r1,<3.1.5", &apk),
            ["3.1.4-r1", "3.1.4-r10", "3.1.5_rc1"]
        );
        let maven = ["2.14.1", "2.15.0-rc1", "2.15.0", "2.17.1", "2.9"];
        assert_eq!(
            held(Ecosystem::Maven, "<2.15.0", &maven),
            ["2.14.1", "2.15.0-rc1", "2.9"]
        );
        assert_eq!(held(Ecosystem::Maven, "==2.15", &maven), ["2.15.0"]);
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
            (Ecosystem::Maven, "2.*.1", "a prefix such as 2.14.*, or"),
            (Ecosystem::Apk, "<3.1-1", "expected an Alpine version"),
            (Ecosystem::Apk, "=>3.1", "or comparisons such as >=3.1"),
            (
                Ecosystem::Powershell,
                ">=7",
                "expected a PowerShell module version",
            ),
            (
                Ecosystem::Deb,
                ">=3.0,<<",
                "or comparisons such as >=3.0,<3.0.12",
            ),
            (Ecosystem::Deb, "=>3.0", "expected a Debian version"),
            (
                Ecosystem::Rpm,
                "<<3.0",
                "or rpm relations such as >=3.0,<3.0.9",
            ),
            (Ecosystem::Rpm, ">=1:", "expected an rpm version"),
            (Ecosystem::Npm, "  ", "invalid npm version range \"\""),
        ] {
            let error = Range::parse(ecosystem, text).unwrap_err().to_string();
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
}
