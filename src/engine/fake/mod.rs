//! An engine in memory, for fast tests of what drives an engine: which steps start, in what
//! order, and what happens when one fails. Real behaviour is tested against dockerd.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use super::{BuildRequest, Engine, EngineError, OnProgress};
use crate::model::image::{BuildFailure, Limits, LocalImage, Step};
use crate::model::reference::ImageRef;

/// What the fake has been asked to do, in order: `pull REF`, `build TAG`, `push REF`,
/// `remove NAME`.
pub type Calls = Vec<String>;

/// Called with each call's text as it starts.
type Hook = Box<dyn Fn(&str) + Sync>;

#[derive(Default)]
pub struct FakeEngine {
    images: Mutex<HashMap<String, LocalImage>>,
    calls: Mutex<Calls>,
    /// Pulls of these references fail.
    failing_pulls: BTreeSet<String>,
    /// Builds whose tag starts with one of these fail.
    failing_builds: BTreeSet<String>,
    on_call: Option<Hook>,
}

/// A stand-in digest: `sha256:` of `text`.
pub fn digest_of(text: &str) -> String {
    format!("sha256:{:x}", Sha256::digest(text.as_bytes()))
}

impl FakeEngine {
    /// Pulls of `reference` fail.
    pub fn failing_pull(mut self, reference: &str) -> Self {
        self.failing_pulls.insert(reference.to_string());
        self
    }

    /// Builds whose tag starts with `prefix` fail.
    pub fn failing_build(mut self, prefix: &str) -> Self {
        self.failing_builds.insert(prefix.to_string());
        self
    }

    /// The engine holds an image under `name` from the start.
    pub fn holding(self, name: &str) -> Self {
        let image = LocalImage {
            id: digest_of(name),
            ..LocalImage::default()
        };
        self.hold(name, image);
        self
    }

    /// Calls `hook` as each call starts (to interrupt a run at a chosen point, say).
    pub fn on_call(mut self, hook: impl Fn(&str) + Sync + 'static) -> Self {
        self.on_call = Some(Box::new(hook));
        self
    }

    pub fn calls(&self) -> Calls {
        self.calls.lock().unwrap().clone()
    }

    /// Whether the engine holds an image under `name`.
    pub fn holds(&self, name: &str) -> bool {
        self.find(name).is_some()
    }

    fn call(&self, text: String) {
        if let Some(hook) = &self.on_call {
            hook(&text);
        }
        self.calls.lock().unwrap().push(text);
    }

    /// The image named `name`: by tag, by `repo@digest` or by id.
    fn find(&self, name: &str) -> Option<LocalImage> {
        let images = self.images.lock().unwrap();
        images.get(name).cloned().or_else(|| {
            images
                .values()
                .find(|i| i.id == name || i.repo_digests.iter().any(|d| d == name))
                .cloned()
        })
    }

    fn hold(&self, name: &str, image: LocalImage) {
        self.images.lock().unwrap().insert(name.to_string(), image);
    }
}

impl Engine for FakeEngine {
    async fn pull(
        &self,
        reference: &ImageRef,
        _: OnProgress<'_>,
    ) -> Result<LocalImage, EngineError> {
        self.call(format!("pull {reference}"));
        tokio::task::yield_now().await;
        if self.failing_pulls.contains(reference.as_str()) {
            return Err(EngineError::Pull {
                reference: reference.to_string(),
                detail: "manifest unknown".into(),
            });
        }
        let digest = reference
            .digest
            .clone()
            .unwrap_or_else(|| digest_of(reference.as_str()));
        let image = LocalImage {
            id: digest_of(&digest),
            repo_digests: vec![format!("{}@{digest}", reference.repository())],
            ..LocalImage::default()
        };
        self.hold(reference.as_str(), image.clone());
        Ok(image)
    }

    async fn inspect(&self, name: &str) -> Result<Option<LocalImage>, EngineError> {
        Ok(self.find(name))
    }

    async fn build(
        &self,
        request: BuildRequest<'_>,
        _: OnProgress<'_>,
    ) -> Result<String, BuildFailure> {
        self.call(format!("build {}", request.tag));
        tokio::task::yield_now().await;
        if self
            .failing_builds
            .iter()
            .any(|t| request.tag.starts_with(t))
        {
            return Err(BuildFailure {
                message: "the step's command returned a non-zero code: 1".into(),
                step: Some(Step {
                    number: 2,
                    of: 2,
                    text: "RUN false".into(),
                }),
                last_lines: vec!["no".into()],
            });
        }
        let id = digest_of(request.tag);
        self.hold(
            request.tag,
            LocalImage {
                id: id.clone(),
                ..LocalImage::default()
            },
        );
        Ok(id)
    }

    async fn push(&self, reference: &ImageRef, _: OnProgress<'_>) -> Result<String, EngineError> {
        self.call(format!("push {reference}"));
        Ok(digest_of(reference.as_str()))
    }

    async fn remove(&self, name: &str) -> Result<(), EngineError> {
        self.call(format!("remove {name}"));
        self.images.lock().unwrap().remove(name);
        Ok(())
    }

    async fn files(&self, image: &str, path: &str) -> Result<Vec<(String, Vec<u8>)>, EngineError> {
        Err(EngineError::Files {
            detail: format!("{path} is not in the image {image}"),
        })
    }

    /// Fake images hold no files: their catalog is empty.
    async fn select(
        &self,
        _: &str,
        _: &[&str],
        _: fn(&str) -> bool,
        _: Limits,
    ) -> Result<Vec<(String, Vec<u8>)>, EngineError> {
        Ok(Vec::new())
    }
}
