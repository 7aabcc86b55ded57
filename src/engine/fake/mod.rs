//! An engine in memory, for fast tests of what drives an engine: which steps start, in what
//! order, and what happens when one fails. It pulls from and pushes to a
//! [`FakeRegistry`], builds as [`dockerfile`] says, holds images by tag, id and digest, and
//! passes [`super::conformance`], as the Docker engine does.

mod dockerfile;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use super::{BuildRequest, Engine, EngineError, OnProgress};
use crate::model::image::{BuildFailure, Limits, LocalImage};
use crate::model::reference::ImageRef;
use crate::registry::RegistryError;
use crate::registry::fake::{FakeRegistry, digest_of};

/// When every image the fake pulls or builds was made.
const CREATED: &str = "2026-01-01T00:00:00Z";

/// What the fake has been asked to do, in order: `pull REF`, `build TAG`, `push REF`,
/// `remove NAME`.
pub type Calls = Vec<String>;

/// Called with each call's text as it starts.
type Hook = Box<dyn Fn(&str) + Sync>;

#[derive(Default)]
pub struct FakeEngine {
    registry: FakeRegistry,
    held: Mutex<Held>,
    calls: Mutex<Calls>,
    /// Builds whose tag starts with one of these fail.
    failing_builds: BTreeSet<String>,
    on_call: Option<Hook>,
    /// Set when the engine went away: every call fails, as on a socket nobody listens to.
    gone: AtomicBool,
    /// The engine goes away as a call starting with this starts.
    away_at: Option<String>,
}

/// What a call to an engine that went away says.
const GONE: &str = "Cannot connect to the Docker daemon. Is the docker daemon running?";

/// An image: what inspect shows of it, and its files by absolute path.
#[derive(Debug, Clone, Default)]
struct Image {
    shown: LocalImage,
    files: BTreeMap<String, Vec<u8>>,
}

/// What the engine holds, and what it pushed.
#[derive(Default)]
struct Held {
    /// Image ids by name (`repository:tag`).
    tags: HashMap<String, String>,
    /// Images by id.
    images: HashMap<String, Image>,
    /// The images pushed, by manifest digest: what pulling that digest back gives.
    pushed: HashMap<String, Image>,
}

impl Held {
    /// The id of the image named `name`: by tag, by id or by `repository@digest`.
    fn id(&self, name: &str) -> Option<String> {
        if let Some(id) = self.tags.get(name) {
            return Some(id.clone());
        }
        if self.images.contains_key(name) {
            return Some(name.to_string());
        }
        (self.images.values())
            .find(|image| image.shown.repo_digests.iter().any(|d| d == name))
            .map(|image| image.shown.id.clone())
    }

    fn find(&self, name: &str) -> Option<&Image> {
        self.images.get(&self.id(name)?)
    }

    /// The image `name` names, to read files from as the engine would, from a container of it.
    fn readable(&self, name: &str) -> Result<&Image, EngineError> {
        self.find(name).ok_or_else(|| {
            files(format!(
                "cannot create a container of {name}: No such image: {name}"
            ))
        })
    }

    /// Holds `image`, keeping the repository digests of the same image held before.
    fn keep(&mut self, mut image: Image) -> &mut Image {
        let id = image.shown.id.clone();
        if let Some(held) = self.images.remove(&id) {
            image.shown.repo_digests = held.shown.repo_digests;
        }
        self.images.entry(id).or_insert(image)
    }
}

impl FakeEngine {
    /// An engine that pulls from and pushes to `registry`.
    pub fn pulling_from(registry: FakeRegistry) -> Self {
        FakeEngine {
            registry,
            ..FakeEngine::default()
        }
    }

    /// The registries it pulls from and pushes to.
    pub fn registry(&self) -> &FakeRegistry {
        &self.registry
    }

    /// The registry it pulls from, the engine gone.
    pub fn into_registry(self) -> FakeRegistry {
        self.registry
    }

    /// Builds whose tag starts with `prefix` fail, at their last `RUN` step.
    pub fn failing_build(mut self, prefix: &str) -> Self {
        self.failing_builds.insert(prefix.to_string());
        self
    }

    /// The engine holds an image under `name` from the start.
    pub fn holding(mut self, name: &str) -> Self {
        let image = Image {
            shown: LocalImage {
                id: digest_of(name),
                created: Some(CREATED.into()),
                ..LocalImage::default()
            },
            ..Image::default()
        };
        let held = self.held.get_mut().unwrap();
        held.tags.insert(name.to_string(), image.shown.id.clone());
        held.keep(image);
        self
    }

    /// Calls `hook` as each call starts (to interrupt a run at a chosen point, say).
    pub fn on_call(mut self, hook: impl Fn(&str) + Sync + 'static) -> Self {
        self.on_call = Some(Box::new(hook));
        self
    }

