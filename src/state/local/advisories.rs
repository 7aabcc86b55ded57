//! Advisories beside a local state: `advisories/` next to it, one file per OSV ecosystem
//! (`PyPI.json`, `Debian_12.json`), each a JSON list of the records affecting its packages.
//! `vulns` reads only the files of the ecosystems its catalogs hold; an import rewrites the
//! files it changes, all of them written before any replaces its predecessor.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use super::LocalBackend;
use crate::files::{folder, write_all_atomic};
use crate::model::advisory::{Advisory, Stored};
use crate::state::{Advisories, StateError};

/// The folder beside the state that holds the advisories.
pub(super) const ADVISORY_DIR: &str = "advisories";

impl LocalBackend {
    fn advisory_dir(&self) -> PathBuf {
        folder(self.path()).join(ADVISORY_DIR)
    }

    /// Where the records of OSV ecosystem `ecosystem` are: its name with what is not a letter,
    /// digit, `.` or `-` as `_` (`Debian:12` in `Debian_12.json`).
    fn advisory_file(&self, ecosystem: &str) -> PathBuf {
        let name: String = ecosystem
            .chars()
            .map(|c| match c {
                'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '-' => c,
                _ => '_',
            })
            .collect();
        self.advisory_dir().join(format!("{name}.json"))
    }

    /// The records in `path`, none if it does not exist.
    fn read_advisory_file(path: &Path) -> Result<Vec<Advisory>, StateError> {
        match fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| StateError::Corrupt {
                location: path.display().to_string(),
                message: e.to_string(),
                backup: None,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(error) => Err(StateError::Read {
                path: path.to_path_buf(),
                error,
            }),
        }
    }

    /// Every advisory file, by path.
    fn advisory_files(&self) -> Result<Vec<PathBuf>, StateError> {
        let dir = self.advisory_dir();
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => return Err(StateError::Read { path: dir, error }),
        };
        let mut files = Vec::new();
        for entry in entries {
            let path = entry
                .map_err(|error| StateError::Read {
                    path: dir.clone(),
                    error,
                })?
                .path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.ends_with(".json") && !name.starts_with('.') {
                files.push(path);
            }
        }
        files.sort();
        Ok(files)
    }
}

impl Advisories for LocalBackend {
    fn advisories(&self, ecosystems: Option<&[String]>) -> Result<Vec<Advisory>, StateError> {
        let files = match ecosystems {
            Some(ecosystems) => ecosystems.iter().map(|e| self.advisory_file(e)).collect(),
            None => self.advisory_files()?,
        };
        let mut found: BTreeMap<String, Advisory> = BTreeMap::new();
        for file in files {
            for advisory in Self::read_advisory_file(&file)? {
                found.entry(advisory.id.clone()).or_insert(advisory);
            }
        }
        Ok(found.into_values().collect())
    }

    /// Only the files written after `since` are read: a record is stamped before its file is
    /// written, so one imported later is in a file modified later.
    fn advisories_imported_after(&self, since: &str) -> Result<Vec<Advisory>, StateError> {
        let since_time = humantime::parse_rfc3339_weak(since).ok();
        let mut found = Vec::new();
        for file in self.advisory_files()? {
            let modified = fs::metadata(&file).and_then(|m| m.modified()).ok();
            if let (Some(modified), Some(since)) = (modified, since_time)
                && modified <= since
            {
                continue;
            }
            found.extend(Self::read_advisory_file(&file)?);
        }
        found.retain(|a| a.imported_after(since));
        found.sort_by(|a, b| a.id.cmp(&b.id));
        found.dedup_by(|a, b| a.id == b.id);
        Ok(found)
    }

    fn put_advisories(&self, records: &[Advisory]) -> Result<Vec<Stored>, StateError> {
        // Every stored record, by file and by id: a record that moves to other ecosystems
        // leaves the files of those it no longer names.
        let mut files: BTreeMap<PathBuf, BTreeMap<String, Advisory>> = BTreeMap::new();
        let mut stored: BTreeMap<String, (Advisory, Vec<PathBuf>)> = BTreeMap::new();
        for path in self.advisory_files()? {
            let held = Self::read_advisory_file(&path)?;
            for advisory in &held {
                let entry = stored
                    .entry(advisory.id.clone())
                    .or_insert_with(|| (advisory.clone(), Vec::new()));
                entry.1.push(path.clone());
            }
            files.insert(path, held.into_iter().map(|a| (a.id.clone(), a)).collect());
        }
        let mut changed = std::collections::BTreeSet::new();
        let mut outcomes = Vec::with_capacity(records.len());
        for record in records {
            let before = stored.get(&record.id);
            let outcome = Stored::of(before.map(|(a, _)| a), record);
            outcomes.push(outcome);
            if outcome == Stored::Unchanged {
                continue;
            }
            for path in before
                .map(|(_, paths)| paths.as_slice())
                .unwrap_or_default()
            {
                files.entry(path.clone()).or_default().remove(&record.id);
                changed.insert(path.clone());
            }
            for ecosystem in record.ecosystems() {
                let path = self.advisory_file(ecosystem);
                files
                    .entry(path.clone())
                    .or_default()
                    .insert(record.id.clone(), record.clone());
                changed.insert(path);
            }
        }
        if changed.is_empty() {
            return Ok(outcomes);
        }
        let dir = self.advisory_dir();
        let write_error = |error| StateError::Write {
            path: dir.clone(),
            error,
        };
        fs::create_dir_all(&dir).map_err(write_error)?;
        let written: Vec<(PathBuf, Vec<u8>)> = changed
            .into_iter()
            .map(|path| {
                let records: Vec<&Advisory> = files[&path].values().collect();
                let json = serde_json::to_vec(&records).expect("advisories serialize");
                (path, json)
            })
            .collect();
        write_all_atomic(&dir, &written).map_err(write_error)?;
        Ok(outcomes)
    }
}
