//! Known vulnerabilities before merge: the dependencies images pin in their manifests
//! (`testdata/plan/vulnerable`), matched against the advisories imported into the state's
//! folder (the vendored PyPA records and the npm fixture), at `validate`, `plan` and `diff`, in
//! every output; and the policies' `vulnerabilities` rule that turns them into errors.

use std::path::{Path, PathBuf};

use crate::common::Run;

const DECLARATIONS: &str = "testdata/plan/vulnerable";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `dispatch --state STATE ARGS` in the repository, with `vars`.
fn dispatch(state: &Path, args: &[&str], vars: &[(&str, &str)]) -> Run {
    let state = ["--state", state.to_str().unwrap()];
    crate::common::run_dispatch(root(), &[&state[..], args].concat(), vars)
}

/// A state folder with the advisories imported and nothing applied.
fn with_advisories() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let import = dispatch(
        &state,
        &[
            "advisories",
            "import",
            "testdata/advisories/pypa/vulns",
            "testdata/advisories/osv/npm.yaml",
        ],
        &[],
    );
    assert_eq!(import.code, 0, "{}", import.stderr);
    (dir, state)
}

fn plan(state: &Path, args: &[&str]) -> Run {
    dispatch(
        state,
        &[
            &["plan", "--refresh=false", DECLARATIONS, "--no-color"],
            args,
        ]
        .concat(),
        &[],
    )
}

#[test]
fn nothing_is_said_without_advisories() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let run = dispatch(&state, &["validate", DECLARATIONS], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stderr, "");
    let json = plan(&state, &["-o", "json"]);
    let document: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert!(document.get("vulnerabilities").is_none(), "{document}");
    assert!(!dir.path().join("advisories").exists(), "nothing made");
}

