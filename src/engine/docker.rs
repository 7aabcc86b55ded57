//! The Docker engine, through its API (bollard). A translator: requests out, streams drained,
//! answers and errors back in dispatch's types.

use std::collections::HashMap;
use std::time::Duration;

use bollard::Docker;
use bollard::auth::DockerCredentials;
use bollard::models::{ContainerCreateBody, ProgressDetail};
use bollard::query_parameters::{
    BuildImageOptionsBuilder, BuilderVersion, CreateContainerOptions, CreateImageOptionsBuilder,
    DownloadFromContainerOptionsBuilder, PushImageOptionsBuilder, RemoveContainerOptionsBuilder,
    RemoveImageOptionsBuilder,
};
use futures_util::{Stream, StreamExt};
use tokio_util::io::{StreamReader, SyncIoBridge};

use super::transcript::Transcript;
use super::{BuildRequest, Engine, EngineError, OnProgress};
use crate::config::Access;
use crate::model::image::{BuildFailure, Builder, Limits, LocalImage, Progress};
use crate::model::reference::ImageRef;
use crate::registry::credentials::{self, Credential};
use crate::retry::{self, GaveUp};

/// A Docker engine that answered when connected.
#[derive(Clone)]
pub struct DockerEngine {
    docker: Docker,
    /// Where it listens, for messages.
    address: String,
    /// How long a request may take, retries included; how long a pull or push may go without
    /// progress.
    timeout: Duration,
}

/// How long each engine of a pool has to answer at the start of an apply: one that does not
/// is left out after this, not waited for as the only engine is.
pub const HEALTH_CHECK: Duration = Duration::from_secs(5);

impl DockerEngine {
    /// Connects to the engine at `address` (`unix://...`, `tcp://...`, `ssh://...`) and checks
    /// that it answers within `timeout`, retrying: the one engine there is may be starting.
    pub async fn connect(address: &str, timeout: Duration) -> Result<DockerEngine, EngineError> {
        DockerEngine::connect_over(address, Access::default(), timeout).await
    }

    /// [`connect`](Self::connect), over TLS or with an ssh key as `access` says.
    pub async fn connect_over(
        address: &str,
        access: Access<'_>,
        timeout: Duration,
    ) -> Result<DockerEngine, EngineError> {
        let docker = client(address, access, timeout)?;
        let docker = retry::retry(
            Some(timeout),
            || docker.clone().negotiate_version(),
            transient,
        )
        .await
        .map_err(|gave_up| unreachable(address, gave_up_text(gave_up)))?;
        Ok(DockerEngine::over(docker, address, timeout))
    }

    /// Connects to one engine of a pool (as `access` says) and asks it once, within
    /// [`HEALTH_CHECK`], whether it answers: a dead engine costs seconds, not `timeout`.
    pub async fn check(
        address: &str,
        access: Access<'_>,
        timeout: Duration,
    ) -> Result<DockerEngine, EngineError> {
        let docker = client(address, access, timeout)?;
        let docker = match tokio::time::timeout(HEALTH_CHECK, docker.negotiate_version()).await {
            Ok(Ok(docker)) => docker,
            Ok(Err(e)) => return Err(unreachable(address, causes(&e))),
            Err(_) => {
                let after = humantime::format_duration(HEALTH_CHECK);
                return Err(unreachable(address, format!("no answer within {after}")));
            }
        };
        Ok(DockerEngine::over(docker, address, timeout))
    }

    fn over(docker: Docker, address: &str, timeout: Duration) -> DockerEngine {
        DockerEngine {
            docker,
            address: address.to_string(),
            timeout,
        }
    }

    async fn read_archive(
        &self,
        container: &str,
        path: &str,
    ) -> Result<Vec<(String, Vec<u8>)>, EngineError> {
        /// Enough for any template; a bigger directory is a mistake, not a template.
        const LIMIT: usize = 64 << 20;
        let options = DownloadFromContainerOptionsBuilder::default()
            .path(path)
            .build();
        let mut stream = self
            .docker
            .download_from_container(container, Some(options));
        let mut archive = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| match &e {
                bollard::errors::Error::DockerResponseServerError {
                    status_code: 404, ..
                } => files(format!("{path} is not in the image")),
                _ => files(format!("cannot read {path}: {}", engine_message(&e))),
            })?;
            archive.extend_from_slice(&chunk);
            if archive.len() > LIMIT {
                return Err(files(format!("{path} holds more than {} MiB", LIMIT >> 20)));
            }
        }
        files_of_archive(&archive)
            .map_err(|e| files(format!("cannot read the archive of {path}: {e}")))
    }
}

