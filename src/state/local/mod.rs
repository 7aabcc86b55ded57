//! The state as a local JSON file, written atomically (temp file, fsync, rename) under an
//! exclusive lock on a separate lock file that names its holder; the previous state is kept
//! as `<file>.backup`. An apply's checkpoints append one fsynced record each to a journal
//! beside it (`<file>.journal`), folded into the file when the command ends, or by the next
//! reader and writer after a crash: a checkpoint costs the same at 100 resources as at 100,000.
//! Catalogs are kept in `catalog/` beside it, advisories in `advisories/` ([`advisories`]).

mod advisories;

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use std::collections::BTreeMap;

use super::{
    Backend, Catalogs, Holder, ResourceState, STATE_VERSION, State, StateError, StateLock,
};
use crate::files::{folder, remove_stale_temps, remove_stale_temps_in, write_atomic};
use crate::model::Address;
use crate::model::catalog::Catalog;
use crate::retry;

/// A state file on the local filesystem.
#[derive(Debug, Clone)]
pub struct LocalBackend {
    path: PathBuf,
}

/// The folder beside the state that holds the catalogs, one file an image.
const CATALOG_DIR: &str = "catalog";

/// How often a writer tries again for a lock another process holds, within its lock timeout.
const LOCK_PAUSE: Duration = Duration::from_millis(100);

impl LocalBackend {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        LocalBackend { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn lock_path(&self) -> PathBuf {
        self.path.with_extension("lock")
    }

    pub fn backup_path(&self) -> PathBuf {
        self.beside(".backup")
    }

    pub fn journal_path(&self) -> PathBuf {
        self.beside(".journal")
    }

    /// Where the catalog of engine image `image` (`sha256:...`) is kept: `catalog/` beside
    /// the state, one file an image; `None` for an id that is not one.
    pub fn catalog_path(&self, image: &str) -> Option<PathBuf> {
        let (algorithm, hex) = image.split_once(':')?;
        let plain = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric());
        (plain(algorithm) && plain(hex)).then(|| {
            folder(&self.path)
                .join(CATALOG_DIR)
                .join(format!("{algorithm}-{hex}.json"))
        })
    }

