//! Registries through oci-client: a translator from references and credentials to manifest
//! digests, and from the client's errors to [`RegistryError`].

use std::sync::OnceLock;

use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};

use super::credentials::{self, Credential};
use super::{Registry, RegistryError, is_loopback};
use crate::model::reference::ImageRef;

/// Docker Hub, where references without a registry host live.
const DEFAULT_REGISTRY: &str = "docker.io";

/// A client for every registry a run talks to. Plain HTTP is used only for loopback
/// registries and those listed as insecure; everything else is HTTPS.
pub struct Registries {
    plain_http: Vec<String>,
    /// Made on first use: making one reads every system root certificate (twice, in
    /// oci-client 0.18), tens of milliseconds that a run which never asks a registry can skip.
    client: OnceLock<Client>,
}

impl Registries {
    /// `registries` are the hosts this client will be asked about (to decide HTTP vs HTTPS).
    pub fn new<'a>(registries: impl IntoIterator<Item = &'a str>, insecure: &[String]) -> Self {
        let plain_http = registries
            .into_iter()
            .filter(|r| is_loopback(r) || insecure.iter().any(|i| i == r))
            .map(str::to_string)
            .collect();
        Registries {
            plain_http,
            client: OnceLock::new(),
        }
    }

    fn client(&self) -> &Client {
        self.client.get_or_init(|| {
            Client::new(ClientConfig {
                protocol: ClientProtocol::HttpsExcept(self.plain_http.clone()),
                ..ClientConfig::default()
            })
        })
    }
}

impl Registry for Registries {
    async fn digest(&self, reference: &ImageRef) -> Result<String, RegistryError> {
        let registry = reference
            .domain
            .as_deref()
            .unwrap_or(DEFAULT_REGISTRY)
            .to_string();
        let parsed = oci_reference(reference);
        let auth = match credentials::lookup(reference.domain.as_deref()) {
            Some(Credential::Basic { user, password }) => RegistryAuth::Basic(user, password),
            Some(Credential::Token(token)) => RegistryAuth::Bearer(token),
            None => RegistryAuth::Anonymous,
        };
        self.client()
            .fetch_manifest_digest(&parsed, &auth)
            .await
            .map_err(|e| describe(e, &registry, reference))
    }
}

/// `reference` for oci-client, built from its parts the way oci-spec's parser splits it (Docker
/// Hub as `docker.io`, its official images under `library/`, `latest` when there is neither tag
/// nor digest). Not by parsing the text: oci-spec compiles its reference regex for that, which
/// took longer (~50 ms of CPU, once per process) than a whole no-change refresh, and
/// [`ImageRef::parse`] has already checked the same grammar.
fn oci_reference(reference: &ImageRef) -> Reference {
    let registry = match reference.domain.as_deref() {
        None | Some("index.docker.io") => DEFAULT_REGISTRY,
        Some(domain) => domain,
    }
    .to_string();
    let repository = if registry == DEFAULT_REGISTRY && !reference.path.contains('/') {
        format!("library/{}", reference.path)
    } else {
        reference.path.clone()
    };
    match (reference.tag.clone(), reference.digest.clone()) {
        (Some(tag), Some(digest)) => {
            Reference::with_tag_and_digest(registry, repository, tag, digest)
        }
        (None, Some(digest)) => Reference::with_digest(registry, repository, digest),
        (tag, None) => Reference::with_tag(
            registry,
            repository,
            tag.unwrap_or_else(|| "latest".to_string()),
        ),
    }
}

/// The registry's answer in words; never includes credentials (oci-client puts none in errors).
fn describe(err: OciDistributionError, registry: &str, reference: &ImageRef) -> RegistryError {
    let registry = registry.to_string();
    let reference_text = reference.to_string();
    match err {
        OciDistributionError::ImageManifestNotFoundError(detail) => RegistryError::NotFound {
            reference: reference_text,
            detail: first_line(&detail),
        },
        OciDistributionError::RegistryError { envelope, .. } => {
            let detail = envelope
                .errors
                .iter()
                .map(|e| e.message.as_str())
                .collect::<Vec<_>>()
                .join("; ");
            let unknown = envelope
                .errors
                .iter()
                .any(|e| format!("{:?}", e.code).ends_with("Unknown"));
            if unknown {
                RegistryError::NotFound {
                    reference: reference_text,
                    detail,
                }
            } else {
                RegistryError::Failed {
                    registry,
                    reference: reference_text,
                    detail,
                }
            }
        }
        OciDistributionError::AuthenticationFailure(detail) => RegistryError::Denied {
            registry,
            reference: reference_text,
            detail: first_line(&detail),
        },
        OciDistributionError::UnauthorizedError { .. } => RegistryError::Denied {
            registry,
            reference: reference_text,
            detail: "unauthorized".into(),
        },
        OciDistributionError::RequestError(e) if e.is_connect() || e.is_timeout() => {
            RegistryError::Unreachable {
                registry,
                detail: error_chain(&e),
            }
        }
        other => RegistryError::Failed {
            registry,
            reference: reference_text,
            detail: error_chain(&other),
        },
    }
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_string()
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_built_as_oci_spec_parses_them() {
        let digest = format!("sha256:{}", "0123456789abcdef".repeat(4));
        for text in [
            "busybox".to_string(),
            "busybox:1.36".to_string(),
            "library/busybox:1".to_string(),
            "docker.io/busybox".to_string(),
            "index.docker.io/library/busybox:1".to_string(),
            "berndtj/my-python-base:0.0.1".to_string(),
            "localhost/x".to_string(),
            "localhost:5000/a/b/c:tag".to_string(),
            "127.0.0.1:5000/base/busybox:1".to_string(),
            "registry.example/x_y/z-1.2:v1.2-rc".to_string(),
            format!("127.0.0.1:5000/base/busybox@{digest}"),
            format!("127.0.0.1:5000/base/busybox:1@{digest}"),
            format!("busybox@{digest}"),
        ] {
            let ours = oci_reference(&ImageRef::parse(&text).unwrap());
            let theirs: Reference = text.parse().unwrap();
            assert_eq!(
                (
                    ours.registry(),
                    ours.resolve_registry(),
                    ours.repository(),
                    ours.tag(),
                    ours.digest(),
                    ours.whole()
                ),
                (
                    theirs.registry(),
                    theirs.resolve_registry(),
                    theirs.repository(),
                    theirs.tag(),
                    theirs.digest(),
                    theirs.whole()
                ),
                "{text}"
            );
        }
    }
}