impl DockerEngine {
    /// A container of `image` to read files from: created, never started.
    async fn reader(&self, image: &str) -> Result<String, EngineError> {
        let config = ContainerCreateBody {
            image: Some(image.to_string()),
            // Never run; an image without CMD cannot be created without one.
            cmd: Some(vec!["dispatch-reads-files".to_string()]),
            network_disabled: Some(true),
            ..Default::default()
        };
        Ok(self
            .docker
            .create_container(None::<CreateContainerOptions>, config)
            .await
            .map_err(|e| {
                files(format!(
                    "cannot create a container of {image}: {}",
                    engine_message(&e)
                ))
            })?
            .id)
    }

    async fn remove_reader(&self, container: &str) -> Result<(), EngineError> {
        let options = RemoveContainerOptionsBuilder::default()
            .force(true)
            .v(true)
            .build();
        self.docker
            .remove_container(container, Some(options))
            .await
            .map_err(|e| {
                files(format!(
                    "cannot remove container {container}: {}",
                    engine_message(&e)
                ))
            })
    }

    /// The files under `root` in `container` that `keep` accepts, by absolute path.
    async fn select_in(
        &self,
        container: &str,
        root: &str,
        keep: fn(&str) -> bool,
        limits: Limits,
    ) -> Result<Vec<(String, Vec<u8>)>, EngineError> {
        let options = DownloadFromContainerOptionsBuilder::default()
            .path(root)
            .build();
        let archive = self
            .docker
            .download_from_container(container, Some(options));
        select_from_stream(archive, root, keep, limits).await
    }
}

/// An engine error met while an archive streamed, told apart from the archive's own errors
/// once the tar reader passes it on.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Streamed(String);

/// The files of the archive of `root` that `keep` accepts, by absolute path. The archive
/// streams through a tar reader on a blocking thread; only kept files are held. A root the
/// image lacks (404) reads as an empty archive.
async fn select_from_stream(
    archive: impl Stream<Item = Result<bytes::Bytes, bollard::errors::Error>> + Send + Unpin + 'static,
    root: &str,
    keep: fn(&str) -> bool,
    limits: Limits,
) -> Result<Vec<(String, Vec<u8>)>, EngineError> {
    let chunks = archive
        .take_while(|chunk| {
            std::future::ready(!matches!(
                chunk,
                Err(bollard::errors::Error::DockerResponseServerError {
                    status_code: 404,
                    ..
                })
            ))
        })
        .map(|chunk| chunk.map_err(|e| std::io::Error::other(Streamed(engine_message(&e)))));
    let reader = SyncIoBridge::new(StreamReader::new(chunks));
    // The archive's entries are named from the root's own name: `lib/...` for /usr/local/lib.
    let parent = root
        .rsplit_once('/')
        .map_or("", |(parent, _)| parent)
        .to_string();
    let selected =
        tokio::task::spawn_blocking(move || select_from_archive(reader, &parent, keep, limits))
            .await
            .map_err(|e| files(format!("cannot read the archive of {root}: {e}")))?;
    selected.map_err(
        |e| match e.get_ref().and_then(|e| e.downcast_ref::<Streamed>()) {
            Some(Streamed(message)) => files(format!("cannot read {root}: {message}")),
            None => files(format!("cannot read the archive of {root}: {e}")),
        },
    )
}

/// An error reading files out of an image.
fn files(detail: String) -> EngineError {
    EngineError::Files { detail }
}

