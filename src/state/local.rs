//! The state as a local JSON file, written atomically (temp file, fsync, rename) under an
//! exclusive lock on a separate lock file that names its holder; the previous state is kept
//! as `<file>.backup`.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::{Backend, Holder, STATE_VERSION, State, StateError, StateLock};
use crate::files::{folder, write_atomic};

/// A state file on the local filesystem.
#[derive(Debug, Clone)]
pub struct LocalBackend {
    path: PathBuf,
}

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
        let mut name = self.path.as_os_str().to_owned();
        name.push(".backup");
        PathBuf::from(name)
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
        path: path.to_path_buf(),
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
                path: path.to_path_buf(),
                message: e.to_string(),
                backup,
            }),
        },
    }
}

impl Backend for LocalBackend {
    fn load(&self) -> Result<Option<State>, StateError> {
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

    fn lock(&self, timeout: Duration, holder: &Holder) -> Result<Box<dyn StateLock>, StateError> {
        let path = self.lock_path();
        let lock_error = |error| StateError::Lock {
            path: path.clone(),
            error,
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
                    let mut recorded = String::new();
                    let _ = file.read_to_string(&mut recorded);
                    let holder = serde_json::from_str::<Holder>(&recorded)
                        .map(|info| info.to_string())
                        .unwrap_or_else(|_| format!("another process (see {})", path.display()));
                    return Err(StateError::Locked { holder });
                }
                Err(fs::TryLockError::Error(error)) => return Err(lock_error(error)),
            }
        }
        let json = serde_json::to_string(holder).expect("lock holder serializes");
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(json.as_bytes()))
            .map_err(lock_error)?;
        Ok(Box::new(LocalLock {
            backend: self.clone(),
            file,
        }))
    }

    fn location(&self) -> String {
        self.path.display().to_string()
    }
}

/// The lock file, held locked for as long as this value lives.
#[derive(Debug)]
struct LocalLock {
    backend: LocalBackend,
    file: File,
}

impl StateLock for LocalLock {
    fn save(&self, state: &mut State) -> Result<(), StateError> {
        let path = self.backend.path();
        let write_error = |error| StateError::Write {
            path: path.to_path_buf(),
            error,
        };
        state.next();
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
        write_atomic(dir, path, &json).map_err(write_error)
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
}
