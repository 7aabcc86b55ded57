//! Registries in memory, for fast tests of refresh and apply: what they hold, what pushes add
//! (the [fake engine](crate::engine::fake) pulls from and pushes to one), and registries that
//! refuse or do not answer. They pass [`super::conformance`], as the real client does.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use super::{Carried, Registry, RegistryError};
use crate::model::oci::{self, Descriptor, ImageManifest, RawManifest};
use crate::model::reference::ImageRef;

/// Docker Hub, where references without a registry host live.
const DOCKER_HUB: &str = "docker.io";

/// Answers from a table: a digest per reference, or an error; a reference by digest is there
/// when a tag of its repository points at that digest; anything else does not exist.
#[derive(Debug, Default)]
pub struct FakeRegistry {
    answers: Mutex<HashMap<String, Result<String, RegistryError>>>,
    /// Registries (`host:port`) that refuse this client, whatever it asks.
    refusing: BTreeSet<String>,
    /// Registries where nothing answers.
    down: BTreeSet<String>,
    /// Manifests and blobs, by repository and digest.
    content: Mutex<Content>,
    /// Registries that refuse to mount a blob from another repository (copies still work).
    no_mounts: BTreeSet<String>,
}

#[derive(Debug, Default)]
struct Content {
    manifests: HashMap<(String, String), RawManifest>,
    blobs: HashMap<(String, String), Vec<u8>>,
}

/// A layer for [`FakeRegistry::push_image`]: the tar of `files` (absolute path, content; an
/// empty content named `.wh.NAME` is a whiteout), compressed with gzip when `gzip`.
pub fn layer(files: &[(&str, &[u8])], gzip: bool) -> (Vec<u8>, Vec<u8>) {
    let mut tar = tar::Builder::new(Vec::new());
    for (path, content) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, path.trim_start_matches('/'), *content)
            .unwrap();
    }
    let tar = tar.into_inner().unwrap();
    if !gzip {
        return (tar.clone(), tar);
    }
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut encoder, &tar).unwrap();
    (encoder.finish().unwrap(), tar)
}

/// A stand-in digest: `sha256:` of `content`.
pub fn digest_of(content: impl AsRef<[u8]>) -> String {
    format!("sha256:{:x}", Sha256::digest(content))
}

impl FakeRegistry {
    pub fn with(answers: &[(&str, Result<&str, RegistryError>)]) -> Self {
        FakeRegistry {
            answers: Mutex::new(
                answers
                    .iter()
                    .map(|(reference, answer)| {
                        (reference.to_string(), answer.clone().map(str::to_string))
                    })
                    .collect(),
            ),
            ..FakeRegistry::default()
        }
    }

    /// Holds each of `references`, at the digest [`digest_of`] its text.
    pub fn holding(references: &[&str]) -> Self {
        let digests: Vec<String> = references.iter().map(digest_of).collect();
        let answers: Vec<_> = references
            .iter()
            .zip(&digests)
            .map(|(reference, digest)| (*reference, Ok(digest.as_str())))
            .collect();
        FakeRegistry::with(&answers)
    }

    /// The registry `registry` (`host:port`) refuses access, as one does to a client without
    /// the credentials it wants.
    pub fn refusing(mut self, registry: &str) -> Self {
        self.refusing.insert(registry.to_string());
        self
    }

    /// Nothing answers at `registry` (`host:port`).
    pub fn down(mut self, registry: &str) -> Self {
        self.down.insert(registry.to_string());
        self
    }

    /// Every reference a tag or push named, sorted.
    pub fn references(&self) -> Vec<String> {
        let mut all: Vec<String> = self.answers.lock().unwrap().keys().cloned().collect();
        all.sort();
        all
    }

    /// Mounts across repositories of `registry` (`host:port`) are refused.
    pub fn refusing_mounts(mut self, registry: &str) -> Self {
        self.no_mounts.insert(registry.to_string());
        self
    }

