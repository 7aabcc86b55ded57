//! Debian versions: debversion orders versions as dpkg does; dpkg's stricter reading of what a
//! version is, is here.

use debversion::Version;

/// `text` as a Debian version, `[epoch:]upstream[-revision]`, if dpkg reads it as one, ready
/// for debversion to order. dpkg splits the epoch at the first `:` and the revision at the last
/// `-`, and refuses an epoch that is not a number up to 2^31-1 (`a:1.0`, `:1.0`) or an empty
/// part (`1:`, `-1`, `1.0-`); debversion reads some of these, or splits them elsewhere.
pub(super) fn version(text: &str) -> Option<Version> {
    let parsed: Version = text.parse().ok()?;
    let (epoch, rest) = match text.split_once(':') {
        Some((epoch, rest)) => (Some(epoch), rest),
        None => (None, text),
    };
    let (upstream, revision) = match rest.rsplit_once('-') {
        Some((upstream, revision)) => (upstream, Some(revision)),
        None => (rest, None),
    };
    let number =
        |epoch: &str| epoch.bytes().all(|b| b.is_ascii_digit()) && epoch.parse::<i32>().is_ok();
    let as_dpkg = epoch.is_none_or(number)
        && parsed.upstream_version == upstream
        && parsed.debian_revision.as_deref() == revision;
    as_dpkg.then(|| Version {
        upstream_version: zero_ended(upstream),
        debian_revision: revision.map(zero_ended),
        ..parsed
    })
}

/// `part` with a `0` after a final run of non-digits, which dpkg orders the same: dpkg reads a
/// missing run of digits as 0 (`1.` = `1.0`), where debversion 0.5.5 orders it before `0`.
fn zero_ended(part: &str) -> String {
    if part.ends_with(|c: char| c.is_ascii_digit()) {
        part.to_string()
    } else {
        format!("{part}0")
    }
}

#[cfg(test)]
mod tests {
    use std::cmp::Ordering;

    use super::super::tests::held;
    use super::*;
    use crate::model::catalog::Ecosystem;

    fn compare(a: &str, b: &str) -> Option<Ordering> {
        Some(version(a)?.cmp(&version(b)?))
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
            // Epochs: compared first, as numbers.
            ("1:1.0", "9.9", Greater),
            ("10:1", "9:2", Greater),
            ("00:1.0", "1.0", Equal),
            ("1:2:3-1", "1:2:4-1", Less),
            // Tildes: before everything, even the end.
            ("1.0~", "1.0", Less),
            ("1.0~~a", "1.0~~", Greater),
            ("1.0~rc1-1", "1.0-1", Less),
            ("1.0~rc1", "1.0~rc1~1", Greater),
            // Revisions: after the upstream version, by the same rules.
            ("1.0-1", "1.0", Greater),
            ("1.0-1", "1.0-1.1", Less),
            ("1.0-10", "1.0-9", Greater),
            ("1.0-1~bpo12+1", "1.0-1", Less),
            ("1.0+dfsg-1", "1.0-2", Greater),
            ("1.0-a", "1.0-1", Greater),
            // A missing run of digits is 0.
            ("1.", "1.0", Equal),
            ("1.0+", "1.0+0", Equal),
            ("1.0+", "1.0+0~", Greater),
            ("1.0-1.", "1.0-1.00", Equal),
            // Numbers past 64 bits.
            ("1.99999999999999999999", "1.100000000000000000000", Less),
            ("1.0000000000000000000000001", "1.1", Equal),
        ] {
            assert_eq!(compare(a, b), Some(expected), "{a} vs {b}");
            assert_eq!(compare(b, a), Some(expected.reverse()), "{b} vs {a}");
        }
        for bad in [
            "",
            "1.0-",
            "a:1.0",
            ":1.0",
            "1:",
            "-1",
            "1:-1",
            "2147483648:1.0",
            "1.0 1",
            "1.0-1_2",
        ] {
            assert_eq!(compare(bad, "1.0"), None, "{bad:?}");
        }
        assert_eq!(compare("2147483647:1.0", "1.0"), Some(Greater));
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
}
