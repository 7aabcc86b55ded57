//! `dispatch advisories import|status` and `dispatch vulns`: OSV records read from files,
//! folders and archives into the state's backend, and matched against the recorded catalogs
//! (the pure work is `crate::advisory`'s).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::File;
use std::path::{Path, PathBuf};

use super::catalog::{self, Shelf};
use super::{Error, Interaction, Workspace};
use crate::advisory::Index;
use crate::advisory::find::{self, Finding};
use crate::advisory::read::{self, Format, LIMITS, ReadError};
use crate::advisory::tally::{self, Loaded};
use crate::model::Address;
use crate::model::advisory::{Advisory, ecosystems_of};
use crate::plan::AdvisoryNotes;
use crate::state::{State, Status};

/// The most files a folder given to an import may hold, and how deep they may be.
const MAX_FILES: usize = 1_000_000;
const MAX_DEPTH: usize = 16;

/// What an import did.
#[derive(Debug, Clone, Default)]
pub struct Imported {
    pub tally: tally::Imported,
    /// Ranges left out of records that were kept, in words naming file and record.
    pub notes: Vec<String>,
}

/// Reads every OSV record of `paths` (files, folders of them, zip archives), then stores them:
/// all of them, or — when one cannot be read — none.
pub fn import(ws: &Workspace, ui: &dyn Interaction, paths: &[PathBuf]) -> Result<Imported, Error> {
    let mut imported = Imported::default();
    let mut records: BTreeMap<String, Advisory> = BTreeMap::new();
    for path in paths {
        let mut usable = 0;
        let mut skipped = Vec::new();
        for file in files(path)? {
            for (name, bytes) in contents(&file)? {
                let Some(format) = Format::of(&name) else {
                    continue;
                };
                for record in read::records(&name, format, &bytes)? {
                    let id = record.id.clone();
                    let checked = record
                        .check()
                        .map_err(|e| ReadError::new(&name, Some(&id), e.to_string()))?;
                    let at = |note: &String| format!("{name}: record {id}: {note}");
                    imported.notes.extend(checked.notes.iter().map(at));
                    if !checked.skipped.is_empty() {
                        imported.tally.skip(&checked.skipped);
                        skipped.extend(checked.skipped);
                    }
                    let Some(advisory) = checked.advisory else {
                        continue;
                    };
                    usable += 1;
                    // Given twice: the later modified is kept.
                    match records.get(&advisory.id) {
                        Some(kept) if kept.modified_at() >= advisory.modified_at() => {}
                        _ => {
                            records.insert(advisory.id.clone(), advisory);
                        }
                    }
                }
            }
        }
        if usable == 0 {
            return Err(nothing_usable(path, &skipped).into());
        }
    }
    let now = crate::host::now();
    let records: Vec<Advisory> = (records.into_values())
        .map(|advisory| Advisory {
            imported: Some(now.clone()),
            ..advisory
        })
        .collect();
    let _lock = ws.lock(ui)?;
    let stored = ws.backend.put_advisories(&records)?;
    for (record, stored) in records.iter().zip(stored) {
        imported.tally.add(record, stored);
    }
    Ok(imported)
}

/// Why `path` gave nothing to import.
fn nothing_usable(path: &Path, skipped: &[String]) -> ReadError {
    let detail = if skipped.is_empty() {
        "holds no OSV record (*.json, *.yaml, *.yml, or a *.zip of them)".to_string()
    } else {
        let names: BTreeSet<&str> = skipped.iter().map(String::as_str).collect();
        let names: Vec<&str> = names.into_iter().collect();
        format!(
            "holds no record of an ecosystem dispatch matches (only {}); it matches {}",
            names.join(", "),
            crate::model::advisory::MATCHED
        )
    };
    ReadError::new(&path.display().to_string(), None, detail)
}

/// The files `path` names: itself, or the OSV files and archives in the folder, sorted.
fn files(path: &Path) -> Result<Vec<PathBuf>, Error> {
    if !path.exists() {
        let name = path.display().to_string();
        return Err(ReadError::new(&name, None, "no such file or directory").into());
    }
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut found = Vec::new();
    for entry in walkdir::WalkDir::new(path)
        .max_depth(MAX_DEPTH)
        .sort_by_file_name()
    {
        let entry = entry.map_err(|e| Error::Read {
            path: path.display().to_string(),
            error: e.into(),
        })?;
        let name = entry.file_name().to_string_lossy();
        let wanted = Format::of(&name).is_some() || read::is_archive(&name);
        if entry.file_type().is_file() && wanted {
            found.push(entry.into_path());
        }
        if found.len() > MAX_FILES {
            let detail = format!("holds more than {MAX_FILES} files");
            return Err(ReadError::new(&path.display().to_string(), None, detail).into());
        }
    }
    Ok(found)
}

