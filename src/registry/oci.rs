//! Registries through oci-client: a translator from references and credentials to manifest
//! digests, and from the client's errors to [`RegistryError`].

use std::sync::OnceLock;
use std::time::Duration;

use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};

use futures_util::StreamExt;
use http::HeaderValue;

use super::credentials::{self, Credential};
use super::{Carried, Registry, RegistryError, is_loopback};
use crate::model::oci::{JSON_LIMIT, MANIFEST_TYPES, RawManifest};
use crate::model::reference::ImageRef;
use crate::retry::{self, GaveUp};

/// Docker Hub, where references without a registry host live.
const DEFAULT_REGISTRY: &str = "docker.io";

/// A client for every registry a run talks to. Plain HTTP is used only for loopback
/// registries and those listed as insecure; everything else is HTTPS.
pub struct Registries {
    plain_http: Vec<String>,
    /// How long one question may take, retries included.
    timeout: Duration,
    /// Made on first use: making one reads every system root certificate (twice, in
    /// oci-client 0.18), tens of milliseconds that a run which never asks a registry can skip.
    client: OnceLock<Client>,
}

impl Registries {
    /// `registries` are the hosts this client will be asked about (to decide HTTP vs HTTPS);
    /// a question is given up after `timeout`, retries included.
    pub fn new<'a>(
        registries: impl IntoIterator<Item = &'a str>,
        insecure: &[String],
        timeout: Duration,
    ) -> Self {
        let plain_http = registries
            .into_iter()
            .filter(|r| is_loopback(r) || insecure.iter().any(|i| i == r))
            .map(str::to_string)
            .collect();
        Registries {
            plain_http,
            timeout,
            client: OnceLock::new(),
        }
    }

    fn client(&self) -> &Client {
        self.client.get_or_init(|| {
            // reqwest is built without a crypto provider of its own: rustls's ring is the
            // process's. Installing it twice (another client, a library user) is harmless.
            let _ = rustls::crypto::ring::default_provider().install_default();
            Client::new(ClientConfig {
                protocol: ClientProtocol::HttpsExcept(self.plain_http.clone()),
                connect_timeout: Some(self.timeout),
                read_timeout: Some(self.timeout),
                ..ClientConfig::default()
            })
        })
    }
}

impl Registry for Registries {
    async fn digest(&self, reference: &ImageRef) -> Result<String, RegistryError> {
        let parsed = self.authorized(reference).await;
        self.retried(reference, || async {
            (self
                .client()
                .fetch_manifest_digest(&parsed, &auth(reference))
                .await)
                .map_err(|e| describe(e, reference))
        })
        .await
    }

    async fn manifest(&self, reference: &ImageRef) -> Result<RawManifest, RegistryError> {
        let parsed = self.authorized(reference).await;
        self.retried(reference, || async {
            let client = self.client();
            let (bytes, digest) =
                (client.pull_manifest_raw(&parsed, &auth(reference), &MANIFEST_TYPES))
                    .await
                    .map_err(|e| describe(e, reference))?;
            if bytes.len() as u64 > JSON_LIMIT {
                return Err(too_large(reference, "its manifest", JSON_LIMIT));
            }
            Ok(RawManifest {
                media_type: String::new(),
                digest,
                bytes: bytes.to_vec(),
            })
        })
        .await
    }

    async fn blob(
        &self,
        reference: &ImageRef,
        digest: &str,
        limit: u64,
    ) -> Result<Vec<u8>, RegistryError> {
        let parsed = self.authorized(reference).await;
        self.retried(reference, || async {
            let mut stream = (self.client().pull_blob_stream(&parsed, digest).await)
                .map_err(|e| describe(e, reference))?;
            if stream.content_length.is_some_and(|n| n > limit) {
                return Err(too_large(reference, digest, limit));
            }
            let mut bytes = Vec::new();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| describe(e.into(), reference))?;
                if (bytes.len() + chunk.len()) as u64 > limit {
                    return Err(too_large(reference, digest, limit));
                }
                bytes.extend_from_slice(&chunk);
            }
            Ok(bytes)
        })
        .await
    }

    async fn carry(
        &self,
        from: &ImageRef,
        to: &ImageRef,
        digest: &str,
    ) -> Result<Carried, RegistryError> {
        let (source, target) = (self.authorized(from).await, self.authorized(to).await);
        self.retried(to, || async {
            let client = self.client();
            let failed = |e| describe(e, to);
            if client.blob_exists(&target, digest).await.map_err(failed)? {
                return Ok(Carried::Present);
            }
            if source.resolve_registry() == target.resolve_registry()
                && client.mount_blob(&target, &source, digest).await.is_ok()
            {
                return Ok(Carried::Mounted);
            }
            let stream =
                (client.pull_blob_stream(&source, digest).await).map_err(|e| describe(e, from))?;
            let size = stream.content_length;
            let chunks = stream.map(|chunk| chunk.map_err(OciDistributionError::from));
            (client.push_blob_stream(&target, chunks, digest, size).await).map_err(failed)?;
            Ok(Carried::Copied)
        })
        .await
    }

    async fn put_blob(&self, to: &ImageRef, bytes: Vec<u8>) -> Result<String, RegistryError> {
        let target = self.authorized(to).await;
        let digest = crate::model::oci::digest(&bytes);
        self.retried(to, || async {
            let client = self.client();
            if !(client.blob_exists(&target, &digest).await).map_err(|e| describe(e, to))? {
                (client.push_blob(&target, bytes.clone(), &digest).await)
                    .map_err(|e| describe(e, to))?;
            }
            Ok(digest.clone())
        })
        .await
    }

    async fn put_manifest(
        &self,
        to: &ImageRef,
        manifest: &RawManifest,
    ) -> Result<String, RegistryError> {
        let target = self.authorized(to).await;
        let kind =
            HeaderValue::from_str(&manifest.media_type).map_err(|_| RegistryError::Failed {
                registry: registry_of(to),
                reference: to.to_string(),
                detail: format!("{:?} is no media type", manifest.media_type),
                status: None,
            })?;
        self.retried(to, || async {
            (self.client())
                .push_manifest_raw(&target, manifest.bytes.clone(), kind.clone())
                .await
                .map_err(|e| describe(e, to))?;
            Ok(manifest.digest.clone())
        })
        .await
    }
}