    /// The engine goes away as the first call starting with `prefix` (`build dispatch/i`)
    /// starts: that call and every later one fail.
    pub fn going_away_at(mut self, prefix: &str) -> Self {
        self.away_at = Some(prefix.to_string());
        self
    }

    /// From now on the engine does not answer (dockerd killed).
    pub fn go_away(&self) {
        self.gone.store(true, Ordering::SeqCst);
    }

    /// Whether it went away: the detail every call then fails with.
    fn gone(&self) -> Result<(), String> {
        match self.gone.load(Ordering::SeqCst) {
            true => Err(GONE.to_string()),
            false => Ok(()),
        }
    }

    pub fn calls(&self) -> Calls {
        self.calls.lock().unwrap().clone()
    }

    async fn call(&self, text: String) {
        if let Some(hook) = &self.on_call {
            hook(&text);
        }
        if self.away_at.as_ref().is_some_and(|p| text.starts_with(p)) {
            self.go_away();
        }
        self.calls.lock().unwrap().push(text);
        // As a real engine's answer would, this lets other work run meanwhile.
        tokio::task::yield_now().await;
    }

    /// The image `reference` names in its registry, and its digest, without holding it.
    fn fetch(&self, reference: &ImageRef) -> Result<(String, Image), RegistryError> {
        let digest = self.registry.answer(reference)?;
        let pushed = self.held.lock().unwrap().pushed.get(&digest).cloned();
        let image = pushed.unwrap_or_else(|| Image {
            shown: LocalImage {
                id: digest_of(&digest),
                created: Some(CREATED.into()),
                ..LocalImage::default()
            },
            ..Image::default()
        });
        Ok((digest, image))
    }
}

/// A registry's refusal, as the Docker engine words it in a failed pull.
fn pull_detail(reference: &ImageRef, error: RegistryError) -> String {
    match error {
        RegistryError::NotFound { .. } => {
            format!("manifest for {reference} not found: manifest unknown: manifest unknown")
        }
        RegistryError::Denied { .. } => "no basic auth credentials".into(),
        other => other.to_string(),
    }
}

fn files(detail: String) -> EngineError {
    EngineError::Files { detail }
}

impl Engine for FakeEngine {
    async fn ping(&self) -> Result<(), EngineError> {
        self.gone().map_err(|detail| EngineError::Unreachable {
            address: "fake".into(),
            detail,
        })
    }

    async fn pull(
        &self,
        reference: &ImageRef,
        _: OnProgress<'_>,
    ) -> Result<LocalImage, EngineError> {
        self.call(format!("pull {reference}")).await;
        self.gone().map_err(|detail| EngineError::Pull {
            reference: reference.to_string(),
            detail,
        })?;
        let (digest, image) = self.fetch(reference).map_err(|error| EngineError::Pull {
            reference: reference.to_string(),
            detail: pull_detail(reference, error),
        })?;
        let mut held = self.held.lock().unwrap();
        if reference.digest.is_none() {
            held.tags
                .insert(reference.as_str().to_string(), image.shown.id.clone());
        }
        let image = held.keep(image);
        let pinned = format!("{}@{digest}", reference.repository());
        if !image.shown.repo_digests.contains(&pinned) {
            image.shown.repo_digests.push(pinned);
        }
        Ok(image.shown.clone())
    }

    async fn inspect(&self, name: &str) -> Result<Option<LocalImage>, EngineError> {
        self.gone().map_err(|detail| EngineError::Inspect {
            name: name.to_string(),
            detail,
        })?;
        let held = self.held.lock().unwrap();
        Ok(held.find(name).map(|image| image.shown.clone()))
    }

    async fn build(
        &self,
        request: BuildRequest<'_>,
        progress: OnProgress<'_>,
    ) -> Result<String, BuildFailure> {
        self.call(format!("build {}", request.tag)).await;
        self.gone().map_err(|message| BuildFailure {
            message,
            step: None,
            last_lines: Vec::new(),
        })?;
        let failing = (self.failing_builds.iter()).any(|t| request.tag.starts_with(t));
        // A base the engine lacks is fetched, as both builders do.
        let from = |name: &str| {
            if let Some(image) = self.held.lock().unwrap().find(name) {
                return Ok(image.clone());
            }
            let reference =
                ImageRef::parse(name).map_err(|e| format!("invalid reference format: {e}"))?;
            (self.fetch(&reference))
                .map(|(_, image)| image)
                .map_err(|e| pull_detail(&reference, e))
        };
        let image = dockerfile::build(&request, &from, failing, progress)?;
        let id = image.shown.id.clone();
        // An image the tag named before stays, known by its id.
        let mut held = self.held.lock().unwrap();
        held.keep(image);
        held.tags.insert(request.tag.to_string(), id.clone());
        Ok(id)
    }

