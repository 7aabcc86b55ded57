//! The behaviour every [`Registry`] must have, as one suite that the fake's unit test and the
//! real client's integration test both run: a tag that exists gives the digest an engine
//! records when it pulls it; what is not there is `NotFound`; a registry that refuses is
//! `Denied`, one that does not answer `Unreachable`, each naming what the real client names.

use super::{Registry, RegistryError};
use crate::conformance::Verdict;
use crate::engine::Engine;
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
    verdict.finish();
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
