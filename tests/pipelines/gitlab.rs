//! GitLab CI, as far as the example `.gitlab-ci.yml` needs it: merge request pipelines and
//! default-branch pipelines; jobs chosen by their `rules:` (`if:` over the variables,
//! `changes:`, `when: manual`), `extends:` resolved; each job on a fresh machine in a fresh
//! clone (`GIT_DEPTH`), its `before_script:` and `script:` in one bash, `after_script:` in
//! another with `CI_JOB_STATUS`; the cache (kept apart for protected branches), artifacts and
//! Code Quality reports, passed to the jobs that `needs:` them. The merge request's notes are
//! kept by a small HTTP server that answers GitLab's notes API.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::forge::Team;
use crate::job::{self, Machine, Ran, Store};

pub const PROJECT_ID: &str = "7";
/// The token the notes API takes (`DISPATCH_NOTE_TOKEN`).
const TOKEN: &str = "glpat-test-token";
/// Where GitLab says its pages are: nothing listens there.
const SERVER: &str = "http://127.0.0.1:9";

/// A merge request, as GitLab knows it.
#[derive(Debug, Clone)]
pub struct MergeRequest {
    pub iid: u64,
    pub branch: String,
    pub head: String,
}

/// A job of a pipeline, as it ended (or waits: `manual`).
#[derive(Debug, Clone)]
pub struct JobRun {
    pub name: String,
    /// `success`, `failed` or `manual`.
    pub status: &'static str,
    pub ran: Ran,
    pub after: Ran,
    /// The Code Quality reports' entries.
    pub quality: Vec<Value>,
    pub artifacts: PathBuf,
}

impl JobRun {
    pub fn log(&self) -> String {
        format!(
            "--- {} ({})\n{}{}--- after_script\n{}{}",
            self.name,
            self.status,
            self.ran.stdout,
            self.ran.stderr,
            self.after.stdout,
            self.after.stderr
        )
    }
}

/// One pipeline.
#[derive(Debug, Clone)]
pub struct Pipeline {
    pub id: u64,
    pub jobs: Vec<JobRun>,
    variables: BTreeMap<String, String>,
    sha: String,
    reference: String,
    changed: Vec<String>,
}

impl Pipeline {
    pub fn job(&self, name: &str) -> &JobRun {
        (self.jobs.iter().find(|j| j.name == name))
            .unwrap_or_else(|| panic!("no job {name} in pipeline {}: {:?}", self.id, self.jobs))
    }
}

/// A merge request's note, as the API keeps it.
#[derive(Debug, Clone)]
pub struct Note {
    pub id: u64,
    pub iid: u64,
    pub body: String,
    /// How many times it was written: created once, then updated.
    pub writes: usize,
}

/// GitLab, for one project and its `.gitlab-ci.yml`.
pub struct Gitlab<'t> {
    team: &'t Team,
    config: Value,
    dir: tempfile::TempDir,
    pub store: Store,
    /// The project's CI/CD variables (they win over the file's).
    pub variables: BTreeMap<String, String>,
    pub pipelines: Vec<Pipeline>,
    api: Api,
    requests: u64,
}

