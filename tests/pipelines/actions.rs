//! GitHub Actions, as far as the example workflow needs it: a pull request's events start a
//! run of the workflow (its `paths` filter applied), each job whose `if:` holds runs on a fresh
//! machine, its `run:` steps under `bash --noprofile --norc -eo pipefail` with the variables a
//! runner sets and the files it reads back (`GITHUB_OUTPUT`, `GITHUB_ENV`, `GITHUB_PATH`,
//! `GITHUB_STEP_SUMMARY`), `${{ ... }}` evaluated (github-actions-expressions parses them).
//! The actions it `uses:` cannot be downloaded here, so they are done as their documentation
//! says: actions/checkout, actions/cache, actions/upload-artifact,
//! dawidd6/action-download-artifact and marocchino/sticky-pull-request-comment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use github_actions_expressions::call::Function;
use github_actions_expressions::op::{BinOp, UnOp};
use github_actions_expressions::{Evaluation, Expr, SpannedExpr};
use serde_json::{Value, json};
use sha2::Digest;

use crate::forge::Team;
use crate::job::{self, Machine, Ran, Store};

/// The repository's name on the forge.
pub const REPOSITORY: &str = "example/images";
/// Where the forge says its pages are: nothing listens there.
pub const SERVER: &str = "http://127.0.0.1:9";

/// A pull request, as the forge knows it.
#[derive(Debug, Clone)]
pub struct PullRequest {
    pub number: u64,
    pub branch: String,
    /// Its head commit.
    pub head: String,
    /// The commit GitHub tests it as: the head merged into the base's tip (`refs/pull/N/merge`),
    /// then, once merged, the merge commit on the base.
    pub merge: String,
    pub merged: bool,
}

/// One step as it ended.
#[derive(Debug, Clone)]
pub struct Step {
    pub name: String,
    /// `success`, `failure` or `skipped`.
    pub outcome: &'static str,
    pub ran: Ran,
}

/// One job as it ended.
#[derive(Debug, Clone)]
pub struct JobRun {
    pub name: String,
    pub steps: Vec<Step>,
    /// What its steps wrote to `$GITHUB_STEP_SUMMARY`.
    pub summary: String,
    pub ok: bool,
}

impl JobRun {
    /// The workflow commands that annotate files: `::error ...`, `::warning ...`, `::notice ...`.
    pub fn annotations(&self) -> Vec<String> {
        (self.steps.iter())
            .flat_map(|s| s.ran.stdout.lines())
            .filter(|l| {
                ["::error", "::warning", "::notice"]
                    .iter()
                    .any(|c| l.starts_with(c))
            })
            .map(str::to_string)
            .collect()
    }

    /// The step named `name` (or, without a name, whose action or command starts so).
    pub fn step(&self, name: &str) -> &Step {
        (self.steps.iter().find(|s| s.name.starts_with(name)))
            .unwrap_or_else(|| panic!("no step {name:?} in {}: {:#?}", self.name, self.steps))
    }

    /// Everything it printed, for a failure's message.
    pub fn log(&self) -> String {
        let mut log = String::new();
        for step in &self.steps {
            log.push_str(&format!(
                "--- {} ({})\n{}{}",
                step.name, step.outcome, step.ran.stdout, step.ran.stderr
            ));
        }
        log
    }
}

/// One run of the workflow.
#[derive(Debug, Clone)]
pub struct WorkflowRun {
    pub id: u64,
    pub head_sha: String,
    /// The jobs that ran (those whose `if:` held).
    pub jobs: Vec<JobRun>,
    pub artifacts: PathBuf,
}

impl WorkflowRun {
    pub fn ok(&self) -> bool {
        self.jobs.iter().all(|j| j.ok)
    }

    pub fn job(&self, name: &str) -> &JobRun {
        (self.jobs.iter().find(|j| j.name == name))
            .unwrap_or_else(|| panic!("job {name} did not run: {:?}", self.jobs))
    }

    /// The artifact `name`'s folder, if the run uploaded it.
    pub fn artifact(&self, name: &str) -> Option<PathBuf> {
        Some(self.artifacts.join(name)).filter(|p| p.exists())
    }
}

/// What happened on the forge, as a workflow run sees it.
struct Event {
    name: &'static str,
    payload: Value,
    /// `GITHUB_REF` and `GITHUB_SHA`.
    reference: String,
    sha: String,
    pr: Option<PullRequest>,
    /// The files it changes, for the `paths` filters.
    changed: Vec<String>,
}

