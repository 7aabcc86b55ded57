//! The pre-merge check of a pull request: `dispatch diff main...feature` on a repository whose
//! declarations hold N resources, 10 of them changed on the branch.
//!
//! ```text
//! cargo bench --bench diff                 # 10,000 resources
//! cargo bench --bench diff -- 1000 100000  # chosen sizes
//! ```
//!
//! Each run is the release binary in a fresh process, as CI runs it: the repository is read
//! from its object database (no checkout), both sides loaded and compared. Without `--bench`
//! (as `cargo test --all-targets` runs it) it makes one quick run of 1,000 resources.

mod args;
mod generate;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const DEFAULT_SIZES: [usize; 1] = [10_000];
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

/// A repository of `size` resources on `main`, and `feature`, which retags [`CHANGED`] images;
/// and what its declarations are.
fn repository(size: usize) -> (tempfile::TempDir, String) {
    let repo = tempfile::tempdir().expect("tempdir");
    let dir = repo.path();
    git(dir, &["init", "-q"]);
    let written = generate::declarations(&dir.join("decl"), size);
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
    // Even images have no tags of their own: give ten of them one.
    let file = dir.join("decl/images/team-0/images-000.yaml");
    let mut text = std::fs::read_to_string(&file).expect("generated images");
    for i in (0..2 * CHANGED).step_by(2) {
        let name = format!("name: image-{i:06}\n");
        assert!(text.contains(&name), "{name}");
        text = text.replace(
            &name,
            &format!("{name}tags:\n  - key: reviewed\n    value: \"yes\"\n"),
        );
    }
    std::fs::write(&file, text).expect("write");
    git(dir, &["commit", "-q", "-am", "feature"]);
    git(dir, &["checkout", "-q", "main"]);
    (repo, what)
}

fn main() {
    let Some(args::Args { bench, sizes }) = args::parse(&DEFAULT_SIZES, QUICK_SIZE) else {
        return;
    };
    let runs = if bench { 7 } else { 1 };
    println!(
        "dispatch diff main...feature, {CHANGED} resources changed (min / median of {runs} runs):"
    );
    for size in sizes {
        let (repo, what) = repository(size);
        let mut times = Vec::new();
        for _ in 0..runs {
            let started = Instant::now();
            let output = Command::new(env!("CARGO_BIN_EXE_dispatch"))
                .current_dir(repo.path())
                .args(["diff", "main...feature", "decl", "--compact", "--no-color"])
                .output()
                .expect("dispatch runs");
            times.push(started.elapsed());
            assert!(
                output.status.success(),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
            let stdout = String::from_utf8_lossy(&output.stdout);
            let changes = stdout
                .lines()
                .filter(|l| l.contains(" (update: tags changed)"))
                .count();
            assert_eq!(changes, CHANGED, "{stdout}");
        }
        times.sort();
        let ms = |d: Duration| format!("{:.0} ms", d.as_secs_f64() * 1e3);
        println!(
            "  {size:>7} resources ({what}): {} / {}",
            ms(times[0]),
            ms(times[times.len() / 2])
        );
    }
}