    /// Pushes an image as `reference`: `layers` (each its blob and its tar, from [`layer`]),
    /// and a config of `settings` (`Env`, `Labels`, ...) on linux/amd64 with a history entry
    /// a layer. Its manifest's digest.
    pub fn push_image(
        &self,
        reference: &str,
        layers: &[(Vec<u8>, Vec<u8>)],
        settings: serde_json::Value,
    ) -> String {
        let reference = ImageRef::parse(reference).unwrap();
        let diff_ids: Vec<String> = layers.iter().map(|(_, tar)| oci::digest(tar)).collect();
        let history: Vec<serde_json::Value> = (0..layers.len())
            .map(|i| serde_json::json!({ "created_by": format!("layer {i}") }))
            .collect();
        let config = serde_json::json!({
            "os": "linux", "architecture": "amd64", "config": settings,
            "rootfs": { "type": "layers", "diff_ids": diff_ids }, "history": history,
        });
        let config = serde_json::to_vec(&config).unwrap();
        let descriptor = |media_type: &str, bytes: &[u8]| Descriptor {
            media_type: media_type.into(),
            digest: oci::digest(bytes),
            size: bytes.len() as u64,
            rest: Default::default(),
        };
        let manifest = ImageManifest {
            schema_version: 2,
            media_type: Some(oci::OCI_MANIFEST.into()),
            config: descriptor("application/vnd.oci.image.config.v1+json", &config),
            layers: (layers.iter())
                .map(|(blob, tar)| {
                    let gzip = blob != tar;
                    let kind = match gzip {
                        true => "application/vnd.oci.image.layer.v1.tar+gzip",
                        false => "application/vnd.oci.image.layer.v1.tar",
                    };
                    descriptor(kind, blob)
                })
                .collect(),
            rest: Default::default(),
        };
        let mut content = self.content.lock().unwrap();
        let repository = reference.repository();
        for blob in layers.iter().map(|(blob, _)| blob).chain([&config]) {
            let key = (repository.clone(), oci::digest(blob));
            content.blobs.insert(key, blob.clone());
        }
        let raw = RawManifest::new(oci::OCI_MANIFEST, manifest.to_bytes());
        let digest = raw.digest.clone();
        content.manifests.insert((repository, digest.clone()), raw);
        drop(content);
        self.put(&reference, &digest).unwrap();
        digest
    }

    /// What a push leaves: `reference` names the manifest `digest`.
    pub fn put(&self, reference: &ImageRef, digest: &str) -> Result<(), RegistryError> {
        self.reach(reference)?;
        self.answers
            .lock()
            .unwrap()
            .insert(reference.as_str().to_string(), Ok(digest.to_string()));
        Ok(())
    }

    /// Whether the registry of `reference` answers this client, as the real client says it.
    fn reach(&self, reference: &ImageRef) -> Result<(), RegistryError> {
        let registry = reference
            .domain
            .as_deref()
            .unwrap_or(DOCKER_HUB)
            .to_string();
        if self.down.contains(&registry) {
            return Err(RegistryError::Unreachable {
                registry,
                detail: "connection refused after 3 attempts".into(),
            });
        }
        if self.refusing.contains(&registry) {
            return Err(RegistryError::Denied {
                registry,
                reference: reference.to_string(),
                detail: "unauthorized".into(),
            });
        }
        Ok(())
    }
}

fn unknown(reference: &ImageRef, what: &str) -> RegistryError {
    RegistryError::NotFound {
        reference: reference.to_string(),
        detail: format!("{what} unknown"),
    }
}

impl Registry for FakeRegistry {
    async fn digest(&self, reference: &ImageRef) -> Result<String, RegistryError> {
        self.answer(reference)
    }

    async fn manifest(&self, reference: &ImageRef) -> Result<RawManifest, RegistryError> {
        let digest = self.answer(reference)?;
        let content = self.content.lock().unwrap();
        (content.manifests.get(&(reference.repository(), digest)))
            .cloned()
            .ok_or_else(|| unknown(reference, "manifest"))
    }

    async fn blob(
        &self,
        reference: &ImageRef,
        digest: &str,
        limit: u64,
    ) -> Result<Vec<u8>, RegistryError> {
        self.reach(reference)?;
        let content = self.content.lock().unwrap();
        let key = (reference.repository(), digest.to_string());
        let blob = content
            .blobs
            .get(&key)
            .ok_or_else(|| unknown(reference, "blob"))?;
        if blob.len() as u64 > limit {
            return Err(RegistryError::Failed {
                registry: reference.domain.clone().unwrap_or_default(),
                reference: reference.to_string(),
                detail: format!("{digest} is over {limit} bytes, more than dispatch reads"),
                status: None,
            });
        }
        Ok(blob.clone())
    }

