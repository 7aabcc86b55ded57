//! The Docker engine, through its API (bollard): pull, build, push, inspect and remove images.
//! Every stream is drained to its end, because the engine reports failures inside it.

use std::collections::HashMap;

use bollard::Docker;
use bollard::auth::DockerCredentials;
use bollard::moby::buildkit::v1::StatusResponse;
use bollard::models::{BuildInfo, BuildInfoAux, ContainerCreateBody, ImageId};
use bollard::query_parameters::{
    BuildImageOptionsBuilder, BuilderVersion, CreateContainerOptions, CreateImageOptionsBuilder,
    DownloadFromContainerOptionsBuilder, PushImageOptionsBuilder, RemoveContainerOptionsBuilder,
    RemoveImageOptionsBuilder,
};
use futures_util::StreamExt;

use crate::build::TEMPLATE_LABEL;
use crate::credentials::{self, Credential};
use crate::reference::ImageRef;

/// Where the engine listens when neither `[engine] host` nor `DOCKER_HOST` says otherwise.
const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

#[derive(Debug, thiserror::Error)]
#[error(
    "cannot reach the Docker engine at {address}: {detail}\n  hint: start dockerd, or point DOCKER_HOST (or `host` under [engine] in dispatch.toml) at a running engine"
)]
pub struct Unreachable {
    pub address: String,
    pub detail: String,
}

/// What the engine holds under a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalImage {
    /// The image id (`sha256:` of its config).
    pub id: String,
    /// `repo@sha256:...` for every registry it was pulled from or pushed to.
    pub repo_digests: Vec<String>,
}

impl LocalImage {
    /// The registry digest of `reference`'s repository, as recorded by the engine.
    pub fn digest_in(&self, reference: &ImageRef) -> Option<String> {
        let repository = reference.repository();
        self.repo_digests.iter().find_map(|d| {
            d.strip_prefix(&repository)?
                .strip_prefix('@')
                .map(str::to_string)
        })
    }
}

/// Progress of one pull, build or push, for a progress bar or a log line.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// Bytes transferred so far, summed over layers.
    Bytes { current: u64, total: u64 },
    /// A Dockerfile step started: `Step N/M : ...`.
    Step { number: u32, of: u32, text: String },
}

/// A failed build: the step that failed and the last lines it printed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct BuildFailure {
    pub message: String,
    pub step: Option<String>,
    pub last_lines: Vec<String>,
}

/// Which of the engine's builders runs a build (`[build] builder` in dispatch.toml).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Builder {
    /// BuildKit (`POST /build?version=2`): no container and commit per step, so builds take
    /// a fraction of the classic builder's time, and more of them run well side by side.
    #[default]
    BuildKit,
    /// The engine's first builder: for engines without BuildKit, and for bases known only by
    /// image id, which BuildKit cannot build `FROM`.
    Classic,
}

impl Builder {
    /// Whether builds can run on `network`: BuildKit knows only the host network, none, and
    /// the default one; the classic builder any network the engine has.
    pub fn supports_network(self, network: &str) -> bool {
        self == Builder::Classic || matches!(network, "host" | "none" | "default")
    }
}

/// One build: a context and how to build it.
pub struct BuildRequest<'a> {
    /// A tar with `Dockerfile` at its root.
    pub context: Vec<u8>,
    /// The name the image is tagged with.
    pub tag: &'a str,
    pub build_args: &'a HashMap<String, String>,
    /// The network build steps run on (`host`, say).
    pub network: Option<&'a str>,
    pub builder: Builder,
    /// The base image, whose registry credentials BuildKit gets should it need them.
    pub base: Option<&'a ImageRef>,
}

pub struct Engine {
    docker: Docker,
}

impl Engine {
    /// Connects to `DOCKER_HOST`, else `configured` (dispatch.toml), else the default socket,
    /// and checks that the engine answers.
    pub async fn connect(configured: Option<&str>) -> Result<Engine, Unreachable> {
        let address = std::env::var("DOCKER_HOST")
            .ok()
            .filter(|host| !host.is_empty())
            .or_else(|| configured.map(str::to_string))
            .unwrap_or_else(|| DEFAULT_HOST.to_string());
        let unreachable = |e: bollard::errors::Error| Unreachable {
            address: address.clone(),
            detail: e.to_string(),
        };
        let docker = Docker::connect_with_host(&address).map_err(unreachable)?;
        let docker = docker.negotiate_version().await.map_err(unreachable)?;
        docker.ping().await.map_err(unreachable)?;
        Ok(Engine { docker })
    }