    fn read_catalogs(&self, images: &[String]) -> Result<Vec<(String, Catalog)>, StateError> {
        let mut found = Vec::new();
        for image in images {
            let Some(path) = self.catalog_path(image) else {
                continue;
            };
            match fs::read(&path) {
                // One that does not parse is missing: the next apply reads the image again.
                Ok(bytes) => {
                    if let Ok(catalog) = serde_json::from_slice(&bytes) {
                        found.push((image.clone(), catalog));
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => return Err(StateError::Read { path, error }),
            }
        }
        Ok(found)
    }

    fn beside(&self, suffix: &str) -> PathBuf {
        let mut name = self.path.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    }

    /// The state file alone, without its journal.
    fn load_file(&self) -> Result<Option<State>, StateError> {
        match fs::read_to_string(&self.path) {
            Ok(text) => {
                let backup = Some(self.backup_path()).filter(|b| b.exists());
                parse(&self.path, &text, backup).map(Some)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(StateError::Read {
                path: self.path.clone(),
                error,
            }),
        }
    }
}

/// One checkpoint: the resource at `address` as it is now (`None`: gone) at `serial`.
#[derive(Debug, Serialize, Deserialize)]
struct Record {
    lineage: uuid::Uuid,
    serial: u64,
    address: Address,
    entry: Option<ResourceState>,
}

/// `state` with the records of `journal` that follow it applied, in order. A record that does
/// not parse (the last, torn by a crash) or does not follow ends the journal.
fn fold(state: &mut State, journal: &str) {
    for line in journal.lines() {
        let Ok(record) = serde_json::from_str::<Record>(line) else {
            break;
        };
        if record.serial <= state.serial {
            continue;
        }
        if record.lineage != state.lineage || record.serial != state.serial + 1 {
            break;
        }
        state.serial = record.serial;
        match record.entry {
            Some(entry) => state.resources.insert(record.address, entry),
            None => state.resources.remove(&record.address),
        };
    }
}

/// Parses a state file, telling a corrupt one from one written by a newer dispatch; `backup`
/// is the previous state, to name in the hint, if there is one.
pub fn parse(path: &Path, text: &str, backup: Option<PathBuf>) -> Result<State, StateError> {
    /// What any format's state says of itself.
    #[derive(Deserialize)]
    struct Header {
        version: u32,
        #[serde(default)]
        written_by: Option<String>,
    }
    let too_new = |header: Header| StateError::TooNew {
        location: path.display().to_string(),
        found: header.version,
        written_by: header.written_by,
    };
    match serde_json::from_str::<State>(text) {
        Ok(state) if state.version > STATE_VERSION => Err(too_new(Header {
            version: state.version,
            written_by: state.written_by,
        })),
        Ok(state) => Ok(state),
        // A newer format may have another shape: name it by its version, not as corrupt.
        Err(e) => match serde_json::from_str::<Header>(text) {
            Ok(header) if header.version > STATE_VERSION => Err(too_new(header)),
            _ => Err(StateError::Corrupt {
                location: path.display().to_string(),
                message: e.to_string(),
                backup,
            }),
        },
    }
}

impl Catalogs for LocalBackend {
    /// One file an image, read on every core when there are many: `catalog --package` reads
    /// thousands, a step two.
    fn catalogs(&self, images: &[String]) -> Result<BTreeMap<String, Catalog>, StateError> {
        const ALONE: usize = 64;
        if images.len() <= ALONE {
            return Ok(self.read_catalogs(images)?.into_iter().collect());
        }
        let workers = std::thread::available_parallelism().map_or(1, usize::from);
        let chunk = images.len().div_ceil(workers);
        std::thread::scope(|scope| {
            let readers: Vec<_> = images
                .chunks(chunk)
                .map(|part| scope.spawn(|| self.read_catalogs(part)))
                .collect();
            let mut found = BTreeMap::new();
            for reader in readers {
                found.extend(reader.join().expect("a catalog reader does not panic")?);
            }
            Ok(found)
        })
    }

    fn put_catalog(&self, image: &str, catalog: &Catalog) -> Result<(), StateError> {
        let Some(path) = self.catalog_path(image) else {
            return Ok(());
        };
        let write_error = |error| StateError::Write {
            path: path.clone(),
            error,
        };
        let dir = folder(&path);
        fs::create_dir_all(dir).map_err(write_error)?;
        let json = serde_json::to_vec(catalog).expect("a catalog serializes");
        write_atomic(dir, &path, &json).map_err(write_error)
    }
}

impl Backend for LocalBackend {
    fn load(&self) -> Result<Option<State>, StateError> {
        let Some(mut state) = self.load_file()? else {
            return Ok(None);
        };
        match fs::read_to_string(self.journal_path()) {
            Ok(journal) => fold(&mut state, &journal),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => {
                return Err(StateError::Read {
                    path: self.journal_path(),
                    error,
                });
            }
        }
        Ok(Some(state))
    }

    fn lock(&self, timeout: Duration, holder: &Holder) -> Result<Box<dyn StateLock>, StateError> {
        let path = self.lock_path();
        let lock_error = |error| StateError::Lock {
            path: path.clone(),
            error,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(lock_error)?;
        }
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        // Private, like the state: a lock file others may open is one they may hold.
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&path).map_err(lock_error)?;
        #[cfg(unix)]
        {
            // One made by an older dispatch, or under another umask: tightened if it is ours.
            use std::os::unix::fs::PermissionsExt;
            let _ = file.set_permissions(fs::Permissions::from_mode(0o600));
        }
        let taken = retry::wait(
            timeout,
            LOCK_PAUSE,
            || file.try_lock(),
            |e| matches!(e, fs::TryLockError::WouldBlock),
        );
        match taken {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                let holder = match recorded(&mut file) {
                    Some(holder) => holder.to_string(),
                    None => silent_holder(&file)
                        .unwrap_or_else(|| format!("another process (see {})", path.display())),
                };
                return Err(StateError::Locked { holder });
            }
            Err(fs::TryLockError::Error(error)) => return Err(lock_error(error)),
        }
        // A holder recorded but gone: its run died (the OS released its lock) before it could
        // clear the file.
        let left = recorded(&mut file).filter(|h| h.host == holder.host && !running(h.pid));
        let json = serde_json::to_string(holder).expect("lock holder serializes");
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(json.as_bytes()))
            .map_err(lock_error)?;
        let lock = LocalLock {
            backend: self.clone(),
            file,
            left,
        };
        // Under the lock no writer runs: a temp file is what a killed one left. Catalogs are
        // written under it too, by apply, and advisories by their import.
        let catalogs = folder(&self.path).join(CATALOG_DIR);
        let advisories = folder(&self.path).join(advisories::ADVISORY_DIR);
        remove_stale_temps(self.path())
            .and_then(|_| remove_stale_temps_in(&catalogs))
            .and_then(|_| remove_stale_temps_in(&advisories))
            .map_err(|error| StateError::Write {
                path: self.path.clone(),
                error,
            })?;
        // A journal left by a run that crashed is folded in before anything is appended, so
        // that a torn last record never sits before a new one.
        if self.journal_path().exists()
            && let Some(state) = self.load()?
        {
            lock.write(&state)?;
        }
        Ok(Box::new(lock))
    }

    fn location(&self) -> String {
        self.path.display().to_string()
    }

