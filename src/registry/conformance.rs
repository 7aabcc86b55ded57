//! The behaviour every [`Registry`] must have, as one suite that the fake's unit test and the
//! real client's integration test both run: a tag that exists gives the digest an engine
//! records when it pulls it; what is not there is `NotFound`; a registry that refuses is
//! `Denied`, one that does not answer `Unreachable`, each naming what the real client names;
//! an image's manifest and blobs read back as they are, bounded, and an image put together in
//! another repository from them (blobs carried, its config uploaded, its manifest pushed) is
//! the same image there.

use super::{Carried, Registry, RegistryError};
use crate::conformance::Verdict;
use crate::engine::Engine;
use crate::model::oci::{self, ImageConfig, ImageManifest, JSON_LIMIT, Manifest, RawManifest};
use crate::model::reference::ImageRef;

/// A registry client under test, and what the suite needs to know of the world it asks.
pub trait Subject {
    type Registry: Registry;
    /// An engine that pulls from the same registries.
    type Engine: Engine;

    fn registry(&self) -> &Self::Registry;

    fn engine(&self) -> &Self::Engine;

    /// A tag that exists, in a registry (`host:port/path:tag`) that answers this client.
    fn existing(&self) -> ImageRef;

    /// A reference in a registry that refuses this client its credentials (or their lack).
    fn refusing(&self) -> ImageRef;

    /// A reference in a registry that does not answer.
    fn unreachable(&self) -> ImageRef;

    /// A tag of a repository of its own, in the registry of [`Subject::existing`], that the
    /// client may push to.
    fn writable(&self) -> ImageRef;
}

/// Runs every check against `subject`; panics naming those that failed, and why.
pub async fn run<S: Subject>(subject: &S) {
    let mut verdict = Verdict::new("registry");
    verdict
        .check_async(
            "a tag that exists gives the digest the engine records when it pulls it",
            existing(subject),
        )
        .await;
    verdict
        .check_async(
            "a missing tag, repository or digest is NotFound, naming the reference",
            missing(subject),
        )
        .await;
    verdict
        .check_async(
            "a registry that refuses the client is Denied, naming it and the reference",
            refused(subject),
        )
        .await;
    verdict
        .check_async(
            "a registry that does not answer is Unreachable, naming it",
            unreachable(subject),
        )
        .await;
    verdict
        .check_async(
            "an image's manifest and blobs read back as their digests say, within a limit",
            contents(subject),
        )
        .await;
    verdict
        .check_async(
            "an image put together in another repository reads back the same there",
            copied(subject),
        )
        .await;
    verdict.finish();
}

/// The image manifest of `reference`, its bytes, and its config.
async fn image<S: Subject>(
    subject: &S,
    reference: &ImageRef,
) -> (ImageManifest, RawManifest, Vec<u8>) {
    let raw = subject.registry().manifest(reference).await.unwrap();
    let Manifest::Image(manifest) = Manifest::parse(&raw).unwrap() else {
        panic!("{reference} is an index, not an image's manifest");
    };
    let config = (subject.registry())
        .blob(reference, &manifest.config.digest, JSON_LIMIT)
        .await
        .unwrap();
    (manifest, raw, config)
}

async fn contents<S: Subject>(subject: &S) {
    let tag = subject.existing();
    let (manifest, raw, config) = image(subject, &tag).await;
    let digest = subject.registry().digest(&tag).await.unwrap();
    assert_eq!(raw.digest, digest, "the manifest's digest");
    assert_eq!(oci::digest(&raw.bytes), digest, "the manifest's bytes");
    assert_eq!(
        oci::digest(&config),
        manifest.config.digest,
        "the config's bytes"
    );
    let config = ImageConfig::parse(&config).unwrap();
    assert_eq!(config.diff_ids().len(), manifest.layers.len());
    let layer = &manifest.layers[0];
    let registry = subject.registry();
    let blob = registry
        .blob(&tag, &layer.digest, layer.size)
        .await
        .unwrap();
    assert_eq!(oci::digest(&blob), layer.digest, "the layer's bytes");
    let refused = registry.blob(&tag, &layer.digest, layer.size - 1).await;
    assert!(
        matches!(refused, Err(RegistryError::Failed { .. })),
        "a blob over the limit: {refused:?}"
    );
    let unknown = format!("sha256:{}", "0".repeat(64));
    match registry.blob(&tag, &unknown, 1 << 20).await {
        Err(RegistryError::NotFound { .. }) => {}
        other => panic!("a missing blob: expected NotFound, got {other:?}"),
    }
}