    /// Pulls `reference` and returns what the engine then holds under it.
    pub async fn pull(
        &self,
        reference: &ImageRef,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<LocalImage, String> {
        let fail = |detail: String| format!("error when pulling image {reference}: {detail}");
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
        let mut stream =
            self.docker
                .create_image(Some(options), None, docker_credentials(reference));
        let mut layers = LayerBytes::default();
        while let Some(item) = stream.next().await {
            let info = item.map_err(|e| fail(engine_message(&e)))?;
            if let Some(error) = info.error_detail.and_then(|d| d.message) {
                return Err(fail(error));
            }
            if let (Some(id), Some(detail)) = (info.id, info.progress_detail)
                && info.status.as_deref() == Some("Downloading")
            {
                progress(layers.update(id, detail.current, detail.total));
            }
        }
        self.inspect(reference.as_str())
            .await?
            .ok_or_else(|| fail("the engine does not hold the image after the pull".into()))
    }

    /// What the engine holds under `name`, or `None`.
    pub async fn inspect(&self, name: &str) -> Result<Option<LocalImage>, String> {
        match self.docker.inspect_image(name).await {
            Ok(image) => Ok(Some(LocalImage {
                id: image.id.unwrap_or_default(),
                repo_digests: image.repo_digests.unwrap_or_default(),
            })),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(None),
            Err(e) => Err(format!(
                "cannot inspect image {name}: {}",
                engine_message(&e)
            )),
        }
    }

    /// Builds `request.context` as `request.tag`; returns the image id.
    pub async fn build(
        &self,
        request: BuildRequest<'_>,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<String, BuildFailure> {
        let mut options = BuildImageOptionsBuilder::default()
            .dockerfile("Dockerfile")
            .t(request.tag)
            .rm(true)
            .forcerm(true)
            .buildargs(request.build_args);
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
                Err(e) => return Err(transcript.failure(&engine_message(&e))),
            }
        }
        transcript
            .image_id
            .take()
            .ok_or_else(|| transcript.failure("the engine reported no image id"))
    }

    /// Pushes `reference` (already tagged locally) to its registry; returns the pushed digest.
    pub async fn push(
        &self,
        reference: &ImageRef,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<String, String> {
        let fail = |detail: String| format!("error when pushing image {reference}: {detail}");
        let options = PushImageOptionsBuilder::default()
            .tag(reference.tag.as_deref().unwrap_or("latest"))
            .build();
        let mut stream = self.docker.push_image(
            &reference.repository(),
            Some(options),
            docker_credentials(reference),
        );
        let mut layers = LayerBytes::default();
        while let Some(item) = stream.next().await {
            let info = item.map_err(|e| fail(engine_message(&e)))?;
            if let Some(error) = info.error_detail.and_then(|d| d.message) {
                return Err(fail(error));
            }
            if let (Some(status), Some(detail)) = (info.status.as_deref(), info.progress_detail)
                && status == "Pushing"
            {
                progress(layers.update(status.to_string(), detail.current, detail.total));
            }
        }
        let image = self
            .inspect(reference.as_str())
            .await?
            .ok_or_else(|| fail("image vanished during the push".into()))?;
        image
            .digest_in(reference)
            .ok_or_else(|| fail("the engine recorded no digest for the push".into()))
    }

    /// Removes the image named `name` (a tag); a name that is already gone is fine.
    pub async fn remove(&self, name: &str) -> Result<(), String> {
        let options = RemoveImageOptionsBuilder::default().noprune(false).build();
        match self.docker.remove_image(name, Some(options), None).await {
            Ok(_)
            | Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(()),
            Err(e) => Err(format!(
                "cannot remove image {name}: {}",
                engine_message(&e)
            )),
        }
    }
}

impl Engine {
    /// The build template a base image carries: the files of the directory its
    /// [`TEMPLATE_LABEL`] label names (paths relative to it), or `None` without the label.
    pub async fn template_in(&self, image: &str) -> Result<Option<Vec<(String, Vec<u8>)>>, String> {
        let inspected = match self.docker.inspect_image(image).await {
            Ok(inspected) => inspected,
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => {
                return Err(format!(
                    "cannot read the template of image {image}: the engine does not hold it"
                ));
            }
            Err(e) => {
                return Err(format!(
                    "cannot inspect image {image}: {}",
                    engine_message(&e)
                ));
            }
        };
        let Some(dir) = inspected
            .config
            .and_then(|c| c.labels)
            .and_then(|mut labels| labels.remove(TEMPLATE_LABEL))
        else {
            return Ok(None);
        };
        let dir = format!("/{}", dir.trim().trim_matches('/'));
        let files = self.files_in(image, &dir).await.map_err(|e| {
            format!("cannot read the template of image {image} ({TEMPLATE_LABEL}={dir}): {e}")
        })?;
        if !files.iter().any(|(path, _)| path == "Dockerfile") {
            return Err(format!(
                "image {image} names {dir} as its template ({TEMPLATE_LABEL}), but {dir}/Dockerfile is not in the image"
            ));
        }
        Ok(Some(files))
    }