/// The regular files of a tar that `keep` accepts by absolute path (`parent` + entry path),
/// within `limits`; the rest is read past, not held.
fn select_from_archive(
    archive: impl std::io::Read,
    parent: &str,
    keep: fn(&str) -> bool,
    limits: Limits,
) -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let mut selected = Vec::new();
    let mut total = 0;
    for entry in tar::Archive::new(archive).entries()? {
        let mut entry = entry?;
        if entry.header().entry_type() != tar::EntryType::Regular || entry.size() > limits.file {
            continue;
        }
        let path = format!("{parent}/{}", entry.path()?.to_string_lossy());
        if keep(&path) {
            total += entry.size();
            if total > limits.total {
                return Err(std::io::Error::other(format!(
                    "its package records come to more than {} MiB",
                    limits.total >> 20
                )));
            }
            let mut content = Vec::with_capacity(entry.size() as usize);
            std::io::Read::read_to_end(&mut entry, &mut content)?;
            selected.push((path, content));
        }
    }
    Ok(selected)
}

impl Engine for DockerEngine {
    async fn ping(&self) -> Result<(), EngineError> {
        match self.docker.ping().await {
            Ok(_) => Ok(()),
            Err(e) => Err(EngineError::Unreachable {
                address: self.address.clone(),
                detail: engine_message(&e),
            }),
        }
    }

    async fn pull(
        &self,
        reference: &ImageRef,
        progress: OnProgress<'_>,
    ) -> Result<LocalImage, EngineError> {
        let fail = |detail: String| EngineError::Pull {
            reference: reference.to_string(),
            detail,
        };
        let options = CreateImageOptionsBuilder::default()
            .from_image(&reference.repository())
            .tag(
                reference
                    .digest
                    .as_deref()
                    .or(reference.tag.as_deref())
                    .unwrap_or("latest"),
            )
            .build();
        let stream = self
            .docker
            .create_image(Some(options), None, docker_credentials(reference))
            .map(|item| {
                item.map(|info| Transfer {
                    layer: info.id,
                    status: info.status,
                    error: info.error_detail.and_then(|d| d.message),
                    detail: info.progress_detail,
                })
            });
        drain(stream, "Downloading", self.timeout, progress)
            .await
            .map_err(|e| fail(e.to_string()))?;
        self.inspect(reference.as_str())
            .await?
            .ok_or_else(|| fail("the engine does not hold the image after the pull".into()))
    }

    async fn inspect(&self, name: &str) -> Result<Option<LocalImage>, EngineError> {
        let request = || async {
            match self.docker.inspect_image(name).await {
                Ok(image) => Ok(Some(image)),
                Err(bollard::errors::Error::DockerResponseServerError {
                    status_code: 404, ..
                }) => Ok(None),
                Err(e) => Err(e),
            }
        };
        let found = retry::retry(Some(self.timeout), request, transient)
            .await
            .map_err(|gave_up| EngineError::Inspect {
                name: name.to_string(),
                detail: gave_up_text(gave_up),
            })?;
        Ok(found.map(|image| LocalImage {
            id: image.id.unwrap_or_default(),
            repo_digests: image.repo_digests.unwrap_or_default(),
            labels: image.config.and_then(|c| c.labels).unwrap_or_default(),
            created: image.created.and_then(|t| {
                let secs = u64::try_from(t.unix_timestamp()).ok()?;
                let at = std::time::UNIX_EPOCH + Duration::from_secs(secs);
                Some(humantime::format_rfc3339_seconds(at).to_string())
            }),
        }))
    }

    async fn build(
        &self,
        request: BuildRequest<'_>,
        progress: OnProgress<'_>,
    ) -> Result<String, BuildFailure> {
        let mut options = BuildImageOptionsBuilder::default()
            .dockerfile("Dockerfile")
            .t(request.tag)
            .rm(true)
            .forcerm(true)
            .buildargs(request.build_args)
            .labels(&request.labels.clone().into_iter().collect());
        if let Some(network) = request.network {
            options = options.networkmode(network);
        }
        // BuildKit runs each build in a session of its own, which also answers its questions
        // for registry credentials (needed only if the pinned base left the engine's store).
        let session = uuid::Uuid::new_v4().to_string();
        let credentials = match request.builder {
            Builder::Classic => None,
            Builder::BuildKit => {
                options = options
                    .version(BuilderVersion::BuilderBuildKit)
                    .session(&session);
                request.base.and_then(|base| {
                    let credentials = docker_credentials(base)?;
                    let host = base.domain.clone()?;
                    Some(HashMap::from([(host, credentials)]))
                })
            }
        };
        let mut stream = self.docker.build_image(
            options.build(),
            credentials,
            Some(bollard::body_full(request.context.into())),
        );
        let mut transcript = Transcript::default();
        while let Some(item) = stream.next().await {
            match item {
                Ok(info) => transcript.record(info, progress),
                // The engine's own word that the build failed.
                Err(e @ bollard::errors::Error::DockerStreamError { .. }) => {
                    return Err(transcript.failure(&engine_message(&e)));
                }
                // The stream broke (a last line cut short: "bytes remaining on stream"), maybe
                // after the engine finished. The tag is a content address: an image under it
                // holds exactly these inputs, whichever build made it.
                Err(e) => {
                    return match self.inspect(request.tag).await {
                        Ok(Some(image)) if !transcript.has_failed() => Ok(image.id),
                        _ => Err(transcript.failure(&engine_message(&e))),
                    };
                }
            }
        }
        transcript
            .image_id
            .take()
            .ok_or_else(|| transcript.failure("the engine reported no image id"))
    }

