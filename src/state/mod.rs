//! The state: what dispatch last made real. The types here are plain data; where the state is
//! kept is a [`Backend`] (a [`local`] file, or [`postgres`] for a team), and every backend passes
//! the same `conformance` suite (built for the unit tests, and with the `testing` feature for
//! tests/ and benches/).

#[cfg(any(test, feature = "testing"))]
pub mod conformance;
pub mod local;
#[cfg(test)]
pub mod memory;
#[cfg(feature = "adapters")]
pub mod postgres;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};
use uuid::Uuid;

use crate::model::advisory::{Advisory, Stored};
use crate::model::catalog::Catalog;
use crate::model::diag::{Hint, denied, io_reason};
use crate::model::inputs::Inputs;
use crate::model::{Address, Resource, Revision, Spec};

/// The state format this build reads and writes.
pub const STATE_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub version: u32,
    /// Set once when the state is created; a saved plan only applies to the same lineage.
    pub lineage: Uuid,
    /// Incremented on every write; a saved plan only applies to the serial it was made against.
    pub serial: u64,
    /// The version of dispatch that wrote it, so that an older one can say which it needs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub written_by: Option<String>,
    #[serde(default)]
    pub resources: BTreeMap<Address, ResourceState>,
}

impl State {
    pub fn new() -> Self {
        State {
            version: STATE_VERSION,
            lineage: Uuid::new_v4(),
            serial: 0,
            written_by: None,
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
    /// The commit the last apply of it took its declaration from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<Revision>,
    /// For a built image: what it was built from besides its declaration (template, build
    /// args). `None` for a base image, and for an image recorded by a dispatch that kept no
    /// such record (README, "State": the next apply records them without a rebuild).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_inputs: Option<Inputs>,
    /// Of several engines (`[[engines]]`), the one that last pulled or built its image: where
    /// its layers are, for the next build of it. `None` with the one default engine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
}

impl ResourceState {
    /// The image it stands for: a base image's `dockerUrl`, the tag an image was built as.
    pub fn image_reference(&self) -> Option<&str> {
        match &self.resource.spec {
            Spec::BaseImage(base) => Some(base.docker_url.as_str()),
            Spec::Image(_) => self.observed.as_ref()?.reference.as_deref(),
        }
    }

    /// `resource` as recorded after a successful apply at `time`, with nothing observed.
    pub fn applied(resource: Resource, time: &str) -> Self {
        ResourceState {
            spec_digest: resource.digest(),
            resource,
            status: Status::Ready,
            reason: Vec::new(),
            created_time: time.to_string(),
            modified_time: time.to_string(),
            observed: None,
            revision: None,
            build_inputs: None,
            engine: None,
        }
    }
}

/// The real image behind a resource: pulled (BaseImage) or built (Image).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Observed {
    /// The engine's image id (the digest of the image config); `None` for an image found in
    /// the destination registry and never held by this engine. A rebased image, made in the
    /// registry, has the id an engine gives it when it pulls it: its config's digest.
    #[serde(default, deserialize_with = "empty_is_none")]
    pub image_id: Option<String>,
    /// The registry digest: the RepoDigest of a pulled base, the pushed digest of a built image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// The reference a built image is tagged as, `<destination>/<name>:<inputs digest>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// When the image was made (RFC 3339), as its config says: a pulled base's age is checked
    /// against the policies at every plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// For a built image: the registry digest of the base it was built on or rebased onto,
    /// so that a base pulled again under it is seen even if the apply that pulled it stopped
    /// before the image (`None` in states written before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    /// For a rebased image: the base digest it was rebased from (a build clears it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rebased_from: Option<String>,
}

/// Earlier states wrote `""` for an unknown image id.
fn empty_is_none<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.filter(|id| !id.is_empty()))
}