    /// The regular files under `path` in `image` (paths relative to it; a file is named by its
    /// own name), read from a container that is created, never started, and always removed.
    pub async fn files_in(
        &self,
        image: &str,
        path: &str,
    ) -> Result<Vec<(String, Vec<u8>)>, String> {
        let config = ContainerCreateBody {
            image: Some(image.to_string()),
            // Never run; an image without CMD cannot be created without one.
            cmd: Some(vec!["dispatch-reads-files".to_string()]),
            network_disabled: Some(true),
            ..Default::default()
        };
        let container = self
            .docker
            .create_container(None::<CreateContainerOptions>, config)
            .await
            .map_err(|e| {
                format!(
                    "cannot create a container of {image}: {}",
                    engine_message(&e)
                )
            })?
            .id;
        let read = self.read_archive(&container, path).await;
        let options = RemoveContainerOptionsBuilder::default()
            .force(true)
            .v(true)
            .build();
        let removed = self
            .docker
            .remove_container(&container, Some(options))
            .await
            .map_err(|e| {
                format!(
                    "cannot remove container {container}: {}",
                    engine_message(&e)
                )
            });
        let files = read?;
        removed?;
        Ok(files)
    }

    async fn read_archive(
        &self,
        container: &str,
        path: &str,
    ) -> Result<Vec<(String, Vec<u8>)>, String> {
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
                } => format!("{path} is not in the image"),
                _ => format!("cannot read {path}: {}", engine_message(&e)),
            })?;
            archive.extend_from_slice(&chunk);
            if archive.len() > LIMIT {
                return Err(format!("{path} holds more than {} MiB", LIMIT >> 20));
            }
        }
        files_of_archive(&archive).map_err(|e| format!("cannot read the archive of {path}: {e}"))
    }
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

