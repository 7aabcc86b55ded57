//! Registry credentials from a docker config file, against a real htpasswd registry. The test
//! runs in a process of its own, whose DOCKER_CONFIG no other test shares.

use crate::common::env;

use std::collections::HashMap;

use dispatch::engine::docker::DockerEngine;
use dispatch::engine::{BuildRequest, Engine};
use dispatch::model::image::Builder;
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
async fn auth_registry_needs_the_docker_config_credentials() {
    crate::common::needs!(services);
    let config = tempfile::tempdir().unwrap();
    if !crate::common::in_own_process(&[("DOCKER_CONFIG", config.path())]) {
        return;
    }
    let config = std::path::PathBuf::from(env("DOCKER_CONFIG"));
    let image = ImageRef::parse(&env("DISPATCH_TEST_AUTH_IMAGE")).unwrap();
    let denied = registries(&image).digest(&image).await.unwrap_err();
    assert!(matches!(denied, RegistryError::Denied { .. }), "{denied}");
    let password = env("DISPATCH_TEST_AUTH_PASSWORD");
    assert!(!denied.to_string().contains(&password));
    use base64::Engine as _;
    let auth = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{password}", env("DISPATCH_TEST_AUTH_USER")));
    let registry = image.domain.clone().unwrap();
    std::fs::write(
        config.join("config.json"),
        format!(r#"{{"auths": {{"{registry}": {{"auth": "{auth}"}}}}}}"#),
    )
    .unwrap();
    let digest = registries(&image).digest(&image).await.unwrap();
    assert_eq!(digest, env("DISPATCH_TEST_AUTH_IMAGE_DIGEST"));

    // The engine pulls with the same credentials.
    let engine = DockerEngine::connect(
        &crate::common::engine_address(),
        dispatch::config::DEFAULT_TIMEOUT,
    )
    .await
    .unwrap();
    let pulled = engine.pull(&image, &|_| {}).await.unwrap();
    assert_eq!(pulled.digest_in(&image).as_deref(), Some(digest.as_str()));

    // BuildKit builds FROM the base pinned by digest out of the engine's own store: with the
    // credentials gone, any question to the registry would be refused.
    let config_file = config.join("config.json");
    let credentials = std::fs::read(&config_file).unwrap();
    std::fs::remove_file(&config_file).unwrap();
    let pinned = format!("{}@{digest}", image.repository());
    build_on(&engine, &image, &pinned).await;

    // Should the base leave the store before its build, BuildKit fetches it itself, with the
    // credentials dispatch hands to the build's session.
    let untag = std::process::Command::new("docker")
        .args(["rmi", &pinned, image.as_str()])
        .output()
        .unwrap();
    assert!(untag.status.success(), "{untag:?}");
    std::fs::write(&config_file, credentials).unwrap();
    build_on(&engine, &image, &pinned).await;
}

/// Builds an image `FROM pinned` with BuildKit that runs a command, and checks its output.
async fn build_on(engine: &DockerEngine, base: &ImageRef, pinned: &str) {
    let tag = "dispatch-test/auth-base-child:1";
    let dockerfile = format!("FROM {pinned}\nRUN echo built > /built\n");
    let mut context = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(dockerfile.len() as u64);
    header.set_mode(0o644);
    context
        .append_data(&mut header, "Dockerfile", dockerfile.as_bytes())
        .unwrap();
    let request = BuildRequest {
        context: context.into_inner().unwrap(),
        tag,
        build_args: &HashMap::new(),
        network: None,
        builder: Builder::BuildKit,
        base: Some(base),
        labels: Default::default(),
    };
    engine
        .build(request, &|_| {})
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let built = engine.files(tag, "/built").await.unwrap();
    assert_eq!(built, [("built".to_string(), b"built\n".to_vec())]);
    engine.remove(tag).await.unwrap();
}
