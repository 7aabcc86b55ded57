//! Declarations from git revisions, and `dispatch diff`, on real repositories made with the git
//! CLI: commits, branches and a merge-base, a rename, a resource moved between files, a
//! deletion, an `@file` target changed alone, symlinks, and a revision with invalid YAML.

use std::path::Path;
use std::process::Command as Process;

use crate::common::Run;

/// Runs git in `dir` with a fixed identity and clock, so that commits have the same sha on
/// every run.
pub(crate) fn git(dir: &Path, args: &[&str]) -> String {
    let output = Process::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=dispatch",
            "-c",
            "user.email=ci@example.invalid",
        ])
        .args(["-c", "init.defaultBranch=main", "-c", "core.symlinks=true"])
        .args(args)
        .env("GIT_AUTHOR_DATE", "2026-11-25T08:00:00Z")
        .env("GIT_COMMITTER_DATE", "2026-11-25T08:00:00Z")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

pub(crate) fn write(dir: &Path, path: &str, text: &str) {
    let path = dir.join(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

pub(crate) fn commit(dir: &Path, message: &str) {
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", message]);
}

const BASE: &str =
    "kind: BaseImage\nname: python3\ndockerUrl: 127.0.0.1:5000/base/python3:1\nlanguage: python3\n";

fn image(name: &str, extra: &str) -> String {
    format!("kind: Image\nname: {name}\nbaseImageName: python3\n{extra}")
}

/// A repository whose `main` and `feature` have parted:
///
/// - main, first: a base, images `pandas` (`@requirements.txt`), `web`, `old`, `linked`
///   (`@reqs-link.txt`, a symlink to `requirements.txt`).
/// - feature: `requirements.txt` changed alone, `bases.yaml` renamed, `web` moved to a file of
///   its own and retagged, `old` deleted, `new` added.
/// - main, then: `mainonly` added.
/// - broken (from main's first commit): a file of invalid YAML.
fn repository() -> tempfile::TempDir {
    let repo = tempfile::tempdir().unwrap();
    let dir = repo.path();
    git(dir, &["init", "-q"]);
    write(dir, "decl/bases.yaml", BASE);
    write(
        dir,
        "decl/app/images.yaml",
        &[
            image(
                "pandas",
                "runtimeDependencies:\n  manifest: '@requirements.txt'\n",
            ),
            image("web", "tags:\n  - key: team\n    value: web\n"),
            image("old", ""),
            image(
                "linked",
                "runtimeDependencies:\n  manifest: '@reqs-link.txt'\n",
            ),
        ]
        .join("---\n"),
    );
    write(
        dir,
        "decl/app/requirements.txt",
        "numpy==1.26.4\npandas==2.1.0\n",
    );
    std::os::unix::fs::symlink("requirements.txt", dir.join("decl/app/reqs-link.txt")).unwrap();
    write(dir, "README.md", "not declarations\n");
    commit(dir, "first");

    git(dir, &["checkout", "-q", "-b", "broken"]);
    write(dir, "decl/bad.yaml", "kind: Image\nname: [unclosed\n");
    commit(dir, "broken");

    git(dir, &["checkout", "-q", "main"]);
    git(dir, &["checkout", "-q", "-b", "feature"]);
    write(
        dir,
        "decl/app/requirements.txt",
        "numpy==1.26.4\npandas==2.2.0\n",
    );
    git(dir, &["mv", "decl/bases.yaml", "decl/base-images.yaml"]);
    write(
        dir,
        "decl/app/images.yaml",
        &[
            image(
                "pandas",
                "runtimeDependencies:\n  manifest: '@requirements.txt'\n",
            ),
            image("new", ""),
            image(
                "linked",
                "runtimeDependencies:\n  manifest: '@reqs-link.txt'\n",
            ),
        ]
        .join("---\n"),
    );
    write(
        dir,
        "decl/app/web.yaml",
        &image("web", "tags:\n  - key: team\n    value: frontend\n"),
    );
    commit(dir, "feature");

    git(dir, &["checkout", "-q", "main"]);
    write(dir, "decl/mainonly.yaml", &image("mainonly", ""));
    commit(dir, "main moves on");
    repo
}

fn dispatch(dir: &Path, args: &[&str]) -> Run {
    dispatch_with(dir, args, &[])
}

fn dispatch_with(dir: &Path, args: &[&str], vars: &[(&str, &str)]) -> Run {
    let engine = [("DOCKER_HOST", "unix:///nonexistent/docker.sock")];
    crate::common::run_dispatch(dir, args, &[&engine[..], vars].concat())
}

#[test]
fn declarations_are_read_at_a_revision_without_touching_the_work_tree() {
    let repo = repository();
    let dir = repo.path();
    let status = git(dir, &["status", "--porcelain"]);
    let head = git(dir, &["rev-parse", "HEAD"]);
    for (rev, valid) in [
        ("main", "5 images"),
        ("feature", "4 images"),
        ("main~1", "4 images"),
        ("HEAD", "5 images"),
    ] {
        let run = dispatch(dir, &["validate", "decl", "--revision", rev]);
        assert_eq!(run.code, 0, "{rev}: {}", run.stderr);
        assert_eq!(
            run.stdout,
            format!("The declarations are valid: 1 base image, {valid}.\n"),
            "{rev}"
        );
    }
    // From a folder elsewhere, naming the repository.
    let elsewhere = tempfile::tempdir().unwrap();
    let run = dispatch(
        elsewhere.path(),
        &[
            "validate",
            dir.join("decl").to_str().unwrap(),
            "--revision",
            "feature",
            "--repo",
            dir.to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(git(dir, &["status", "--porcelain"]), status, "no checkout");
    assert_eq!(git(dir, &["rev-parse", "HEAD"]), head);
}

#[test]
fn problems_at_a_revision_name_it() {
    let repo = repository();
    let run = dispatch(repo.path(), &["validate", "decl", "--revision", "broken"]);
    assert_eq!(run.code, 1);
    insta::assert_snapshot!("broken_revision", run.stderr);
    let unknown = dispatch(repo.path(), &["validate", "decl", "--revision", "nope"]);
    assert_eq!(unknown.code, 1);
    insta::assert_snapshot!("unknown_revision", unknown.stderr);
    // For CI systems: annotations and a code quality report, at the file's path.
    let github = dispatch(
        repo.path(),
        &["validate", "decl", "--revision", "broken", "-o", "github"],
    );
    assert_eq!(github.code, 1);
    insta::assert_snapshot!("broken_revision_github", github.stdout);
    let gitlab = dispatch(
        repo.path(),
        &["validate", "decl", "--revision", "broken", "-o", "gitlab"],
    );
    assert_eq!(gitlab.code, 1);
    insta::assert_snapshot!("broken_revision_gitlab", gitlab.stdout);
}

#[test]
fn symlinks_are_followed_inside_the_tree_only() {
    let repo = repository();
    let dir = repo.path();
    git(dir, &["checkout", "-q", "-b", "outside"]);
    write(dir, "secret.txt", "top secret\n");
    std::os::unix::fs::symlink("../../secret.txt", dir.join("decl/app/leak.txt")).unwrap();
    write(
        dir,
        "decl/app/leaky.yaml",
        &image("leaky", "runtimeDependencies:\n  manifest: '@leak.txt'\n"),
    );
    commit(dir, "a symlink that leaves the folder");
    git(dir, &["checkout", "-q", "main"]);
    let run = dispatch(dir, &["validate", "decl", "--revision", "outside"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.starts_with(
            "outside:decl/app/leaky.yaml:5:13: `@leak.txt` points outside the declarations directory (it is a symlink)\n"
        ),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("top secret"));
    // The symlink that stays inside reads like its target.
    let plan = dispatch(
        dir,
        &[
            "plan",
            "decl",
            "--revision",
            "main",
            "--refresh=false",
            "-o",
            "json",
        ],
    );
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    let value: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    let linked = value["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == "Image/linked")
        .unwrap();
    assert_eq!(
        linked["change"]["after"]["runtimeDependencies"]["manifest"],
        "numpy==1.26.4\npandas==2.1.0\n"
    );
}

#[test]
fn diff_shows_what_merging_a_branch_would_do() {
    let repo = repository();
    let dir = repo.path();
    let merging = dispatch(
        dir,
        &["diff", "main...feature", "decl", "--detailed-exitcode"],
    );
    assert_eq!(merging.code, 2, "{}", merging.stderr);
    insta::assert_snapshot!("diff_merging", merging.stdout);
    // Renamed files and moved resources are no change; mainonly is not the branch's.
    assert!(!merging.stdout.contains("python3 "), "{}", merging.stdout);
    assert!(!merging.stdout.contains("mainonly"), "{}", merging.stdout);
    // A..B compares the tips: main's own addition shows as a deletion.
    let tips = dispatch(dir, &["diff", "main..feature", "decl", "--compact"]);
    assert_eq!(tips.code, 0, "{}", tips.stderr);
    insta::assert_snapshot!("diff_tips_compact", tips.stdout);

    let json = dispatch(dir, &["diff", "main...feature", "decl", "-o", "json"]);
    let value: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    crate::common::assert_plan_schema(&value);
    insta::assert_json_snapshot!("diff_merging_json", value, {".dispatch_version" => "[version]"});

    let markdown = dispatch(dir, &["diff", "main...feature", "decl", "-o", "markdown"]);
    insta::assert_snapshot!("diff_merging_markdown", markdown.stdout);

    let summary = dir.join("summary.md");
    let github = dispatch_with(
        dir,
        &["diff", "main...feature", "decl", "-o", "github"],
        &[("GITHUB_STEP_SUMMARY", summary.to_str().unwrap())],
    );
    assert_eq!(github.code, 0, "{}", github.stderr);
    assert_eq!(github.stdout, merging.stdout, "the log shows the text plan");
    assert_eq!(
        std::fs::read_to_string(&summary).unwrap(),
        format!("{}\n", markdown.stdout),
        "the step summary is the Markdown"
    );
    let gitlab = dispatch(dir, &["diff", "main...feature", "decl", "-o", "gitlab"]);
    assert_eq!(gitlab.stdout, "[]\n");
    assert!(
        gitlab.stderr.starts_with("Dispatch will perform"),
        "{}",
        gitlab.stderr
    );

    // Nothing between a revision and itself.
    let same = dispatch(
        dir,
        &["diff", "feature..feature", "decl", "--detailed-exitcode"],
    );
    assert_eq!(same.code, 0, "{}", same.stderr);
    assert_eq!(same.stdout, "No changes. Images match the declarations.\n");
}

#[test]
fn a_broken_base_is_noted_and_the_change_still_shown() {
    let repo = repository();
    let dir = repo.path();
    git(dir, &["checkout", "-q", "-b", "fix", "broken"]);
    write(dir, "decl/bad.yaml", &image("bad", ""));
    write(dir, "decl/extra.yaml", &image("extra", ""));
    commit(dir, "fix");
    // The pull request that fixes the base's broken file: its change, and the base's own
    // problem said as the base's.
    let fixing = dispatch(dir, &["diff", "broken...fix", "decl", "--no-color"]);
    assert_eq!(fixing.code, 0, "{}", fixing.stderr);
    insta::assert_snapshot!("diff_broken_base", fixing.stdout);
    let json = dispatch(dir, &["diff", "broken...fix", "decl", "-o", "json"]);
    let value: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    crate::common::assert_plan_schema(&value);
    insta::assert_json_snapshot!("diff_broken_base_problems", value["base_problems"]);
    let markdown = dispatch(dir, &["diff", "broken...fix", "decl", "-o", "markdown"]);
    insta::assert_snapshot!("diff_broken_base_markdown", markdown.stdout);
    // Annotations land on the change's files only: the base's problem is not one.
    let github = dispatch(dir, &["diff", "broken...fix", "decl", "-o", "github"]);
    assert_eq!(github.code, 0, "{}", github.stderr);
    assert!(!github.stdout.contains("::error"), "{}", github.stdout);
    let gitlab = dispatch(dir, &["diff", "broken...fix", "decl", "-o", "gitlab"]);
    assert_eq!(gitlab.stdout, "[]\n");
    // A broken head is the change's own problem: the error, at its file.
    let breaking = dispatch(dir, &["diff", "main..broken", "decl", "-o", "github"]);
    assert_eq!(breaking.code, 1, "{}", breaking.stdout);
    assert!(
        breaking
            .stdout
            .contains("::error file=decl/bad.yaml,line=2"),
        "{}",
        breaking.stdout
    );
}

#[test]
fn a_shallow_clone_is_told_to_fetch_the_history() {
    let repo = repository();
    let clone = tempfile::tempdir().unwrap();
    let url = format!("file://{}", repo.path().display());
    let dir = clone.path();
    git(
        dir,
        &["clone", "-q", "--depth", "1", "-b", "feature", &url, "."],
    );
    // As actions/checkout leaves it: the base branch not fetched at all.
    let missing = dispatch(dir, &["diff", "origin/main...HEAD", "decl"]);
    assert_eq!(missing.code, 1, "{}", missing.stdout);
    insta::assert_snapshot!("shallow_unknown_base", missing.stderr);
    // The base's tip fetched too, but not the history that joins them.
    git(
        dir,
        &[
            "fetch",
            "-q",
            "--depth",
            "1",
            "origin",
            "main:refs/remotes/origin/main",
        ],
    );
    let parted = dispatch(dir, &["diff", "origin/main...HEAD", "decl"]);
    assert_eq!(parted.code, 1, "{}", parted.stdout);
    insta::assert_snapshot!("shallow_no_merge_base", parted.stderr);
}

#[test]
fn diff_against_the_work_tree_by_default() {
    let repo = repository();
    let dir = repo.path();
    assert_eq!(
        dispatch(dir, &["diff", "decl"]).stdout,
        "No changes. Images match the declarations.\n"
    );
    write(
        dir,
        "decl/app/requirements.txt",
        "numpy==1.26.4\npandas==2.2.1\n",
    );
    let run = dispatch(dir, &["diff", "--compact", "decl"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "-/+ Image/linked (replace: reqs-link.txt changed)\n-/+ Image/pandas (replace: requirements.txt changed)\nPlan: 2 to add, 0 to change, 2 to destroy.\nDispatch: 2 builds (2 replacements).\n"
    );
    // A revision alone is compared with the work tree.
    let against = dispatch(dir, &["diff", "feature", "decl", "--compact"]);
    assert!(
        against.stdout.contains("Image/old (create)"),
        "{}",
        against.stdout
    );
    // A broken side is reported as such, at its revision.
    let broken = dispatch(dir, &["diff", "main..broken", "decl"]);
    assert_eq!(broken.code, 1);
    assert!(
        broken.stderr.starts_with("broken:decl/bad.yaml:2:7: "),
        "{}",
        broken.stderr
    );
}

#[test]
fn diff_reads_the_template_at_each_revision() {
    let repo = tempfile::tempdir().unwrap();
    let dir = repo.path();
    git(dir, &["init", "-q"]);
    write(
        dir,
        "decl/all.yaml",
        &[BASE, &image("web", "")].join("---\n"),
    );
    commit(dir, "built-in Dockerfile");
    git(dir, &["tag", "built-in"]);
    let template = "templates/python3.Dockerfile";
    write(
        dir,
        "dispatch.toml",
        &format!("[templates]\npython3 = \"{template}\"\n"),
    );
    write(dir, template, "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n");
    commit(dir, "a template");
    git(dir, &["checkout", "-q", "-b", "feature"]);
    write(
        dir,
        template,
        "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nRUN true\n",
    );
    commit(dir, "the template edited");
    git(dir, &["checkout", "-q", "main"]);
    // What the work tree holds is neither side of a range.
    write(dir, template, "FROM scratch\n");

    let merging = dispatch(
        dir,
        &["diff", "main...feature", "decl", "--detailed-exitcode"],
    );
    assert_eq!(merging.code, 2, "{}", merging.stderr);
    insta::assert_snapshot!("diff_template_edited", merging.stdout);
    let json = dispatch(dir, &["diff", "main...feature", "decl", "-o", "json"]);
    let value: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    crate::common::assert_plan_schema(&value);
    let web = &value["resource_changes"][1];
    assert_eq!(web["address"], "Image/web");
    assert_eq!(
        web["change"]["actions"],
        serde_json::json!(["delete", "create"])
    );
    assert_eq!(
        web["reason"],
        serde_json::json!([format!("template {template} changed")])
    );
    let added = dispatch(dir, &["diff", "built-in..main", "decl", "--compact"]);
    assert_eq!(
        added.stdout,
        format!(
            "-/+ Image/web (replace: template {template} added)\nPlan: 1 to add, 0 to change, 1 to destroy.\nDispatch: 1 build (1 replacement).\n"
        )
    );
    // The work tree against HEAD: its own template.
    let edited = dispatch(dir, &["diff", "decl", "--compact"]);
    assert!(
        edited.stdout.starts_with(&format!(
            "-/+ Image/web (replace: template {template} changed)\n"
        )),
        "{}",
        edited.stdout
    );
    // A template the revision's dispatch.toml names but its tree lacks.
    let settings = std::fs::read_to_string(dir.join("dispatch.toml")).unwrap();
    write(dir, "dispatch.toml", &settings.replace("python3.", "gone."));
    commit(dir, "a template forgotten");
    write(dir, "dispatch.toml", &settings);
    let missing = dispatch(dir, &["diff", "HEAD~1..HEAD", "decl"]);
    assert_eq!(missing.code, 1);
    assert_eq!(
        missing.stderr.lines().next().unwrap_or_default(),
        "error: cannot read the python3 template HEAD:templates/gone.Dockerfile named in dispatch.toml: No such file or directory"
    );
    // The same, or a dispatch.toml that does not parse, on the side merged into is that
    // side's problem: the change is shown, no template compared.
    write(dir, "dispatch.toml", "[templates\n");
    commit(dir, "broken settings");
    write(dir, "dispatch.toml", &settings);
    for (range, problem) in [
        ("HEAD~1..HEAD~2", "HEAD~1:templates/gone.Dockerfile"),
        ("HEAD..HEAD~2", "HEAD:dispatch.toml:1:11"),
    ] {
        let fixing = dispatch(
            dir,
            &["diff", range, "decl", "--detailed-exitcode", "-o", "json"],
        );
        assert_eq!(fixing.code, 0, "{range}: {}", fixing.stderr);
        let value: serde_json::Value = serde_json::from_str(&fixing.stdout).unwrap();
        let problems = value["base_problems"].to_string();
        assert!(problems.contains(problem), "{range}: {problems}");
    }
}

#[test]
fn apply_records_the_commit_and_labels_the_image() {
    crate::common::needs!(services);
    let repo = tempfile::tempdir().unwrap();
    let dir = repo.path();
    let id = format!("labelled-{}", std::process::id());
    git(dir, &["init", "-q"]);
    git(
        dir,
        &[
            "remote",
            "add",
            "origin",
            "https://ci:s3cret@git.example.invalid/team/images.git",
        ],
    );
    let base = crate::common::env("DISPATCH_TEST_BASE");
    write(
        dir,
        "decl/all.yaml",
        &format!(
            "{}---\nkind: Image\nname: {id}\nbaseImageName: busybox\n",
            crate::common::base_doc("busybox", &base)
        ),
    );
    commit(dir, "images");
    let sha = git(dir, &["rev-parse", "HEAD"]).trim().to_string();
    let applied = dispatch_with(
        dir,
        &["apply", "decl", "--auto-approve"],
        &[("DOCKER_HOST", &crate::common::engine_address())],
    );
    assert_eq!(applied.code, 0, "{}\n{}", applied.stdout, applied.stderr);
    let get = |args: &[&str]| {
        let run = dispatch_with(
            dir,
            args,
            &[("DOCKER_HOST", &crate::common::engine_address())],
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
        run.stdout
    };
    let object: serde_json::Value =
        serde_json::from_str(&get(&["get", "image", &id, "-o", "json"])).unwrap();
    assert_eq!(
        object["revision"],
        serde_json::json!({"commit": sha, "dirty": false})
    );
    let url = object["dockerUrl"].as_str().unwrap().to_string();
    let labels: serde_json::Value = serde_json::from_str(&crate::common::docker(&[
        "image",
        "inspect",
        "-f",
        "{{json .Config.Labels}}",
        &url,
    ]))
    .unwrap();
    assert_eq!(labels["org.opencontainers.image.revision"], sha.as_str());
    assert_eq!(
        labels["org.opencontainers.image.source"], "https://git.example.invalid/team/images.git",
        "no credentials in a label"
    );
    assert_eq!(labels["org.opencontainers.image.base.name"], base.as_str());
    assert_eq!(
        labels["org.opencontainers.image.base.digest"],
        crate::common::env("DISPATCH_TEST_BASE_DIGEST").as_str()
    );
    let wide = get(&["get", "images", "-o", "wide"]);
    assert!(wide.contains(&format!("| {}", &sha[..12])), "{wide}");

    // A change not committed yet: recorded as dirty.
    write(
        dir,
        "decl/all.yaml",
        &format!(
            "{}---\nkind: Image\nname: {id}\nbaseImageName: busybox\ntags:\n  - key: v\n    value: \"2\"\n",
            crate::common::base_doc("busybox", &base)
        ),
    );
    let reapplied = dispatch_with(
        dir,
        &["apply", "decl", "--auto-approve"],
        &[("DOCKER_HOST", &crate::common::engine_address())],
    );
    assert_eq!(reapplied.code, 0, "{}", reapplied.stderr);
    let object: serde_json::Value =
        serde_json::from_str(&get(&["get", "image", &id, "-o", "json"])).unwrap();
    assert_eq!(
        object["revision"],
        serde_json::json!({"commit": sha, "dirty": true})
    );
    assert!(get(&["get", "images", "-o", "wide"]).contains(&format!("{}-dirty", &sha[..12])));
    crate::common::docker(&["rmi", &url]);
}

#[test]
fn a_failed_build_is_annotated_at_its_declaration() {
    crate::common::needs!(services);
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let id = format!("annotated-{}", std::process::id());
    let base = crate::common::env("DISPATCH_TEST_BASE");
    write(
        dir,
        "decl/all.yaml",
        &format!(
            "{}---\nkind: Image\nname: {id}\nbaseImageName: busybox\nsystemDependencies:\n  packages:\n    - name: curl\n",
            crate::common::base_doc("busybox", &base)
        ),
    );
    let summary = dir.join("summary.md");
    let run = dispatch_with(
        dir,
        &["apply", "decl", "--auto-approve", "-o", "github"],
        &[
            ("DOCKER_HOST", &crate::common::engine_address()),
            ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
    let annotation = run
        .stdout
        .lines()
        .find(|l| l.starts_with("::error "))
        .unwrap_or_else(|| panic!("no annotation in:\n{}", run.stdout));
    assert!(
        annotation.starts_with(&format!(
            "::error file=decl/all.yaml,line=6,col=1,title=Image/{id} failed::error when building image dispatch/{id}:"
        )),
        "{annotation}"
    );
    assert!(
        annotation.contains("%0Afailed at Step 2/2 : RUN set -e;"),
        "{annotation}"
    );
    let summary = std::fs::read_to_string(&summary).unwrap();
    assert!(
        summary.starts_with(
            "## dispatch apply\n\nApply complete! 1 pulled, 0 built, 0 deleted, 1 failed.\n"
        ),
        "{summary}"
    );
    assert!(
        summary.contains(&format!(
            "<code>Image/{id}</code> failed: error when building image"
        )),
        "{summary}"
    );
}

#[test]
fn the_boundary_holds_through_symlinks_and_odd_names_at_a_revision() {
    use std::os::unix::ffi::OsStrExt;
    let repo = tempfile::tempdir().unwrap();
    let dir = repo.path();
    git(dir, &["init", "-q"]);
    write(
        dir,
        "decl/images.yaml",
        &format!(
            "{BASE}---\n{}",
            image(
                "through",
                "runtimeDependencies:\n  manifest: '@shared/common.txt'\n"
            )
        ),
    );
    // A folder in the declarations that is a symlink to one beside them.
    write(dir, "shared/common.txt", "numpy==1.26.4\n");
    std::os::unix::fs::symlink("../shared", dir.join("decl/shared")).unwrap();
    // A declarations file that is a symlink to one beside them.
    write(dir, "elsewhere.yaml", &image("elsewhere", ""));
    std::os::unix::fs::symlink("../elsewhere.yaml", dir.join("decl/linked.yaml")).unwrap();
    // A name that is not UTF-8.
    let latin1 = std::ffi::OsStr::from_bytes(b"caf\xe9.yaml");
    std::fs::write(dir.join("decl").join(latin1), image("cafe", "")).unwrap();
    commit(dir, "links");
    let run = dispatch(dir, &["validate", "decl", "--revision", "main"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    insta::assert_snapshot!("boundary_at_a_revision", run.stderr);
    // Allowed outside, both links are read; the odd name is still named.
    let allowed = dispatch(
        dir,
        &[
            "validate",
            "decl",
            "--revision",
            "main",
            "--allow-outside-refs",
        ],
    );
    assert_eq!(allowed.code, 1, "{}", allowed.stderr);
    assert_eq!(
        allowed.stderr,
        "main:decl/caf\u{FFFD}.yaml: cannot read: its name is not valid UTF-8\nerror: 1 problem in the declarations\n"
    );
}
