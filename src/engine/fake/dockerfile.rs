//! How the fake engine builds: the context's Dockerfile read instruction by instruction,
//! numbered and named as each of dockerd's builders numbers and names its steps, with `FROM`,
//! `COPY`/`ADD`, `LABEL`, `WORKDIR`, `ARG` and `ENV` made real on an image of files in memory.
//! No command runs: a `RUN` succeeds, unless it is `exit N` or `false`, which fail without a
//! shell, or the test asked for the build to fail.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;

use super::{CREATED, Image};
use crate::engine::{BuildRequest, OnProgress};
use crate::model::image::{BuildFailure, Builder, Progress, Step};
use crate::registry::fake::digest_of;

/// Every instruction a Dockerfile may hold.
const KEYWORDS: [&str; 18] = [
    "FROM",
    "RUN",
    "CMD",
    "LABEL",
    "MAINTAINER",
    "EXPOSE",
    "ENV",
    "ADD",
    "COPY",
    "ENTRYPOINT",
    "VOLUME",
    "USER",
    "WORKDIR",
    "ARG",
    "ONBUILD",
    "STOPSIGNAL",
    "HEALTHCHECK",
    "SHELL",
];

/// The instructions BuildKit makes a numbered step of; the classic builder numbers them all.
const BUILDKIT_STEPS: [&str; 5] = ["FROM", "RUN", "COPY", "ADD", "WORKDIR"];

/// One instruction, its continuation lines joined.
struct Instruction {
    keyword: String,
    args: String,
    /// As written, on one line: the step's text.
    text: String,
}

/// Builds `request` into an image, its `FROM` found by `from`; `failing` fails its last `RUN`
/// (its last step, without one) as a command that exits 1 would.
pub(super) fn build(
    request: &BuildRequest<'_>,
    from: &dyn Fn(&str) -> Result<Image, String>,
    failing: bool,
    progress: OnProgress<'_>,
) -> Result<Image, BuildFailure> {
    let failure = |message: String| BuildFailure {
        message,
        step: None,
        last_lines: Vec::new(),
    };
    let context = unpack(&request.context)
        .map_err(|e| failure(format!("cannot read the build context: {e}")))?;
    let dockerfile = context
        .get("Dockerfile")
        .ok_or_else(|| failure("Cannot locate specified Dockerfile: Dockerfile".into()))?;
    let instructions = instructions(&String::from_utf8_lossy(dockerfile)).map_err(failure)?;
    let classic = request.builder == Builder::Classic;
    let numbered = |i: &Instruction| classic || BUILDKIT_STEPS.contains(&i.keyword.as_str());
    // The classic builder adds a step for each label asked for; BuildKit none.
    let label_steps: Vec<String> = (request.labels.iter())
        .filter(|_| classic)
        .map(|(key, value)| format!("LABEL {key}={value}"))
        .collect();
    let of = (instructions.iter().filter(|i| numbered(i)).count() + label_steps.len()) as u32;
    let failing_at = failing.then(|| {
        (instructions.iter().rposition(|i| i.keyword == "RUN"))
            .unwrap_or(instructions.len().saturating_sub(1))
    });
    let mut stage = Stage {
        context: &context,
        args: request.build_args,
        vars: HashMap::new(),
        image: None,
        workdir: "/".into(),
        summary: format!("args {:?}\n", BTreeMap::from_iter(request.build_args)),
    };
    let mut step = None;
    let mut number = 0;
    let mut start = |text: &str| {
        number += 1;
        let started = Step {
            number,
            of,
            text: text.to_string(),
        };
        progress(Progress::Step(started.clone()));
        started
    };
    for (at, instruction) in instructions.iter().enumerate() {
        if numbered(instruction) {
            step = Some(start(&instruction.text));
        }
        let done = match failing_at {
            Some(failing) if failing == at => Err(exited(1)),
            _ => stage.apply(instruction, from),
        };
        done.map_err(|message| BuildFailure {
            step: step.clone(),
            ..failure(message)
        })?;
    }
    let mut image = stage
        .image
        .ok_or_else(|| failure("no build stage in current context".into()))?;
    for text in &label_steps {
        start(text);
    }
    image.shown.labels.extend(request.labels.clone());
    image.shown.id = digest_of(format!("{}{}", stage.summary, image.content()));
    image.shown.repo_digests = Vec::new();
    image.shown.created = Some(CREATED.into());
    Ok(image)
}

