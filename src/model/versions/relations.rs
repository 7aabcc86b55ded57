//! Comparisons such as `>=3.0, <3.0.11`, read in an ecosystem's own order of versions: what a
//! range says in the ecosystems whose own syntax has none (Debian, Alpine, rpm, Maven).

use std::cmp::Ordering;

use super::order::{Scheme, Version};

/// The operators, two-character ones first so that `<<` is not read as `<`. dpkg's `<<` and
/// `>>` are its strict ones; `<` and `>` are read as everywhere else (strict), not as dpkg's
/// deprecated `<=` and `>=`.
const OPERATORS: [(&str, &[Ordering]); 9] = [
    ("<<", &[Ordering::Less]),
    ("<=", &[Ordering::Less, Ordering::Equal]),
    (">>", &[Ordering::Greater]),
    (">=", &[Ordering::Greater, Ordering::Equal]),
    ("==", &[Ordering::Equal]),
    ("!=", &[Ordering::Less, Ordering::Greater]),
    ("<", &[Ordering::Less]),
    (">", &[Ordering::Greater]),
    ("=", &[Ordering::Equal]),
];

/// Comma-separated comparisons, all of which must hold: the orderings each accepts, and its
/// bound.
#[derive(Debug, Clone)]
pub(super) struct Relations(Vec<(&'static [Ordering], Version)>);

impl Relations {
    /// `text` as comparisons in `scheme`; `None` where it is none, or a bound is no version.
    pub(super) fn parse(scheme: Scheme, text: &str) -> Option<Relations> {
        text.split(',')
            .map(|relation| {
                let relation = relation.trim();
                let (operator, accepted) = OPERATORS
                    .into_iter()
                    // `<<` and `>>` are dpkg's alone.
                    .filter(|(op, _)| scheme == Scheme::Dpkg || !matches!(*op, "<<" | ">>"))
                    .find(|(op, _)| relation.starts_with(op))?;
                let bound = Version::parse(scheme, relation[operator.len()..].trim())?;
                Some((accepted, bound))
            })
            .collect::<Option<_>>()
            .map(Relations)
    }

    /// Whether `version` (in the same scheme) is one every comparison holds.
    pub(super) fn contains(&self, version: &Version) -> bool {
        self.0.iter().all(|(accepted, bound)| {
            version
                .partial_cmp(bound)
                .is_some_and(|order| accepted.contains(&order))
        })
    }
}
