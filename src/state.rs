//! The state file: what dispatch last made real, saved atomically under an exclusive lock.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::model::{Address, Resource};

/// The state format this build reads and writes.
pub const STATE_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub version: u32,
    /// Set once when the state is created; a saved plan only applies to the same lineage.
    pub lineage: Uuid,
    /// Incremented on every write; a saved plan only applies to the serial it was made against.
    pub serial: u64,
    #[serde(default)]
    pub resources: BTreeMap<Address, ResourceState>,
}

impl State {
    pub fn new() -> Self {
        State {
            version: STATE_VERSION,
            lineage: Uuid::new_v4(),
            serial: 0,
            resources: BTreeMap::new(),
        }
    }
}

impl Default for State {
    fn default() -> Self {
        State::new()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Ready,
    Error,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Ready => "READY",
            Status::Error => "ERROR",
        })
    }
}

/// One resource as last applied: the resolved spec, its digest, and how it went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceState {
    #[serde(flatten)]
    pub resource: Resource,
    pub spec_digest: String,
    pub status: Status,
    #[serde(default)]
    pub reason: Vec<String>,
    pub created_time: String,
    pub modified_time: String,
    /// What the engine and registry held after the last successful apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed: Option<Observed>,
}

/// The real image behind a resource: pulled (BaseImage) or built (Image).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Observed {
    /// The engine's image id (the digest of the image config).
    pub image_id: String,
    /// The registry digest: the RepoDigest of a pulled base, the pushed digest of a built image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// The reference a built image is tagged as, `<destination>/<name>:<inputs digest>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot read state {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "state {path} is corrupt ({message}); it was not changed\n  hint: restore it from {path}.backup, or move it away to start afresh"
    )]
    Corrupt { path: PathBuf, message: String },
    #[error(
        "state {path} has format version {found}, newer than this dispatch understands ({STATE_VERSION}); it was not changed\n  hint: upgrade dispatch"
    )]
    TooNew { path: PathBuf, found: u32 },
    #[error("cannot write state {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot lock {path}: {source}")]
    Lock {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "state is locked by {holder}\n  hint: wait for that run to finish, or pass --lock-timeout 5m to wait for it; if no such process runs, the lock is already free"
    )]
    Locked { holder: String },
}

/// Where the state lives; reading needs no lock (writes are atomic renames).
#[derive(Debug, Clone)]
pub struct StateStore {
    path: PathBuf,
}

impl StateStore {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        StateStore { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn lock_path(&self) -> PathBuf {
        self.path.with_extension("lock")
    }

    pub fn backup_path(&self) -> PathBuf {
        let mut name = self.path.as_os_str().to_owned();
        name.push(".backup");
        PathBuf::from(name)
    }

    /// The state, or `None` when none has been written yet.
    pub fn load(&self) -> Result<Option<State>, StateError> {
        let text = match fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(StateError::Read {
                    path: self.path.clone(),
                    source,
                });
            }
        };
        let too_new = |found| StateError::TooNew {
            path: self.path.clone(),
            found,
        };
        match serde_json::from_str::<State>(&text) {
            Ok(state) if state.version > STATE_VERSION => Err(too_new(state.version)),
            Ok(state) => Ok(Some(state)),
            // A newer format may have another shape: name it by its version, not as corrupt.
            Err(e) => {
                #[derive(Deserialize)]
                struct Header {
                    version: u32,
                }
                match serde_json::from_str::<Header>(&text) {
                    Ok(header) if header.version > STATE_VERSION => Err(too_new(header.version)),
                    _ => Err(StateError::Corrupt {
                        path: self.path.clone(),
                        message: e.to_string(),
                    }),
                }
            }
        }
    }

    /// Takes the exclusive write lock, waiting up to `timeout` for another holder to finish.
    pub fn lock(&self, timeout: Duration, command: &str) -> Result<StateLock, StateError> {
        let path = self.lock_path();
        let lock_error = |source| StateError::Lock {
            path: path.clone(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(lock_error)?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(lock_error)?;
        let deadline = Instant::now() + timeout;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(fs::TryLockError::WouldBlock) => {
                    let mut holder = String::new();
                    let _ = file.read_to_string(&mut holder);
                    let holder = serde_json::from_str::<LockInfo>(&holder)
                        .map(|info| info.to_string())
                        .unwrap_or_else(|_| format!("another process (see {})", path.display()));
                    return Err(StateError::Locked { holder });
                }
                Err(fs::TryLockError::Error(source)) => return Err(lock_error(source)),
            }
        }
        let info = LockInfo {
            pid: std::process::id(),
            host: gethostname::gethostname().to_string_lossy().into_owned(),
            command: command.to_string(),
            since: now(),
        };
        let json = serde_json::to_string(&info).expect("lock info serializes");
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(json.as_bytes()))
            .map_err(lock_error)?;
        Ok(StateLock {
            store: self.clone(),
            file,
        })
    }
}