/// A pull request's comment, as marocchino/sticky-pull-request-comment keeps it.
#[derive(Debug, Clone)]
pub struct Comment {
    pub body: String,
    /// How many times it was written: the first creates it, each later one replaces it.
    pub writes: usize,
}

/// GitHub, for one repository and its workflow.
pub struct Github<'t> {
    team: &'t Team,
    workflow: Value,
    dir: tempfile::TempDir,
    pub store: Store,
    pub vars: BTreeMap<String, String>,
    pub secrets: BTreeMap<String, String>,
    pub runs: Vec<WorkflowRun>,
    /// By pull request and header.
    pub comments: BTreeMap<(u64, String), Comment>,
    pulls: u64,
}

/// Where a job is, for the steps that act on it.
struct Job<'a> {
    machine: &'a Machine,
    workspace: PathBuf,
    ctx: Value,
    env: BTreeMap<String, String>,
    /// `GITHUB_PATH` additions, latest first.
    path: Vec<String>,
    failed: bool,
    run: u64,
    event: &'a Event,
}

impl<'t> Github<'t> {
    pub fn new(team: &'t Team, workflow: &str) -> Github<'t> {
        let workflow: Value = serde_saphyr::from_str(workflow).expect("the workflow is YAML");
        let secrets = BTreeMap::from([(
            "DISPATCH_PG_URL".to_string(),
            crate::common::env("DISPATCH_TEST_PG_URL"),
        )]);
        let vars = BTreeMap::from([
            (
                "DISPATCH_REPOSITORY".to_string(),
                "example/dispatch".to_string(),
            ),
            ("DISPATCH_REF".to_string(), Team::SOURCE_TAG.to_string()),
            ("DISPATCH_WORKSPACE".to_string(), team.workspace.clone()),
        ]);
        Github {
            team,
            workflow,
            dir: tempfile::tempdir().unwrap(),
            store: Store::new(),
            vars,
            secrets,
            runs: Vec::new(),
            comments: BTreeMap::new(),
            pulls: 0,
        }
    }

    /// The workflow, for checks of its shape, and for a test to change (`fetch-depth`, say).
    pub fn workflow(&mut self) -> &mut Value {
        &mut self.workflow
    }

    /// The team adopts the workflow: a push of it to main, which builds dispatch.
    pub fn adopt(&mut self) -> WorkflowRun {
        let before = self.team.sha("main");
        let text = serde_json::to_string_pretty(&self.workflow).unwrap();
        let after = self.team.push(
            "main",
            &[(".github/workflows/dispatch.yml", Some(&text))],
            "CI",
        );
        let payload = json!({
            "ref": "refs/heads/main", "before": before, "after": after,
            "repository": {"full_name": REPOSITORY, "default_branch": "main"},
        });
        let event = Event {
            name: "push",
            payload,
            reference: "refs/heads/main".into(),
            changed: self.team.changed(&before, &after),
            sha: after,
            pr: None,
        };
        self.run(event).expect("the workflow's own change runs it")
    }

    /// Opens a pull request of `branch`, whose first commit changes `files`.
    pub fn open(
        &mut self,
        branch: &str,
        files: &[(&str, Option<&str>)],
    ) -> (PullRequest, Option<WorkflowRun>) {
        self.pulls += 1;
        let head = self.team.push(branch, files, &format!("{branch}: first"));
        let mut pr = PullRequest {
            number: self.pulls,
            branch: branch.into(),
            head,
            merge: String::new(),
            merged: false,
        };
        let run = self.tested(&mut pr, "opened");
        (pr, run)
    }

    /// Pushes a commit changing `files` to the pull request's branch.
    pub fn push(
        &mut self,
        pr: &mut PullRequest,
        files: &[(&str, Option<&str>)],
        message: &str,
    ) -> Option<WorkflowRun> {
        pr.head = self.team.push(&pr.branch, files, message);
        self.tested(pr, "synchronize")
    }

    /// GitHub makes the merge commit it tests, then the event runs the workflow.
    fn tested(&mut self, pr: &mut PullRequest, action: &'static str) -> Option<WorkflowRun> {
        let message = format!("Merge {} into main", pr.head);
        pr.merge = self.team.merged("main", &pr.branch, &message);
        self.team
            .set_ref(&format!("refs/pull/{}/merge", pr.number), &pr.merge);
        self.team
            .set_ref(&format!("refs/pull/{}/head", pr.number), &pr.head);
        self.pull_request(action, pr)
    }

    /// Merges the pull request (a merge commit on main) and sends `closed`.
    pub fn merge(&mut self, pr: &mut PullRequest) -> Option<WorkflowRun> {
        pr.merge = self
            .team
            .merge(&pr.branch, &format!("Merge pull request #{}", pr.number));
        pr.merged = true;
        self.pull_request("closed", pr)
    }

    fn pull_request(&mut self, action: &'static str, pr: &PullRequest) -> Option<WorkflowRun> {
        let payload = json!({
            "action": action,
            "number": pr.number,
            "pull_request": {
                "number": pr.number,
                "merged": pr.merged,
                "merge_commit_sha": pr.merge,
                "head": {"ref": pr.branch, "sha": pr.head, "repo": {"full_name": REPOSITORY}},
                "base": {"ref": "main", "sha": self.team.sha("main")},
            },
            "repository": {"full_name": REPOSITORY, "default_branch": "main"},
        });
        let event = Event {
            name: "pull_request",
            payload,
            reference: format!("refs/pull/{}/merge", pr.number),
            sha: pr.merge.clone(),
            changed: self.team.changed(&format!("{}^1", pr.merge), &pr.merge),
            pr: Some(pr.clone()),
        };
        self.run(event)
    }

    /// Runs the workflow for `event`, unless its trigger (`types`, `branches`, `paths`)
    /// leaves it out.
    fn run(&mut self, event: Event) -> Option<WorkflowRun> {
        let on = &self.workflow["on"][event.name];
        if let Some(types) = on["types"].as_array()
            && !types.contains(&event.payload["action"])
        {
            return None;
        }
        if let Some(branches) = on["branches"].as_array()
            && !branches.contains(&json!(event.reference.trim_start_matches("refs/heads/")))
        {
            return None;
        }
        if let Some(paths) = on["paths"].as_array() {
            let mut set = globset::GlobSetBuilder::new();
            for path in paths {
                set.add(glob(path.as_str().unwrap()));
            }
            let set = set.build().unwrap();
            if !event.changed.iter().any(|f| set.is_match(f)) {
                return None;
            }
        }
        let id = self.runs.len() as u64 + 1;
        let artifacts = self.runs_dir(id);
        std::fs::create_dir_all(&artifacts).unwrap();
        let mut run = WorkflowRun {
            id,
            head_sha: (event.pr.as_ref()).map_or(event.sha.clone(), |pr| pr.head.clone()),
            jobs: Vec::new(),
            artifacts,
        };
        let jobs: Vec<(String, Value)> = self.workflow["jobs"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (name, definition) in jobs {
            if let Some(job) = self.job(&name, &definition, &event, id) {
                run.jobs.push(job);
            }
        }
        self.runs.push(run.clone());
        Some(run)
    }

    fn job(&mut self, name: &str, definition: &Value, event: &Event, run: u64) -> Option<JobRun> {
        let machine = Machine::new();
        let workspace = machine.work().join("images");
        std::fs::create_dir_all(&workspace).unwrap();
        let event_path = machine.temp().join("event.json");
        std::fs::write(&event_path, event.payload.to_string()).unwrap();
        let pr = event.pr.as_ref();
        let head_ref = pr.map_or(String::new(), |pr| pr.branch.clone());
        let base_ref = if pr.is_some() { "main" } else { "" };
        let github = json!({
            "event_name": event.name,
            "event": event.payload,
            "repository": REPOSITORY,
            "repository_owner": "example",
            "ref": event.reference,
            "sha": event.sha,
            "head_ref": head_ref,
            "base_ref": base_ref,
            "workspace": workspace.display().to_string(),
            "run_id": run.to_string(),
            "run_number": run.to_string(),
            "workflow": self.workflow["name"],
            "server_url": SERVER,
            "actor": "developer",
            "job": name,
            "token": "ghs_test",
        });
        let ctx = json!({
            "github": github,
            "vars": self.vars,
            "secrets": self.secrets,
            "runner": {"os": "Linux", "temp": machine.temp().display().to_string()},
            "steps": {},
            "env": {},
            "job": {"status": "success"},
        });
        if let Some(condition) = definition.get("if")
            && !self.holds(condition, &ctx, false, &workspace)
        {
            return None;
        }
        let mut env = machine.env(&self.store.tools());
        let string = |v: &Value| v.as_str().unwrap().to_string();
        for (key, value) in [
            ("CI", "true".to_string()),
            ("GITHUB_ACTIONS", "true".into()),
            ("GITHUB_WORKSPACE", workspace.display().to_string()),
            ("GITHUB_REPOSITORY", REPOSITORY.into()),
            ("GITHUB_REPOSITORY_OWNER", "example".into()),
            ("GITHUB_EVENT_NAME", event.name.into()),
            ("GITHUB_EVENT_PATH", event_path.display().to_string()),
            ("GITHUB_SHA", event.sha.clone()),
            ("GITHUB_REF", event.reference.clone()),
            ("GITHUB_HEAD_REF", head_ref.clone()),
            ("GITHUB_BASE_REF", base_ref.into()),
            ("GITHUB_RUN_ID", run.to_string()),
            ("GITHUB_RUN_NUMBER", run.to_string()),
            ("GITHUB_RUN_ATTEMPT", "1".into()),
            ("GITHUB_SERVER_URL", SERVER.into()),
            ("GITHUB_API_URL", format!("{SERVER}/api")),
            ("GITHUB_WORKFLOW", string(&self.workflow["name"])),
            ("GITHUB_JOB", name.into()),
            ("GITHUB_ACTOR", "developer".into()),
            ("RUNNER_OS", "Linux".into()),
            ("RUNNER_TEMP", machine.temp().display().to_string()),
        ] {
            env.insert(key.into(), value);
        }
        let mut job = Job {
            machine: &machine,
            workspace,
            ctx,
            env,
            path: Vec::new(),
            failed: false,
            run,
            event,
        };
        // The workflow's `env`, then the job's, evaluated once for the job.
        for scope in [&self.workflow["env"], &definition["env"]] {
            for (key, value) in scope.as_object().into_iter().flatten() {
                let value = self.substitute(&scalar(value), &job);
                job.env.insert(key.clone(), value.clone());
                job.ctx["env"][key] = Value::String(value);
            }
        }
        let mut steps = Vec::new();
        let mut summary = String::new();
        for (i, step) in definition["steps"].as_array().unwrap().iter().enumerate() {
            let label = step["name"]
                .as_str()
                .or(step["uses"].as_str())
                .or(step["run"].as_str())
                .unwrap()
                .to_string();
            let condition = step.get("if").cloned().unwrap_or(json!("success()"));
            let (outcome, ran) = if self.holds(&condition, &job.ctx, job.failed, &job.workspace) {
                let (ran, wrote) = if step.get("run").is_some() {
                    self.run_step(i, step, &mut job)
                } else {
                    (self.uses(step, &mut job), String::new())
                };
                summary.push_str(&wrote);
                if !ran.ok {
                    job.failed = true;
                }
                (if ran.ok { "success" } else { "failure" }, ran)
            } else {
                ("skipped", Ran::default())
            };
            if let Some(id) = step["id"].as_str() {
                let outputs = job.ctx["steps"][id]["outputs"].take();
                job.ctx["steps"][id] = json!({
                    "outcome": outcome,
                    "conclusion": outcome,
                    "outputs": if outputs.is_null() { json!({}) } else { outputs },
                });
            }
            steps.push(Step {
                name: label,
                outcome,
                ran,
            });
        }
        Some(JobRun {
            name: name.into(),
            steps,
            summary,
            ok: !job.failed,
        })
    }

    /// A `run:` step: what it printed, and what it wrote to the step summary.
    fn run_step(&mut self, i: usize, step: &Value, job: &mut Job) -> (Ran, String) {
        let files = job
            .machine
            .temp()
            .join(format!("_runner_file_commands/{i}"));
        std::fs::create_dir_all(&files).unwrap();
        let mut env = job.env.clone();
        for (key, value) in step["env"].as_object().into_iter().flatten() {
            env.insert(key.clone(), self.substitute(&scalar(value), job));
        }
        for (key, file) in [
            ("GITHUB_OUTPUT", "output"),
            ("GITHUB_ENV", "env"),
            ("GITHUB_PATH", "path"),
            ("GITHUB_STEP_SUMMARY", "summary"),
        ] {
            let path = files.join(file);
            std::fs::write(&path, "").unwrap();
            env.insert(key.into(), path.display().to_string());
        }
        let base = env["PATH"].clone();
        let added: Vec<&str> = job.path.iter().map(String::as_str).collect();
        env.insert(
            "PATH".into(),
            [added, vec![base.as_str()]].concat().join(":"),
        );
        let script = self.substitute(step["run"].as_str().unwrap(), job);
        let ran = job::bash(&script, &job.workspace, &env, &job.machine.temp());
        let read = |file: &str| std::fs::read_to_string(files.join(file)).unwrap();
        if let Some(id) = step["id"].as_str() {
            job.ctx["steps"][id]["outputs"] = json!(key_values(&read("output")));
        }
        for (key, value) in key_values(&read("env")) {
            job.env.insert(key.clone(), value.clone());
            job.ctx["env"][&key] = Value::String(value);
        }
        for line in read("path").lines().filter(|l| !l.is_empty()) {
            job.path.insert(0, line.to_string());
        }
        (ran, read("summary"))
    }

    /// A `uses:` step, done as the action's documentation says.
    fn uses(&mut self, step: &Value, job: &mut Job) -> Ran {
        let action = step["uses"].as_str().unwrap();
        let (name, _version) = action.split_once('@').unwrap();
        let with: BTreeMap<String, String> = (step["with"].as_object().into_iter().flatten())
            .map(|(k, v)| (k.clone(), self.substitute(&scalar(v), job)))
            .collect();
        let input = |key: &str| with.get(key).cloned().unwrap_or_default();
        let said = |ok: bool, text: String| Ran {
            ok,
            stdout: text,
            stderr: String::new(),
        };
        match name {
            "actions/checkout" => {
                let repository = Some(input("repository")).filter(|r| !r.is_empty());
                let (url, sha, local) = match repository.as_deref() {
                    None | Some(REPOSITORY) => {
                        let reference = input("ref");
                        if reference.is_empty() {
                            let local = match &job.event.pr {
                                Some(pr) => format!("refs/remotes/pull/{}/merge", pr.number),
                                None => job
                                    .event
                                    .reference
                                    .replace("refs/heads/", "refs/remotes/origin/"),
                            };
                            (self.team.url(), job.event.sha.clone(), local)
                        } else {
                            let sha = job::resolve(&self.team.url(), &reference);
                            (
                                self.team.url(),
                                sha.clone(),
                                format!("refs/remotes/origin/{sha}"),
                            )
                        }
                    }
                    Some("example/dispatch") => {
                        let url = self.team.source_url();
                        let sha = job::resolve(&url, &input("ref"));
                        (url, sha.clone(), format!("refs/remotes/origin/{sha}"))
                    }
                    Some(other) => return said(false, format!("no repository {other}")),
                };
                let depth: u32 = Some(input("fetch-depth"))
                    .filter(|d| !d.is_empty())
                    .map_or(1, |d| d.parse().unwrap());
                let dir = job.workspace.join(input("path"));
                job::clone(&url, &dir, &sha, &local, depth, depth == 0);
                said(true, format!("checked out {sha}"))
            }
            // Caches are the current ref's, or the default branch's (GitHub's scopes).
            "actions/cache/restore" => {
                let key = input("key");
                let paths = self.paths(&input("path"), job);
                let hit = [job.event.reference.as_str(), "refs/heads/main"]
                    .iter()
                    .any(|scope| self.store.restore(&format!("{scope}/{key}"), &paths));
                let id = step["id"].as_str().unwrap_or("cache");
                job.ctx["steps"][id]["outputs"] =
                    json!({"cache-hit": hit.to_string(), "cache-primary-key": key});
                said(
                    true,
                    format!("cache {key}: {}", if hit { "hit" } else { "miss" }),
                )
            }
            "actions/cache/save" => {
                let key = input("key");
                assert!(!key.is_empty(), "a cache is saved under a key");
                let paths = self.paths(&input("path"), job);
                self.store
                    .save(&format!("{}/{key}", job.event.reference), &paths);
                said(true, format!("saved cache {key}"))
            }
            "actions/upload-artifact" => {
                let folder = self.runs_dir(job.run).join(input("name"));
                std::fs::create_dir_all(&folder).unwrap();
                let mut found = 0;
                for path in self.paths(&input("path"), job) {
                    if path.is_file() {
                        std::fs::copy(&path, folder.join(path.file_name().unwrap())).unwrap();
                        found += 1;
                    }
                }
                said(found > 0, format!("uploaded {found} file(s)"))
            }
            "dawidd6/action-download-artifact" => {
                // The newest run of this workflow for the pull request's head commit that
                // succeeded; its artifact, or a failure.
                let pr = job.event.pr.as_ref().expect("a pull request's event");
                let number: u64 = input("pr").parse().unwrap();
                assert_eq!(number, pr.number);
                let wanted = Some(input("workflow_conclusion")).filter(|c| !c.is_empty());
                assert!(
                    wanted.as_deref().is_none_or(|c| c == "success"),
                    "{wanted:?}"
                );
                let found = (self.runs.iter().rev()).find(|r| r.head_sha == pr.head && r.ok());
                let Some(run) = found else {
                    return said(false, "no matching workflow run found".into());
                };
                let Some(artifact) = run.artifact(&input("name")) else {
                    return said(
                        false,
                        format!("run {} has no artifact {}", run.id, input("name")),
                    );
                };
                let to = job.workspace.join(
                    Some(input("path"))
                        .filter(|p| !p.is_empty())
                        .unwrap_or(".".into()),
                );
                job::copy_tree(&artifact, &to);
                said(
                    true,
                    format!("downloaded {} of run {}", input("name"), run.id),
                )
            }
            "marocchino/sticky-pull-request-comment" => {
                let body = match with.get("path") {
                    Some(path) => std::fs::read_to_string(job.workspace.join(path)).unwrap(),
                    None => input("message"),
                };
                let entry = self
                    .comments
                    .entry((job.event.pr.as_ref().unwrap().number, input("header")))
                    .or_insert(Comment {
                        body: String::new(),
                        writes: 0,
                    });
                entry.body = body;
                entry.writes += 1;
                said(true, "commented".into())
            }
            other => said(false, format!("the test does not know the action {other}")),
        }
    }

    fn runs_dir(&self, run: u64) -> PathBuf {
        self.dir.path().join(format!("runs/{run}/artifacts"))
    }

    /// An action's `path` input: one path a line, `~` the home, relative to the workspace.
    fn paths(&self, input: &str, job: &Job) -> Vec<PathBuf> {
        (input.lines().map(str::trim).filter(|l| !l.is_empty()))
            .map(|line| match line.strip_prefix("~/") {
                Some(rest) => job.machine.home().join(rest),
                None => job.workspace.join(line),
            })
            .collect()
    }

    /// `${{ ... }}` in `text`, each replaced by its value.
    fn substitute(&self, text: &str, job: &Job) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${{") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find("}}").expect("an expression is closed") + start;
            let source = &rest[start + 3..end];
            let value = self.evaluate(source, &job.ctx, job.failed, &job.workspace);
            out.push_str(&value.sema().to_string());
            rest = &rest[end + 2..];
        }
        out.push_str(rest);
        out
    }

