//! Registries in memory, for fast tests of refresh and apply: what they hold, what pushes add
//! (the [fake engine](crate::engine::fake) pulls from and pushes to one), and registries that
//! refuse or do not answer. They pass [`super::conformance`], as the real client does.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use super::{Registry, RegistryError};
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

impl Registry for FakeRegistry {
    async fn digest(&self, reference: &ImageRef) -> Result<String, RegistryError> {
        self.answer(reference)
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
        // By digest: there when a tag of the same repository points at it.
        let repository = reference.repository();
        let in_repository =
            |text: &str| ImageRef::parse(text).is_ok_and(|r| r.repository() == repository);
        match &reference.digest {
            Some(digest)
                if (answers.iter())
                    .any(|(text, answer)| answer.as_ref() == Ok(digest) && in_repository(text)) =>
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
    }

    const EXISTING: &str = "127.0.0.1:5000/base/busybox:1";

    #[test]
    fn passes_the_conformance_suite() {
        let registry = FakeRegistry::holding(&[EXISTING])
            .refusing("127.0.0.1:5001")
            .down("127.0.0.1:9");
        let subject = Fake {
            engine: FakeEngine::pulling_from(registry),
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(conformance::run(&subject));
    }
}