/// Who holds the lock, written into the lock file so a second writer can name them.
#[derive(Debug, Serialize, Deserialize)]
struct LockInfo {
    pid: u32,
    host: String,
    command: String,
    since: String,
}

impl std::fmt::Display for LockInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pid {} on {} (`{}`) since {}",
            self.pid, self.host, self.command, self.since
        )
    }
}

/// Proof of the exclusive lock; the only way to write the state. Released on drop.
#[derive(Debug)]
pub struct StateLock {
    store: StateStore,
    file: File,
}

impl StateLock {
    /// Writes `state` atomically (temp file, fsync, rename), keeping the previous one as a backup.
    pub fn save(&self, state: &mut State) -> Result<(), StateError> {
        let path = self.store.path();
        let write_error = |source| StateError::Write {
            path: path.to_path_buf(),
            source,
        };
        state.serial += 1;
        let mut json = serde_json::to_vec_pretty(state).expect("state serializes");
        json.push(b'\n');
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        fs::create_dir_all(dir).map_err(write_error)?;
        if path.exists() {
            write_atomic(
                dir,
                &self.store.backup_path(),
                &fs::read(path).map_err(write_error)?,
            )
            .map_err(write_error)?;
        }
        write_atomic(dir, path, &json).map_err(write_error)
    }
}

impl Drop for StateLock {
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

fn write_atomic(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut temp = tempfile::NamedTempFile::new_in(dir)?;
    temp.write_all(bytes)?;
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|e| e.error)?;
    // Make the rename itself durable.
    File::open(dir)?.sync_all()
}

/// The current time as RFC 3339, the format of every timestamp dispatch writes.
pub fn now() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{BaseImageSpec, Language, Spec};
    use crate::reference::ImageRef;

    fn sample() -> State {
        let resource = Resource {
            name: "base".into(),
            spec: Spec::BaseImage(BaseImageSpec {
                docker_url: ImageRef::parse("x/y:1").unwrap(),
                language: Language::Python3,
                tags: vec![],
            }),
        };
        let mut state = State::new();
        state.resources.insert(
            resource.address(),
            ResourceState {
                spec_digest: resource.digest(),
                resource,
                status: Status::Ready,
                reason: vec![],
                created_time: now(),
                modified_time: now(),
                observed: None,
            },
        );
        state
    }

    #[test]
    fn save_then_load_round_trips_and_keeps_a_backup() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path().join("nested/state.json"));
        assert_eq!(store.load().unwrap(), None);
        let lock = store.lock(Duration::ZERO, "test").unwrap();
        let mut state = sample();
        lock.save(&mut state).unwrap();
        assert_eq!(state.serial, 1);
        assert_eq!(store.load().unwrap().as_ref(), Some(&state));
        assert!(!store.backup_path().exists());
        lock.save(&mut state).unwrap();
        let backup: State =
            serde_json::from_slice(&fs::read(store.backup_path()).unwrap()).unwrap();
        assert_eq!(backup.serial, 1);
        assert_eq!(store.load().unwrap().unwrap().serial, 2);
    }

    #[test]
    fn second_writer_is_told_who_holds_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path().join("state.json"));
        let _held = store.lock(Duration::ZERO, "dispatch apply").unwrap();
        let started = Instant::now();
        let err = store
            .lock(Duration::from_millis(300), "dispatch state rm")
            .unwrap_err();
        assert!(started.elapsed() >= Duration::from_millis(300));
        let message = err.to_string();
        assert!(
            message.contains(&format!("pid {}", std::process::id())),
            "{message}"
        );
        assert!(message.contains("`dispatch apply`"), "{message}");
    }

    #[test]
    fn lock_is_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path().join("state.json"));
        drop(store.lock(Duration::ZERO, "first").unwrap());
        store.lock(Duration::ZERO, "second").unwrap();
    }

    #[test]
    fn corrupt_and_newer_states_are_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path().join("state.json"));
        fs::write(store.path(), "{not json").unwrap();
        assert!(matches!(store.load(), Err(StateError::Corrupt { .. })));
        fs::write(store.path(), r#"{"version": 99, "lineage": "x"}"#).unwrap();
        let err = store.load().unwrap_err();
        assert!(matches!(err, StateError::TooNew { found: 99, .. }), "{err}");
        assert_eq!(
            fs::read_to_string(store.path()).unwrap(),
            r#"{"version": 99, "lineage": "x"}"#
        );
    }
}