async fn copied<S: Subject>(subject: &S) {
    let (from, to) = (subject.existing(), subject.writable());
    let registry = subject.registry();
    let (manifest, raw, config) = image(subject, &from).await;
    // A manifest whose blobs are not there yet is refused.
    assert!(
        registry.put_manifest(&to, &raw).await.is_err(),
        "a manifest before its blobs"
    );
    for layer in &manifest.layers {
        let carried = registry.carry(&from, &to, &layer.digest).await.unwrap();
        assert_ne!(
            carried,
            Carried::Present,
            "{} was not in {to} yet",
            layer.digest
        );
    }
    let again = registry.carry(&from, &to, &manifest.layers[0].digest).await;
    assert_eq!(again, Ok(Carried::Present), "a blob carried twice");
    assert_eq!(
        registry.put_blob(&to, config).await.unwrap(),
        manifest.config.digest
    );
    let pushed = RawManifest {
        media_type: manifest.kind().to_string(),
        ..raw.clone()
    };
    assert_eq!(
        registry.put_manifest(&to, &pushed).await.unwrap(),
        raw.digest
    );
    assert_eq!(
        registry.digest(&to).await.unwrap(),
        raw.digest,
        "the tag pushed"
    );
    let back = registry.manifest(&to).await.unwrap();
    assert_eq!(back.bytes, raw.bytes, "the manifest pushed");
}

fn parse(text: &str) -> ImageRef {
    ImageRef::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// `sha256:` and 64 lowercase hex digits.
fn is_digest(text: &str) -> bool {
    text.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    })
}

async fn existing<S: Subject>(subject: &S) {
    let tag = subject.existing();
    let digest = subject.registry().digest(&tag).await.unwrap();
    assert!(
        is_digest(&digest),
        "{tag} gave {digest}, which is no digest"
    );
    let pulled = subject.engine().pull(&tag, &|_| {}).await.unwrap();
    assert_eq!(
        pulled.digest_in(&tag).as_deref(),
        Some(digest.as_str()),
        "the engine's RepoDigests of {tag}: {:?}",
        pulled.repo_digests
    );
    let pinned = parse(&format!("{}@{digest}", tag.repository()));
    assert_eq!(
        subject.registry().digest(&pinned).await.as_ref(),
        Ok(&digest),
        "asked by its digest"
    );
}

async fn missing<S: Subject>(subject: &S) {
    let tag = subject.existing();
    let registry = tag.domain.as_deref().expect("the tag names its registry");
    let unknown = format!("sha256:{}", "0".repeat(64));
    for text in [
        format!("{}:dispatch-conformance-missing", tag.repository()),
        format!("{registry}/dispatch-conformance/missing-repository:1"),
        format!("{}@{unknown}", tag.repository()),
    ] {
        let reference = parse(&text);
        let answer = subject.registry().digest(&reference).await;
        match answer {
            Err(RegistryError::NotFound { reference, .. }) => assert_eq!(reference, text),
            other => panic!("{text}: expected NotFound, got {other:?}"),
        }
    }
}

async fn refused<S: Subject>(subject: &S) {
    let reference = subject.refusing();
    match subject.registry().digest(&reference).await {
        Err(RegistryError::Denied {
            registry,
            reference: named,
            ..
        }) => {
            assert_eq!(Some(registry), reference.domain, "the registry named");
            assert_eq!(named, reference.as_str(), "the reference named");
        }
        other => panic!("{reference}: expected Denied, got {other:?}"),
    }
}

async fn unreachable<S: Subject>(subject: &S) {
    let reference = subject.unreachable();
    let answer = subject.registry().digest(&reference).await;
    let Err(error @ RegistryError::Unreachable { registry, .. }) = &answer else {
        panic!("{reference}: expected Unreachable, got {answer:?}");
    };
    assert_eq!(
        Some(registry),
        reference.domain.as_ref(),
        "the registry named"
    );
    assert!(error.is_transient(), "trying again may help: {error}");
}