/// The files `file` holds, by name: itself, or an archive's entries. One larger than an
/// advisory file or archive can be is refused before it is read.
fn contents(file: &Path) -> Result<Vec<(String, Vec<u8>)>, Error> {
    let name = file.display().to_string();
    let io = |error| Error::Read {
        path: name.clone(),
        error,
    };
    let size = std::fs::metadata(file).map_err(io)?.len();
    let archive = read::is_archive(&name);
    let limit = if archive { LIMITS.archive } else { LIMITS.file };
    if size > limit {
        let detail = format!(
            "is {} MiB, larger than the {} MiB an advisory {} may be; nothing was read",
            size >> 20,
            limit >> 20,
            if archive { "archive" } else { "file" }
        );
        return Err(ReadError::new(&name, None, detail).into());
    }
    if archive {
        let reader = std::io::BufReader::new(File::open(file).map_err(io)?);
        Ok(read::archive(&name, reader, &LIMITS)?
            .into_iter()
            .map(|(entry, bytes)| (format!("{name}:{entry}"), bytes))
            .collect())
    } else {
        Ok(vec![(name.clone(), std::fs::read(file).map_err(io)?)])
    }
}

/// What is loaded, by source and ecosystem.
pub fn status(ws: &Workspace) -> Result<Vec<Loaded>, Error> {
    Ok(tally::status(&ws.backend.advisories(None)?))
}

/// The recorded images (one, or all) and the advisories that may affect them.
pub struct Scanned {
    shelf: Shelf,
    index: Index,
    only: Option<String>,
}

impl Scanned {
    /// What affects each image, by image, package and advisory.
    pub fn findings(&self) -> Vec<Finding<'_>> {
        let shelf = &self.shelf;
        find::find(
            &shelf.recorded,
            &shelf.catalogs,
            &self.index,
            self.only.as_deref(),
        )
    }

    /// How many advisories were matched against.
    pub fn advisories(&self) -> usize {
        self.index.len()
    }

    /// The images and their catalogs.
    pub fn shelf(&self) -> &Shelf {
        &self.shelf
    }
}

/// The image `name` names (every recorded image when `None`) and the stored advisories of the
/// ecosystems their packages are in; only the one `id` names (or has as an alias) when given.
pub fn vulns(ws: &Workspace, name: Option<&str>, id: Option<&str>) -> Result<Scanned, Error> {
    let shelf = match name {
        Some(name) => catalog::one(ws, name)?.1,
        None => catalog::all(ws)?,
    };
    against(ws, shelf, id)
}

/// The images of `shelf` and the stored advisories of the ecosystems their packages are in;
/// only the one `id` names when given.
pub fn against(ws: &Workspace, shelf: Shelf, id: Option<&str>) -> Result<Scanned, Error> {
    let ecosystems: BTreeSet<String> = (shelf.catalogs.values())
        .flat_map(|c| c.packages.iter())
        .flat_map(ecosystems_of)
        .collect();
    let ecosystems: Vec<String> = ecosystems.into_iter().collect();
    let advisories = ws.backend.advisories(Some(&ecosystems))?;
    Ok(Scanned {
        shelf,
        index: Index::new(advisories),
        only: id.map(str::to_string),
    })
}

/// What a plan against `state` says of the advisories, at `now` (RFC 3339): the ecosystems
/// whose newest record is older than `max-advisory-age`, when it is set (every record is read
/// for it), and the applied images affected by advisories imported after they were applied
/// (only the records imported since the earliest of those are read).
pub fn notes(ws: &Workspace, state: Option<&State>, now: &str) -> Result<AdvisoryNotes, Error> {
    let mut notes = AdvisoryNotes {
        max_age: ws.config.max_advisory_age,
        ..AdvisoryNotes::default()
    };
    if let (Some(max_age), Ok(now)) = (notes.max_age, humantime::parse_rfc3339(now)) {
        let loaded = tally::status(&ws.backend.advisories(None)?);
        let now = now
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        notes.stale = tally::stale(&loaded, max_age, now);
    }
    let Some(state) = state else {
        return Ok(notes);
    };
    let applied: HashMap<Address, String> = (state.resources.iter())
        .filter(|(_, r)| r.status == Status::Ready)
        .map(|(address, r)| (address.clone(), r.modified_time.clone()))
        .collect();
    let Some(earliest) = applied.values().min() else {
        return Ok(notes);
    };
    let advisories = ws.backend.advisories_imported_after(earliest)?;
    if advisories.is_empty() {
        return Ok(notes);
    }
    let index = Index::new(advisories);
    // The state the plan was made against, not read again.
    let shelf = catalog::recorded_in(ws, state)?;
    let findings = find::find(&shelf.recorded, &shelf.catalogs, &index, None);
    notes.newly = find::newly(&findings, &applied);
    Ok(notes)
}