    fn force_unlock(&self, id: &str) -> Result<(), StateError> {
        let path = self.lock_path();
        let recorded = fs::read_to_string(&path)
            .ok()
            .and_then(|text| serde_json::from_str::<Holder>(&text).ok());
        let Some(holder) = recorded.filter(|h| h.id == id) else {
            return Err(StateError::NoSuchLock {
                id: id.to_string(),
                holder: None,
            });
        };
        // The OS releases the lock when its holder exits; a live holder cannot be overruled.
        let file = OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(|error| StateError::Lock {
                path: path.clone(),
                error,
            })?;
        match file.try_lock() {
            Ok(()) => {
                let _ = file.set_len(0);
                let _ = file.unlock();
                Ok(())
            }
            Err(_) => Err(StateError::Unbreakable {
                id: id.to_string(),
                pid: holder.pid,
            }),
        }
    }
}

/// The lock file, held locked for as long as this value lives.
#[derive(Debug)]
struct LocalLock {
    backend: LocalBackend,
    file: File,
    /// The holder a run that died left recorded in the file.
    left: Option<Holder>,
}

/// The holder recorded in the lock file, if it names one.
fn recorded(file: &mut File) -> Option<Holder> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    serde_json::from_str(&text).ok()
}

/// Whether process `pid` runs on this host, where the OS can tell (Linux); assumed so elsewhere.
fn running(pid: u32) -> bool {
    !Path::new("/proc/self").exists() || Path::new(&format!("/proc/{pid}")).exists()
}

/// The process that holds `file` locked though it recorded nothing, as the OS tells
/// (`/proc/locks` on Linux): `pid 123 (`dispatch apply`)`.
fn silent_holder(file: &File) -> Option<String> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::MetadataExt;
        let inode = file.metadata().ok()?.ino();
        let locks = fs::read_to_string("/proc/locks").ok()?;
        // `1: FLOCK  ADVISORY  WRITE 4242 fd:01:1234567 0 EOF`
        let pid = locks.lines().find_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (pid, id) = (fields.get(4)?, fields.get(5)?);
            (id.rsplit(':').next()?.parse::<u64>().ok()? == inode).then_some(*pid)
        })?;
        let command = fs::read(format!("/proc/{pid}/cmdline"))
            .map(|raw| {
                let words: Vec<String> = raw
                    .split(|&b| b == 0)
                    .filter(|w| !w.is_empty())
                    .map(|w| String::from_utf8_lossy(w).into_owned())
                    .collect();
                format!(" (`{}`)", words.join(" "))
            })
            .unwrap_or_default();
        Some(format!(
            "pid {pid}{command}, which recorded nothing in the lock file"
        ))
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = file;
        None
    }
}

impl LocalLock {
    /// Replaces the state file with `state` (the old one kept as the backup), and drops the
    /// journal, which the new file holds.
    fn write(&self, state: &State) -> Result<(), StateError> {
        let path = self.backend.path();
        let write_error = |error| StateError::Write {
            path: path.to_path_buf(),
            error,
        };
        let mut json = serde_json::to_vec_pretty(state).expect("state serializes");
        json.push(b'\n');
        let dir = folder(path);
        fs::create_dir_all(dir).map_err(write_error)?;
        if path.exists() {
            write_atomic(
                dir,
                &self.backend.backup_path(),
                &fs::read(path).map_err(write_error)?,
            )
            .map_err(write_error)?;
        }
        write_atomic(dir, path, &json).map_err(write_error)?;
        match fs::remove_file(self.backend.journal_path()) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(write_error(e)),
            _ => Ok(()),
        }
    }
}

impl StateLock for LocalLock {
    fn save(&self, state: &mut State) -> Result<(), StateError> {
        state.next();
        self.write(state)
    }

    fn checkpoint(&self, state: &mut State, address: &Address) -> Result<(), StateError> {
        // A journal needs a file to follow: the first write of a state is the whole of it.
        if !self.backend.path().exists() {
            return self.save(state);
        }
        state.next();
        let record = Record {
            lineage: state.lineage,
            serial: state.serial,
            address: address.clone(),
            entry: state.resources.get(address).cloned(),
        };
        let mut line = serde_json::to_vec(&record).expect("a record serializes");
        line.push(b'\n');
        let journal = self.backend.journal_path();
        let mut options = OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        options
            .open(&journal)
            .and_then(|mut file| {
                file.write_all(&line)?;
                file.sync_data()
            })
            .map_err(|error| StateError::Write {
                path: journal.clone(),
                error,
            })
    }

    fn finish(&self, state: &mut State) -> Result<(), StateError> {
        if self.backend.journal_path().exists() {
            self.write(state)?;
        }
        Ok(())
    }