/// Who holds the write lock, kept with it so that a second writer can name them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// The lock's own ID, for `dispatch force-unlock`.
    #[serde(default)]
    pub id: String,
    pub pid: u32,
    pub host: String,
    #[serde(default)]
    pub user: String,
    pub command: String,
    pub since: String,
    /// The CI job that runs the command, when a CI system says (GitHub Actions, GitLab).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let user = if self.user.is_empty() {
            String::new()
        } else {
            format!("{}@", self.user)
        };
        write!(
            f,
            "pid {} on {user}{} (`{}`) since {}",
            self.pid, self.host, self.command, self.since
        )?;
        if let Some(job) = &self.job {
            write!(f, ", job {job}")?;
        }
        if !self.id.is_empty() {
            write!(f, "; lock ID {}", self.id)?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot read state {path}: {}", io_reason(.error))]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("state {location} is corrupt ({message}); it was not changed")]
    Corrupt {
        location: String,
        message: String,
        /// The previous state, if one is kept.
        backup: Option<PathBuf>,
    },
    #[error(
        "state {location} has format version {found}{}, newer than this dispatch ({}) understands ({STATE_VERSION}); it was not changed",
        .written_by.as_ref().map(|v| format!(" (written by dispatch {v})")).unwrap_or_default(),
        env!("CARGO_PKG_VERSION")
    )]
    TooNew {
        location: String,
        found: u32,
        written_by: Option<String>,
    },
    #[error("cannot write state {path}: {}", io_reason(.error))]
    Write {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("cannot lock {path}: {}", io_reason(.error))]
    Lock {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("state is locked by {holder}")]
    Locked { holder: String },
    #[error("the state lock was taken over by another writer ({by}); nothing more was written")]
    LockLost { by: String },
    #[error(
        "the state changed under this run: it was at serial {found}, not the serial {expected} this run wrote last; nothing was written"
    )]
    Conflict { expected: u64, found: u64 },
    #[error("no lock {id} on the state{}", .holder.as_ref().map(|h| format!(" (it is locked by {h})")).unwrap_or_default())]
    NoSuchLock { id: String, holder: Option<String> },
    #[error("the lock {id} is held by a running process (pid {pid}), which alone can release it")]
    Unbreakable { id: String, pid: u32 },
    #[error("state {location}: {detail}")]
    Database {
        location: String,
        detail: String,
        /// What to do, where more is known than that the database failed.
        hint: Option<String>,
    },
    #[error("the PostgreSQL backend's settings are invalid: {0}")]
    Settings(String),
}

impl Hint for StateError {
    fn hint(&self) -> Option<String> {
        match self {
            StateError::Corrupt {
                backup: Some(backup),
                ..
            } => Some(format!(
                "restore it from {}, or move it away to start afresh",
                backup.display()
            )),
            StateError::Corrupt { backup: None, .. } => {
                Some("there is no backup of it; move it away to start afresh".into())
            }
            StateError::TooNew { .. } => Some("upgrade dispatch".into()),
            StateError::Locked { .. } => Some(
                "wait for that run to finish, or pass --lock-timeout 5m to wait for it; if it died, `dispatch force-unlock LOCK_ID` frees the lock".into(),
            ),
            StateError::LockLost { .. } | StateError::Conflict { .. } => Some(
                "another run writes this state now; plan again once it is done".into(),
            ),
            StateError::NoSuchLock { .. } => {
                Some("the lock ID is in the message of the run that was refused".into())
            }
            StateError::Database { hint: Some(hint), .. } => Some(hint.clone()),
            StateError::Database { hint: None, .. } => Some(
                "check that the server is up and `[backend] url` in dispatch.toml (or DISPATCH_PG_URL, or the PG* variables) names it; the password goes in PGPASSWORD".into(),
            ),
            StateError::Settings(_) => Some(
                "the keys of [backend] are documented in README.md, section \"Shared state\"".into(),
            ),
            StateError::Unbreakable { .. } => Some(
                "a local state's lock is released when its holder exits; stop that process, or wait for it".into(),
            ),
            StateError::Read { path, error }
            | StateError::Write { path, error }
            | StateError::Lock { path, error }
                if denied(error) =>
            {
                Some(format!(
                    "check that you may read and write {} and its folder, or point --state (DISPATCH_STATE) elsewhere",
                    path.display()
                ))
            }
            _ => None,
        }
    }
}

