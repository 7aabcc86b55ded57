//! What the catalog costs.
//!
//! ```text
//! cargo bench --bench catalog               # --package over 10,000 images; reading an image
//! cargo bench --bench catalog -- 100000     # chosen sizes
//! ```
//!
//! 1. `dispatch catalog --package 'six<2' -o json` end to end (a fresh process each time, as a
//!    user runs it) over a local state of N images on N/100 base images, each base catalogued
//!    with 120 Debian packages and each image with its own 5 Python packages: the time to
//!    answer offline from the state and the catalogs kept beside it.
//! 2. With `DISPATCH_TEST_PYTHON_BASE` (a Debian python3 image the engine holds, as
//!    `.ci/python-base` makes), the extra time a pull or build spends reading what the image
//!    holds: its package records streamed out of a created, never started, container and
//!    parsed. An image built on that base costs the same read (its files are the base's and
//!    its own).
//!
//! Without `--bench` (as `cargo test --all-targets` runs it): one quick run of 200 images, and
//! one read of the image.

mod args;
mod fleet;
mod timing;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use timing::{report, timed};

use dispatch::catalog;
use dispatch::engine::docker::DockerEngine;
use dispatch::model::catalog::{Ecosystem, Package};
use dispatch::state::local::LocalBackend;

fn main() {
    let Some(args) = args::parse(&[10_000], 200) else {
        return;
    };
    let runs = if args.bench { 7 } else { 1 };
    for &size in &args.sizes {
        let dir = tempfile::tempdir().unwrap();
        write_state(dir.path(), size);
        let times = timed(runs, || query(dir.path(), size));
        report(&format!("catalog --package over {size} images"), &times);
    }
    if let Ok(image) = std::env::var("DISPATCH_TEST_PYTHON_BASE") {
        let times = read_image(&image, if args.bench { 11 } else { 1 });
        report(&format!("reading what {image} holds"), &times);
    }
}

/// A state of `size` images on `size / 100` bases of 120 Debian packages, each image with 5
/// Python packages of its own.
fn write_state(dir: &Path, size: usize) {
    let base = (0..120)
        .map(|i| Package::plain(Ecosystem::Deb, &format!("lib{i}"), "1.0-1"))
        .collect();
    fleet::write(dir, size, base, |i| {
        vec![
            Package::plain(
                Ecosystem::Pypi,
                "six",
                if i % 2 == 0 { "1.16.0" } else { "2.0.0" },
            ),
            Package::plain(Ecosystem::Pypi, "idna", "3.7"),
            Package::plain(Ecosystem::Pypi, &format!("team{}", i % 40), "1.0"),
            Package::plain(Ecosystem::Pypi, "requests", "2.31.0"),
            Package::plain(Ecosystem::Pypi, "urllib3", "2.2.1"),
        ]
    });
}

/// `dispatch catalog --package 'six<2' -o json` in `dir`; checks what it found.
fn query(dir: &Path, size: usize) {
    let output = Command::new(env!("CARGO_BIN_EXE_dispatch"))
        .current_dir(dir)
        .args(["catalog", "--package", "six<2", "-o", "json"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let found: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(found.as_array().unwrap().len(), size.div_ceil(2));
}

/// Reads what `image` holds `runs` times, each into an empty store (as a first pull does).
fn read_image(image: &str, runs: usize) -> Vec<Duration> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let address =
            std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into());
        let engine = DockerEngine::connect(&address, Duration::from_secs(120))
            .await
            .unwrap();
        let mut times = Vec::new();
        for _ in 0..runs {
            let dir = tempfile::tempdir().unwrap();
            let store = LocalBackend::new(dir.path().join("state.json"));
            let started = Instant::now();
            let taken = catalog::ensure(&engine, &store, image, None).await.unwrap();
            times.push(started.elapsed());
            assert!(
                taken.image.packages.len() > 50,
                "{image} holds Debian's packages"
            );
        }
        times
    })
}