    fn notice(&self) -> Option<String> {
        self.left.as_ref().map(|left| {
            format!(
                "the state lock was left by pid {} (`{}`, since {}), which is no longer running; proceeding",
                left.pid, left.command, left.since
            )
        })
    }
}

impl Drop for LocalLock {
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::conformance::{self, Subject, Tamper};

    struct Local {
        _dir: tempfile::TempDir,
        backend: LocalBackend,
    }

    impl Subject for Local {
        fn backend(&self) -> Box<dyn Backend> {
            Box::new(self.backend.clone())
        }

        fn tamper(&self, how: Tamper) {
            fs::create_dir_all(folder(self.backend.path())).unwrap();
            fs::write(self.backend.path(), how.json()).unwrap();
        }

        fn previous(&self) -> Option<State> {
            let text = fs::read_to_string(self.backend.backup_path()).ok()?;
            Some(serde_json::from_str(&text).unwrap())
        }
    }

    #[test]
    fn passes_the_conformance_suite() {
        conformance::run(&|| {
            let dir = tempfile::tempdir().unwrap();
            // A folder that does not exist yet: the first save makes it.
            let backend = LocalBackend::new(dir.path().join("nested/state.json"));
            Box::new(Local { _dir: dir, backend })
        });
    }

    #[test]
    fn the_first_save_keeps_no_backup() {
        let dir = tempfile::tempdir().unwrap();
        let backend = LocalBackend::new(dir.path().join("state.json"));
        let lock = backend
            .lock(Duration::ZERO, &conformance::holder("test"))
            .unwrap();
        lock.save(&mut State::new()).unwrap();
        assert!(!backend.backup_path().exists());
        assert!(backend.path().exists());
    }

    /// A state of three, checkpointed twice and never finished, as a run killed mid-apply
    /// leaves it.
    fn interrupted(dir: &Path) -> (LocalBackend, State) {
        let backend = LocalBackend::new(dir.join("state.json"));
        let lock = backend
            .lock(Duration::ZERO, &conformance::holder("apply"))
            .unwrap();
        let mut state = conformance::sample(3);
        lock.save(&mut state).unwrap();
        let addresses: Vec<Address> = state.resources.keys().cloned().collect();
        state.resources.remove(&addresses[0]);
        lock.checkpoint(&mut state, &addresses[0]).unwrap();
        state.resources.get_mut(&addresses[1]).unwrap().reason = vec!["rebuilt".into()];
        lock.checkpoint(&mut state, &addresses[1]).unwrap();
        (backend, state)
    }

    #[test]
    fn checkpoints_append_to_the_journal_and_a_reader_folds_them() {
        let dir = tempfile::tempdir().unwrap();
        let (backend, state) = interrupted(dir.path());
        let journal = fs::read_to_string(backend.journal_path()).unwrap();
        assert_eq!(journal.lines().count(), 2, "one record per checkpoint");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(backend.journal_path())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "the journal is private");
        }
        let file: State =
            serde_json::from_str(&fs::read_to_string(backend.path()).unwrap()).unwrap();
        assert_eq!(file.serial, 1, "the file itself is untouched");
        assert_eq!(backend.load().unwrap(), Some(state));
    }

    #[test]
    fn a_torn_last_record_is_ignored_and_the_next_writer_folds_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let (backend, state) = interrupted(dir.path());
        // Killed in the middle of a third append.
        let mut journal = OpenOptions::new()
            .append(true)
            .open(backend.journal_path())
            .unwrap();
        journal.write_all(b"{\"lineage\":\"").unwrap();
        assert_eq!(backend.load().unwrap().as_ref(), Some(&state));
        // The next writer folds what was whole into the file and starts a clean journal.
        let lock = backend
            .lock(Duration::ZERO, &conformance::holder("apply"))
            .unwrap();
        assert!(!backend.journal_path().exists());
        let mut next = backend.load().unwrap().unwrap();
        assert_eq!(next, state);
        let address = next.resources.keys().next().unwrap().clone();
        lock.checkpoint(&mut next, &address).unwrap();
        assert_eq!(backend.load().unwrap().unwrap().serial, state.serial + 1);
    }

    #[test]
    fn records_of_another_lineage_or_out_of_order_are_not_applied() {
        let dir = tempfile::tempdir().unwrap();
        let (backend, _) = interrupted(dir.path());
        let file: State =
            serde_json::from_str(&fs::read_to_string(backend.path()).unwrap()).unwrap();
        // A journal from some other state (its file replaced by hand, say).
        let mut other = State::new();
        other.serial = file.serial;
        fs::write(
            backend.path(),
            serde_json::to_vec(&State {
                resources: file.resources.clone(),
                ..other
            })
            .unwrap(),
        )
        .unwrap();
        let loaded = backend.load().unwrap().unwrap();
        assert_eq!(loaded.serial, file.serial);
        assert_eq!(loaded.resources, file.resources);
    }
}
