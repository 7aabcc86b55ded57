//! The original Dispatch's names, fields and flags (vmware/dispatch, CLI v0.1.24): what it
//! accepted is accepted, what it refused is refused, and the outputs are pinned beside the ones
//! its documentation shows (testdata/original/). No engine or registry.

use std::path::Path;

use crate::common::{Run, assert_plan_schema, run_dispatch};

/// The repository root, so paths in output read `testdata/...`.
fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Declarations with names the original accepted and dispatch used to refuse.
const NAMES: &str = "testdata/original/names";

/// `dispatch ARGS` in `dir`, with no engine to reach.
fn dispatch(dir: &Path, args: &[&str]) -> Run {
    let engine = [("DOCKER_HOST", "unix:///nonexistent/docker.sock")];
    run_dispatch(dir, args, &engine)
}

#[test]
fn the_original_names_are_read_everywhere_names_are() {
    let state = tempfile::tempdir().unwrap();
    let state = state.path().join("state.json");
    let state = state.to_str().unwrap();
    let valid = dispatch(root(), &["validate", NAMES]);
    assert_eq!(valid.code, 0, "{}", valid.stderr);
    insta::assert_snapshot!("names_valid", valid.stdout);
    let plan = dispatch(
        root(),
        &[
            "plan",
            "--refresh=false",
            "--state",
            state,
            NAMES,
            "--compact",
        ],
    );
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    insta::assert_snapshot!("names_plan", plan.stdout);
    // In a JSON plan, whose schema holds addresses to the same rule.
    let json = dispatch(
        root(),
        &[
            "plan",
            "--refresh=false",
            "--state",
            state,
            NAMES,
            "-o",
            "json",
        ],
    );
    let json: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_plan_schema(&json);
    let addresses: Vec<&str> = json["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["address"].as_str().unwrap())
        .collect();
    assert_eq!(
        addresses,
        [
            "BaseImage/_private",
            "BaseImage/my_py_base",
            "Image/My_App",
            "Image/worker__2"
        ]
    );
    // As a target, and an image's base through it.
    let targeted = dispatch(
        root(),
        &[
            "plan",
            "--refresh=false",
            "--state",
            state,
            NAMES,
            "--compact",
            "--target",
            "Image/My_App",
        ],
    );
    assert_eq!(targeted.code, 0, "{}", targeted.stderr);
    assert_eq!(
        targeted.stdout.lines().take(2).collect::<Vec<_>>(),
        ["+ BaseImage/my_py_base (create)", "+ Image/My_App (create)"]
    );
}

#[test]
fn names_the_original_refused_are_refused_on_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut said = String::new();
    for args in [
        &[
            "create",
            "base-image",
            "my.base",
            "x/y:1",
            "--language",
            "python3",
        ][..],
        &["create", "image", "app", "py base"],
        &["get", "image", "café"],
        &["delete", "base-image", "a/b"],
        &["plan", "--target", "Image/-x"],
    ] {
        let run = dispatch(dir.path(), &[&["--no-color"], args].concat());
        assert_eq!(run.code, 1, "{args:?}: {}", run.stderr);
        said += &format!("$ dispatch {}\n{}\n", args.join(" "), run.stderr);
    }
    insta::assert_snapshot!("names_refused", said);
    // Accepted by the parser: the error is that nothing of that name exists.
    let missing = dispatch(dir.path(), &["create", "image", "my_app", "my_py_base"]);
    assert!(
        missing
            .stderr
            .contains("Image/my_app names base image `my_py_base`, which does not exist"),
        "{}",
        missing.stderr
    );
}

/// The original's documented output in `testdata/original/documented/FILE`: its header's
/// columns and its rows' cells, the attribution and the command line left out.
fn documented(file: &str) -> (Vec<String>, Vec<Vec<String>>) {
    table(&documented_lines(file).join("\n"))
}

/// A table of the original's style: its header's columns and its rows' cells.
fn table(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let cells = |line: &str| -> Vec<String> {
        line.split('|')
            .map(|cell| cell.trim().to_string())
            .collect()
    };
    let mut lines = text.lines().filter(|l| !l.starts_with("---"));
    (cells(lines.next().unwrap()), lines.map(cells).collect())
}

/// Go's `time.UnixDate`, in any zone: `Mon Aug 27 15:07:17 PDT 2018`.
fn is_unix_date(text: &str) -> bool {
    let words: Vec<&str> = text.split(' ').filter(|w| !w.is_empty()).collect();
    let clock = |w: &str| w.len() == 8 && w.split(':').all(|n| n.parse::<u8>().is_ok());
    matches!(words[..], [day, month, date, time, zone, year]
        if day.len() == 3 && month.len() == 3 && date.parse::<u8>().is_ok() && clock(time)
            && zone.chars().all(|c| c.is_ascii_uppercase()) && year.parse::<u16>().is_ok())
}