/// A blob or manifest over what dispatch reads.
fn too_large(reference: &ImageRef, what: &str, limit: u64) -> RegistryError {
    RegistryError::Failed {
        registry: registry_of(reference),
        reference: reference.to_string(),
        detail: format!("{what} is over {limit} bytes, more than dispatch reads"),
        status: None,
    }
}

/// The credentials the docker config has for the registry of `reference`.
fn auth(reference: &ImageRef) -> RegistryAuth {
    match credentials::lookup(reference.domain.as_deref()) {
        Some(Credential::Basic { user, password }) => RegistryAuth::Basic(user, password),
        Some(Credential::Token(token)) => RegistryAuth::Bearer(token),
        None => RegistryAuth::Anonymous,
    }
}

impl Registries {
    /// `reference` for the client, whose registry's credentials it now holds (calls that take
    /// none use them).
    async fn authorized(&self, reference: &ImageRef) -> Reference {
        let parsed = oci_reference(reference);
        (self.client())
            .store_auth_if_needed(parsed.resolve_registry(), &auth(reference))
            .await;
        parsed
    }

    /// `ask`, tried again while the registry's trouble may pass, within the timeout; what it
    /// gave up on, in words.
    async fn retried<T, F, Fut>(&self, reference: &ImageRef, ask: F) -> Result<T, RegistryError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, RegistryError>>,
    {
        let registry = registry_of(reference);
        retry::retry(Some(self.timeout), ask, RegistryError::is_transient)
            .await
            .map_err(|gave_up| match gave_up {
                GaveUp::Failed { error, attempts } if error.is_transient() => {
                    let what = match &error {
                        RegistryError::Failed {
                            status: Some(code), ..
                        } => format!("HTTP {code}"),
                        RegistryError::Unreachable { detail, .. } => detail.clone(),
                        other => other.to_string(),
                    };
                    RegistryError::Unreachable {
                        registry,
                        detail: format!("{what} after {}", retry::attempts(attempts)),
                    }
                }
                GaveUp::Failed { error, .. } => error,
                GaveUp::TimedOut { after, attempts } => RegistryError::Unreachable {
                    registry,
                    detail: format!(
                        "no answer within {}, {}",
                        humantime::format_duration(after),
                        retry::attempts(attempts)
                    ),
                },
            })
    }
}

/// `host[:port]` of the registry `reference` is in.
fn registry_of(reference: &ImageRef) -> String {
    reference
        .domain
        .as_deref()
        .unwrap_or(DEFAULT_REGISTRY)
        .to_string()
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
fn describe(err: OciDistributionError, reference: &ImageRef) -> RegistryError {
    let registry = registry_of(reference);
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
            let code = |suffix: &str| {
                envelope
                    .errors
                    .iter()
                    .any(|e| format!("{:?}", e.code).ends_with(suffix))
            };
            if code("Unknown") {
                RegistryError::NotFound {
                    reference: reference_text,
                    detail,
                }
            } else {
                RegistryError::Failed {
                    registry,
                    reference: reference_text,
                    detail,
                    status: code("Toomanyrequests").then_some(429),
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
                detail: root_cause(&e),
            }
        }
        OciDistributionError::ServerError { code: 404, .. } => RegistryError::NotFound {
            reference: reference_text,
            detail: "HTTP 404".into(),
        },
        OciDistributionError::ServerError {
            code: code @ (401 | 403),
            ..
        } => RegistryError::Denied {
            registry,
            reference: reference_text,
            detail: format!("HTTP {code}"),
        },
        OciDistributionError::ServerError { code, .. } => RegistryError::Failed {
            registry,
            reference: reference_text,
            detail: format!("HTTP {code}"),
            status: Some(code),
        },
        other => RegistryError::Failed {
            registry,
            reference: reference_text,
            detail: error_chain(&other),
            status: None,
        },
    }
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_string()
}

/// What lies at the bottom of `err`, in words: `connection refused`, `operation timed out`.
fn root_cause(err: &dyn std::error::Error) -> String {
    let mut cause = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    let text = cause.to_string();
    let text = text.split(" (os error").next().unwrap_or(&text);
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_lowercase().chain(chars).collect())
        .unwrap_or_default()
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
