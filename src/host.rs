//! Facts about this process and machine: the time, and who we are. The one module that reads
//! the clock, so that every decision elsewhere takes the time as an argument.

use std::time::SystemTime;

use crate::state::Holder;

/// The current time as RFC 3339, the format of every timestamp dispatch writes.
pub fn now() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

/// This process, as a state lock records its holder, with a fresh lock ID.
pub fn holder(command: &str) -> Holder {
    let var = |key: &str| std::env::var(key).ok().filter(|v| !v.is_empty());
    Holder {
        id: uuid::Uuid::new_v4().to_string(),
        pid: std::process::id(),
        host: gethostname::gethostname().to_string_lossy().into_owned(),
        user: var("USER").or_else(|| var("LOGNAME")).unwrap_or_default(),
        command: command.to_string(),
        since: now(),
        job: ci_job(var),
    }
}

/// The URL of the CI job this process runs in, from what GitHub Actions, GitLab CI or Jenkins
/// set.
fn ci_job(var: impl Fn(&str) -> Option<String>) -> Option<String> {
    if let (Some(server), Some(repository), Some(run)) = (
        var("GITHUB_SERVER_URL"),
        var("GITHUB_REPOSITORY"),
        var("GITHUB_RUN_ID"),
    ) {
        return Some(format!("{server}/{repository}/actions/runs/{run}"));
    }
    var("CI_JOB_URL").or_else(|| var("BUILD_URL"))
}