/// What the original's quick start left after `create seed-images` (testdata/original/
/// documented/get-images.txt), as a dispatch state: created at the same instant, Mon Aug 27
/// 15:07:17 PDT 2018.
fn seeded_state(path: &Path) {
    use dispatch::model::reference::ImageRef;
    use dispatch::model::{BaseImageSpec, Resource, Spec};
    use dispatch::state::local::LocalBackend;
    use dispatch::state::{Backend, Observed, ResourceState, State, conformance};
    let time = "2018-08-27T22:07:17Z";
    let mut state = State::new();
    for (language, tag) in [
        ("python3", "0.0.13"),
        ("nodejs", "0.0.12"),
        ("powershell", "0.0.13"),
        ("java", "0.0.13"),
    ] {
        let url = format!("127.0.0.1:5000/dispatchframework/{language}-base:{tag}");
        let base = Resource {
            name: format!("{language}-base"),
            spec: Spec::BaseImage(BaseImageSpec {
                docker_url: ImageRef::parse(&url).unwrap(),
                language: language.parse().unwrap(),
                tags: vec![],
                rebase: Default::default(),
            }),
        };
        let image = dispatch::testing::image(language, &base.name, None);
        let mut built = ResourceState::applied(image, time);
        built.observed = Some(Observed {
            image_id: Some(format!("sha256:{}", "1".repeat(64))),
            digest: None,
            reference: Some(format!("dispatch/{language}:{}", "0".repeat(32))),
            created: None,
            ..Default::default()
        });
        for record in [ResourceState::applied(base, time), built] {
            state.resources.insert(record.resource.address(), record);
        }
    }
    LocalBackend::new(path)
        .lock(std::time::Duration::ZERO, &conformance::holder("test"))
        .unwrap()
        .save(&mut state)
        .unwrap();
}

#[test]
fn get_prints_the_originals_columns_dates_and_times() {
    let dir = tempfile::tempdir().unwrap();
    seeded_state(&dir.path().join(".dispatch/state.json"));
    let get = |args: &[&str]| {
        let run = dispatch(dir.path(), &[&["get"], args].concat());
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
        run.stdout
    };
    for (args, file, golden) in [
        (&["images"][..], "get-images.txt", "get_images"),
        (&["base-images"], "get-base-images.txt", "get_base_images"),
        (
            &["base-image", "python3-base"],
            "get-base-image.txt",
            "get_base_image",
        ),
    ] {
        let text = get(args);
        insta::assert_snapshot!(golden, text);
        let (header, rows) = table(&text);
        let (theirs, their_rows) = documented(file);
        assert_eq!(
            header,
            theirs.iter().map(|c| c.to_uppercase()).collect::<Vec<_>>()
        );
        let date = header.iter().position(|c| c == "CREATED DATE").unwrap();
        for row in rows.iter().chain(&their_rows) {
            assert!(is_unix_date(&row[date]), "{row:?}");
        }
    }
    // The quick start's rows, name, base image and status, are ours; its date is ours in UTC.
    let (_, rows) = table(&get(&["images"]));
    let (_, theirs) = documented("get-images.txt");
    for their in &theirs {
        let row = rows.iter().find(|r| r[0] == their[0]).unwrap();
        assert_eq!((&row[2], &row[3]), (&their[2], &their[3]));
        assert_eq!(their[4], "Mon Aug 27 15:07:17 PDT 2018");
        assert_eq!(row[4], "Mon Aug 27 22:07:17 UTC 2018");
    }
    // `createdTime` in Unix seconds, as the original's API; the RFC 3339 time beside it.
    let json = get(&["image", "python3", "-o", "json"]);
    insta::assert_snapshot!("get_image_json", json);
    let object: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(object["createdTime"], 1_535_407_637);
    assert_eq!(object["created"], "2018-08-27T22:07:17Z");
    assert_eq!(object["modifiedTime"], 1_535_407_637);
    let list: serde_json::Value = serde_json::from_str(&get(&["images", "--json"])).unwrap();
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|o| o["createdTime"].is_i64())
    );
    insta::assert_snapshot!(
        "get_base_image_yaml",
        get(&["base-image", "python3-base", "-o", "yaml"])
    );
}