    async fn push(
        &self,
        reference: &ImageRef,
        progress: OnProgress<'_>,
    ) -> Result<String, EngineError> {
        let fail = |detail: String| EngineError::Push {
            reference: reference.to_string(),
            detail,
        };
        let options = PushImageOptionsBuilder::default()
            .tag(reference.tag.as_deref().unwrap_or("latest"))
            .build();
        let stream = self
            .docker
            .push_image(
                &reference.repository(),
                Some(options),
                docker_credentials(reference),
            )
            .map(|item| {
                item.map(|info| Transfer {
                    // The push stream names no layer.
                    layer: info.status.clone(),
                    status: info.status,
                    error: info.error_detail.and_then(|d| d.message),
                    detail: info.progress_detail,
                })
            });
        drain(stream, "Pushing", self.timeout, progress)
            .await
            .map_err(|e| fail(e.to_string()))?;
        let image = self
            .inspect(reference.as_str())
            .await?
            .ok_or_else(|| fail("image vanished during the push".into()))?;
        image
            .digest_in(reference)
            .ok_or_else(|| fail("the engine recorded no digest for the push".into()))
    }

    async fn remove(&self, name: &str) -> Result<(), EngineError> {
        let options = RemoveImageOptionsBuilder::default().noprune(false).build();
        match self.docker.remove_image(name, Some(options), None).await {
            Ok(_)
            | Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(()),
            Err(e) => Err(EngineError::Remove {
                name: name.to_string(),
                detail: engine_message(&e),
            }),
        }
    }

    /// Read from a container that is created, never started, and always removed.
    async fn files(&self, image: &str, path: &str) -> Result<Vec<(String, Vec<u8>)>, EngineError> {
        let container = self.reader(image).await?;
        let read = self.read_archive(&container, path).await;
        let removed = self.remove_reader(&container).await;
        let read = read?;
        removed?;
        Ok(read)
    }

    async fn select(
        &self,
        image: &str,
        roots: &[&str],
        keep: fn(&str) -> bool,
        limits: Limits,
    ) -> Result<Vec<(String, Vec<u8>)>, EngineError> {
        let container = self.reader(image).await?;
        let mut selected: Vec<(String, Vec<u8>)> = Vec::new();
        let mut failed = None;
        for root in roots {
            // What the roots before this one hold counts against the total.
            let held: u64 = selected.iter().map(|(_, bytes)| bytes.len() as u64).sum();
            let left = Limits {
                total: limits.total.saturating_sub(held),
                ..limits
            };
            match self.select_in(&container, root, keep, left).await {
                Ok(files) => selected.extend(files),
                Err(error) => {
                    failed = Some(error);
                    break;
                }
            }
        }
        let removed = self.remove_reader(&container).await;
        if let Some(error) = failed {
            return Err(error);
        }
        removed?;
        Ok(selected)
    }
}

/// One message of a pull or push stream.
struct Transfer {
    /// The layer it is about, when the stream names one.
    layer: Option<String>,
    status: Option<String>,
    error: Option<String>,
    detail: Option<ProgressDetail>,
}

/// Why a pull or push stream failed.
#[derive(Debug, thiserror::Error)]
enum TransferError {
    #[error("no progress from the engine for {}", humantime::format_duration(*.0))]
    Idle(Duration),
    /// The request failed.
    #[error("{}", engine_message(.0))]
    Request(bollard::errors::Error),
    /// The engine reported the error in the stream.
    #[error("{0}")]
    Reported(String),
}

