//! Golden tests for `dispatch validate`. Every directory under testdata/invalid holds one kind
//! of mistake; its whole report (messages, `file:line:col`, hints) is pinned in tests/snapshots,
//! so a change to any message shows up as a reviewable diff.
//!
//! Inputs git cannot hold (an empty directory) or should not (hostile, huge) are written to a
//! temporary directory at run time.

use std::fs::{self, File};
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::time::{Duration, Instant};

use assert_cmd::Command;

/// How long hostile input may take to be refused, even in a debug build on a loaded machine:
/// a bound, not a benchmark. Unbounded, what these cases guard against takes minutes or never
/// ends; refused, each takes milliseconds (seconds were seen with the machine loaded 7x over).
const FAST: Duration = Duration::from_secs(30);

struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs `dispatch validate PATH --no-color` in `dir`, so reports name files relative to it.
fn validate(dir: &Path, path: &str) -> Outcome {
    validate_with(dir, &[path])
}

/// `dispatch validate ARGS... --no-color` in `dir`.
fn validate_with(dir: &Path, args: &[&str]) -> Outcome {
    let output = Command::from_std(crate::common::dispatch_command(dir))
        .arg("validate")
        .args(args)
        .arg("--no-color")
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    Outcome {
        code: output.status.code(),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// Pins `text` as the snapshot `name`, recording the command that printed it.
fn pin(name: &str, path: &str, text: &str) {
    insta::with_settings!({
        description => format!("dispatch validate {path} --no-color"),
        omit_expression => true,
    }, {
        insta::assert_snapshot!(name, text);
    });
}

/// Checks every case, then fails once naming all that failed: a changed message can touch
/// many snapshots, and insta prints the diff of each.
fn check_all(cases: &[String], check: impl Fn(&str)) {
    let failed: Vec<&String> = cases
        .iter()
        .filter(|case| panic::catch_unwind(AssertUnwindSafe(|| check(case))).is_err())
        .collect();
    assert!(failed.is_empty(), "failed cases: {failed:?}");
}

/// Runs a case that must fail, and pins what it printed.
fn expect_invalid(dir: &Path, path: &str, snapshot: &str) -> Duration {
    let started = Instant::now();
    let outcome = validate(dir, path);
    let took = started.elapsed();
    assert_eq!(outcome.code, Some(1), "{path}: {}", outcome.stderr);
    assert_eq!(outcome.stdout, "", "{path}");
    pin(snapshot, path, &outcome.stderr);
    took
}

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn invalid_cases() {
    let mut cases: Vec<String> = fs::read_dir(repo_root().join("testdata/invalid"))
        .unwrap()
        .map(|entry| entry.unwrap())
        .filter(|entry| entry.file_type().unwrap().is_dir())
        .map(|entry| entry.file_name().into_string().unwrap())
        .collect();
    cases.sort();
    assert!(cases.len() >= 35, "only {} cases", cases.len());
    check_all(&cases, |case| {
        let path = format!("testdata/invalid/{case}");
        expect_invalid(repo_root(), &path, &format!("invalid__{case}"));
    });
}

#[test]
fn quickstart_is_valid() {
    let outcome = validate(repo_root(), "examples/quickstart");
    assert_eq!(outcome.code, Some(0), "{}", outcome.stderr);
    assert_eq!(outcome.stderr, "");
    pin("valid__quickstart", "examples/quickstart", &outcome.stdout);
}

#[test]
fn missing_and_empty_directories() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("empty")).unwrap();
    let cases = ["empty".to_string(), "nowhere".to_string()];
    check_all(&cases, |case| {
        expect_invalid(dir.path(), case, &format!("runtime__{case}"));
    });
}

#[test]
fn hostile_input_fails_fast() {
    let dir = tempfile::tempdir().unwrap();
    let write = |case: &str, text: String| {
        fs::create_dir(dir.path().join(case)).unwrap();
        fs::write(dir.path().join(case).join("declarations.yaml"), text).unwrap();
    };
    // Billion laughs: ten levels of ten aliases each would expand to 10^10 strings.
    let mut bomb = String::from("kind: BaseImage\nname: laughs\nl0: &l0 lol\n");
    for level in 1..=10 {
        let aliases = vec![format!("*l{}", level - 1); 10].join(", ");
        bomb += &format!("l{level}: &l{level} [{aliases}]\n");
    }
    write("alias-bomb", bomb);
    let deep = |open: &str, close: &str| {
        format!(
            "kind: BaseImage\nname: deep\ntags: {}{}\n",
            open.repeat(10_000),
            close.repeat(10_000)
        )
    };
    write("deep-lists", deep("[", "]"));
    write("deep-mappings", deep("{a: ", "}"));
    // Sparse: a gibibyte of size, next to no disk.
    fs::create_dir(dir.path().join("huge")).unwrap();
    File::create(dir.path().join("huge/declarations.yaml"))
        .unwrap()
        .set_len(1 << 30)
        .unwrap();

    let cases = ["alias-bomb", "deep-lists", "deep-mappings", "huge"].map(String::from);
    check_all(&cases, |case| {
        let took = expect_invalid(dir.path(), case, &format!("hostile__{case}"));
        assert!(took < FAST, "{case} took {took:?}");
    });
}

/// An Image naming `reference`, and its base.
fn naming(reference: &str) -> String {
    format!(
        "kind: BaseImage\nname: b\ndockerUrl: 127.0.0.1:5000/b:1\nlanguage: python3\n---\nkind: Image\nname: i\nbaseImageName: b\nruntimeDependencies:\n  manifest: '@{reference}'\n"
    )
}

