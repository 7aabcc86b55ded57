//! The container engine as dispatch needs it: pull, build, push, inspect, remove, and read
//! files out of an image. [`docker`] speaks the Docker Engine API (`ssh` carries it to an
//! `ssh://` engine); tests use a fake. Both
//! pass the same `conformance` suite (built for the unit tests, and with the `testing`
//! feature for tests/).

#[cfg(any(test, feature = "testing"))]
pub mod conformance;
#[cfg(feature = "adapters")]
pub mod docker;
#[cfg(test)]
pub mod fake;
#[cfg(feature = "adapters")]
mod ssh;
#[cfg(feature = "adapters")]
mod transcript;

use std::collections::{BTreeMap, HashMap};

use crate::model::diag::Hint;
use crate::model::image::{BuildFailure, Builder, Limits, LocalImage, Progress};
use crate::model::reference::ImageRef;

/// One build: a context and how to build it.
pub struct BuildRequest<'a> {
    /// A tar with `Dockerfile` at its root.
    pub context: Vec<u8>,
    /// The name the image is tagged with.
    pub tag: &'a str,
    pub build_args: &'a HashMap<String, String>,
    /// The network build steps run on (`host`, say).
    pub network: Option<&'a str>,
    pub builder: Builder,
    /// The base image, whose registry credentials BuildKit gets should it need them.
    pub base: Option<&'a ImageRef>,
    /// Labels the image is given (not part of its identity: they are no build input).
    pub labels: BTreeMap<String, String>,
}

/// Receives progress while a pull, build or push runs.
pub type OnProgress<'a> = &'a (dyn Fn(Progress) + Sync);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    #[error("cannot reach the Docker engine at {address}: {detail}")]
    Unreachable { address: String, detail: String },
    #[error("error when pulling image {reference}: {detail}")]
    Pull { reference: String, detail: String },
    #[error("error when pushing image {reference}: {detail}")]
    Push { reference: String, detail: String },
    #[error("cannot inspect image {name}: {detail}")]
    Inspect { name: String, detail: String },
    #[error("cannot remove image {name}: {detail}")]
    Remove { name: String, detail: String },
    /// Reading files out of an image.
    #[error("{detail}")]
    Files { detail: String },
}

impl Hint for EngineError {
    fn hint(&self) -> Option<String> {
        match self {
            EngineError::Unreachable { .. } => Some(
                "start dockerd, or point DOCKER_HOST (or `host` under [engine] in dispatch.toml) at a running engine".into(),
            ),
            _ => None,
        }
    }
}

/// A container engine. Every method waits for the engine to finish, draining its stream:
/// the engine reports failures inside it.
// dispatch drives these futures on one thread; callers need not send them elsewhere.
#[allow(async_fn_in_trait)]
pub trait Engine {
    /// Whether the engine answers: the health check of each engine of a pool, at the start of
    /// an apply and after a step on it failed.
    async fn ping(&self) -> Result<(), EngineError>;

    /// Pulls `reference` and returns what the engine then holds under it.
    async fn pull(
        &self,
        reference: &ImageRef,
        progress: OnProgress<'_>,
    ) -> Result<LocalImage, EngineError>;

    /// What the engine holds under `name`, or `None`.
    async fn inspect(&self, name: &str) -> Result<Option<LocalImage>, EngineError>;

    /// Builds `request.context` as `request.tag`; returns the image id.
    async fn build(
        &self,
        request: BuildRequest<'_>,
        progress: OnProgress<'_>,
    ) -> Result<String, BuildFailure>;

    /// Pushes `reference` (already tagged locally) to its registry; returns the pushed digest.
    async fn push(
        &self,
        reference: &ImageRef,
        progress: OnProgress<'_>,
    ) -> Result<String, EngineError>;

    /// Removes the image named `name` (a tag); a name that is already gone is fine.
    async fn remove(&self, name: &str) -> Result<(), EngineError>;

    /// The regular files under `path` in `image` (paths relative to it; a file is named by
    /// its own name), read without running anything in the image.
    async fn files(&self, image: &str, path: &str) -> Result<Vec<(String, Vec<u8>)>, EngineError>;

    /// The regular files under `roots` in `image` that `keep` accepts by absolute path, read
    /// without running anything in the image and without holding whole trees (what is
    /// installed, for the catalog). A root the image lacks is skipped; a file over
    /// `limits.file` is passed over, and more than `limits.total` in all is an error.
    async fn select(
        &self,
        image: &str,
        roots: &[&str],
        keep: fn(&str) -> bool,
        limits: Limits,
    ) -> Result<Vec<(String, Vec<u8>)>, EngineError>;
}
