//! The pre-merge check of a pull request: `dispatch diff main...feature` on a repository whose
//! declarations hold N resources, 10 of them changed on the branch, and `dispatch validate
//! --revision main` of the same declarations; in two layouts (benches/generate): nested (about
//! 500 documents a file over five folders) and flat (a file per image and one manifest of its
//! own beside it, all in one folder).
//!
//! ```text
//! cargo bench --bench diff                 # nested: 10,000 resources; flat: 2,000 and 10,000 images
//! cargo bench --bench diff -- 1000 100000  # chosen sizes, both layouts
//! DISPATCH_BENCH_WRITE=/tmp/repos cargo bench --bench diff -- 2000
//!     # only writes the repositories, /tmp/repos/{nested,flat}-2000 (to time the CLI), and exits
//! ```
//!
//! Each run is the release binary in a fresh process, as CI runs it: the repository is read
//! from its object database (no checkout), both sides loaded and compared. Without `--bench`
//! (as `cargo test --all-targets` runs it) it makes one quick run of each layout at 1,000.

mod args;
mod generate;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const NESTED_SIZES: [usize; 1] = [10_000];
const FLAT_SIZES: [usize; 2] = [2_000, 10_000];
const QUICK_SIZE: usize = 1_000;
/// How many resources the branch changes.
const CHANGED: usize = 10;

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=bench",
            "-c",
            "user.email=bench@example.invalid",
        ])
        .args(["-c", "init.defaultBranch=main"])
        .args(args)
        .output()
        .expect("git runs");
    assert!(status.status.success(), "git {args:?}: {status:?}");
}

#[derive(Clone, Copy)]
enum Layout {
    /// [`generate::declarations`]: N resources.
    Nested,
    /// [`generate::flat`]: N images.
    Flat,
}

/// `text` with image `i` (an even one, with no tags of its own) given a tag.
fn retag(text: &str, i: usize) -> String {
    let name = format!("name: image-{i:06}\n");
    assert!(text.contains(&name), "{name}");
    text.replace(
        &name,
        &format!("{name}tags:\n  - key: reviewed\n    value: \"yes\"\n"),
    )
}

/// Set by the user: write the repositories under this directory and exit.
const ENV_WRITE: &str = "DISPATCH_BENCH_WRITE";

/// Makes `dir` a repository of `size` on `main`, and `feature`, which retags [`CHANGED`]
/// images; says what its declarations are.
fn repository(dir: &Path, layout: Layout, size: usize) -> String {
    std::fs::create_dir_all(dir).expect("create dir");
    git(dir, &["init", "-q"]);
    let decl = dir.join("decl");
    let written = match layout {
        Layout::Nested => generate::declarations(&decl, size),
        Layout::Flat => generate::flat(&decl, size),
    };
    let what = format!(
        "{} base images + {} images in {} files, {:.1} MiB",
        written.bases,
        written.images,
        written.files,
        written.bytes as f64 / (1024.0 * 1024.0)
    );
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "main"]);
    git(dir, &["checkout", "-q", "-b", "feature"]);
    for i in (0..2 * CHANGED).step_by(2) {
        let file = match layout {
            Layout::Nested => decl.join("images/team-0/images-000.yaml"),
            Layout::Flat => decl.join(generate::flat_file(i)),
        };
        let text = std::fs::read_to_string(&file).expect("generated images");
        std::fs::write(&file, retag(&text, i)).expect("write");
    }
    git(dir, &["commit", "-q", "-am", "feature"]);
    git(dir, &["checkout", "-q", "main"]);
    what
}

/// The min and median wall time of `runs` runs of `dispatch ARGS` in `dir`, each checked by
/// `check` on its stdout.
fn time(dir: &Path, args: &[&str], runs: usize, check: impl Fn(&str)) -> String {
    let mut times = Vec::new();
    for _ in 0..runs {
        let started = Instant::now();
        let output = Command::new(env!("CARGO_BIN_EXE_dispatch"))
            .current_dir(dir)
            .args(args)
            .output()
            .expect("dispatch runs");
        times.push(started.elapsed());
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        check(&String::from_utf8_lossy(&output.stdout));
    }
    times.sort();
    let ms = |d: Duration| format!("{:.0} ms", d.as_secs_f64() * 1e3);
    format!("{} / {}", ms(times[0]), ms(times[times.len() / 2]))
}

fn main() {
    let Some(args::Args { bench, sizes }) = args::parse(&[], QUICK_SIZE) else {
        return;
    };
    let runs = if bench { 7 } else { 1 };
    let write = std::env::var_os(ENV_WRITE).map(std::path::PathBuf::from);
    if write.is_none() {
        println!(
            "dispatch diff main...feature ({CHANGED} resources changed) and validate --revision \
             main, min / median of {runs} runs:"
        );
    }
    let layouts = [
        (Layout::Nested, "nested", "resources", &NESTED_SIZES[..]),
        (Layout::Flat, "flat", "images", &FLAT_SIZES[..]),
    ];
    for (layout, name, unit, defaults) in layouts {
        // Sizes named on the command line are for both layouts.
        for &size in if sizes.is_empty() { defaults } else { &sizes } {
            if let Some(write) = &write {
                let dir = write.join(format!("{name}-{size}"));
                let what = repository(&dir, layout, size);
                println!("  {} ({what})", dir.display());
                continue;
            }
            let repo = tempfile::tempdir().expect("tempdir");
            let what = repository(repo.path(), layout, size);
            let diff = time(
                repo.path(),
                &["diff", "main...feature", "decl", "--compact", "--no-color"],
                runs,
                |stdout| {
                    let changes = stdout
                        .lines()
                        .filter(|l| l.contains(" (update: tags changed)"))
                        .count();
                    assert_eq!(changes, CHANGED, "{stdout}");
                },
            );
            let validate = time(
                repo.path(),
                &["validate", "decl", "--revision", "main"],
                runs,
                |stdout| assert!(stdout.starts_with("The declarations are valid"), "{stdout}"),
            );
            println!(
                "  {name:<6} {size:>7} {unit} ({what}): diff {diff}, validate --revision {validate}"
            );
        }
    }
}
