//! What each output format prints of a command's result, chosen once from `-o` (ripgrep's
//! printers, terraform's views). The words come from the library's pure renderers
//! (`dispatch::report`); a view decides only where they go: stdout, stderr, or the CI system's
//! step summary.

mod github;
mod gitlab;
mod human;
mod json;
mod markdown;

use std::collections::BTreeMap;

use anyhow::Result;

use dispatch::decl::Declarations;
use dispatch::model::Address;
use dispatch::model::diag::Location;
use dispatch::ops;
use dispatch::plan::Plan;
use dispatch::report::markdown as document;

pub use github::Github;
pub use gitlab::Gitlab;
pub use human::Human;
pub use json::Json;
pub use markdown::Markdown;

use crate::console;

/// Whether a view said all there is of a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Said {
    /// The error itself still goes to stderr, for the log.
    Partly,
    /// Nothing more: the output is the whole verdict (`validate -o json`).
    All,
}

/// What every view can say: that the command failed.
pub trait View {
    /// Points at what failed where this format's reader looks (annotations, a code quality
    /// report), before the error reaches stderr.
    fn failed(&self, _error: &ops::Error) -> Result<Said> {
        Ok(Said::Partly)
    }
}

/// A plan (`plan`, `diff`, `show`).
pub trait PlanView: View {
    fn plan(&self, plan: &Plan) -> Result<()>;
}

/// The verdict on valid declarations (`validate`).
pub trait VerdictView: View {
    fn valid(&self, declarations: &Declarations) -> Result<()>;
}

/// How an apply (or one of the original commands) ended.
pub trait ApplyView: View {
    /// `line` says how it went; `failed` are the steps that failed, `origins` where each
    /// resource is declared.
    fn applied(
        &self,
        line: &str,
        failed: &[(Address, String)],
        origins: &BTreeMap<Address, Location>,
    ) -> Result<()>;
}

/// `value` as pretty JSON, on a line of its own.
pub fn json(value: &impl serde::Serialize) -> Result<String> {
    Ok(serde_json::to_string_pretty(value)? + "\n")
}

/// The warnings among valid declarations, on stderr, which no output on stdout carries.
fn warn(declarations: &Declarations) {
    for warning in &declarations.warnings {
        console::warn(&warning.diagnostic().to_string());
    }
}

/// Where the CI system that runs us shows the whole run, for what a comment leaves out.
fn links() -> document::Links {
    let var = |key| std::env::var(key).ok().filter(|v: &String| !v.is_empty());
    let github_run = match (
        var("GITHUB_SERVER_URL"),
        var("GITHUB_REPOSITORY"),
        var("GITHUB_RUN_ID"),
    ) {
        (Some(server), Some(repository), Some(run)) => {
            Some(format!("{server}/{repository}/actions/runs/{run}"))
        }
        _ => None,
    };
    document::Links {
        run: github_run.or_else(|| var("CI_JOB_URL")),
        commit: var("GITHUB_SHA").or_else(|| var("CI_COMMIT_SHA")),
    }
}

/// What failed, in Markdown: for a comment or a step summary that must not keep saying all is
/// well.
fn failure(error: &ops::Error) -> String {
    use dispatch::model::diag::Hint;
    let hint = error.hint();
    document::failed(
        error.diagnostics(),
        error.warnings(),
        &format!("{error:#}"),
        hint.as_deref(),
    )
}

/// The verdict on valid declarations, in Markdown.
fn verdict(declarations: &Declarations) -> String {
    use dispatch::model::Kind;
    let (bases, images) = (Kind::BaseImage, Kind::Image);
    document::valid(
        declarations.count(bases),
        declarations.count(images),
        &declarations.warnings,
    )
}

/// Appends `markdown` to the job's step summary, when GitHub Actions gives one.
fn step_summary(markdown: &str) -> Result<()> {
    let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) else {
        return Ok(());
    };
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(&path)?;
    std::io::Write::write_all(&mut file, format!("{markdown}\n").as_bytes())?;
    Ok(())
}
