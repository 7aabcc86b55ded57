//! examples/ci/github-workflow.yml, run on pull requests from opening to merge.

use std::time::Instant;

use crate::actions::{Github, WorkflowRun};
use crate::common::{self, contains, env};
use crate::forge::Team;
use crate::{golden, took};

const WORKFLOW: &str = include_str!("../../examples/ci/github-workflow.yml");

/// A base image `tools` at `url`, and an image on it.
fn tools(team: &Team, url: &str) -> String {
    format!(
        "{}---\n{}",
        team.base("tools", url),
        team.image("tools", "tools", 1)
    )
}

/// The state applied from main as the team had it before the pipeline: the base and `app`.
fn applied(team: &Team) {
    let run = team.dispatch(&["apply", "--auto-approve", "-q", "images/"]);
    common::ok(&run);
}

/// The saved plan a run uploaded, as `dispatch show -o json` reads it: address → actions.
fn planned(team: &Team, run: &WorkflowRun) -> Vec<String> {
    let folder = run
        .artifact("dispatch-plan")
        .expect("the run kept its plan");
    let file = folder.join("dispatch.plan");
    let shown = team.dispatch(&["show", file.to_str().unwrap(), "-o", "json"]);
    common::ok(&shown);
    let plan: serde_json::Value = serde_json::from_str(&shown.stdout).unwrap();
    common::assert_plan_schema(&plan);
    (plan["resource_changes"].as_array().unwrap().iter())
        .filter(|c| c["change"]["actions"] != serde_json::json!(["no-op"]))
        .map(|c| {
            format!(
                "{} {}",
                c["address"].as_str().unwrap(),
                c["change"]["actions"]
            )
        })
        .collect()
}

/// The comment the pull request shows, after `writes` writes of it.
fn comment(gh: &Github, number: u64, writes: usize) -> String {
    assert_eq!(
        gh.comments.len(),
        1,
        "one comment per pull request: {:?}",
        gh.comments.keys()
    );
    let comment = &gh.comments[&(number, "dispatch".to_string())];
    assert_eq!(comment.writes, writes, "{}", comment.body);
    comment.body.clone()
}