    async fn carry(
        &self,
        from: &ImageRef,
        to: &ImageRef,
        digest: &str,
    ) -> Result<Carried, RegistryError> {
        self.reach(from)?;
        self.reach(to)?;
        let mut content = self.content.lock().unwrap();
        let target = (to.repository(), digest.to_string());
        if content.blobs.contains_key(&target) {
            return Ok(Carried::Present);
        }
        let source = (from.repository(), digest.to_string());
        let blob = content.blobs.get(&source).cloned();
        let blob = blob.ok_or_else(|| unknown(from, "blob"))?;
        content.blobs.insert(target, blob);
        let mountable = (from.domain == to.domain)
            && !(to.domain.as_ref()).is_some_and(|d| self.no_mounts.contains(d));
        Ok(if mountable {
            Carried::Mounted
        } else {
            Carried::Copied
        })
    }

    async fn put_blob(&self, to: &ImageRef, bytes: Vec<u8>) -> Result<String, RegistryError> {
        self.reach(to)?;
        let digest = oci::digest(&bytes);
        let mut content = self.content.lock().unwrap();
        content
            .blobs
            .insert((to.repository(), digest.clone()), bytes);
        Ok(digest)
    }

    async fn put_manifest(
        &self,
        to: &ImageRef,
        manifest: &RawManifest,
    ) -> Result<String, RegistryError> {
        self.reach(to)?;
        let repository = to.repository();
        {
            let mut content = self.content.lock().unwrap();
            // As a registry does: the blobs an image's manifest names must be there.
            if let Ok(oci::Manifest::Image(image)) = oci::Manifest::parse(manifest) {
                let missing = (image.layers.iter()).chain([&image.config]).any(|d| {
                    !content
                        .blobs
                        .contains_key(&(repository.clone(), d.digest.clone()))
                });
                if missing {
                    return Err(unknown(to, "blob"));
                }
            }
            content
                .manifests
                .insert((repository, manifest.digest.clone()), manifest.clone());
        }
        self.put(to, &manifest.digest)?;
        Ok(manifest.digest.clone())
    }
}

impl FakeRegistry {
    /// [`Registry::digest`], without waiting: the fake engine asks it as it builds.
    pub fn answer(&self, reference: &ImageRef) -> Result<String, RegistryError> {
        self.reach(reference)?;
        let answers = self.answers.lock().unwrap();
        if let Some(answer) = answers.get(reference.as_str()) {
            return answer.clone();
        }
        // By digest: there when a tag of the same repository points at it, or pointed at
        // it (its manifest is kept).
        let repository = reference.repository();
        let in_repository =
            |text: &str| ImageRef::parse(text).is_ok_and(|r| r.repository() == repository);
        let kept = |digest: &String| {
            let content = self.content.lock().unwrap();
            (content.manifests).contains_key(&(repository.clone(), digest.clone()))
        };
        match &reference.digest {
            Some(digest)
                if kept(digest)
                    || (answers.iter()).any(|(text, answer)| {
                        answer.as_ref() == Ok(digest) && in_repository(text)
                    }) =>
            {
                Ok(digest.clone())
            }
            _ => Err(RegistryError::NotFound {
                reference: reference.to_string(),
                detail: "manifest unknown".into(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::fake::FakeEngine;
    use crate::registry::conformance::{self, Subject};

    struct Fake {
        engine: FakeEngine,
    }

    impl Subject for Fake {
        type Registry = FakeRegistry;
        type Engine = FakeEngine;

        fn registry(&self) -> &FakeRegistry {
            self.engine.registry()
        }

        fn engine(&self) -> &FakeEngine {
            &self.engine
        }

        fn existing(&self) -> ImageRef {
            ImageRef::parse(EXISTING).unwrap()
        }

        fn refusing(&self) -> ImageRef {
            ImageRef::parse("127.0.0.1:5001/private/base:1").unwrap()
        }

        fn unreachable(&self) -> ImageRef {
            ImageRef::parse("127.0.0.1:9/base/x:1").unwrap()
        }

        fn writable(&self) -> ImageRef {
            ImageRef::parse("127.0.0.1:5000/conformance/copy:1").unwrap()
        }
    }

    const EXISTING: &str = "127.0.0.1:5000/base/busybox:1";

    #[test]
    fn passes_the_conformance_suite() {
        let registry = FakeRegistry::default()
            .refusing("127.0.0.1:5001")
            .down("127.0.0.1:9");
        let busybox = layer(&[("/bin/busybox", b"\x7fELF")], true);
        let etc = layer(&[("/etc/passwd", b"root:x:0:0::/root:/bin/sh\n")], false);
        registry.push_image(EXISTING, &[busybox, etc], serde_json::json!({}));
        let subject = Fake {
            engine: FakeEngine::pulling_from(registry),
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(conformance::run(&subject));
    }
}
