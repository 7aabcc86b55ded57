//! The example pipelines (`examples/ci/`), run as their CI systems run them: each job on a
//! fresh machine, in a fresh clone, its own `run:` / `script:` steps in order under bash, with
//! the variables the CI sets, against the test registry and a PostgreSQL workspace of its own.
//! Nothing passes between jobs but what the pipeline keeps: artifacts, caches and the state in
//! the database. A team opens a pull (merge) request, pushes a fix, a broken file and its fix,
//! merges, and the merge applies what was reviewed. Needs the engine, the registries and
//! PostgreSQL (`.ci/services`, `.ci/postgres`).

#[path = "../common/mod.rs"]
mod common;

mod actions;
mod forge;
mod github;
mod gitlab;
mod gitlab_flow;
mod job;

/// Pins `text` as the golden `name`, with the team's registry, id and workspace, commits and
/// digests as placeholders.
fn golden(name: &str, team: &forge::Team, text: &str) {
    let mut filters = common::VARYING.to_vec();
    filters.push((r"\b[0-9a-f]{40}\b", "[commit]"));
    filters.push((r"`[0-9a-f]{8,12}`", "`[commit]`"));
    filters.push((r"\b[0-9a-f]{8}(-dirty)?\b", "[commit]"));
    insta::with_settings!({ filters => filters, prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!(name, team.placeholders(text));
    });
}

/// How long a scenario took, for the README's figure.
fn took(what: &str, started: std::time::Instant) {
    common::progress(&format!(
        "pipelines: {what} in {:.1} s",
        started.elapsed().as_secs_f64()
    ));
}
