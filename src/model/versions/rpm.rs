//! rpm versions, `[epoch:]version[-release]`, and the relations between them: rpm-version
//! orders each part as rpm's `rpmvercmp` does (a tilde before everything, a caret after the
//! version it follows); how rpm splits a version and compares a bound without a release is
//! here.

use std::cmp::Ordering;

use rpm_version::Evr;

/// An rpm version split as rpm splits it: the epoch is the leading digits before a `:`, the
/// release what follows the last `-`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    epoch: String,
    version: String,
    release: Option<String>,
}

impl Version {
    /// `text` as an rpm version, if it is one: a version of the characters rpm allows
    /// (letters, digits, `._+~^`) starting with a letter or digit, an optional numeric epoch,
    /// an optional release.
    pub(super) fn parse(text: &str) -> Option<Version> {
        let digits = text.bytes().take_while(u8::is_ascii_digit).count();
        let (epoch, rest) = match text[digits..].strip_prefix(':') {
            Some(rest) => (&text[..digits], rest),
            None => ("", text),
        };
        let (version, release) = match rest.rsplit_once('-') {
            Some((version, release)) => (version, Some(release)),
            None => (rest, None),
        };
        let part = |part: &str| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._+_~^".contains(c))
        };
        let starts = version.starts_with(|c: char| c.is_ascii_alphanumeric());
        (starts && part(version) && release.is_none_or(part)).then(|| Version {
            epoch: epoch.to_string(),
            version: version.to_string(),
            release: release.map(str::to_string),
        })
    }

    /// How this version compares with `other` as rpm compares them: a missing epoch is 0, and
    /// releases count only when both have one (`3.0.9-2` is `=3.0.9`).
    pub(super) fn compare(&self, other: &Version) -> Ordering {
        let release = |own: &Option<String>, theirs: &Option<String>| match (own, theirs) {
            (Some(own), Some(_)) => own.clone(),
            _ => String::new(),
        };
        let evr =
            |v: &Version, release: String| Evr::new(v.epoch.clone(), v.version.clone(), release);
        evr(self, release(&self.release, &other.release))
            .cmp(&evr(other, release(&other.release, &self.release)))
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::held;
    use super::*;
    use crate::model::catalog::Ecosystem;

    fn compare(a: &str, b: &str) -> Option<Ordering> {
        Some(Version::parse(a)?.compare(&Version::parse(b)?))
    }

    #[test]
    fn rpm_orders_versions_as_rpmvercmp_does() {
        use Ordering::{Equal, Greater, Less};
        // Cases from rpm's own tests (tests/rpmvercmp.at), and epochs and releases.
        for (a, b, expected) in [
            ("1.0", "2.0", Less),
            ("2.0.1a", "2.0.1", Greater),
            ("5.5p1", "5.5p10", Less),
            ("10xyz", "10.1xyz", Less),
            ("xyz.4", "8", Less),
            ("6.0.rc1", "6.0", Greater),
            ("10b2", "10a1", Greater),
            ("1.0aa", "1.0a", Greater),
            ("10.0001", "10.1", Equal),
            ("4.999.9", "5.0", Less),
            ("2_0", "2_0", Equal),
            ("2.0", "2_0", Equal),
            ("a+", "a_", Equal),
            ("1.0~rc1", "1.0", Less),
            ("1.0~rc1", "1.0~rc2", Less),
            ("1.0~rc1~git123", "1.0~rc1", Less),
            ("1.0^", "1.0", Greater),
            ("1.0^git1", "1.0", Greater),
            ("1.0^git1", "1.01", Less),
            ("1.0^20160101", "1.0.1", Less),
            ("1.0~rc1^git1", "1.0~rc1", Greater),
            ("1.0^git1~pre", "1.0^git1", Less),
            // Epochs: first, a missing one is 0.
            ("1:1.0-1", "9.9-9", Greater),
            ("0:1.0-1", "1.0-1", Equal),
            ("10:1", "9:2", Greater),
            // Releases: after the version; compared only when both have one.
            ("3.0.8-1.ph5", "3.0.8-2.ph5", Less),
            ("3.0.8-10.ph5", "3.0.8-9.ph5", Greater),
            ("3.0.9-1.ph5", "3.0.9", Equal),
            ("3.0.9-1.ph5", "3.0.10", Less),
            ("2.36-9.el9_2.1", "2.36-9.el9", Greater),
        ] {
            assert_eq!(compare(a, b), Some(expected), "{a} vs {b}");
            assert_eq!(compare(b, a), Some(expected.reverse()), "{b} vs {a}");
        }
        for bad in [
            "",
            "1.0-",
            "-1",
            "1.0 1",
            "1:",
            "a:1.0-1",
            "1.0-1-",
            "3.0/1",
            "1:2.0-3-4",
            "^1.0",
            "~1",
        ] {
            assert_eq!(compare(bad, "1.0"), None, "{bad:?}");
        }
    }

    #[test]
    fn rpm_relations_hold_what_rpm_would() {
        let versions = [
            "2.9-1",
            "3.0~rc1-1",
            "3.0.8-1.ph5",
            "3.0.9-1.ph5",
            "3.0.9-3.ph5",
            "3.0.10-1.ph5",
            "1:1.0-1",
        ];
        assert_eq!(
            held(Ecosystem::Rpm, "<3.0.9", &versions),
            ["2.9-1", "3.0~rc1-1", "3.0.8-1.ph5"]
        );
        assert_eq!(
            held(Ecosystem::Rpm, ">=3.0, <=3.0.9", &versions),
            ["3.0.8-1.ph5", "3.0.9-1.ph5", "3.0.9-3.ph5"]
        );
        assert_eq!(
            held(Ecosystem::Rpm, "<3.0.9-2.ph5", &versions),
            ["2.9-1", "3.0~rc1-1", "3.0.8-1.ph5", "3.0.9-1.ph5"]
        );
        assert_eq!(
            held(Ecosystem::Rpm, ">3.0.9", &versions),
            ["3.0.10-1.ph5", "1:1.0-1"]
        );
        assert_eq!(
            held(Ecosystem::Rpm, "=3.0.9", &versions),
            ["3.0.9-1.ph5", "3.0.9-3.ph5"]
        );
        assert_eq!(
            held(Ecosystem::Rpm, "3.0.9-1.ph5", &versions),
            ["3.0.9-1.ph5"]
        );
        assert_eq!(
            held(Ecosystem::Rpm, "1.0^git1-1", &["1.0^git1-1", "1.0-1"]),
            ["1.0^git1-1"]
        );
        assert_eq!(
            held(Ecosystem::Rpm, "3.0.*", &versions),
            ["3.0.8-1.ph5", "3.0.9-1.ph5", "3.0.9-3.ph5", "3.0.10-1.ph5"]
        );
    }
}
