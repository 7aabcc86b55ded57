//! What a build printed, read back: the steps as they start (for progress), and on failure
//! the step that failed with its last lines of output. Both builders are understood: the
//! classic one's `Step N/M : ...` stream and BuildKit's graph of vertices. Pure: it reads what
//! the engine sent.

use std::collections::HashMap;

use bollard::moby::buildkit::v1::StatusResponse;
use bollard::models::{BuildInfo, BuildInfoAux, ImageId};

use crate::model::image::{BuildFailure, Progress, Step};

/// What a build printed, step by step: enough to say which step failed and why.
#[derive(Default)]
pub(super) struct Transcript {
    /// Steps by key: BuildKit's vertex digests, or the classic builder's step numbers.
    steps: HashMap<String, StepLog>,
    /// The step started last.
    current: Option<String>,
    /// The first BuildKit vertex that failed, not counting those cancelled because of it.
    failed: Option<String>,
    pub(super) image_id: Option<String>,
}

#[derive(Default)]
struct StepLog {
    /// The numbered step, once a step a Dockerfile numbers has started.
    step: Option<Step>,
    /// The step's output, its last [`Transcript::KEEP`] bytes.
    output: String,
}

impl Transcript {
    /// Enough output to hold a failure's last lines, however much a step prints.
    const KEEP: usize = 64 << 10;
    /// How many lines of a failed step's output a failure keeps.
    const LAST_LINES: usize = 20;

    pub(super) fn record(&mut self, info: BuildInfo, progress: &(dyn Fn(Progress) + Sync)) {
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
                    .is_none_or(|s| s.step.is_none())
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
        let text = one_line(text);
        let step = self.steps.entry(key.clone()).or_default();
        let started = Step { number, of, text };
        step.step = Some(started.clone());
        self.current = Some(key);
        progress(Progress::Step(started));
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

    /// Whether a BuildKit step failed: then the build did, whatever the stream does after.
    pub(super) fn has_failed(&self) -> bool {
        self.failed.is_some()
    }

    pub(super) fn failure(&self, message: &str) -> BuildFailure {
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
            step: step.and_then(|s| s.step.clone()),
            last_lines: lines[lines.len().saturating_sub(Self::LAST_LINES)..].to_vec(),
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

/// A step's instruction on one line, whitespace runs collapsed. Whole: logs and the recorded
/// reason keep it; only a terminal cuts it to fit. Bounded all the same, at
/// [`MAX_STEP_TEXT`] characters.
fn one_line(text: &str) -> String {
    let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match words.char_indices().nth(MAX_STEP_TEXT) {
        Some((at, _)) => format!("{}…", &words[..at]),
        None => words,
    }
}

/// Longer than any instruction a person writes; a template could hold a longer one.
const MAX_STEP_TEXT: usize = 4096;

/// The classic builder's own bookkeeping (` ---> 1a2b`, `Removing intermediate container`),
/// which would push the step's real output out of a failure's last lines.
fn is_builder_chatter(line: &str) -> bool {
    line.starts_with(" ---> ") || line.starts_with("Removing intermediate container")
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
            one_line("RUN  set -e;\n   pip3 install"),
            "RUN set -e; pip3 install"
        );
        let long = "x".repeat(MAX_STEP_TEXT + 5);
        assert_eq!(one_line(&long).chars().count(), MAX_STEP_TEXT + 1);
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
                step: Some(Step {
                    number: 1,
                    of: 2,
                    text: "RUN make".into()
                }),
                last_lines: ["compiling", "error: missing ;", "bold", "100%"]
                    .map(String::from)
                    .to_vec(),
            }
        );
        // Each numbered step is reported once, when it starts.
        assert_eq!(
            steps.into_inner().unwrap(),
            [
                Progress::Step(Step {
                    number: 1,
                    of: 2,
                    text: "RUN make".into()
                }),
                Progress::Step(Step {
                    number: 1,
                    of: 1,
                    text: "RUN sleep 9".into()
                }),
            ]
        );
    }
}