/// Where the catalogs of images are kept, beside the state but not in it: by engine image id,
/// so a base's packages are stored once for all the images built on it, and the state and its
/// checkpoints stay as small with 10,000 catalogued images as without. A catalog is written
/// once, for an image whose id names its content: no lock is needed.
pub trait Catalogs: Send + Sync {
    /// The recorded catalogs of those of `images` that have one.
    fn catalogs(&self, images: &[String]) -> Result<BTreeMap<String, Catalog>, StateError>;

    /// Records the catalog of `image`.
    fn put_catalog(&self, image: &str, catalog: &Catalog) -> Result<(), StateError>;
}

/// Where advisories are kept, beside the catalogs: one set for every workspace of the backend
/// (a folder beside a local state, a table in PostgreSQL), as the catalogs are.
pub trait Advisories: Send + Sync {
    /// The stored records affecting packages of the OSV ecosystems `ecosystems` (`Debian:12`),
    /// each once; every record when `None`.
    fn advisories(&self, ecosystems: Option<&[String]>) -> Result<Vec<Advisory>, StateError>;

    /// Stores `records` (checked, each id once), each replacing the one stored under its id
    /// only if its `modified` is later ([`Stored::of`]); what it did to each, in order. All of
    /// them are stored, or none. A local backend's caller holds the state lock.
    fn put_advisories(&self, records: &[Advisory]) -> Result<Vec<Stored>, StateError>;

    /// The stored records imported after `since` (an RFC 3339 time): what came after the
    /// images applied then, which a plan tells of. Every record is read, unless the backend
    /// knows better.
    fn advisories_imported_after(&self, since: &str) -> Result<Vec<Advisory>, StateError> {
        let mut all = self.advisories(None)?;
        all.retain(|a| a.imported_after(since));
        Ok(all)
    }
}

/// Where the state is kept. Reading takes no lock: every backend replaces the state in one
/// step, so a reader sees the old state or the new one, never a mix.
pub trait Backend: Catalogs + Advisories + Send + Sync {
    /// The state, or `None` when none has been written yet.
    fn load(&self) -> Result<Option<State>, StateError>;

    /// Takes the exclusive write lock, waiting up to `timeout` for another holder to let go.
    fn lock(&self, timeout: Duration, holder: &Holder) -> Result<Box<dyn StateLock>, StateError>;

    /// Where the state is, as messages name it (never with credentials).
    fn location(&self) -> String;

    /// Frees the lock `id`, left by a run that died.
    fn force_unlock(&self, id: &str) -> Result<(), StateError>;
}

/// Proof of the exclusive write lock, and the only way to write the state. Released on drop.
pub trait StateLock: Send + Sync {
    /// Writes `state` with its serial incremented (see [`State::next`]), replacing the
    /// previous one in one step.
    fn save(&self, state: &mut State) -> Result<(), StateError>;

    /// Records that the resource at `address` changed in `state` (or left it): one write,
    /// whatever the size of the state, made after each resource an apply finishes.
    fn checkpoint(&self, state: &mut State, address: &Address) -> Result<(), StateError>;

    /// Ends the command's writes (a journal is folded into the state).
    fn finish(&self, state: &mut State) -> Result<(), StateError>;

    /// What the user should know about how the lock was taken: whose stale lock it replaced.
    fn notice(&self) -> Option<String> {
        None
    }
}

impl State {
    /// Readies `state` for its next save: the serial incremented, this dispatch as its writer.
    pub fn next(&mut self) {
        self.serial += 1;
        self.written_by = Some(env!("CARGO_PKG_VERSION").to_string());
    }
}