impl<'t> Gitlab<'t> {
    pub fn new(team: &'t Team, text: &str) -> Gitlab<'t> {
        let config: Value = serde_saphyr::from_str(text).expect("the file is YAML");
        let variables = BTreeMap::from([
            ("DISPATCH_REPOSITORY".to_string(), team.source_url()),
            ("DISPATCH_REF".to_string(), Team::SOURCE_TAG.to_string()),
            (
                "DISPATCH_PG_URL".to_string(),
                crate::common::env("DISPATCH_TEST_PG_URL"),
            ),
            ("DISPATCH_WORKSPACE".to_string(), team.workspace.clone()),
            ("DISPATCH_NOTE_TOKEN".to_string(), TOKEN.to_string()),
        ]);
        Gitlab {
            team,
            config,
            dir: tempfile::tempdir().unwrap(),
            store: Store::new(),
            variables,
            pipelines: Vec::new(),
            api: Api::start(),
            requests: 0,
        }
    }

    /// The configuration, for a test to change (`GIT_DEPTH`, say).
    pub fn config(&mut self) -> &mut Value {
        &mut self.config
    }

    /// The notes on merge request `iid`.
    pub fn notes(&self, iid: u64) -> Vec<Note> {
        let notes = self.api.notes.lock().unwrap();
        notes.iter().filter(|n| n.iid == iid).cloned().collect()
    }

    /// Opens a merge request of `branch`, whose first commit changes `files`.
    pub fn open(
        &mut self,
        branch: &str,
        files: &[(&str, Option<&str>)],
    ) -> (MergeRequest, Option<Pipeline>) {
        self.requests += 1;
        let head = self.team.push(branch, files, &format!("{branch}: first"));
        let mut mr = MergeRequest {
            iid: self.requests,
            branch: branch.into(),
            head: head.clone(),
        };
        let pipeline = self.merge_request(&mut mr, head);
        (mr, pipeline)
    }

    /// Pushes a commit changing `files` to the merge request's branch.
    pub fn push(
        &mut self,
        mr: &mut MergeRequest,
        files: &[(&str, Option<&str>)],
        message: &str,
    ) -> Option<Pipeline> {
        let head = self.team.push(&mr.branch, files, message);
        self.merge_request(mr, head)
    }

    fn merge_request(&mut self, mr: &mut MergeRequest, head: String) -> Option<Pipeline> {
        mr.head = head;
        let reference = format!("refs/merge-requests/{}/head", mr.iid);
        self.team.set_ref(&reference, &mr.head);
        let base = self.team.merge_base("origin/main", &mr.head);
        let vars = [
            ("CI_PIPELINE_SOURCE", "merge_request_event".to_string()),
            ("CI_MERGE_REQUEST_IID", mr.iid.to_string()),
            ("CI_MERGE_REQUEST_DIFF_BASE_SHA", base.clone()),
            ("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", mr.branch.clone()),
            ("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "main".into()),
            ("CI_COMMIT_REF_NAME", mr.branch.clone()),
        ];
        let changed = self.team.changed(&base, &mr.head);
        self.pipeline(&vars, mr.head.clone(), reference, changed)
    }

    /// Merges the merge request (a merge commit on main): the default branch's pipeline.
    pub fn merge(&mut self, mr: &MergeRequest) -> Option<Pipeline> {
        let before = self.team.sha("main");
        let sha = self.team.merge(
            &mr.branch,
            &format!("Merge branch '{}' into 'main'", mr.branch),
        );
        let vars = [
            ("CI_PIPELINE_SOURCE", "push".to_string()),
            ("CI_COMMIT_BRANCH", "main".into()),
            ("CI_COMMIT_REF_NAME", "main".into()),
            ("CI_COMMIT_BEFORE_SHA", before.clone()),
        ];
        let changed = self.team.changed(&before, &sha);
        self.pipeline(&vars, sha, "refs/heads/main".into(), changed)
    }

    /// Runs the manual job `name` of the pipeline `id` (someone with the right clicked it).
    pub fn play(&mut self, id: u64, name: &str) -> JobRun {
        let index = self.pipelines.iter().position(|p| p.id == id).unwrap();
        let pipeline = self.pipelines[index].clone();
        assert_eq!(pipeline.job(name).status, "manual");
        let definition = self.jobs().remove(name).unwrap();
        let run = self.run_job(&pipeline, name, &definition);
        let slot = self.pipelines[index]
            .jobs
            .iter_mut()
            .find(|j| j.name == name)
            .unwrap();
        *slot = run.clone();
        run
    }

    /// The jobs, `extends:` resolved, by name.
    fn jobs(&self) -> BTreeMap<String, Value> {
        let all = self.config.as_object().unwrap();
        let reserved = [
            "stages",
            "variables",
            "default",
            "workflow",
            "include",
            "image",
            "cache",
        ];
        all.iter()
            .filter(|(name, _)| !name.starts_with('.') && !reserved.contains(&name.as_str()))
            .map(|(name, job)| (name.clone(), self.extended(job)))
            .collect()
    }

    fn extended(&self, job: &Value) -> Value {
        let Some(parents) = job.get("extends") else {
            return job.clone();
        };
        let parents: Vec<&str> = match parents {
            Value::String(one) => vec![one],
            Value::Array(many) => many.iter().map(|p| p.as_str().unwrap()).collect(),
            other => panic!("extends: {other}"),
        };
        let mut merged = json!({});
        for parent in parents {
            deep_merge(&mut merged, &self.extended(&self.config[parent]));
        }
        deep_merge(&mut merged, job);
        merged
    }

    fn pipeline(
        &mut self,
        vars: &[(&str, String)],
        sha: String,
        reference: String,
        changed: Vec<String>,
    ) -> Option<Pipeline> {
        let id = self.pipelines.len() as u64 + 100;
        let mut variables: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        for (key, value) in [
            ("CI", "true".to_string()),
            ("GITLAB_CI", "true".into()),
            ("CI_PIPELINE_ID", id.to_string()),
            ("CI_COMMIT_SHA", sha.clone()),
            ("CI_DEFAULT_BRANCH", "main".into()),
            ("CI_PROJECT_ID", PROJECT_ID.into()),
            ("CI_PROJECT_PATH", "example/images".into()),
            ("CI_SERVER_URL", SERVER.into()),
            (
                "CI_API_V4_URL",
                format!("http://{}/api/v4", self.api.address),
            ),
        ] {
            variables.insert(key.into(), value);
        }
        let mut pipeline = Pipeline {
            id,
            jobs: Vec::new(),
            variables,
            sha,
            reference,
            changed,
        };
        let stages: Vec<String> = (self.config["stages"].as_array().unwrap().iter())
            .map(|s| s.as_str().unwrap().to_string())
            .collect();
        let mut jobs: Vec<(String, Value)> = self.jobs().into_iter().collect();
        jobs.sort_by_key(|(_, job)| stages.iter().position(|s| job["stage"] == **s));
        for (name, definition) in jobs {
            let Some(when) = self.rule(&pipeline, &definition) else {
                continue;
            };
            let earlier_failed = pipeline.jobs.iter().any(|j| j.status == "failed");
            if when == "manual" || earlier_failed {
                let status = if when == "manual" {
                    "manual"
                } else {
                    "skipped"
                };
                pipeline.jobs.push(JobRun {
                    name,
                    status,
                    ran: Ran::default(),
                    after: Ran::default(),
                    quality: Vec::new(),
                    artifacts: PathBuf::new(),
                });
                continue;
            }
            let run = self.run_job(&pipeline, &name, &definition);
            pipeline.jobs.push(run);
        }
        if pipeline.jobs.is_empty() {
            return None;
        }
        self.pipelines.push(pipeline.clone());
        Some(pipeline)
    }

    /// The `when` of the first rule that matches, or `None` (not in the pipeline).
    fn rule(&self, pipeline: &Pipeline, job: &Value) -> Option<String> {
        let variables = self.variables(pipeline, job);
        for rule in job["rules"].as_array()? {
            if let Some(condition) = rule["if"].as_str()
                && !holds(condition, &variables)
            {
                continue;
            }
            if let Some(patterns) = rule["changes"].as_array() {
                let mut set = globset::GlobSetBuilder::new();
                for pattern in patterns {
                    let glob = globset::GlobBuilder::new(pattern.as_str().unwrap())
                        .literal_separator(true)
                        .build()
                        .unwrap();
                    set.add(glob);
                }
                let set = set.build().unwrap();
                if !pipeline.changed.iter().any(|f| set.is_match(f)) {
                    continue;
                }
            }
            let when = rule["when"].as_str().unwrap_or("on_success");
            return (when != "never").then(|| when.to_string());
        }
        None
    }

    /// A job's variables: predefined, the file's (global, then the job's), the project's,
    /// each `$NAME` in a value expanded.
    fn variables(&self, pipeline: &Pipeline, job: &Value) -> BTreeMap<String, String> {
        let mut all = pipeline.variables.clone();
        for scope in [&self.config["variables"], &job["variables"]] {
            for (key, value) in scope.as_object().into_iter().flatten() {
                let value = match value {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                let expanded = expand(&value, &all);
                all.insert(key.clone(), expanded);
            }
        }
        all.extend(self.variables.clone());
        all
    }

    fn run_job(&mut self, pipeline: &Pipeline, name: &str, job: &Value) -> JobRun {
        let machine = Machine::new();
        let project = machine.work().join("example/images");
        let mut variables = self.variables(pipeline, job);
        variables.insert("CI_PROJECT_DIR".into(), project.display().to_string());
        let job_id = (self.pipelines.len() * 10 + pipeline.jobs.len()) as u64 + 1000;
        variables.insert("CI_JOB_ID".into(), job_id.to_string());
        variables.insert("CI_JOB_NAME".into(), name.into());
        variables.insert(
            "CI_JOB_URL".into(),
            format!("{SERVER}/example/images/-/jobs/{job_id}"),
        );
        if let Some(environment) = job["environment"]["name"].as_str() {
            variables.insert("CI_ENVIRONMENT_NAME".into(), environment.into());
        }
        let depth: u32 = variables
            .get("GIT_DEPTH")
            .map_or(20, |d| d.parse().unwrap());
        let local = pipeline
            .reference
            .replace("refs/heads/", "refs/remotes/origin/");
        job::clone(
            &self.team.url(),
            &project,
            &pipeline.sha,
            &local,
            depth,
            false,
        );

        // The cache, apart for protected branches (GitLab's default), then what it needs.
        let protected = if pipeline.reference == "refs/heads/main" {
            "protected"
        } else {
            "non_protected"
        };
        let cache = job["cache"]["key"].as_str().map(|key| {
            let key = format!("{}-{protected}", expand(key, &variables));
            let paths: Vec<PathBuf> = (job["cache"]["paths"].as_array().unwrap().iter())
                .map(|p| project.join(p.as_str().unwrap()))
                .collect();
            (key, paths)
        });
        if let Some((key, paths)) = &cache {
            self.store.restore(key, paths);
        }
        let needs: Vec<&str> = match job["needs"].as_array() {
            Some(needs) => needs.iter().map(|n| n.as_str().unwrap()).collect(),
            None => pipeline.jobs.iter().map(|j| j.name.as_str()).collect(),
        };
        for need in needs {
            let artifacts = &pipeline.job(need).artifacts;
            if artifacts.exists() {
                job::copy_tree(artifacts, &project);
            }
        }

        let mut env = machine.env(&self.store.tools());
        env.extend(variables.clone());
        let lines = |key: &str| -> String {
            (job[key].as_array().into_iter().flatten())
                .map(|l| l.as_str().unwrap().to_string())
                .collect::<Vec<_>>()
                .join("\n")
        };
        let script = format!("{}\n{}\n", lines("before_script"), lines("script"));
        let ran = job::bash(&script, &project, &env, &machine.temp());
        let status = if ran.ok { "success" } else { "failed" };
        env.insert("CI_JOB_STATUS".into(), status.into());
        let after = match job.get("after_script") {
            Some(_) => job::bash(&lines("after_script"), &project, &env, &machine.temp()),
            None => Ran::default(),
        };
        if let Some((key, paths)) = &cache
            && (ran.ok || job["cache"]["when"] == "always")
        {
            self.store.save(key, paths);
        }

        // Artifacts: the paths and the reports, kept for the jobs after it.
        let artifacts = self
            .dir
            .path()
            .join(format!("pipelines/{}/{name}", pipeline.id));
        let mut quality = Vec::new();
        let when = job["artifacts"]["when"].as_str().unwrap_or("on_success");
        if when == "always" || ran.ok {
            let mut kept: Vec<String> =
                (job["artifacts"]["paths"].as_array().into_iter().flatten())
                    .map(|p| p.as_str().unwrap().to_string())
                    .collect();
            let reports: Vec<String> = match &job["artifacts"]["reports"]["codequality"] {
                Value::String(one) => vec![one.clone()],
                Value::Array(many) => many
                    .iter()
                    .map(|p| p.as_str().unwrap().to_string())
                    .collect(),
                _ => Vec::new(),
            };
            for report in &reports {
                if let Ok(text) = std::fs::read_to_string(project.join(report)) {
                    let entries: Vec<Value> = serde_json::from_str(&text).unwrap_or_else(|e| {
                        panic!("{report} is no Code Quality report: {e}: {text}")
                    });
                    quality.extend(entries);
                }
            }
            kept.extend(reports);
            std::fs::create_dir_all(&artifacts).unwrap();
            for path in kept {
                if project.join(&path).is_file() {
                    std::fs::copy(project.join(&path), artifacts.join(&path)).unwrap();
                }
            }
        }
        JobRun {
            name: name.into(),
            status,
            ran,
            after,
            quality,
            artifacts,
        }
    }
}

/// Merges `from` into `into`: maps key by key, anything else replaced (GitLab's `extends`).
fn deep_merge(into: &mut Value, from: &Value) {
    match (into, from) {
        (Value::Object(into), Value::Object(from)) => {
            for (key, value) in from {
                if key == "extends" {
                    continue;
                }
                deep_merge(into.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
        (into, from) => *into = from.clone(),
    }
}

/// `$NAME` and `${NAME}` in `text`, from `variables` (an unknown one is empty).
fn expand(text: &str, variables: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        let braced = chars.peek() == Some(&'{');
        if braced {
            chars.next();
        }
        let mut name = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_ascii_alphanumeric() || c == '_' {
                name.push(c);
                chars.next();
            } else {
                break;
            }
        }
        if braced {
            assert_eq!(chars.next(), Some('}'), "{text}");
        }
        out.push_str(variables.get(&name).map_or("", String::as_str));
    }
    out
}

/// Whether a `rules: if:` holds: `$A == "x"`, `$A != $B`, `$A` (set and not empty), joined
/// by `&&` and `||`.
fn holds(condition: &str, variables: &BTreeMap<String, String>) -> bool {
    let operand = |text: &str| -> Option<String> {
        let text = text.trim();
        if let Some(name) = text.strip_prefix('$') {
            variables.get(name).cloned()
        } else if text == "null" {
            None
        } else {
            Some(text.trim_matches(|c| c == '"' || c == '\'').to_string())
        }
    };
    condition.split("||").any(|all| {
        all.split("&&").all(|one| {
            if let Some((a, b)) = one.split_once("==") {
                operand(a) == operand(b)
            } else if let Some((a, b)) = one.split_once("!=") {
                operand(a) != operand(b)
            } else {
                operand(one).is_some_and(|v| !v.is_empty())
            }
        })
    })
}

/// GitLab's notes API for merge requests, on a loopback port: list, create, update; it
/// wants the token in `PRIVATE-TOKEN`.
struct Api {
    address: String,
    notes: Arc<Mutex<Vec<Note>>>,
    server: Arc<tiny_http::Server>,
}

impl Api {
    fn start() -> Api {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let address = server.server_addr().to_ip().unwrap().to_string();
        let notes = Arc::new(Mutex::new(Vec::new()));
        let (serving, kept) = (server.clone(), notes.clone());
        std::thread::spawn(move || {
            for mut request in serving.incoming_requests() {
                let (status, body) = answer(&mut request, &kept);
                let header =
                    tiny_http::Header::from_bytes("Content-Type", "application/json").unwrap();
                let response = tiny_http::Response::from_string(body.to_string())
                    .with_status_code(status)
                    .with_header(header);
                let _ = request.respond(response);
            }
        });
        Api {
            address,
            notes,
            server,
        }
    }
}

impl Drop for Api {
    fn drop(&mut self) {
        self.server.unblock();
    }
}

fn answer(request: &mut tiny_http::Request, notes: &Mutex<Vec<Note>>) -> (u16, Value) {
    let authorized = (request.headers().iter())
        .any(|h| h.field.equiv("PRIVATE-TOKEN") && h.value.as_str() == TOKEN);
    if !authorized {
        return (401, json!({"message": "401 Unauthorized"}));
    }
    let url = request.url().to_string();
    let path = url.split('?').next().unwrap();
    let prefix = format!("/api/v4/projects/{PROJECT_ID}/merge_requests/");
    let Some(rest) = path.strip_prefix(&prefix) else {
        return (404, json!({"message": "404 Not found"}));
    };
    let parts: Vec<&str> = rest.split('/').collect();
    let iid: u64 = parts[0].parse().unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(request.as_reader(), &mut text).unwrap();
    let body = || -> String {
        let sent: Value = serde_json::from_str(&text).expect("a JSON body");
        sent["body"].as_str().unwrap().to_string()
    };
    let shown = |n: &Note| json!({"id": n.id, "body": n.body, "noteable_iid": n.iid});
    let mut notes = notes.lock().unwrap();
    match (request.method(), &parts[1..]) {
        (tiny_http::Method::Get, ["notes"]) => {
            let listed: Vec<Value> = notes.iter().filter(|n| n.iid == iid).map(shown).collect();
            (200, Value::Array(listed))
        }
        (tiny_http::Method::Post, ["notes"]) => {
            let note = Note {
                id: notes.len() as u64 + 500,
                iid,
                body: body(),
                writes: 1,
            };
            notes.push(note.clone());
            (201, shown(&note))
        }
        (tiny_http::Method::Put, ["notes", id]) => {
            let id: u64 = id.parse().unwrap();
            let Some(note) = notes.iter_mut().find(|n| n.id == id && n.iid == iid) else {
                return (404, json!({"message": "404 Note Not Found"}));
            };
            note.body = body();
            note.writes += 1;
            (200, shown(note))
        }
        _ => (405, json!({"message": "405 Method Not Allowed"})),
    }
}