#[test]
fn a_pull_request_is_planned_on_every_push_and_its_plan_applied_on_merge() {
    common::needs!(services, postgres);
    let started = Instant::now();
    let team = Team::new("github");
    applied(&team);
    let mut gh = Github::new(&team, WORKFLOW);
    // Adopting the workflow builds dispatch on main, where every pull request finds it.
    let run = gh.adopt();
    let build = run.job("build");
    assert!(build.ok, "{}", build.log());
    assert_eq!(build.step("Build dispatch").outcome, "success");
    assert_eq!(gh.store.builds().len(), 1);

    // A new base image whose tag the registry does not have: valid, and the diff is fine,
    // but the plan says so, at its line, in the comment and the step summary.
    let typo = env("DISPATCH_TEST_BASE").replace(":1", ":9");
    let (mut pr, run) = gh.open(
        "tools",
        &[("images/tools.yaml", Some(&tools(&team, &typo)))],
    );
    let run = run.expect("a change under images/ runs the workflow");
    let plan = run.job("plan");
    assert!(!plan.ok, "{}", plan.log());
    assert_eq!(plan.step("Validate").outcome, "success", "{}", plan.log());
    assert_eq!(
        plan.step("What merging").outcome,
        "success",
        "{}",
        plan.log()
    );
    assert_eq!(
        plan.step("Plan against").outcome,
        "failure",
        "{}",
        plan.log()
    );
    assert_eq!(
        plan.step("Build dispatch").outcome,
        "skipped",
        "main's cache has it"
    );
    golden(
        "github_typo_annotations",
        &team,
        &plan.annotations().join("\n"),
    );
    contains(&plan.summary, "does not exist");
    assert!(
        run.artifact("dispatch-plan").is_none(),
        "a failed plan is kept for no merge"
    );
    golden("github_typo_comment", &team, &comment(&gh, pr.number, 1));

    // The fix: planned, saved, the comment replaced.
    let fixed = tools(&team, &env("DISPATCH_TEST_BASE_2"));
    let run = gh
        .push(
            &mut pr,
            &[("images/tools.yaml", Some(&fixed))],
            "the tag that exists",
        )
        .unwrap();
    let plan = run.job("plan");
    assert!(plan.ok, "{}", plan.log());
    assert_eq!(plan.annotations(), Vec::<String>::new());
    assert_eq!(
        planned(&team, &run),
        [r#"BaseImage/tools ["create"]"#, r#"Image/tools ["create"]"#]
    );
    golden("github_fixed_summary", &team, &plan.summary);
    let reviewed_run = run.id;
    let reviewed = comment(&gh, pr.number, 2);
    golden("github_fixed_comment", &team, &reviewed);

    // A broken file: annotated at its line, no plan, the comment says why.
    let broken = fixed.replace("baseImageName", "baseImageNme");
    let run = gh
        .push(&mut pr, &[("images/tools.yaml", Some(&broken))], "oops")
        .unwrap();
    let plan = run.job("plan");
    assert!(!plan.ok);
    assert_eq!(plan.step("Validate").outcome, "failure");
    assert_eq!(plan.step("Plan against").outcome, "skipped");
    golden(
        "github_broken_annotations",
        &team,
        &plan.annotations().join("\n"),
    );
    assert!(run.artifact("dispatch-plan").is_none());
    golden("github_broken_comment", &team, &comment(&gh, pr.number, 3));

    // Fixed again: the comment is the reviewed one again (but for the run it links).
    let run = gh
        .push(&mut pr, &[("images/tools.yaml", Some(&fixed))], "fixed")
        .unwrap();
    assert!(run.job("plan").ok, "{}", run.job("plan").log());
    let last = comment(&gh, pr.number, 4);
    let link = |id| format!("/actions/runs/{id})");
    assert_eq!(last.replace(&link(run.id), &link(reviewed_run)), reviewed);
    let reviewed_in = run.id;

    // A change of nothing that is built runs nothing.
    let mut other = gh.open("docs", &[("README.md", Some("Our images, and how.\n"))]);
    assert!(other.1.is_none(), "README.md is no input of any image");
    assert!(gh.merge(&mut other.0).is_none());

    // The merge applies the plan of the last run, once approved (the environment).
    let run = gh.merge(&mut pr).expect("merged");
    let apply = run.job("apply");
    assert!(apply.ok, "{}", apply.log());
    contains(
        &apply.step("dawidd6").ran.stdout,
        format!("of run {reviewed_in}"),
    );
    contains(
        &apply.step("Apply the reviewed plan").ran.stdout,
        "Apply complete! 1 pulled, 1 built, 0 deleted, 0 failed.",
    );
    contains(&apply.summary, "## dispatch apply");
    let state = team.state();
    let base = &state["BaseImage/tools"];
    assert_eq!(base["status"], "READY", "{base:#}");
    assert_eq!(
        base["digest"],
        env("DISPATCH_TEST_BASE_2_DIGEST"),
        "{base:#}"
    );
    let built = &state["Image/tools"];
    assert_eq!(built["status"], "READY", "{built:#}");
    assert_eq!(
        built["revision"]["commit"], pr.merge,
        "applied from the merge commit: {built:#}"
    );
    let url = built["dockerUrl"].as_str().unwrap();
    assert!(
        url.starts_with(&format!(
            "{}/{}/tools:",
            env("DISPATCH_TEST_REGISTRY"),
            team.id
        )),
        "{url}"
    );
    assert!(in_registry(url), "{url} is not in the registry");
    let converged = team.dispatch(&["plan", "--detailed-exitcode", "images/"]);
    assert_eq!(
        converged.code, 0,
        "{}{}",
        converged.stdout, converged.stderr
    );
    assert_eq!(
        gh.store.builds().len(),
        1,
        "dispatch is built once: {:?}",
        gh.store.builds()
    );
    took(
        "a GitHub pull request, four pushes, merge and apply",
        started,
    );
}

/// Whether the registry holds `reference` (`host:port/path:tag`).
fn in_registry(reference: &str) -> bool {
    let (repository, tag) = reference.rsplit_once(':').unwrap();
    let (host, path) = repository.split_once('/').unwrap();
    let output = std::process::Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-I"])
        .args([
            "-H",
            "Accept: application/vnd.docker.distribution.manifest.v2+json",
        ])
        .args(["-H", "Accept: application/vnd.oci.image.manifest.v1+json"])
        .arg(format!("http://{host}/v2/{path}/manifests/{tag}"))
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout) == "200"
}