/// Reads a pull or push stream to its end, reporting the bytes of layers whose status is
/// `moving`; the first error the engine reports in the stream is the result. A stream that
/// goes `idle` without a word is given up: a transfer that moves reports progress.
async fn drain(
    stream: impl Stream<Item = Result<Transfer, bollard::errors::Error>>,
    moving: &str,
    idle: Duration,
    progress: OnProgress<'_>,
) -> Result<(), TransferError> {
    let mut stream = std::pin::pin!(stream);
    let mut layers = LayerBytes::default();
    loop {
        let Ok(item) = tokio::time::timeout(idle, stream.next()).await else {
            return Err(TransferError::Idle(idle));
        };
        let Some(item) = item else { break };
        let transfer = item.map_err(TransferError::Request)?;
        if let Some(error) = transfer.error {
            return Err(TransferError::Reported(error));
        }
        if let (Some(layer), Some(detail)) = (transfer.layer, transfer.detail)
            && transfer.status.as_deref() == Some(moving)
        {
            progress(layers.update(layer, detail.current, detail.total));
        }
    }
    Ok(())
}

/// The regular files of a `GET /containers/{id}/archive` tar, paths relative to its top entry.
fn files_of_archive(archive: &[u8]) -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let mut files = Vec::new();
    for entry in tar::Archive::new(archive).entries()? {
        let mut entry = entry?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            continue;
        }
        let path = entry.path()?.to_string_lossy().into_owned();
        let path = match path.split_once('/') {
            Some((_top, rest)) => rest.to_string(),
            None => path, // the archive of a single file
        };
        let mut content = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut content)?;
        files.push((path, content));
    }
    files.sort();
    Ok(files)
}

fn docker_credentials(reference: &ImageRef) -> Option<DockerCredentials> {
    let serveraddress = reference.domain.clone();
    match credentials::lookup(reference.domain.as_deref())? {
        Credential::Basic { user, password } => Some(DockerCredentials {
            username: Some(user),
            password: Some(password),
            serveraddress,
            ..Default::default()
        }),
        Credential::Token(token) => Some(DockerCredentials {
            identitytoken: Some(token),
            serveraddress,
            ..Default::default()
        }),
    }
}

/// A client for the engine at `address`, over TLS or ssh as `access` says; nothing sent yet.
fn client(address: &str, access: Access<'_>, timeout: Duration) -> Result<Docker, EngineError> {
    if address.starts_with("ssh://") {
        return super::ssh::client(address, access.identity, timeout)
            .map_err(|e| unreachable(address, causes(&e)));
    }
    // The client counts whole seconds: less than one would time out at once.
    let timeout = timeout.max(Duration::from_secs(1));
    let docker = match access.tls {
        None => Docker::connect_with_host(address).map(|d| d.with_timeout(timeout)),
        Some(tls) => {
            // bollard is built without a crypto provider of its own: rustls's ring is the
            // process's, as for the registries. Installing it twice is harmless.
            let _ = rustls::crypto::ring::default_provider().install_default();
            Docker::connect_with_ssl(
                address,
                &tls.key,
                &tls.cert,
                &tls.ca,
                timeout.as_secs(),
                bollard::API_DEFAULT_VERSION,
            )
        }
    };
    docker.map_err(|e| unreachable(address, causes(&e)))
}

fn unreachable(address: &str, detail: String) -> EngineError {
    EngineError::Unreachable {
        address: address.to_string(),
        detail,
    }
}

/// `err` and what caused it, each once: a TLS refusal is three errors down, under "client
/// error (Connect)".
fn causes(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(e) = cause {
        let more = e.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
        cause = e.source();
    }
    text
}

/// Whether a request that failed this way may succeed if tried again: no answer in time, a
/// broken connection, a server error.
fn transient(err: &bollard::errors::Error) -> bool {
    use bollard::errors::Error;
    match err {
        Error::DockerResponseServerError { status_code, .. } => *status_code >= 500,
        Error::RequestTimeoutError | Error::IOError { .. } | Error::HyperResponseError { .. } => {
            true
        }
        _ => false,
    }
}