/// What the build has made so far.
struct Stage<'a> {
    context: &'a BTreeMap<String, Vec<u8>>,
    args: &'a HashMap<String, String>,
    /// The values of `ARG`s and `ENV`s, for `$NAME` and `${NAME}`.
    vars: HashMap<String, String>,
    image: Option<Image>,
    workdir: String,
    /// What the image's id is made of besides its content: its base, its instructions.
    summary: String,
}

impl Stage<'_> {
    fn apply(
        &mut self,
        instruction: &Instruction,
        from: &dyn Fn(&str) -> Result<Image, String>,
    ) -> Result<(), String> {
        let args = self.substitute(&instruction.args);
        self.summary.push_str(&format!("{}\n", instruction.text));
        match instruction.keyword.as_str() {
            "FROM" => {
                let name = args
                    .split_whitespace()
                    .find(|word| !word.starts_with("--"))
                    .ok_or("FROM requires the name of an image")?;
                let base = match name {
                    "scratch" => Image::default(),
                    name => from(name)?,
                };
                self.summary.push_str(&format!("from {}\n", base.shown.id));
                self.image = Some(base);
                self.workdir = "/".into();
            }
            "ARG" => {
                for word in words(&instruction.args) {
                    let (name, default) = match word.split_once('=') {
                        Some((name, default)) => (name.to_string(), Some(default.to_string())),
                        None => (word, None),
                    };
                    if let Some(value) = self.args.get(&name).cloned().or(default) {
                        self.vars.insert(name, value);
                    }
                }
            }
            "ENV" => self.vars.extend(pairs(&args)),
            "LABEL" => self.image()?.shown.labels.extend(pairs(&args)),
            "WORKDIR" => self.workdir = absolute(&self.workdir, &args),
            "COPY" | "ADD" => self.copy(&instruction.keyword, &args)?,
            "RUN" => {
                self.image()?;
                if let Some(code) = exit_code(&args) {
                    return Err(exited(code));
                }
            }
            _ => {
                self.image()?;
            }
        }
        Ok(())
    }

    fn image(&mut self) -> Result<&mut Image, String> {
        self.image
            .as_mut()
            .ok_or_else(|| "no build stage in current context".to_string())
    }

    /// `COPY [--flag...] SOURCE... DEST`, each source a file or a folder of the context.
    fn copy(&mut self, keyword: &str, args: &str) -> Result<(), String> {
        let words: Vec<String> = match serde_json::from_str::<Vec<String>>(args) {
            Ok(words) => words,
            Err(_) => args.split_whitespace().map(str::to_string).collect(),
        };
        if let Some(flag) = words.iter().find(|w| w.starts_with("--from")) {
            return Err(format!(
                "the fake engine builds one stage from its context: {keyword} {flag} is beyond it"
            ));
        }
        let words: Vec<&String> = words.iter().filter(|w| !w.starts_with("--")).collect();
        let (dest, sources) = match words.split_last() {
            Some((dest, sources)) if !sources.is_empty() => (dest, sources),
            _ => return Err(format!("{keyword} requires at least two arguments")),
        };
        let dest_path = absolute(&self.workdir, dest);
        let image = self.image()?;
        let into_folder = dest.ends_with('/')
            || sources.len() > 1
            || image
                .files
                .keys()
                .any(|p| p.starts_with(&format!("{dest_path}/")));
        let mut copied = Vec::new();
        for source in sources {
            let source = source.trim_start_matches("./").trim_matches('/');
            let source = if source == "." { "" } else { source };
            if let Some(content) = self.context.get(source) {
                let name = source.rsplit('/').next().unwrap_or(source);
                let path = if into_folder {
                    format!("{}/{name}", dest_path.trim_end_matches('/'))
                } else {
                    dest_path.clone()
                };
                copied.push((path, content.clone()));
                continue;
            }
            let prefix = if source.is_empty() {
                String::new()
            } else {
                format!("{source}/")
            };
            let under: Vec<_> = (self.context.iter())
                .filter_map(|(path, content)| Some((path.strip_prefix(&prefix)?, content)))
                .map(|(relative, content)| {
                    let path = format!("{}/{relative}", dest_path.trim_end_matches('/'));
                    (path, content.clone())
                })
                .collect();
            if under.is_empty() {
                return Err(format!(
                    "{keyword} failed: file not found in build context: stat {source}: file does not exist"
                ));
            }
            copied.extend(under);
        }
        for (path, content) in copied {
            self.summary
                .push_str(&format!("{path} {}\n", digest_of(&content)));
            self.image()?.files.insert(path, content);
        }
        Ok(())
    }

    /// `text` with `$NAME` and `${NAME}` replaced by the values of `ARG`s and `ENV`s.
    fn substitute(&self, text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(at) = rest.find('$') {
            out.push_str(&rest[..at]);
            let after = &rest[at + 1..];
            let (name, tail) = match after.strip_prefix('{') {
                Some(braced) => match braced.split_once('}') {
                    Some((name, tail)) => (name, tail),
                    None => ("", after),
                },
                None => {
                    let end = after
                        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                        .unwrap_or(after.len());
                    (&after[..end], &after[end..])
                }
            };
            if name.is_empty() {
                out.push('$');
            } else {
                out.push_str(self.vars.get(name).map_or("", String::as_str));
            }
            rest = tail;
        }
        out.push_str(rest);
        out
    }
}

