//! Registries, over the OCI distribution API: what a tag points at, asked without pulling.

use std::net::IpAddr;

use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};

use crate::credentials::{self, Credential};
use crate::reference::ImageRef;

/// Docker Hub, where references without a registry host live.
const DEFAULT_REGISTRY: &str = "docker.io";

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
    #[error("cannot reach registry {registry}: {detail}")]
    Unreachable { registry: String, detail: String },
    #[error("registry {registry} failed for {reference}: {detail}")]
    Failed {
        registry: String,
        reference: String,
        detail: String,
    },
}

/// A client for every registry a run talks to. Plain HTTP is used only for loopback
/// registries and those listed as insecure; everything else is HTTPS.
pub struct Registries {
    client: Client,
}

impl Registries {
    /// `registries` are the hosts this client will be asked about (to decide HTTP vs HTTPS).
    pub fn new<'a>(registries: impl IntoIterator<Item = &'a str>, insecure: &[String]) -> Self {
        let plain_http = registries
            .into_iter()
            .filter(|r| is_loopback(r) || insecure.iter().any(|i| i == r))
            .map(str::to_string)
            .collect();
        let config = ClientConfig {
            protocol: ClientProtocol::HttpsExcept(plain_http),
            ..ClientConfig::default()
        };
        Registries {
            client: Client::new(config),
        }
    }

    /// The digest (`sha256:...`) of the manifest `reference` names, as the engine's RepoDigests show it.
    pub async fn digest(&self, reference: &ImageRef) -> Result<String, RegistryError> {
        let registry = reference
            .domain
            .as_deref()
            .unwrap_or(DEFAULT_REGISTRY)
            .to_string();
        let parsed: Reference = reference
            .as_str()
            .parse()
            .map_err(|e| RegistryError::Failed {
                registry: registry.clone(),
                reference: reference.to_string(),
                detail: format!("{e}"),
            })?;
        let auth = match credentials::lookup(reference.domain.as_deref()) {
            Some(Credential::Basic { user, password }) => RegistryAuth::Basic(user, password),
            Some(Credential::Token(token)) => RegistryAuth::Bearer(token),
            None => RegistryAuth::Anonymous,
        };
        self.client
            .fetch_manifest_digest(&parsed, &auth)
            .await
            .map_err(|e| describe(e, &registry, reference))
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
