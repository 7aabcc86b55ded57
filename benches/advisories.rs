//! What advisories cost (a fresh process each run, as a user runs it, release build).
//!
//! ```text
//! cargo bench --bench advisories            # the three below, 10,000 images
//! cargo bench --bench advisories -- 1000    # chosen fleet sizes
//! ```
//!
//! 1. `dispatch advisories import` of the whole PyPA snapshot (`../shared/advisories/pypa`,
//!    2,661 YAML files) into an empty state.
//! 2. `dispatch advisories import` of osv.dev-style `Debian-all.zip` holding 100,000 synthetic
//!    `Debian:12` records (20,000 package names, 5 records each).
//! 3. `dispatch vulns -o json` over N images on N/100 bases of 120 Debian packages, each image
//!    with 5 Python packages, against both: 10 of each base's packages are affected, and
//!    `urllib3 1.24.1` in one image of two.
//!
//! Without `--bench` (as `cargo test --all-targets` runs it): one quick run of 200 images and
//! 2,000 Debian records.

mod args;
mod fleet;
mod timing;

use std::io::Write;
use std::path::Path;
use std::process::Command;

use dispatch::model::catalog::{Ecosystem, Package};
use timing::{report, timed};

fn main() {
    let Some(args) = args::parse(&[10_000], 200) else {
        return;
    };
    let runs = if args.bench { 5 } else { 1 };
    let records = if args.bench { 100_000 } else { 2_000 };
    let scratch = tempfile::tempdir().unwrap();
    let debian = scratch.path().join("Debian-all.zip");
    std::fs::write(&debian, debian_zip(records)).unwrap();
    let pypa = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/advisories/pypa/vulns");
    let pypa = pypa.is_dir().then_some(pypa);
    if let Some(pypa) = &pypa {
        let times = timed(runs, || {
            let dir = tempfile::tempdir().unwrap();
            import(dir.path(), pypa);
        });
        report(
            "advisories import of the PyPA snapshot (2,661 files)",
            &times,
        );
    } else {
        println!("skipped: the PyPA snapshot is not at ../shared/advisories/pypa");
    }
    let times = timed(runs, || {
        let dir = tempfile::tempdir().unwrap();
        import(dir.path(), &debian);
    });
    report(
        &format!("advisories import of {records} Debian records (zip)"),
        &times,
    );
    for &size in &args.sizes {
        let dir = tempfile::tempdir().unwrap();
        fleet::write(dir.path(), size, base(), own);
        import(dir.path(), &debian);
        if let Some(pypa) = &pypa {
            import(dir.path(), pypa);
        }
        let mut stdout = Vec::new();
        let times = timed(runs, || {
            stdout = dispatch(dir.path(), &["vulns", "-o", "json"])
        });
        report(&format!("vulns -o json over {size} images"), &times);
        check(&stdout, size, pypa.is_some());
    }
}

/// Debian bookworm's `lib0`..`lib119` at `1.0-1`, as a scan records them.
fn base() -> Vec<Package> {
    (0..120)
        .map(|i| {
            let name = format!("lib{i}");
            Package {
                ecosystem: Ecosystem::Deb,
                purl: format!("pkg:deb/debian/{name}@1.0-1?arch=amd64&distro=debian-12"),
                source: None,
                license: None,
                name,
                version: "1.0-1".into(),
            }
        })
        .collect()
}

/// Image `i`'s own Python packages; `urllib3 1.24.1` (affected) in one of two.
fn own(i: usize) -> Vec<Package> {
    vec![
        Package::plain(Ecosystem::Pypi, "six", "1.16.0"),
        Package::plain(Ecosystem::Pypi, "idna", "3.7"),
        Package::plain(Ecosystem::Pypi, &format!("team{}", i % 40), "1.0"),
        Package::plain(Ecosystem::Pypi, "requests", "2.32.3"),
        Package::plain(
            Ecosystem::Pypi,
            "urllib3",
            if i.is_multiple_of(2) {
                "1.24.1"
            } else {
                "2.2.3"
            },
        ),
    ]
}

/// `records` Debian records over 20,000 names, 5 each, as osv.dev's `all.zip` holds them (a
/// file per record). Record `j` names `lib{j % 20000}`; the first of `lib0`, `lib12`, ...,
/// `lib108` is fixed in `1.1-1` (so affects the bases' `1.0-1`), every other in `0.9-1`.
fn debian_zip(records: usize) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for j in 0..records {
        let (name, round) = (j % 20_000, j / 20_000);
        let fixed = if round == 0 && name < 120 && name % 12 == 0 {
            "1.1-1"
        } else {
            "0.9-1"
        };
        let record = serde_json::json!({
            "id": format!("DEBIAN-CVE-2024-{j:06}"),
            "modified": "2024-10-01T00:00:00Z",
            "published": "2024-09-01T00:00:00Z",
            "aliases": [format!("CVE-2024-{j:06}")],
            "summary": format!("lib{name}: a synthetic vulnerability"),
            "affected": [{
                "package": {"ecosystem": "Debian:12", "name": format!("lib{name}"),
                            "purl": format!("pkg:deb/debian/lib{name}?arch=source")},
                "ranges": [{"type": "ECOSYSTEM",
                            "events": [{"introduced": "0"}, {"fixed": fixed}]}]
            }]
        });
        zip.start_file(format!("DEBIAN-CVE-2024-{j:06}.json"), options)
            .unwrap();
        zip.write_all(record.to_string().as_bytes()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

fn dispatch(dir: &Path, args: &[&str]) -> Vec<u8> {
    let output = Command::new(env!("CARGO_BIN_EXE_dispatch"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

fn import(dir: &Path, path: &Path) {
    dispatch(dir, &["advisories", "import", path.to_str().unwrap(), "-q"]);
}

/// Checks what `vulns -o json` found: 10 findings of each image's base packages, and
/// urllib3's in half the images when the PyPA records are loaded.
fn check(stdout: &[u8], size: usize, pypa: bool) {
    let found: Vec<serde_json::Value> = serde_json::from_slice(stdout).unwrap();
    let bases = size.div_ceil(100);
    let debian = found.iter().filter(|f| f["ecosystem"] == "deb").count();
    assert_eq!(debian, 10 * (size + bases));
    let urllib3 = found.iter().filter(|f| f["package"] == "urllib3").count();
    assert_eq!(urllib3 > 0, pypa);
}