/// The flags of the original's `create base-image`, `create image` and `create` (v0.1.24)
/// and its global ones: those dispatch takes are in the help; the others are refused, saying
/// why and what does their job here.
#[test]
fn the_originals_flags_work_or_say_why_not() {
    let dir = tempfile::tempdir().unwrap();
    let help = dispatch(dir.path(), &["create", "image", "--help"]).stdout;
    for taken in [
        "--runtime-deps <FILE>",
        "--system-deps <FILE>",
        "-a, --application <APP>",
        "[alias: --tags]",
    ] {
        assert!(help.contains(taken), "{taken}: {help}");
    }
    let help = dispatch(dir.path(), &["create", "base-image", "--help"]).stdout;
    assert!(help.contains("--language <LANGUAGE>"), "{help}");
    let mut said = String::new();
    for args in [
        &[
            "create",
            "base-image",
            "b",
            "x/y:1",
            "--language",
            "python3",
            "--public",
        ][..],
        &["create", "image", "i", "b", "-o", "json"],
        &["create", "-f", "images.yaml", "-w", "examples"],
        &["create", "-f", "images.yaml", "-a", "analytics"],
        &["get", "images", "-a", "analytics"],
        &[
            "create",
            "base-image",
            "b",
            "x/y:1",
            "--language",
            "python3",
            "--host",
            "dispatch.lan",
        ],
        &["get", "images", "--organization", "vmware"],
        &["delete", "image", "i", "--insecure"],
        &["apply", "--config", "~/.dispatch.json"],
    ] {
        let run = dispatch(dir.path(), &[&["--no-color"], args].concat());
        assert_eq!(run.code, 1, "{args:?}: {}", run.stderr);
        assert!(
            run.stderr
                .contains("is the original Dispatch's; not supported here, because"),
            "{args:?}: {}",
            run.stderr
        );
        said += &format!("$ dispatch {}\n{}\n", args.join(" "), run.stderr);
    }
    insta::assert_snapshot!("flags_refused", said);
}

/// `create seed-images -O FILE`, the original's `--output-file`: the seed declarations, at the
/// registry named by `--registry` or `[registry] seed`, written and nothing created; the same
/// resources, in the same order, as the original's documented `create seed-images` created.
#[test]
fn seed_images_are_written_for_the_registry_named() {
    let dir = tempfile::tempdir().unwrap();
    let run = dispatch(
        dir.path(),
        &[
            "create",
            "seed-images",
            "--registry",
            "registry.lan:5000/dispatchframework",
            "-O",
            "seed.yaml",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    insta::assert_snapshot!("seed_written", run.stdout);
    let written = std::fs::read_to_string(dir.path().join("seed.yaml")).unwrap();
    insta::assert_snapshot!("seed_yaml", written);
    assert!(!dir.path().join(".dispatch").exists(), "nothing recorded");
    let valid = dispatch(dir.path(), &["validate", "seed.yaml"]);
    assert_eq!(
        valid.stdout,
        "The declarations are valid: 4 base images, 4 images.\n"
    );
    // What the original's documentation shows it created, in its order.
    let created: Vec<String> = documented_lines("create-seed-images.txt")
        .iter()
        .map(|line| line.strip_prefix("Created ").unwrap().replace(": ", "/"))
        .collect();
    let declared: Vec<String> = written
        .split("\n---\n")
        .map(|doc| {
            let field = |key: &str| {
                let line = doc.lines().find(|l| l.starts_with(key)).unwrap();
                line[key.len()..].trim().to_string()
            };
            format!("{}/{}", field("kind:"), field("name:"))
        })
        .collect();
    assert_eq!(declared, created);
    // The registry from dispatch.toml, with the seed alias.
    std::fs::write(
        dir.path().join("dispatch.toml"),
        "[registry]\nseed = \"registry.lan:5000/dispatchframework\"\n",
    )
    .unwrap();
    let configured = dispatch(dir.path(), &["create", "seed", "-O", "again.yaml"]);
    assert_eq!(configured.code, 0, "{}", configured.stderr);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("again.yaml")).unwrap(),
        written
    );
}

#[test]
fn seed_images_need_a_registry_that_makes_references() {
    let dir = tempfile::tempdir().unwrap();
    let mut said = String::new();
    for args in [
        &["create", "seed-images"][..],
        &["create", "seed-images", "--registry", "Registry.LAN/UPPER"],
        &[
            "create",
            "seed-images",
            "--registry",
            "reg.lan/a b",
            "-O",
            "x.yaml",
        ],
    ] {
        let run = dispatch(dir.path(), &[&["--no-color"], args].concat());
        assert_eq!(run.code, 1, "{args:?}: {}", run.stderr);
        said += &format!("$ dispatch {}\n{}\n", args.join(" "), run.stderr);
    }
    insta::assert_snapshot!("seed_refused", said);
    assert!(!dir.path().join("x.yaml").exists());
}

/// The lines of the original's documented output in `testdata/original/documented/FILE`,
/// without the attribution and the command line.
fn documented_lines(file: &str) -> Vec<String> {
    let text =
        std::fs::read_to_string(root().join("testdata/original/documented").join(file)).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with('$'))
        .map(str::to_string)
        .collect()
}
