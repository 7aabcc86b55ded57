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

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use dispatch::catalog;
use dispatch::engine::docker::DockerEngine;
use dispatch::model::catalog::{Catalog, Ecosystem, Package};
use dispatch::model::reference::ImageRef;
use dispatch::model::{BaseImageSpec, ImageSpec, Language, Resource, Spec};
use dispatch::state::local::LocalBackend;
use dispatch::state::{Backend, Catalogs, Observed, ResourceState, State, conformance};

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

fn id(kind: &str, i: usize) -> String {
    format!("sha256:{kind}{i:060}")
}

/// A state of `size` images on `size / 100` bases, with their catalogs.
fn write_state(dir: &Path, size: usize) {
    let backend = LocalBackend::new(dir.join(".dispatch/state.json"));
    let bases = size.div_ceil(100);
    let base_catalog = Catalog::layered(
        (0..120)
            .map(|i| Package::plain(Ecosystem::Deb, &format!("lib{i}"), "1.0-1"))
            .collect(),
        None,
    );
    let mut state = State::new();
    let observed = |image: String| Observed {
        image_id: Some(image),
        digest: None,
        reference: None,
        created: None,
        ..Default::default()
    };
    let mut record = |resource: Resource, image: String| {
        let mut entry = ResourceState::applied(resource, "2026-11-25T08:00:00Z");
        entry.observed = Some(observed(image));
        state.resources.insert(entry.resource.address(), entry);
    };
    for b in 0..bases {
        backend.put_catalog(&id("b", b), &base_catalog).unwrap();
        let spec = Spec::BaseImage(BaseImageSpec {
            docker_url: ImageRef::parse(&format!("127.0.0.1:5000/base/b{b}:1")).unwrap(),
            language: Language::Python3,
            tags: vec![],
            rebase: Default::default(),
        });
        record(
            Resource {
                name: format!("b{b}"),
                spec,
            },
            id("b", b),
        );
    }
    for i in 0..size {
        let base = i % bases;
        let own = vec![
            Package::plain(
                Ecosystem::Pypi,
                "six",
                if i % 2 == 0 { "1.16.0" } else { "2.0.0" },
            ),
            Package::plain(Ecosystem::Pypi, "idna", "3.7"),
            Package::plain(Ecosystem::Pypi, &format!("team{}", i % 40), "1.0"),
            Package::plain(Ecosystem::Pypi, "requests", "2.31.0"),
            Package::plain(Ecosystem::Pypi, "urllib3", "2.2.1"),
        ];
        let catalog = Catalog::layered(own, Some((&id("b", base), &base_catalog)));
        backend.put_catalog(&id("i", i), &catalog).unwrap();
        let spec = Spec::Image(ImageSpec {
            base_image_name: format!("b{base}"),
            runtime_dependencies: None,
            system_dependencies: None,
            tags: vec![],
        });
        record(
            Resource {
                name: format!("i{i}"),
                spec,
            },
            id("i", i),
        );
    }
    let lock = backend
        .lock(Duration::ZERO, &conformance::holder("bench"))
        .unwrap();
    lock.save(&mut state).unwrap();
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

fn timed(runs: usize, mut f: impl FnMut()) -> Vec<Duration> {
    (0..runs)
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed()
        })
        .collect()
}

fn report(what: &str, times: &[Duration]) {
    let mut sorted = times.to_vec();
    sorted.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{what}: min {:.1} ms, median {:.1} ms, max {:.1} ms ({} runs)",
        ms(sorted[0]),
        ms(sorted[sorted.len() / 2]),
        ms(sorted[sorted.len() - 1]),
        sorted.len()
    );
}
