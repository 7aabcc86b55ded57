//! Each ecosystem's own order of versions, in one place: what a version range (`<3.0.12`) and
//! an advisory's events (`introduced`, `fixed`) are compared in.

use std::cmp::Ordering;
use std::str::FromStr;

use super::{apk, deb, rpm};
use crate::model::catalog::Ecosystem;

/// How versions are ordered: by an ecosystem's rules, or by SemVer's precedence (an OSV range of
/// type `SEMVER`, in any ecosystem).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// PEP 440 (Python).
    Pep440,
    /// SemVer 2.0 precedence, as npm reads it.
    Semver,
    /// dpkg's (Debian).
    Dpkg,
    /// apk-tools' (Alpine).
    Apk,
    /// rpm's (`rpmvercmp`, a missing release ignored as rpm does).
    Rpm,
    /// Maven's `ComparableVersion`.
    Maven,
}

impl Scheme {
    /// The order of `ecosystem`'s versions; `None` where none is known (PowerShell modules).
    pub fn of(ecosystem: Ecosystem) -> Option<Scheme> {
        match ecosystem {
            Ecosystem::Pypi => Some(Scheme::Pep440),
            Ecosystem::Npm => Some(Scheme::Semver),
            Ecosystem::Deb => Some(Scheme::Dpkg),
            Ecosystem::Apk => Some(Scheme::Apk),
            Ecosystem::Rpm => Some(Scheme::Rpm),
            Ecosystem::Maven => Some(Scheme::Maven),
            Ecosystem::Powershell => None,
        }
    }
}

/// A version as its scheme reads it. Versions of two schemes are not ordered.
#[derive(Debug, Clone)]
pub enum Version {
    Pep440(pep440_rs::Version),
    Semver(nodejs_semver::Version),
    Dpkg(debversion::Version),
    Apk(apk::Version),
    Rpm(rpm::Version),
    Maven(mvn_version::ComparableVersion),
}

impl Version {
    /// `text` as a version of `scheme`, if it is one.
    pub fn parse(scheme: Scheme, text: &str) -> Option<Version> {
        match scheme {
            Scheme::Pep440 => pep440_rs::Version::from_str(text).ok().map(Version::Pep440),
            Scheme::Semver => nodejs_semver::Version::parse(text)
                .ok()
                .map(Version::Semver),
            Scheme::Dpkg => deb::version(text).map(Version::Dpkg),
            Scheme::Apk => apk::Version::parse(text).map(Version::Apk),
            Scheme::Rpm => rpm::Version::parse(text).map(Version::Rpm),
            // Maven reads any text as a version: here, only the characters of versions.
            Scheme::Maven => (!text.is_empty()
                && (text.bytes()).all(|b| b.is_ascii_alphanumeric() || b"._-+".contains(&b)))
            .then(|| Version::Maven(mvn_version::ComparableVersion::new(text))),
        }
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.partial_cmp(other) == Some(Ordering::Equal)
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        match (self, other) {
            (Version::Pep440(a), Version::Pep440(b)) => Some(a.cmp(b)),
            (Version::Semver(a), Version::Semver(b)) => Some(a.cmp(b)),
            (Version::Dpkg(a), Version::Dpkg(b)) => Some(a.cmp(b)),
            (Version::Apk(a), Version::Apk(b)) => Some(a.cmp(b)),
            (Version::Rpm(a), Version::Rpm(b)) => Some(a.compare(b)),
            (Version::Maven(a), Version::Maven(b)) => a.partial_cmp(b),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compare(scheme: Scheme, a: &str, b: &str) -> Option<Ordering> {
        Version::parse(scheme, a)?.partial_cmp(&Version::parse(scheme, b)?)
    }

    #[test]
    fn each_scheme_orders_its_own_versions() {
        use Ordering::{Equal, Greater, Less};
        for (scheme, a, b, expected) in [
            (Scheme::Pep440, "1.0", "1.0.0", Equal),
            (Scheme::Pep440, "1.0rc1", "1.0", Less),
            (Scheme::Pep440, "1.0.post1", "1.0", Greater),
            (Scheme::Pep440, "2.20.0", "2.9", Greater),
            (Scheme::Semver, "1.2.3-beta.1", "1.2.3", Less),
            (Scheme::Semver, "1.2.3+build", "1.2.3", Equal),
            (Scheme::Semver, "1.10.0", "1.9.9", Greater),
            (Scheme::Dpkg, "3.0.11-1~deb12u2", "3.0.12", Less),
            (Scheme::Dpkg, "1:1.0", "9.9", Greater),
            (Scheme::Apk, "3.1.4-r0", "3.1.4-r1", Less),
            (Scheme::Rpm, "3.0.8-1.ph5", "3.0.9-1.ph5", Less),
            (Scheme::Rpm, "1.0~rc1", "1.0", Less),
            (Scheme::Maven, "2.14.1", "2.15.0", Less),
            (Scheme::Maven, "2.15.0-rc1", "2.15.0", Less),
            (Scheme::Maven, "1.0-SNAPSHOT", "1.0", Less),
            (Scheme::Maven, "1.0.0", "1", Equal),
            (Scheme::Maven, "1.0-sp1", "1.0", Greater),
            (Scheme::Maven, "2.0.10", "2.0.9", Greater),
        ] {
            assert_eq!(
                compare(scheme, a, b),
                Some(expected),
                "{scheme:?} {a} vs {b}"
            );
        }
        assert_eq!(compare(Scheme::Pep440, "1.0", "not a version"), None);
        assert_eq!(compare(Scheme::Maven, "", "1"), None);
        let pep = Version::parse(Scheme::Pep440, "1.0").unwrap();
        let semver = Version::parse(Scheme::Semver, "1.0.0").unwrap();
        assert_eq!(pep.partial_cmp(&semver), None, "no order across schemes");
    }
}