    /// Whether an `if:` holds: without a status function, `success() && (...)`.
    fn holds(&self, condition: &Value, ctx: &Value, failed: bool, workspace: &Path) -> bool {
        let text = match condition {
            Value::Bool(b) => return *b && !failed,
            other => other.as_str().unwrap().trim(),
        };
        let text = (text.strip_prefix("${{").and_then(|t| t.strip_suffix("}}"))).unwrap_or(text);
        let lower = text.to_ascii_lowercase();
        let status = ["success(", "failure(", "always(", "cancelled("]
            .iter()
            .any(|f| lower.contains(f));
        let value = self.evaluate(text, ctx, failed, workspace).as_boolean();
        if status { value } else { value && !failed }
    }

    fn evaluate(&self, source: &str, ctx: &Value, failed: bool, workspace: &Path) -> Evaluation {
        let expr = Expr::parse(source.trim())
            .unwrap_or_else(|e| panic!("the expression {source:?} does not parse: {e:?}"));
        evaluate(&expr, ctx, failed, workspace)
    }
}

/// A YAML scalar as the text an input or variable gets.
fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `KEY=VALUE` lines and `KEY<<DELIMITER` blocks, as `GITHUB_OUTPUT` and `GITHUB_ENV` hold them.
fn key_values(text: &str) -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((key, delimiter)) = line.split_once("<<") {
            let value: Vec<&str> = lines.by_ref().take_while(|l| *l != delimiter).collect();
            found.insert(key.to_string(), value.join("\n"));
        } else if let Some((key, value)) = line.split_once('=') {
            found.insert(key.to_string(), value.to_string());
        }
    }
    found
}

