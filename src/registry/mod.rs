//! Registries, over the OCI distribution API: what a tag points at, asked without pulling.
//! [`oci`] speaks to real registries with the credentials of the docker config
//! ([`credentials`]); tests use a fake. Both pass the same `conformance` suite (built for the
//! unit tests, and with the `testing` feature for tests/).

#[cfg(any(test, feature = "testing"))]
pub mod conformance;
#[cfg(feature = "adapters")]
pub mod credentials;
#[cfg(test)]
pub mod fake;
#[cfg(feature = "adapters")]
pub mod oci;

use std::net::IpAddr;

use crate::model::oci::{
    ImageConfig, ImageManifest, JSON_LIMIT, Manifest, OciError, Platform, RawManifest,
};
use crate::model::reference::{ImageRef, ReferenceError};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("{reference} does not exist in the registry: {detail}")]
    NotFound { reference: String, detail: String },
    #[error("registry {registry} refused access to {reference}: {detail}")]
    Denied {
        registry: String,
        reference: String,
        detail: String,
    },
    /// No answer, or none worth having: `connection refused after 3 attempts`, `HTTP 500 after
    /// 3 attempts`, `no answer within 2m`.
    #[error("cannot reach registry {registry} ({detail})")]
    Unreachable { registry: String, detail: String },
    #[error("registry {registry} failed for {reference}: {detail}")]
    Failed {
        registry: String,
        reference: String,
        detail: String,
        /// The HTTP status, when the registry answered with one.
        status: Option<u16>,
    },
}

impl RegistryError {
    /// Whether trying again may help: no answer, a server error, or too many requests.
    pub fn is_transient(&self) -> bool {
        match self {
            RegistryError::Unreachable { .. } => true,
            RegistryError::Failed {
                status: Some(code), ..
            } => *code >= 500 || *code == 429,
            _ => false,
        }
    }
}

/// How a blob came to be in a repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carried {
    /// It was there already.
    Present,
    /// Mounted from the repository it is in, in the same registry: nothing sent.
    Mounted,
    /// Read from where it is and written again.
    Copied,
}

/// A registry client. Existence is a digest: a reference that has none does not exist.
// dispatch drives these futures on one thread; callers need not send them elsewhere.
#[allow(async_fn_in_trait)]
pub trait Registry {
    /// The digest (`sha256:...`) of the manifest `reference` names, as the engine's RepoDigests
    /// show it.
    async fn digest(&self, reference: &ImageRef) -> Result<String, RegistryError>;

    /// The manifest `reference` names, as the registry holds it (an image's, or an index of
    /// one per platform); its media type may be left empty, for its own field to say.
    async fn manifest(&self, reference: &ImageRef) -> Result<RawManifest, RegistryError>;

    /// The blob `digest` of `reference`'s repository, refused past `limit` bytes.
    async fn blob(
        &self,
        reference: &ImageRef,
        digest: &str,
        limit: u64,
    ) -> Result<Vec<u8>, RegistryError>;

    /// Makes the blob `digest` of `from`'s repository one of `to`'s: mounted across
    /// repositories when both are in a registry that allows it, else copied.
    async fn carry(
        &self,
        from: &ImageRef,
        to: &ImageRef,
        digest: &str,
    ) -> Result<Carried, RegistryError>;

    /// Uploads `bytes` as a blob of `to`'s repository; its digest.
    async fn put_blob(&self, to: &ImageRef, bytes: Vec<u8>) -> Result<String, RegistryError>;

    /// Pushes `manifest` as `to` (its tag); the digest the registry names it by.
    async fn put_manifest(
        &self,
        to: &ImageRef,
        manifest: &RawManifest,
    ) -> Result<String, RegistryError>;
}

/// Why an image's manifest and config could not be had.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Oci(#[from] OciError),
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    #[error("it is an index of platforms")]
    Index,
}

/// The image manifest `reference` names (the one for `platform`, from an index), where it
/// is (`repository@digest` of the manifest for that platform), and its config.
pub async fn image<R: Registry>(
    registries: &R,
    reference: &ImageRef,
    platform: Option<&Platform>,
) -> Result<(ImageRef, ImageManifest, ImageConfig), FetchError> {
    let raw = registries.manifest(reference).await?;
    let (reference, manifest) = match Manifest::parse(&raw)? {
        Manifest::Image(manifest) => (reference.clone(), manifest),
        Manifest::Index(entries) => {
            let wanted = platform.ok_or(FetchError::Index)?;
            let entry = Manifest::for_platform(&entries, wanted)?;
            let one = ImageRef::parse(&format!("{}@{}", reference.repository(), entry.digest))?;
            match Manifest::parse(&registries.manifest(&one).await?)? {
                Manifest::Image(manifest) => (one, manifest),
                Manifest::Index(_) => return Err(FetchError::Index),
            }
        }
    };
    let config = (registries.blob(&reference, &manifest.config.digest, JSON_LIMIT)).await?;
    let config = ImageConfig::parse(&config)?;
    Ok((reference, manifest, config))
}

/// `127.0.0.0/8`, `[::1]` and `localhost`, with or without a port.
pub fn is_loopback(registry: &str) -> bool {
    let host = match registry.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
        _ => registry,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_registries_are_recognised() {
        for yes in [
            "127.0.0.1:5000",
            "127.1.2.3",
            "localhost:5000",
            "[::1]:5000",
            "localhost",
        ] {
            assert!(is_loopback(yes), "{yes}");
        }
        for no in [
            "10.0.0.1:5000",
            "registry.example",
            "docker.io",
            "localhost.example:5000",
        ] {
            assert!(!is_loopback(no), "{no}");
        }
    }
}