#[cfg(unix)]
#[test]
fn only_regular_files_are_read_and_symlinks_out_are_refused_alike() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    let case = |name: &str, files: &[(&str, String)]| {
        fs::create_dir_all(dir.path().join(name)).unwrap();
        for (file, text) in files {
            fs::write(dir.path().join(name).join(file), text).unwrap();
        }
        dir.path().join(name)
    };
    let fifo = |path: &Path| {
        let status = std::process::Command::new("mkfifo")
            .arg(path)
            .status()
            .unwrap();
        assert!(status.success());
    };
    // A FIFO named by @file, and one named *.yaml: nothing writes to either.
    fifo(&case("fifo-ref", &[("images.yaml", naming("pipe.txt"))]).join("pipe.txt"));
    fifo(
        &case(
            "fifo-yaml",
            &[("images.yaml", naming("r.txt")), ("r.txt", "x\n".into())],
        )
        .join("pipe.yaml"),
    );
    // A character device, where references may lead outside: /dev/zero never ends.
    case("device-ref", &[("images.yaml", naming("/dev/zero"))]);
    symlink("/dev/zero", case("device-yaml", &[]).join("zero.yaml")).unwrap();
    // A *.yaml symlink leading outside, refused as an @file one is.
    case(
        "elsewhere",
        &[(
            "secret.yaml",
            "kind: BaseImage\nname: s\ndockerUrl: 127.0.0.1:5000/s:1\nlanguage: python3\n".into(),
        )],
    );
    symlink(
        "../elsewhere/secret.yaml",
        case("yaml-symlink-outside", &[]).join("linked.yaml"),
    )
    .unwrap();

    let cases = ["fifo-ref", "fifo-yaml", "yaml-symlink-outside"].map(String::from);
    check_all(&cases, |case| {
        let took = expect_invalid(dir.path(), case, &format!("special__{case}"));
        assert!(took < FAST, "{case} took {took:?}");
    });
    for case in ["device-ref", "device-yaml"] {
        let started = Instant::now();
        let outcome = validate_with(dir.path(), &[case, "--allow-outside-refs"]);
        assert!(
            started.elapsed() < FAST,
            "{case} took {:?}",
            started.elapsed()
        );
        assert_eq!(outcome.code, Some(1), "{case}: {}", outcome.stderr);
        pin(&format!("special__{case}"), case, &outcome.stderr);
    }
    // Allowed outside, the symlinked file is read like any other.
    let outcome = validate_with(
        dir.path(),
        &["yaml-symlink-outside", "--allow-outside-refs"],
    );
    assert_eq!(outcome.code, Some(0), "{}", outcome.stderr);
}

#[test]
fn the_file_size_cap_holds_on_both_sides() {
    let dir = tempfile::tempdir().unwrap();
    let cap = dispatch::decl::MAX_FILE_BYTES;
    // A comment as long as the cap allows: nothing declared, nothing wrong.
    fs::create_dir(dir.path().join("at")).unwrap();
    let at = format!("# {}\n", "x".repeat(cap as usize - 3));
    fs::write(dir.path().join("at/declarations.yaml"), &at).unwrap();
    let outcome = validate(dir.path(), "at");
    assert_eq!(outcome.code, Some(0), "{}", outcome.stderr);
    // One byte more is refused unread.
    fs::create_dir(dir.path().join("over")).unwrap();
    fs::write(dir.path().join("over/declarations.yaml"), format!("{at}\n")).unwrap();
    let outcome = validate(dir.path(), "over");
    assert_eq!(outcome.code, Some(1));
    assert!(
        outcome.stderr.starts_with(&format!(
            "over/declarations.yaml: file is {} bytes, over the limit of 8 MiB",
            cap + 1
        )),
        "{}",
        outcome.stderr
    );
}

#[test]
fn one_file_of_ten_thousand_documents_reads_like_a_hundred_files() {
    let dir = tempfile::tempdir().unwrap();
    let doc = |i: usize| {
        format!(
            "kind: BaseImage\nname: base-{i}\ndockerUrl: 127.0.0.1:5000/base/b{i}:1\nlanguage: python3\n---\nkind: Image\nname: image-{i}\nbaseImageName: base-{i}\ntags:\n  - key: team\n    value: t{}\n",
            i % 7
        )
    };
    fs::create_dir_all(dir.path().join("one")).unwrap();
    let all: Vec<String> = (0..5_000).map(doc).collect();
    let one = all.join("---\n");
    assert!(one.len() > 900_000, "about a megabyte: {}", one.len());
    fs::write(dir.path().join("one/all.yaml"), one).unwrap();
    fs::create_dir_all(dir.path().join("many")).unwrap();
    for (n, chunk) in all.chunks(50).enumerate() {
        fs::write(
            dir.path().join(format!("many/part-{n:03}.yaml")),
            chunk.join("---\n"),
        )
        .unwrap();
    }
    let plan = |path: &str| {
        let output = crate::common::dispatch_command(dir.path())
            .args([
                "plan",
                "--refresh=false",
                "--state",
                "none.json",
                "-o",
                "json",
                path,
            ])
            .output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        output.stdout
    };
    let one = validate(dir.path(), "one");
    assert_eq!(one.code, Some(0), "{}", one.stderr);
    assert_eq!(
        one.stdout,
        "The declarations are valid: 5000 base images, 5000 images.\n"
    );
    assert_eq!(validate(dir.path(), "many").stdout, one.stdout);
    assert_eq!(plan("one"), plan("many"));
}