/// An expression's value in `ctx`, with the status functions saying whether a step `failed`.
fn evaluate(expr: &SpannedExpr, ctx: &Value, failed: bool, workspace: &Path) -> Evaluation {
    let value = |v: &Value| Evaluation::try_from(v.clone()).unwrap_or(Evaluation::Null);
    match &expr.inner {
        Expr::Literal(literal) => match literal {
            github_actions_expressions::literal::Literal::String(s) => {
                Evaluation::String(s.to_string())
            }
            github_actions_expressions::literal::Literal::Number(n) => Evaluation::Number(*n),
            github_actions_expressions::literal::Literal::Boolean(b) => Evaluation::Boolean(*b),
            github_actions_expressions::literal::Literal::Null => Evaluation::Null,
        },
        Expr::Identifier(name) => value(lookup(ctx, name.as_str())),
        Expr::Context(context) => {
            let mut at = ctx;
            for part in &context.parts {
                let key = match &part.inner {
                    Expr::Identifier(name) => name.as_str().to_string(),
                    Expr::Index(index) => {
                        evaluate(index, ctx, failed, workspace).sema().to_string()
                    }
                    other => panic!("the test does not evaluate {other:?}"),
                };
                at = lookup(at, &key);
            }
            value(at)
        }
        Expr::BinExpr(bin) => {
            let lhs = evaluate(&bin.lhs, ctx, failed, workspace);
            match bin.op {
                BinOp::And if !lhs.as_boolean() => lhs,
                BinOp::Or if lhs.as_boolean() => lhs,
                BinOp::And | BinOp::Or => evaluate(&bin.rhs, ctx, failed, workspace),
                ref op => {
                    let rhs = evaluate(&bin.rhs, ctx, failed, workspace);
                    let (l, r) = (lhs.sema(), rhs.sema());
                    Evaluation::Boolean(match op {
                        BinOp::Eq => l == r,
                        BinOp::Neq => l != r,
                        BinOp::Gt => l > r,
                        BinOp::Ge => l >= r,
                        BinOp::Lt => l < r,
                        BinOp::Le => l <= r,
                        BinOp::And | BinOp::Or => unreachable!(),
                    })
                }
            }
        }
        Expr::UnExpr {
            op: UnOp::Not,
            expr,
        } => Evaluation::Boolean(!evaluate(expr, ctx, failed, workspace).as_boolean()),
        Expr::Call(call) => match call.func {
            Function::Success => Evaluation::Boolean(!failed),
            Function::Failure => Evaluation::Boolean(failed),
            Function::Always => Evaluation::Boolean(true),
            Function::Cancelled => Evaluation::Boolean(false),
            Function::HashFiles => {
                let patterns: Vec<String> = (call.args.iter())
                    .map(|a| evaluate(a, ctx, failed, workspace).sema().to_string())
                    .collect();
                Evaluation::String(hash_files(workspace, &patterns))
            }
            other => panic!("the test does not evaluate {other:?}()"),
        },
        other => panic!("the test does not evaluate {other:?}"),
    }
}

