//! What the check of declared dependencies against the advisories adds to a plan (criterion,
//! in process): 1,000 images, each pinning 8 Python packages in a requirements.txt of its own
//! (a pool of 40 popular pins, a third of them with known vulnerabilities, and one of the
//! team's own), against the whole PyPA snapshot (`../shared/advisories/pypa`, 2,661 records;
//! the vendored subset in `testdata/` when it is not there).
//!
//! ```text
//! cargo bench --bench premerge
//! ```
//!
//! 1. `load`: the records a plan reads, `PyPI.json` beside a local state, parsed and indexed.
//! 2. `check`: the check itself, from the records in memory: indexed, every pin matched (each
//!    record's versions read the first time its package is asked about), judged.
//!
//! Without `--bench` (as `cargo test --all-targets` runs it), each runs once.

use std::path::{Path, PathBuf};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use dispatch::advisory::Index;
use dispatch::advisory::read::{self, Format};
use dispatch::decl::{self, Declarations, LoadOptions};
use dispatch::model::advisory::Advisory;
use dispatch::policy::vulns;
use dispatch::source::memory::MemorySource;
use dispatch::state::Advisories;
use dispatch::state::local::LocalBackend;

const IMAGES: usize = 1_000;
const TODAY: &str = "2026-11-25T08:00:00Z";

/// Pins as images hold them, a third of them affected by PyPA records.
const POOL: [&str; 40] = [
    "requests==2.19.1",
    "requests==2.32.3",
    "urllib3==1.24.1",
    "urllib3==2.2.3",
    "jinja2==2.10",
    "jinja2==3.1.4",
    "django==2.2.20",
    "django==5.1.2",
    "pyyaml==5.3",
    "pyyaml==6.0.2",
    "pillow==8.0.0",
    "pillow==11.0.0",
    "flask==0.12",
    "flask==3.0.3",
    "numpy==1.21.0",
    "numpy==2.1.2",
    "cryptography==3.2",
    "cryptography==43.0.3",
    "lxml==4.6.2",
    "lxml==5.3.0",
    "six==1.16.0",
    "idna==3.7",
    "certifi==2024.8.30",
    "charset-normalizer==3.4.0",
    "setuptools==75.2.0",
    "packaging==24.1",
    "python-dateutil==2.9.0",
    "pytz==2024.2",
    "attrs==24.2.0",
    "click==8.1.7",
    "markupsafe==3.0.2",
    "werkzeug==3.0.6",
    "sqlalchemy==2.0.36",
    "psycopg2==2.9.10",
    "boto3==1.35.50",
    "botocore==1.35.50",
    "pandas==2.2.3",
    "scipy==1.14.1",
    "protobuf==5.28.3",
    "grpcio==1.67.0",
];

/// The PyPA records, read and checked as an import reads them.
fn records() -> Vec<Advisory> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shared = root.join("../shared/advisories/pypa/vulns");
    let dir = if shared.is_dir() {
        shared
    } else {
        println!("the PyPA snapshot is not at ../shared/advisories/pypa: the vendored subset");
        root.join("testdata/advisories/pypa/vulns")
    };
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(&dir)
        .into_iter()
        .map(|e| e.unwrap().into_path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    let mut records = Vec::new();
    for file in files {
        let name = file.display().to_string();
        let bytes = std::fs::read(&file).unwrap();
        for record in read::records(&name, Format::Yaml, &bytes).unwrap() {
            records.extend(record.check().unwrap().advisory);
        }
    }
    records
}

/// `IMAGES` images on one python3 base, image `i` pinning 8 of the pool and a package of its
/// team's in a requirements.txt of its own.
fn declarations() -> Declarations {
    let mut files = vec![(
        "bases.yaml".to_string(),
        "kind: BaseImage\nname: python3\ndockerUrl: 127.0.0.1:5000/base/python3:1\nlanguage: python3\n"
            .to_string(),
    )];
    let mut images = Vec::new();
    for i in 0..IMAGES {
        images.push(format!(
            "kind: Image\nname: img{i}\nbaseImageName: python3\nruntimeDependencies:\n  manifest: '@reqs/img{i}.txt'\n"
        ));
        let pins: Vec<&str> = (0..8).map(|k| POOL[(i * 7 + k * 5) % POOL.len()]).collect();
        let requirements = format!("# img{i}\n{}\nteam{}==1.0\n", pins.join("\n"), i % 40);
        files.push((format!("reqs/img{i}.txt"), requirements));
    }
    files.push(("images.yaml".into(), images.join("---\n")));
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    decl::load(&MemorySource::new(&files), LoadOptions::default()).unwrap()
}

fn premerge(c: &mut Criterion) {
    let records = records();
    let declarations = declarations();
    let dir = tempfile::tempdir().unwrap();
    let backend = LocalBackend::new(dir.path().join("state.json"));
    backend.put_advisories(&records).unwrap();
    let size = std::fs::metadata(dir.path().join("advisories/PyPI.json"))
        .unwrap()
        .len();
    // What the benchmark measures is what a plan reports: check it once.
    let index = Index::new(records.clone());
    let found = vulns::declared(&declarations, &index);
    let judged = vulns::judge(&declarations.policies, found, TODAY);
    assert!(judged.len() > IMAGES, "{} findings", judged.len());
    println!(
        "{} records ({} KiB of PyPI.json), {IMAGES} images, {} findings",
        records.len(),
        size >> 10,
        judged.len()
    );
    let mut group = c.benchmark_group("premerge");
    group.sample_size(20);
    group.bench_function("load PyPI.json and index", |b| {
        b.iter(|| {
            let loaded = backend.advisories(Some(&["PyPI".to_string()])).unwrap();
            Index::new(loaded)
        })
    });
    group.bench_function(format!("check {IMAGES} images"), |b| {
        b.iter_batched(
            || records.clone(),
            |records| {
                let index = Index::new(records);
                let found = vulns::declared(&declarations, &index);
                vulns::judge(&declarations.policies, found, TODAY).len()
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, premerge);
criterion_main!(benches);