/// The failure of a step whose command exited with `code`, in the builders' words.
fn exited(code: u32) -> String {
    format!("the step's command returned a non-zero code: {code}")
}

/// The code a shell command exits with, for the commands that need no shell to know it.
fn exit_code(command: &str) -> Option<u32> {
    match command.trim() {
        "false" => Some(1),
        command => {
            let code: u32 = command.strip_prefix("exit ")?.trim().parse().ok()?;
            (code != 0).then_some(code)
        }
    }
}

/// `dir` joined with `path`, unless `path` is absolute.
fn absolute(dir: &str, path: &str) -> String {
    let joined = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("{}/{path}", dir.trim_end_matches('/'))
    };
    let parts: Vec<&str> = joined
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    format!("/{}", parts.join("/"))
}

/// `KEY=VALUE ...`, or the older `KEY VALUE` with one pair.
fn pairs(args: &str) -> Vec<(String, String)> {
    let words = words(args);
    match words.first() {
        Some(first) if !first.contains('=') => {
            vec![(first.clone(), words[1..].join(" "))]
        }
        _ => words
            .into_iter()
            .filter_map(|w| w.split_once('=').map(|(k, v)| (k.into(), v.into())))
            .collect(),
    }
}

/// `text` split at whitespace outside quotes, the quotes taken off.
fn words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut quote = None;
    for c in text.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (None, '"' | '\'') => {
                quote = Some(c);
                word.get_or_insert_default();
            }
            (None, c) if c.is_whitespace() => words.extend(word.take()),
            (_, c) => word.get_or_insert_default().push(c),
        }
    }
    words.extend(word);
    words
}

/// The instructions of `dockerfile`: comments and blank lines left out, lines ending in `\`
/// joined to the next.
fn instructions(dockerfile: &str) -> Result<Vec<Instruction>, String> {
    let mut instructions = Vec::new();
    let mut pending = String::new();
    for line in dockerfile.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        match line.trim_end().strip_suffix('\\') {
            Some(head) => pending.push_str(head),
            None => {
                pending.push_str(line);
                let whole = std::mem::take(&mut pending);
                instructions.push(instruction(&whole)?);
            }
        }
    }
    if !pending.trim().is_empty() {
        instructions.push(instruction(&pending)?);
    }
    Ok(instructions)
}

fn instruction(line: &str) -> Result<Instruction, String> {
    let text = line.split_whitespace().collect::<Vec<_>>().join(" ");
    let (keyword, args) = text.split_once(' ').unwrap_or((&text, ""));
    let keyword = keyword.to_uppercase();
    if !KEYWORDS.contains(&keyword.as_str()) {
        return Err(format!(
            "dockerfile parse error: unknown instruction: {keyword}"
        ));
    }
    Ok(Instruction {
        keyword,
        args: args.to_string(),
        text: text.clone(),
    })
}

/// The regular files of a context tar, by relative path.
fn unpack(context: &[u8]) -> std::io::Result<BTreeMap<String, Vec<u8>>> {
    let mut files = BTreeMap::new();
    for entry in tar::Archive::new(context).entries()? {
        let mut entry = entry?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            continue;
        }
        let path = entry
            .path()?
            .to_string_lossy()
            .trim_start_matches("./")
            .to_string();
        let mut content = Vec::new();
        entry.read_to_end(&mut content)?;
        files.insert(path, content);
    }
    Ok(files)
}

impl Image {
    /// Its files and labels, as text for a digest.
    fn content(&self) -> String {
        let labels: BTreeMap<_, _> = self.shown.labels.iter().collect();
        let mut content = format!("labels {labels:?}\n");
        for (path, bytes) in &self.files {
            content.push_str(&format!("{path} {}\n", digest_of(bytes)));
        }
        content
    }
}
