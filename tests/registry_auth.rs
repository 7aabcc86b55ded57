//! Registry credentials from a docker config file, against a real htpasswd registry.
//! A test binary of its own: it sets DOCKER_CONFIG for the whole process.

mod common;
use common::env;

use dispatch::reference::ImageRef;
use dispatch::registry::{Registries, RegistryError};

fn registries(reference: &ImageRef) -> Registries {
    Registries::new(reference.domain.as_deref(), &[])
}

#[tokio::test]
async fn auth_registry_needs_the_docker_config_credentials() {
    let image = ImageRef::parse(&env("DISPATCH_TEST_AUTH_IMAGE")).unwrap();
    let config = tempfile::tempdir().unwrap();
    // SAFETY: the only test in this binary, so no other thread reads the environment.
    unsafe { std::env::set_var("DOCKER_CONFIG", config.path()) };
    let denied = registries(&image).digest(&image).await.unwrap_err();
    assert!(matches!(denied, RegistryError::Denied { .. }), "{denied}");
    let password = env("DISPATCH_TEST_AUTH_PASSWORD");
    assert!(!denied.to_string().contains(&password));
    use base64::Engine;
    let auth = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{password}", env("DISPATCH_TEST_AUTH_USER")));
    let registry = image.domain.clone().unwrap();
    std::fs::write(
        config.path().join("config.json"),
        format!(r#"{{"auths": {{"{registry}": {{"auth": "{auth}"}}}}}}"#),
    )
    .unwrap();
    let digest = registries(&image).digest(&image).await.unwrap();
    assert_eq!(digest, env("DISPATCH_TEST_AUTH_IMAGE_DIGEST"));
}