/// Why the engine was given up on, in words.
fn gave_up_text(gave_up: GaveUp<bollard::errors::Error>) -> String {
    match gave_up {
        GaveUp::Failed { error, attempts } if transient(&error) => {
            format!("{} ({})", engine_message(&error), retry::attempts(attempts))
        }
        GaveUp::Failed { error, .. } => engine_message(&error),
        GaveUp::TimedOut { after, attempts } => format!(
            "no answer within {} ({})",
            humantime::format_duration(after),
            retry::attempts(attempts)
        ),
    }
}

/// The engine's own message, without bollard's wrapping.
fn engine_message(err: &bollard::errors::Error) -> String {
    match err {
        bollard::errors::Error::DockerResponseServerError { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

/// Per-layer byte counts, summed into one progress figure.
#[derive(Default)]
struct LayerBytes {
    layers: HashMap<String, (u64, u64)>,
}

impl LayerBytes {
    fn update(&mut self, layer: String, current: Option<i64>, total: Option<i64>) -> Progress {
        let value = |v: Option<i64>| v.and_then(|v| u64::try_from(v).ok()).unwrap_or(0);
        self.layers.insert(layer, (value(current), value(total)));
        let (current, total) = self
            .layers
            .values()
            .fold((0, 0), |(c, t), (lc, lt)| (c + lc, t + lt));
        Progress::Bytes { current, total }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive(files: &[(&str, usize)]) -> Vec<u8> {
        let mut tar = tar::Builder::new(Vec::new());
        for (path, size) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(*size as u64);
            header.set_mode(0o644);
            header.set_cksum();
            tar.append_data(&mut header, path, &vec![b'x'; *size][..])
                .unwrap();
        }
        tar.into_inner().unwrap()
    }

    #[test]
    fn an_archive_is_read_within_its_limits() {
        let tar = archive(&[
            ("lib/a.jar", 10),
            ("lib/big.jar", 100),
            ("lib/b.txt", 10),
            ("lib/c.jar", 10),
        ]);
        let keep = |path: &str| path.ends_with(".jar");
        let limits = |file, total| Limits { file, total };
        let kept = select_from_archive(&tar[..], "/usr", keep, limits(50, 20)).unwrap();
        let names: Vec<&str> = kept.iter().map(|(p, _)| p.as_str()).collect();
        // Too big a file is passed over; what is not kept does not count.
        assert_eq!(names, ["/usr/lib/a.jar", "/usr/lib/c.jar"]);
        let err = select_from_archive(&tar[..], "/usr", keep, limits(50, 19)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "its package records come to more than 0 MiB"
        );
    }

    #[tokio::test]
    async fn a_streamed_archive_is_read_within_its_limits_and_its_errors_told_apart() {
        let tar = archive(&[("lib/a.jar", 10), ("lib/b.txt", 10)]);
        let (head, tail) = tar.split_at(700);
        let chunk = |bytes: &[u8]| Ok(bytes::Bytes::copy_from_slice(bytes));
        let refused = |status_code, message: &str| {
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code,
                message: message.into(),
            })
        };
        let select = |chunks: Vec<Result<bytes::Bytes, bollard::errors::Error>>, total| {
            let limits = Limits { file: 50, total };
            let keep = |path: &str| path.ends_with(".jar");
            select_from_stream(futures_util::stream::iter(chunks), "/usr/lib", keep, limits)
        };
        let kept = select(vec![chunk(head), chunk(tail)], 20).await.unwrap();
        assert_eq!(kept, [("/usr/lib/a.jar".to_string(), vec![b'x'; 10])]);
        // A root the image lacks holds nothing.
        let missing = select(vec![refused(404, "no such path")], 20).await;
        assert_eq!(missing, Ok(vec![]));
        // The engine's errors and the archive's are told apart.
        let broken = select(vec![chunk(head), refused(500, "gone")], 20).await;
        let files = |detail: &str| Err(files(detail.to_string()));
        assert_eq!(broken, files("cannot read /usr/lib: gone"));
        let over = select(vec![chunk(head), chunk(tail)], 9).await;
        assert_eq!(
            over,
            files(
                "cannot read the archive of /usr/lib: its package records come to more than 0 MiB"
            )
        );
    }
}
