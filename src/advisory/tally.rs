//! Counts for people: what an import did, per OSV ecosystem, and what is loaded, per source and
//! ecosystem (`dispatch advisories import`, `dispatch advisories status`).

use std::collections::BTreeMap;

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
        })
        .collect()
}
