//! Counts for people: what an import did, per OSV ecosystem, and what is loaded, per source and
//! ecosystem (`dispatch advisories import`, `dispatch advisories status`).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use crate::model::advisory::{Advisory, Stored};

/// Records new, updated and unchanged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub new: usize,
    pub updated: usize,
    pub unchanged: usize,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Imported {
    /// By OSV ecosystem; a record affecting packages of two is counted in both.
    pub ecosystems: BTreeMap<String, Counts>,
    /// Records left out, by the ecosystem they name: none dispatch matches.
    pub skipped: BTreeMap<String, usize>,
}

impl Imported {
    /// Counts `advisory`, which storing did `stored` to.
    pub fn add(&mut self, advisory: &Advisory, stored: Stored) {
        for ecosystem in advisory.ecosystems() {
            let counts = self.ecosystems.entry(ecosystem.to_string()).or_default();
            match stored {
                Stored::New => counts.new += 1,
                Stored::Updated => counts.updated += 1,
                Stored::Unchanged => counts.unchanged += 1,
            }
        }
    }

    /// Counts a record left out, of the ecosystems `skipped` (each once).
    pub fn skip(&mut self, skipped: &[String]) {
        let mut names: Vec<&String> = skipped.iter().collect();
        names.sort();
        names.dedup();
        for name in names {
            *self.skipped.entry(name.clone()).or_default() += 1;
        }
    }
}

/// The records loaded of one source (their ids' prefix) and OSV ecosystem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Loaded {
    pub source: String,
    pub ecosystem: String,
    pub count: usize,
    /// The newest `modified` among them, as written.
    pub newest: String,
    /// The same, since the Unix epoch.
    #[serde(skip)]
    pub newest_at: Duration,
}

/// An OSV ecosystem whose newest record is older than `max-advisory-age` allows: the data
/// behind every match in it is that old (grype's built-age check, per ecosystem).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stale {
    pub ecosystem: String,
    /// Its newest record's `modified`, as written.
    pub newest: String,
    /// Whole days between it and now.
    pub days: u64,
}

/// The ecosystems of `loaded` (of any source) whose newest record is older than `max_age` at
/// `now` (since the Unix epoch).
pub fn stale(loaded: &[Loaded], max_age: Duration, now: Duration) -> Vec<Stale> {
    let mut newest: BTreeMap<&str, &Loaded> = BTreeMap::new();
    for l in loaded {
        let kept = newest.entry(&l.ecosystem).or_insert(l);
        if l.newest_at > kept.newest_at {
            *kept = l;
        }
    }
    (newest.into_iter())
        .filter(|(_, l)| now.saturating_sub(l.newest_at) > max_age)
        .map(|(ecosystem, l)| Stale {
            ecosystem: ecosystem.to_string(),
            newest: l.newest.clone(),
            days: now.saturating_sub(l.newest_at).as_secs() / 86_400,
        })
        .collect()
}

/// What `advisories` hold, by source and ecosystem.
pub fn status(advisories: &[Advisory]) -> Vec<Loaded> {
    let mut loaded: BTreeMap<(&str, &str), (usize, &Advisory)> = BTreeMap::new();
    for advisory in advisories {
        for ecosystem in advisory.ecosystems() {
            let entry = loaded
                .entry((advisory.source(), ecosystem))
                .or_insert((0, advisory));
            entry.0 += 1;
            if advisory.modified_at() > entry.1.modified_at() {
                entry.1 = advisory;
            }
        }
    }
    loaded
        .into_iter()
        .map(|((source, ecosystem), (count, newest))| Loaded {
            source: source.to_string(),
            ecosystem: ecosystem.to_string(),
            count,
            newest: newest.modified.clone(),
            newest_at: newest.modified_at(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loaded(source: &str, ecosystem: &str, newest: &str) -> Loaded {
        let at = humantime::parse_rfc3339(newest).unwrap();
        Loaded {
            source: source.into(),
            ecosystem: ecosystem.into(),
            count: 1,
            newest: newest.into(),
            newest_at: at.duration_since(std::time::UNIX_EPOCH).unwrap(),
        }
    }

    #[test]
    fn an_ecosystem_is_stale_when_its_newest_record_of_any_source_is_too_old() {
        let now = humantime::parse_rfc3339("2024-10-31T00:00:00Z").unwrap();
        let now = now.duration_since(std::time::UNIX_EPOCH).unwrap();
        let week = Duration::from_secs(7 * 86_400);
        let all = [
            loaded("PYSEC", "PyPI", "2024-10-01T00:00:00Z"),
            loaded("GHSA", "PyPI", "2024-10-30T00:00:00Z"),
            loaded("DSA", "Debian:12", "2024-10-23T23:59:59Z"),
            loaded("DSA", "Debian:11", "2024-10-24T00:00:00Z"),
        ];
        assert_eq!(
            stale(&all, week, now),
            [Stale {
                ecosystem: "Debian:12".into(),
                newest: "2024-10-23T23:59:59Z".into(),
                days: 7,
            }],
            "GHSA keeps PyPI fresh; exactly a week old is not older than a week"
        );
        assert_eq!(stale(&all, Duration::from_secs(40 * 86_400), now), []);
    }
}