/// A context's member, as GitHub finds them: case-insensitively; null when absent.
fn lookup<'v>(at: &'v Value, key: &str) -> &'v Value {
    static NULL: Value = Value::Null;
    let Some(map) = at.as_object() else {
        return &NULL;
    };
    map.get(key)
        .or_else(|| {
            map.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v)
        })
        .unwrap_or(&NULL)
}

/// A glob as GitHub matches paths: `*` within a folder, `**` across folders.
fn glob(pattern: &str) -> globset::Glob {
    globset::GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .unwrap()
}

/// `hashFiles(...)`: a SHA-256 over the SHA-256 of each file the patterns match under the
/// workspace, in path order; empty when none does.
fn hash_files(workspace: &Path, patterns: &[String]) -> String {
    let mut set = globset::GlobSetBuilder::new();
    for pattern in patterns {
        set.add(glob(pattern));
    }
    let set = set.build().unwrap();
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(workspace)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.path().strip_prefix(workspace).unwrap().to_path_buf())
        .filter(|p| set.is_match(p))
        .collect();
    if files.is_empty() {
        return String::new();
    }
    files.sort();
    let mut all = sha2::Sha256::new();
    for file in files {
        all.update(sha2::Sha256::digest(
            std::fs::read(workspace.join(file)).unwrap(),
        ));
    }
    format!("{:x}", all.finalize())
}
