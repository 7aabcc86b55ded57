//! The registry client against a real registry (started by `.ci/services`).

use crate::common::env;

use dispatch::model::reference::ImageRef;
use dispatch::registry::oci::Registries;
use dispatch::registry::{Registry, RegistryError};

fn registries(reference: &ImageRef) -> Registries {
    Registries::new(
        reference.domain.as_deref(),
        &[],
        dispatch::config::DEFAULT_TIMEOUT,
    )
}

#[tokio::test]
async fn digest_of_a_tag_matches_what_was_pushed() {
    crate::common::needs!(services);
    let base = ImageRef::parse(&env("DISPATCH_TEST_BASE")).unwrap();
    let digest = registries(&base).digest(&base).await.unwrap();
    assert_eq!(digest, env("DISPATCH_TEST_BASE_DIGEST"));
}

#[tokio::test]
async fn missing_tag_is_not_found() {
    crate::common::needs!(services);
    let missing = ImageRef::parse(&format!(
        "{}/base/does-not-exist:0.0.1",
        env("DISPATCH_TEST_REGISTRY")
    ))
    .unwrap();
    let err = registries(&missing).digest(&missing).await.unwrap_err();
    assert!(matches!(err, RegistryError::NotFound { .. }), "{err}");
}

#[tokio::test]
async fn closed_port_is_unreachable() {
    crate::common::needs!(services);
    let nowhere = ImageRef::parse("127.0.0.1:9/base/x:1").unwrap();
    let err = registries(&nowhere).digest(&nowhere).await.unwrap_err();
    assert!(matches!(err, RegistryError::Unreachable { .. }), "{err}");
}