#[test]
fn a_merge_after_the_state_moved_is_planned_again_and_applied_only_as_reviewed() {
    common::needs!(services, postgres);
    let started = Instant::now();
    let team = Team::new("github-moved");
    applied(&team);
    let mut gh = Github::new(&team, WORKFLOW);
    gh.adopt();
    let app = |version| team.image("app", "busybox", version);
    let worker = team.image("worker", "busybox", 1);

    // Two pull requests planned against the same state.
    let (mut bump, run) = gh.open("bump", &[("images/app.yaml", Some(&app(2)))]);
    assert_eq!(
        planned(&team, &run.unwrap()),
        [r#"Image/app ["delete","create"]"#]
    );
    let (mut add, run) = gh.open("worker", &[("images/worker.yaml", Some(&worker))]);
    assert_eq!(
        planned(&team, &run.unwrap()),
        [r#"Image/worker ["create"]"#]
    );

    // One merged and applied moves the state; the other, planned again, does what was
    // reviewed, and is applied.
    let run = gh.merge(&mut add).unwrap();
    assert!(run.job("apply").ok, "{}", run.job("apply").log());
    let run = gh.merge(&mut bump).unwrap();
    let apply = run.job("apply");
    assert!(apply.ok, "{}", apply.log());
    let said = &apply.step("Apply the reviewed plan").ran;
    golden(
        "github_replanned",
        &team,
        &format!("{}{}", said.stdout, said.stderr),
    );
    assert_eq!(team.state()["Image/app"]["status"], "READY");

    // Two more: the base moved to a tag of the team's own, and a base image of its own. The
    // other is applied first; then the tag moves: planned again, the base would be another
    // image than the one reviewed, and the apply is refused.
    let next = team.move_base(&env("DISPATCH_TEST_BASE_2"));
    let (mut base, run) = gh.open(
        "base",
        &[("images/bases.yaml", Some(&team.base("busybox", &next)))],
    );
    assert_eq!(
        planned(&team, &run.unwrap()),
        [
            r#"BaseImage/busybox ["delete","create"]"#,
            r#"Image/app ["delete","create"]"#,
            r#"Image/worker ["delete","create"]"#
        ]
    );
    let extra = team.base("extra", &env("DISPATCH_TEST_BASE_2"));
    let (mut other, run) = gh.open("extra", &[("images/extra.yaml", Some(&extra))]);
    assert!(run.unwrap().ok());
    let run = gh.merge(&mut other).unwrap();
    assert!(run.job("apply").ok, "{}", run.job("apply").log());
    team.move_base(&env("DISPATCH_TEST_BASE"));
    let before = team.state();
    let run = gh.merge(&mut base).unwrap();
    let apply = run.job("apply");
    assert!(!apply.ok, "{}", apply.log());
    let said = &apply.step("Apply the reviewed plan").ran;
    golden(
        "github_refused",
        &team,
        &format!("{}{}", said.stdout, said.stderr),
    );
    golden("github_refused_summary", &team, &apply.summary);
    assert_eq!(team.state(), before, "nothing applied");
    took("four GitHub pull requests merged past each other", started);
}

#[test]
fn a_shallow_checkout_is_told_to_fetch_the_history() {
    common::needs!(services, postgres);
    let team = Team::new("github-shallow");
    let mut gh = Github::new(&team, WORKFLOW);
    gh.adopt();
    let checkout = &mut gh.workflow()["jobs"]["plan"]["steps"][0];
    assert_eq!(checkout["with"]["fetch-depth"], 0);
    checkout["with"]["fetch-depth"] = 1.into();
    let worker = team.image("worker", "busybox", 1);
    let (pr, run) = gh.open("worker", &[("images/worker.yaml", Some(&worker))]);
    let plan = run.unwrap().job("plan").clone();
    assert_eq!(
        plan.step("What merging").outcome,
        "failure",
        "{}",
        plan.log()
    );
    contains(&plan.step("What merging").ran.stderr, "fetch-depth: 0");
    golden("github_shallow_comment", &team, &comment(&gh, pr.number, 1));
}

#[test]
fn the_workflow_is_shaped_for_pull_requests() {
    let workflow: serde_json::Value = serde_saphyr::from_str(WORKFLOW).unwrap();
    let on = &workflow["on"]["pull_request"];
    for path in ["dispatch.toml", "images/**", "templates/**", "policies/**"] {
        assert!(
            on["paths"].as_array().unwrap().contains(&path.into()),
            "{path}"
        );
    }
    let plan = &workflow["jobs"]["plan"];
    assert_eq!(plan["concurrency"]["cancel-in-progress"], true);
    contains(
        plan["concurrency"]["group"].as_str().unwrap(),
        "github.event.pull_request.number",
    );
    let apply = &workflow["jobs"]["apply"];
    assert_eq!(apply["environment"], "production");
    for job in [plan, apply] {
        assert_eq!(job["env"]["DISPATCH_BACKEND"], "postgres");
        assert_eq!(
            job["env"]["DISPATCH_PG_URL"],
            "${{ secrets.DISPATCH_PG_URL }}"
        );
    }
    // No registry host or URL that is not a variable's.
    assert!(!WORKFLOW.contains("://"), "a URL in the workflow");
}