    async fn push(&self, reference: &ImageRef, _: OnProgress<'_>) -> Result<String, EngineError> {
        self.call(format!("push {reference}")).await;
        let fail = |detail: String| EngineError::Push {
            reference: reference.to_string(),
            detail,
        };
        self.gone().map_err(fail)?;
        let mut held = self.held.lock().unwrap();
        let image = held.find(reference.as_str()).cloned().ok_or_else(|| {
            fail(format!(
                "An image does not exist locally with the tag: {}",
                reference.repository()
            ))
        })?;
        // The same image makes the same manifest, whichever repository it goes to.
        let digest = digest_of(format!("manifest of {}", image.shown.id));
        self.registry
            .put(reference, &digest)
            .map_err(|e| fail(e.to_string()))?;
        let pinned = format!("{}@{digest}", reference.repository());
        let mut pushed = image.clone();
        pushed.shown.repo_digests = Vec::new();
        held.pushed.insert(digest.clone(), pushed);
        let image = held.images.get_mut(&image.shown.id).expect("found above");
        if !image.shown.repo_digests.contains(&pinned) {
            image.shown.repo_digests.push(pinned);
        }
        Ok(digest)
    }

    async fn remove(&self, name: &str) -> Result<(), EngineError> {
        self.call(format!("remove {name}")).await;
        let mut held = self.held.lock().unwrap();
        let Some(id) = held.id(name) else {
            return Ok(());
        };
        let tags = held.tags.values().filter(|t| **t == id).count();
        if held.tags.remove(name).is_some() {
            // The last tag takes the image, and its repository digests, with it.
            if tags == 1 {
                held.images.remove(&id);
            }
        } else if name == id {
            if tags > 1 {
                return Err(EngineError::Remove {
                    name: name.to_string(),
                    detail: format!(
                        "conflict: unable to delete {name} (must be forced) - image is referenced in multiple repositories"
                    ),
                });
            }
            held.tags.retain(|_, t| *t != id);
            held.images.remove(&id);
        } else {
            let image = held.images.get_mut(&id).expect("found by its digest");
            image.shown.repo_digests.retain(|d| d != name);
            if tags == 0 && image.shown.repo_digests.is_empty() {
                held.images.remove(&id);
            }
        }
        Ok(())
    }

    async fn files(&self, image: &str, path: &str) -> Result<Vec<(String, Vec<u8>)>, EngineError> {
        let held = self.held.lock().unwrap();
        let found = held.readable(image)?;
        let path = path.trim_end_matches('/');
        if let Some(content) = found.files.get(path) {
            let name = path.rsplit('/').next().unwrap_or(path);
            return Ok(vec![(name.to_string(), content.clone())]);
        }
        let under: Vec<(String, Vec<u8>)> = (found.files.iter())
            .filter_map(|(p, content)| {
                let relative = p.strip_prefix(path)?.strip_prefix('/')?;
                Some((relative.to_string(), content.clone()))
            })
            .collect();
        if under.is_empty() {
            return Err(files(format!("{path} is not in the image")));
        }
        Ok(under)
    }

    async fn select(
        &self,
        image: &str,
        roots: &[&str],
        keep: fn(&str) -> bool,
        limits: Limits,
    ) -> Result<Vec<(String, Vec<u8>)>, EngineError> {
        let held = self.held.lock().unwrap();
        let found = held.readable(image)?;
        let mut selected = Vec::new();
        let mut total = 0;
        for root in roots {
            let root = root.trim_end_matches('/');
            let under = (found.files.iter()).filter(|(path, _)| {
                path.as_str() == root || path.strip_prefix(root).is_some_and(|r| r.starts_with('/'))
            });
            for (path, content) in under {
                let size = content.len() as u64;
                if size > limits.file || !keep(path) {
                    continue;
                }
                total += size;
                if total > limits.total {
                    return Err(files(format!(
                        "cannot read the archive of {root}: its package records come to more than {} MiB",
                        limits.total >> 20
                    )));
                }
                selected.push((path.clone(), content.clone()));
            }
        }
        Ok(selected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::conformance::{self, Subject};

    struct Fake(FakeEngine);

    impl Subject for Fake {
        type Engine = FakeEngine;
        type Registry = FakeRegistry;

        fn engine(&self) -> &FakeEngine {
            &self.0
        }

        fn registry(&self) -> &FakeRegistry {
            self.0.registry()
        }

        fn base(&self) -> ImageRef {
            ImageRef::parse(BASE).unwrap()
        }
    }

    const BASE: &str = "127.0.0.1:5000/base/busybox:1";

    #[test]
    fn passes_the_conformance_suite() {
        let subject = Fake(FakeEngine::pulling_from(FakeRegistry::holding(&[BASE])));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(conformance::run(&subject));
    }
}
