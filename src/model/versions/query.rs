//! Package queries: packages by name, in a version range.

use super::{Range, RangeError};
use crate::model::catalog::{Ecosystem, Package};

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

/// Text that is no package query, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error(
        "package query {0:?} has no name: expected NAME, NAME RANGE, NAME@RANGE or \
         NAME<RANGE, optionally after ECOSYSTEM: (such as pypi:pandas<1.0)"
    )]
    NoName(String),
    #[error(transparent)]
    Range(#[from] RangeError),
    #[error(
        "{range:?} is a version range in no ecosystem's syntax: put the ecosystem before the \
         name (such as pypi:{name}) to be told what its syntax expects"
    )]
    NoSyntax { name: String, range: String },
}

impl Query {
    /// `text` as written above; the error says what is missing, or names the syntax expected.
    pub fn parse(text: &str) -> Result<Query, QueryError> {
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
            return Err(QueryError::NoName(text.to_string()));
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
                    return Err(QueryError::NoSyntax {
                        name: name.to_string(),
                        range: range.to_string(),
                    });
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
/// Debian's, Alpine's and PowerShell's ignoring case as their tools do, the others (rpm's
/// among them) exactly.
fn same_name(ecosystem: Ecosystem, a: &str, b: &str) -> bool {
    match ecosystem {
        Ecosystem::Pypi => pep503(a).eq(pep503(b)),
        Ecosystem::Deb | Ecosystem::Apk | Ecosystem::Powershell => a.eq_ignore_ascii_case(b),
        Ecosystem::Rpm | Ecosystem::Npm | Ecosystem::Maven => a == b,
    }
}

/// `name` in the form [`same_name`] compares it in, for keys: two names are the same package in
/// `ecosystem` when their normal forms are equal.
pub fn normal_name(ecosystem: Ecosystem, name: &str) -> String {
    match ecosystem {
        Ecosystem::Pypi => pep503(name).collect(),
        Ecosystem::Deb | Ecosystem::Apk | Ecosystem::Powershell => name.to_ascii_lowercase(),
        Ecosystem::Npm | Ecosystem::Maven | Ecosystem::Rpm => name.to_string(),
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
    use super::super::tests::range;
    use super::*;

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
            (
                "pandas<1.0",
                None,
                "pandas",
                "deb:<1.0 apk:<1.0 rpm:<1.0 pypi:<1.0 npm:<1.0 maven:<1.0",
            ),
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
                "deb:2.14.1 apk:2.14.1 rpm:2.14.1 npm:2.14.1 maven:2.14.1 powershell:2.14.1",
            ),
            ("deb:openssl", some(Ecosystem::Deb), "openssl", ""),
            (
                "deb:openssl>=3.0,<<3.0.11",
                some(Ecosystem::Deb),
                "openssl",
                "deb:>=3.0,<<3.0.11",
            ),
            (
                "rpm:openssl-libs<3.0.9",
                some(Ecosystem::Rpm),
                "openssl-libs",
                "rpm:<3.0.9",
            ),
            (
                "rpm:tzdata >=1:2023c, <1:2024a",
                some(Ecosystem::Rpm),
                "tzdata",
                "rpm:>=1:2023c, <1:2024a",
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
            ("deb:openssl=>3.0", "expected a Debian version"),
            ("rpm:openssl<<3.0", "or rpm relations such as >=3.0,<3.0.9"),
            (
                "pandas=>1",
                "\"=>1\" is a version range in no ecosystem's syntax",
            ),
        ] {
            let error = Query::parse(text).unwrap_err().to_string();
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
        assert!(matches(
            "rpm:openssl-libs<3.0.9",
            &Package::plain(Ecosystem::Rpm, "openssl-libs", "3.0.8-1.ph5")
        ));
        assert!(!matches(
            "rpm:OpenSSL-libs",
            &Package::plain(Ecosystem::Rpm, "openssl-libs", "3.0.8-1.ph5")
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
        // Read in dpkg's order for a Debian package, apk's for an Alpine one.
        assert!(query.matches(&Package::plain(Ecosystem::Deb, "pandas", "0.9")));
        assert!(!query.matches(&Package::plain(Ecosystem::Deb, "pandas", "1.0-1")));
        assert!(query.matches(&Package::plain(Ecosystem::Apk, "pandas", "1.0_rc1")));
        assert!(!query.matches(&Package::plain(Ecosystem::Powershell, "pandas", "0.9")));
        let openssl = Query::parse("openssl<3.0.12").unwrap();
        assert!(openssl.matches(&Package::plain(
            Ecosystem::Deb,
            "openssl",
            "3.0.11-1~deb12u2"
        )));
        assert!(!openssl.matches(&Package::plain(Ecosystem::Deb, "openssl", "3.0.12-1")));
        assert!(query.matches(&Package::plain(Ecosystem::Rpm, "pandas", "0.9-1")));
        assert!(!query.matches(&Package::plain(Ecosystem::Rpm, "pandas", "1.0-1")));
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
