//! examples/ci/gitlab-ci.yml, run on merge requests from opening to merge, and on the
//! default branch.

use std::time::Instant;

use crate::common::{self, contains, env};
use crate::forge::Team;
use crate::gitlab::{Gitlab, JobRun, Note};
use crate::{golden, took};

const CONFIG: &str = include_str!("../../examples/ci/gitlab-ci.yml");

fn tools(team: &Team, url: &str) -> String {
    format!(
        "{}---\n{}",
        team.base("tools", url),
        team.image("tools", "tools", 1)
    )
}

/// The one note on merge request `iid`, after `writes` writes.
fn note(gl: &Gitlab, iid: u64, writes: usize) -> Note {
    let notes = gl.notes(iid);
    assert_eq!(notes.len(), 1, "one note per merge request: {notes:#?}");
    assert_eq!(notes[0].writes, writes, "{}", notes[0].body);
    notes[0].clone()
}

/// `description at path:line` of each Code Quality entry.
fn quality(job: &JobRun) -> Vec<String> {
    (job.quality.iter())
        .map(|e| {
            format!(
                "{} at {}:{} ({})",
                e["description"].as_str().unwrap(),
                e["location"]["path"].as_str().unwrap(),
                e["location"]["lines"]["begin"],
                e["severity"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn a_merge_request_is_planned_on_every_push_and_the_default_branch_applies_its_plan() {
    common::needs!(services, postgres);
    let started = Instant::now();
    let team = Team::new("gitlab");
    let run = team.dispatch(&["apply", "--auto-approve", "-q", "images/"]);
    common::ok(&run);
    let mut gl = Gitlab::new(&team, CONFIG);

    // A base image tag the registry lacks: the plan fails, at its line in Code Quality, and
    // the note says so.
    let typo = env("DISPATCH_TEST_BASE").replace(":1", ":9");
    let (mut mr, pipeline) = gl.open(
        "tools",
        &[("images/tools.yaml", Some(&tools(&team, &typo)))],
    );
    let plan = pipeline
        .expect("a change under images/ runs the pipeline")
        .job("plan")
        .clone();
    assert_eq!(plan.status, "failed", "{}", plan.log());
    let found = quality(&plan);
    assert_eq!(found.len(), 1, "{found:?}");
    golden("gitlab_typo_quality", &team, &found.join("\n"));
    assert!(!plan.artifacts.join("dispatch.plan").exists());
    golden("gitlab_typo_note", &team, &note(&gl, mr.iid, 1).body);
    assert_eq!(gl.store.builds().len(), 1, "the first job builds dispatch");

    // The fix: planned and kept, the note replaced.
    let fixed = tools(&team, &env("DISPATCH_TEST_BASE_2"));
    let plan = gl
        .push(
            &mut mr,
            &[("images/tools.yaml", Some(&fixed))],
            "the tag that exists",
        )
        .unwrap()
        .job("plan")
        .clone();
    assert_eq!(plan.status, "success", "{}", plan.log());
    assert_eq!(plan.quality, Vec::<serde_json::Value>::new());
    assert!(plan.artifacts.join("dispatch.plan").exists());
    let reviewed = note(&gl, mr.iid, 2);
    golden("gitlab_fixed_note", &team, &reviewed.body);

    // A broken file: in Code Quality at its line, the note says why.
    let broken = fixed.replace("baseImageName", "baseImageNme");
    let plan = gl
        .push(&mut mr, &[("images/tools.yaml", Some(&broken))], "oops")
        .unwrap()
        .job("plan")
        .clone();
    assert_eq!(plan.status, "failed");
    golden("gitlab_broken_quality", &team, &quality(&plan).join("\n"));
    golden("gitlab_broken_note", &team, &note(&gl, mr.iid, 3).body);

    // Fixed again.
    let plan = gl
        .push(&mut mr, &[("images/tools.yaml", Some(&fixed))], "fixed")
        .unwrap()
        .job("plan")
        .clone();
    assert_eq!(plan.status, "success", "{}", plan.log());
    let last = note(&gl, mr.iid, 4);
    assert_eq!(last.id, reviewed.id, "updated in place");
    assert_eq!(
        gl.store.builds().len(),
        1,
        "later jobs find dispatch in the cache"
    );

    // Merged: the default branch plans the merged commit (its Code Quality report is what
    // merge requests are compared with), and the apply waits for someone to run it.
    let pipeline = gl.merge(&mr).expect("a default-branch pipeline");
    let plan = pipeline.job("plan");
    assert_eq!(plan.status, "success", "{}", plan.log());
    assert_eq!(plan.quality, Vec::<serde_json::Value>::new());
    assert!(
        plan.artifacts
            .join("gl-code-quality-validate.json")
            .exists()
    );
    assert_eq!(pipeline.job("apply").status, "manual");
    assert_eq!(
        gl.store.builds().len(),
        2,
        "protected branches have a cache of their own"
    );
    let apply = gl.play(pipeline.id, "apply");
    assert_eq!(apply.status, "success", "{}", apply.log());
    contains(
        &apply.ran.stdout,
        "Apply complete! 1 pulled, 1 built, 0 deleted, 0 failed.",
    );
    let state = team.state();
    assert_eq!(
        state["BaseImage/tools"]["digest"],
        env("DISPATCH_TEST_BASE_2_DIGEST")
    );
    assert_eq!(
        state["Image/tools"]["status"], "READY",
        "{:#}",
        state["Image/tools"]
    );
    let converged = team.dispatch(&["plan", "--detailed-exitcode", "images/"]);
    assert_eq!(
        converged.code, 0,
        "{}{}",
        converged.stdout, converged.stderr
    );
    took(
        "a GitLab merge request, four pushes, merge and apply",
        started,
    );
}

#[test]
fn an_older_pipeline_is_refused_once_a_newer_one_applied() {
    common::needs!(services, postgres);
    let started = Instant::now();
    let team = Team::new("gitlab-older");
    common::ok(&team.dispatch(&["apply", "--auto-approve", "-q", "images/"]));
    let mut gl = Gitlab::new(&team, CONFIG);
    // Two merges in a row, each default-branch pipeline with its plan and a waiting apply.
    let (bump, _) = gl.open(
        "bump",
        &[("images/app.yaml", Some(&team.image("app", "busybox", 2)))],
    );
    let (worker, _) = gl.open(
        "worker",
        &[(
            "images/worker.yaml",
            Some(&team.image("worker", "busybox", 1)),
        )],
    );
    let first = gl.merge(&bump).unwrap();
    let second = gl.merge(&worker).unwrap();
    // The newer one, which holds both changes, is applied; the older one would now delete
    // what the newer one made: refused, nothing applied.
    let applied = gl.play(second.id, "apply");
    assert_eq!(applied.status, "success", "{}", applied.log());
    let before = team.state();
    let refused = gl.play(first.id, "apply");
    assert_eq!(refused.status, "failed", "{}", refused.log());
    golden(
        "gitlab_refused",
        &team,
        &format!("{}{}", refused.ran.stdout, refused.ran.stderr),
    );
    assert_eq!(team.state(), before);
    took("two GitLab pipelines applied out of order", started);
}

#[test]
fn a_shallow_clone_is_told_to_fetch_the_history() {
    common::needs!(services, postgres);
    let team = Team::new("gitlab-shallow");
    let mut gl = Gitlab::new(&team, CONFIG);
    assert_eq!(gl.config()["variables"]["GIT_DEPTH"], "0");
    gl.config()["variables"]["GIT_DEPTH"] = "1".into();
    let worker = team.image("worker", "busybox", 1);
    let (mr, pipeline) = gl.open("worker", &[("images/worker.yaml", Some(&worker))]);
    let plan = pipeline.unwrap().job("plan").clone();
    assert_eq!(plan.status, "failed", "{}", plan.log());
    contains(&plan.ran.stderr, "GIT_DEPTH: \"0\"");
    golden("gitlab_shallow_note", &team, &note(&gl, mr.iid, 1).body);
}

#[test]
fn the_file_is_shaped_for_merge_requests() {
    let config: serde_json::Value = serde_saphyr::from_str(CONFIG).unwrap();
    let paths = config[".declarations"].as_array().unwrap();
    for path in [
        "dispatch.toml",
        "images/**/*",
        "templates/**/*",
        "policies/**/*",
    ] {
        assert!(paths.contains(&path.into()), "{path}");
    }
    assert_eq!(config["variables"]["DISPATCH_BACKEND"], "postgres");
    let apply = &config["apply"];
    assert_eq!(apply["resource_group"], "production");
    assert_eq!(apply["environment"]["name"], "production");
    assert_eq!(apply["rules"][0]["when"], "manual");
    assert_eq!(config["plan"]["interruptible"], true);
    assert!(!CONFIG.contains("://"), "a URL in the file");
}