/// The engine's own message, without bollard's wrapping.
fn engine_message(err: &bollard::errors::Error) -> String {
    match err {
        bollard::errors::Error::DockerResponseServerError { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

/// What a build printed, step by step: enough to say which step failed and why.
#[derive(Default)]
struct Transcript {
    /// Steps by key: BuildKit's vertex digests, or the classic builder's step numbers.
    steps: HashMap<String, StepLog>,
    /// The step started last.
    current: Option<String>,
    /// The first BuildKit vertex that failed, not counting those cancelled because of it.
    failed: Option<String>,
    image_id: Option<String>,
}

#[derive(Default)]
struct StepLog {
    /// `Step N/M : TEXT`, once a step a Dockerfile numbers has started.
    label: Option<String>,
    /// The step's output, its last [`Transcript::KEEP`] bytes.
    output: String,
}

impl Transcript {
    /// Enough output to hold a failure's last lines, however much a step prints.
    const KEEP: usize = 64 << 10;

    fn record(&mut self, info: BuildInfo, progress: &(dyn Fn(Progress) + Sync)) {
        match info.aux {
            Some(BuildInfoAux::Default(ImageId { id: Some(id) })) => self.image_id = Some(id),
            Some(BuildInfoAux::BuildKit(status)) => self.record_buildkit(status, progress),
            _ => {}
        }
        // The classic builder prints `Step N/M : TEXT`, then that step's output.
        for line in info.stream.iter().flat_map(|s| s.lines()) {
            match parse_step(line) {
                Some((number, of, text)) => {
                    self.start(number.to_string(), number, of, &text, progress);
                }
                None => self.output(
                    self.current.clone().unwrap_or_default(),
                    &format!("{line}\n"),
                ),
            }
        }
    }

    /// BuildKit reports a graph of vertices; those a Dockerfile numbers are named
    /// `[N/M] TEXT` (`[stage N/M] TEXT` in a multi-stage build).
    fn record_buildkit(&mut self, status: StatusResponse, progress: &(dyn Fn(Progress) + Sync)) {
        for vertex in status.vertexes {
            if vertex.started.is_some()
                && let Some((number, of, text)) = parse_vertex_name(&vertex.name)
                && self
                    .steps
                    .get(&vertex.digest)
                    .is_none_or(|s| s.label.is_none())
            {
                self.start(vertex.digest.clone(), number, of, &text, progress);
            }
            if self.failed.is_none()
                && !vertex.error.is_empty()
                && !vertex.error.contains("context canceled")
            {
                self.failed = Some(vertex.digest);
            }
        }
        for log in status.logs {
            self.output(log.vertex, &String::from_utf8_lossy(&log.msg));
        }
    }

    fn start(
        &mut self,
        key: String,
        number: u32,
        of: u32,
        text: &str,
        progress: &(dyn Fn(Progress) + Sync),
    ) {
        let text = abbreviate(text, 100);
        let step = self.steps.entry(key.clone()).or_default();
        step.label = Some(format!("Step {number}/{of} : {text}"));
        self.current = Some(key);
        progress(Progress::Step { number, of, text });
    }

    /// Appends `text` as it came: BuildKit's log chunks may end mid-line.
    fn output(&mut self, key: String, text: &str) {
        let output = &mut self.steps.entry(key).or_default().output;
        output.push_str(text);
        if output.len() > 2 * Self::KEEP {
            let mut cut = output.len() - Self::KEEP;
            while !output.is_char_boundary(cut) {
                cut += 1;
            }
            output.drain(..cut);
        }
    }

    fn failure(&self, message: &str) -> BuildFailure {
        let step = (self.failed.as_ref())
            .or(self.current.as_ref())
            .and_then(|key| self.steps.get(key));
        let lines: Vec<String> = step
            .map(|s| s.output.as_str())
            .unwrap_or_default()
            .lines()
            // A progress bar redraws its line with `\r`: its last state is what was seen.
            .map(|line| line.rsplit('\r').next().unwrap_or(line))
            .map(|line| anstream::adapter::strip_str(line).to_string())
            .filter(|line| !line.trim().is_empty() && !is_builder_chatter(line))
            .map(|line| line.trim_end().to_string())
            .collect();
        BuildFailure {
            message: summarize(message),
            step: step.and_then(|s| s.label.clone()),
            last_lines: lines[lines.len().saturating_sub(10)..].to_vec(),
        }
    }
}

/// The classic builder's `Step 2/5 : RUN ...` → (2, 5, "RUN ...").
fn parse_step(line: &str) -> Option<(u32, u32, String)> {
    let (numbers, text) = line.strip_prefix("Step ")?.split_once(" : ")?;
    let (number, of) = step_numbers(numbers)?;
    Some((number, of, text.to_string()))
}

/// BuildKit's `[2/5] RUN ...`, or `[stage-0 2/5] RUN ...` → (2, 5, "RUN ...").
fn parse_vertex_name(name: &str) -> Option<(u32, u32, String)> {
    let (label, text) = name.strip_prefix('[')?.split_once("] ")?;
    let (number, of) = step_numbers(label.rsplit(' ').next()?)?;
    Some((number, of, text.to_string()))
}

/// `2/5` → (2, 5).
fn step_numbers(text: &str) -> Option<(u32, u32)> {
    let (number, of) = text.split_once('/')?;
    Some((number.parse().ok()?, of.parse().ok()?))
}

/// Both builders repeat the whole failing command in their message; the step names it already.
fn summarize(message: &str) -> String {
    let message = message
        .strip_prefix("Docker stream error: ")
        .unwrap_or(message);
    let code = if message.starts_with("The command '") {
        message.rsplit_once("' returned a non-zero code: ")
    } else if message.starts_with("executor failed running [") || message.starts_with("process \"")
    {
        message.rsplit_once(": exit code: ")
    } else {
        None
    };
    match code {
        Some((_, code)) => format!("the step's command returned a non-zero code: {code}"),
        None => message.to_string(),
    }
}

/// One line of at most `max` characters, whitespace runs collapsed, cut with `…`.
fn abbreviate(text: &str, max: usize) -> String {
    let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match words.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &words[..at]),
        None => words,
    }
}

/// The classic builder's own bookkeeping (` ---> 1a2b`, `Removing intermediate container`),
/// which would push the step's real output out of a failure's last lines.
fn is_builder_chatter(line: &str) -> bool {
    line.starts_with(" ---> ") || line.starts_with("Removing intermediate container")
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

    #[test]
    fn summarizes_failed_commands() {
        assert_eq!(
            summarize(
                "Docker stream error: The command '/bin/sh -c set -e; long' returned a non-zero code: 127"
            ),
            "the step's command returned a non-zero code: 127"
        );
        assert_eq!(
            summarize("executor failed running [/bin/sh -c exit 3]: exit code: 3"),
            "the step's command returned a non-zero code: 3"
        );
        assert_eq!(
            summarize("process \"/bin/sh -c exit 3\" did not complete successfully: exit code: 3"),
            "the step's command returned a non-zero code: 3"
        );
        assert_eq!(summarize("pull access denied"), "pull access denied");
        assert_eq!(
            abbreviate("RUN  set -e;\n   pip3 install", 100),
            "RUN set -e; pip3 install"
        );
        assert_eq!(abbreviate("abcdef", 3), "abc…");
    }

    #[test]
    fn parses_build_steps() {
        assert_eq!(
            parse_step("Step 2/5 : RUN pip3 install -r r.txt"),
            Some((2, 5, "RUN pip3 install -r r.txt".into()))
        );
        assert_eq!(parse_step(" ---> Running in 1234"), None);
        assert_eq!(
            parse_vertex_name("[2/3] COPY a /a"),
            Some((2, 3, "COPY a /a".into()))
        );
        assert_eq!(
            parse_vertex_name("[builder 4/7] RUN make"),
            Some((4, 7, "RUN make".into()))
        );
        assert_eq!(parse_vertex_name("[internal] load metadata"), None);
        assert_eq!(parse_vertex_name("exporting to image"), None);
    }

    #[test]
    fn buildkit_failures_name_the_failed_vertex_and_its_last_lines() {
        use bollard::moby::buildkit::v1::{Vertex, VertexLog};
        let vertex = |digest: &str, name: &str, error: &str| Vertex {
            digest: digest.into(),
            name: name.into(),
            started: Some(Default::default()),
            error: error.into(),
            ..Default::default()
        };
        let log = |vertex: &str, msg: &str| VertexLog {
            vertex: vertex.into(),
            msg: msg.as_bytes().to_vec(),
            ..Default::default()
        };
        let status = |vertexes: Vec<Vertex>, logs: Vec<VertexLog>| BuildInfo {
            aux: Some(BuildInfoAux::BuildKit(StatusResponse {
                vertexes,
                logs,
                ..Default::default()
            })),
            ..Default::default()
        };
        let steps = std::sync::Mutex::new(Vec::new());
        let progress = |p: Progress| steps.lock().unwrap().push(p);
        let mut transcript = Transcript::default();
        transcript.record(
            status(
                vec![
                    vertex("a", "[internal] load metadata for x", ""),
                    vertex("b", "[builder 1/2] RUN make", ""),
                ],
                vec![log("b", "compiling\nerror: mis")],
            ),
            &progress,
        );
        transcript.record(
            status(
                vec![vertex("c", "[stage-1 1/1] RUN sleep 9", "")],
                // A log chunk may end mid-line; a progress bar redraws its line.
                vec![log("b", "sing ;\n\x1b[1mbold\x1b[0m\n10%\r100%\n")],
            ),
            &progress,
        );
        transcript.record(
            status(
                vec![
                    vertex("b", "[builder 1/2] RUN make", "exit code: 2"),
                    vertex("c", "[stage-1 1/1] RUN sleep 9", "context canceled"),
                ],
                vec![],
            ),
            &progress,
        );
        assert_eq!(
            transcript.failure("executor failed running [/bin/sh -c make]: exit code: 2"),
            BuildFailure {
                message: "the step's command returned a non-zero code: 2".into(),
                step: Some("Step 1/2 : RUN make".into()),
                last_lines: ["compiling", "error: missing ;", "bold", "100%"]
                    .map(String::from)
                    .to_vec(),
            }
        );
        // Each numbered step is reported once, when it starts.
        assert_eq!(
            steps.into_inner().unwrap(),
            [
                Progress::Step {
                    number: 1,
                    of: 2,
                    text: "RUN make".into()
                },
                Progress::Step {
                    number: 1,
                    of: 1,
                    text: "RUN sleep 9".into()
                },
            ]
        );
    }

    #[test]
    fn finds_the_digest_of_the_reference_repository() {
        let image = LocalImage {
            id: "sha256:1".into(),
            repo_digests: vec![
                "other/repo@sha256:aa".into(),
                "127.0.0.1:5000/base/x@sha256:bb".into(),
            ],
        };
        let reference = ImageRef::parse("127.0.0.1:5000/base/x:1").unwrap();
        assert_eq!(image.digest_in(&reference).as_deref(), Some("sha256:bb"));
    }
}