#[test]
fn validate_and_plan_name_each_vulnerable_pin_at_its_line() {
    let (_dir, state) = with_advisories();
    let run = dispatch(&state, &["validate", DECLARATIONS, "--no-color"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    insta::assert_snapshot!("validate_text", format!("{}{}", run.stdout, run.stderr));
    let run = plan(&state, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    insta::assert_snapshot!("plan_text", run.stdout);
    let markdown = plan(&state, &["-o", "markdown"]);
    assert_eq!(markdown.code, 0, "{}", markdown.stderr);
    insta::assert_snapshot!(
        "plan_markdown",
        markdown.stdout.split("<details>").next().unwrap()
    );
}

#[test]
fn the_json_plan_lists_them_with_the_policy_that_counts_one() {
    let (_dir, state) = with_advisories();
    let policy = ["--policy", "testdata/plan/policies/watch.yaml"];
    let json = plan(&state, &[&policy[..], &["-o", "json"]].concat());
    assert_eq!(json.code, 0, "{}", json.stderr);
    let document: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    crate::common::assert_plan_schema(&document);
    assert_eq!(document["format_version"], "2.4");
    insta::assert_json_snapshot!("plan_json_vulnerabilities", document["vulnerabilities"]);
    // What the rule counts is a policy's violation too; what it does not, only a finding.
    let violations = document["policy_violations"].as_array().unwrap();
    assert_eq!(violations.len(), 2, "{violations:?}");
    assert_eq!(violations[0]["rule"], "vulnerabilities");
    assert_eq!(violations[0]["policy"], "watch");
    assert!(
        violations[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("requests==2.19.1")
    );
}

#[test]
fn ci_formats_carry_them_as_warnings() {
    let (dir, state) = with_advisories();
    let summary = dir.path().join("summary.md");
    let github = dispatch(
        &state,
        &["plan", "--refresh=false", DECLARATIONS, "-o", "github"],
        &[("GITHUB_STEP_SUMMARY", summary.to_str().unwrap())],
    );
    assert_eq!(github.code, 0, "{}", github.stderr);
    let annotations: Vec<&str> = (github.stdout.lines())
        .filter(|l| l.starts_with("::"))
        .collect();
    insta::assert_snapshot!("plan_github", annotations.join("\n"));
    let summary = std::fs::read_to_string(&summary).unwrap();
    assert!(
        summary.contains("> [!WARNING]\n> 3 known vulnerabilities in the declared dependencies:\n"),
        "{summary}"
    );
    let gitlab = plan(&state, &["-o", "gitlab"]);
    assert_eq!(gitlab.code, 0, "{}", gitlab.stderr);
    let issues: serde_json::Value = serde_json::from_str(&gitlab.stdout).unwrap();
    insta::assert_json_snapshot!("plan_gitlab", issues);
    let validate = dispatch(&state, &["validate", DECLARATIONS, "-o", "gitlab"], &[]);
    let again: serde_json::Value = serde_json::from_str(&validate.stdout).unwrap();
    assert_eq!(again, issues, "validate reports what plan does");
}

#[test]
fn an_error_rule_stops_validate_and_plan_and_an_expired_ignore_says_so() {
    let (_dir, state) = with_advisories();
    let policy = ["--policy", "testdata/plan/policies/security.yaml"];
    let run = dispatch(
        &state,
        &[&["validate", DECLARATIONS, "--no-color"], &policy[..]].concat(),
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
    insta::assert_snapshot!("security_validate", run.stderr);
    let run = plan(&state, &policy);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let github = plan(&state, &[&policy[..], &["-o", "github"]].concat());
    assert_eq!(github.code, 1);
    let errors: Vec<&str> = (github.stdout.lines())
        .filter(|l| l.starts_with("::error"))
        .collect();
    assert_eq!(errors.len(), 2, "{}", github.stdout);
    assert!(
        errors[0].starts_with(
            "::error file=testdata/plan/vulnerable/requirements.txt,line=2,col=1,title=dispatch::requests==2.19.1 is affected by PYSEC-2018-28"
        ) && errors[0].contains("; the ignore of PYSEC-2018-28 expired on 2024-01-31%0Ahint: use requests>=2.20.0"),
        "{errors:?}"
    );
    assert!(
        errors[1].starts_with(
            "::error file=testdata/plan/vulnerable/images.yaml,line=11,col=3,title=dispatch::\"lodash\": \"4.17.20\" is affected by GHSA-35jh-r3h4-6jhm"
        ),
        "{errors:?}"
    );
    let gitlab = plan(&state, &[&policy[..], &["-o", "gitlab"]].concat());
    assert_eq!(gitlab.code, 1);
    let issues: serde_json::Value = serde_json::from_str(&gitlab.stdout).unwrap();
    let severities: Vec<&str> = (issues.as_array().unwrap().iter())
        .map(|i| i["severity"].as_str().unwrap())
        .collect();
    assert_eq!(severities, ["major", "major"], "{issues}");
    let markdown = plan(&state, &[&policy[..], &["-o", "markdown"]].concat());
    assert_eq!(markdown.code, 1);
    insta::assert_snapshot!("security_markdown", markdown.stdout);
}

/// `diff main...feature`: what the change declares is matched, with the advisories of the
/// backend configured where it runs; the vulnerabilities the branch merged into already has are
/// not the change's.
#[test]
fn a_diff_names_what_the_change_declares() {
    use crate::git::{commit, git, write};
    let repo = tempfile::tempdir().unwrap();
    let dir = repo.path();
    git(dir, &["init", "-q"]);
    let images = "kind: Image\nname: api\nbaseImageName: python3\nruntimeDependencies:\n  manifest: '@requirements.txt'\n";
    write(
        dir,
        "decl/bases.yaml",
        "kind: BaseImage\nname: python3\ndockerUrl: 127.0.0.1:5000/base/python3:1\nlanguage: python3\n",
    );
    write(dir, "decl/images.yaml", images);
    write(dir, "decl/requirements.txt", "requests==2.19.1\n");
    commit(dir, "first");
    git(dir, &["checkout", "-q", "-b", "feature"]);
    write(
        dir,
        "decl/requirements.txt",
        "requests==2.31.0\njinja2==2.11.2\n",
    );
    commit(dir, "bump requests, add jinja2");
    let state = dir.join(".dispatch/state.json");
    let advisories = root().join("testdata/advisories/pypa/vulns");
    let import = crate::common::run_dispatch(
        dir,
        &["advisories", "import", advisories.to_str().unwrap()],
        &[],
    );
    assert_eq!(import.code, 0, "{}", import.stderr);
    assert!(
        state
            .parent()
            .unwrap()
            .join("advisories/PyPI.json")
            .is_file()
    );
    let diff = |format: &str| {
        crate::common::run_dispatch(dir, &["diff", "main...feature", "decl", "-o", format], &[])
    };
    let markdown = diff("markdown");
    assert_eq!(markdown.code, 0, "{}", markdown.stderr);
    insta::assert_snapshot!("diff_markdown", markdown.stdout);
    let json: serde_json::Value = serde_json::from_str(&diff("json").stdout).unwrap();
    crate::common::assert_plan_schema(&json);
    let ids: Vec<&str> = (json["vulnerabilities"].as_array().unwrap().iter())
        .map(|v| v["id"].as_str().unwrap())
        .collect();
    assert!(
        !ids.is_empty() && ids.iter().all(|id| !id.is_empty()),
        "{json}"
    );
    assert!(
        (json["vulnerabilities"].as_array().unwrap().iter()).all(|v| v["package"] == "jinja2"),
        "requests 2.19.1 is main's, not the change's: {json}"
    );
}
