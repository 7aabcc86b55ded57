//! Raw bytes as an advisory file, JSON or YAML by its first byte (`{`/`[`: JSON): reading it
//! answers records or an error naming the file, never a panic; every record checked, indexed
//! and rated; and packages named by the records, at versions the records name, asked about in
//! every ecosystem.
#![no_main]

use libfuzzer_sys::fuzz_target;

use dispatch::advisory::{Index, read, severity};
use dispatch::model::catalog::{Ecosystem, Package};

fuzz_target!(|data: &[u8]| {
    let json = data.first().is_some_and(|b| matches!(b, b'{' | b'['));
    let (name, format) = if json {
        ("a.json", read::Format::Json)
    } else {
        ("a.yaml", read::Format::Yaml)
    };
    let Ok(records) = read::records(name, format, data) else {
        return;
    };
    let checked: Vec<_> = (records.into_iter())
        .filter_map(|r| r.check().ok()?.advisory)
        .collect();
    // Versions to ask about: every version the records name, and a few of each order.
    let mut versions: Vec<String> = ["0", "1.0", "1.0.0-rc.1", "3.0.11-1~deb12u2", "3.1.4-r1"]
        .map(String::from)
        .to_vec();
    let mut names = Vec::new();
    for advisory in &checked {
        severity::of(advisory);
        for affected in &advisory.affected {
            names.push(affected.package.name.clone());
            versions.extend(affected.versions.iter().cloned());
            let events = affected.ranges.iter().flat_map(|r| &r.events);
            versions.extend(events.map(|e| e.version().to_string()));
        }
    }
    let index = Index::new(checked);
    for name in names.iter().take(8) {
        for version in versions.iter().take(32) {
            for ecosystem in Ecosystem::ALL {
                let purl = match ecosystem {
                    Ecosystem::Deb => "pkg:deb/debian/x@1?distro=debian-12".to_string(),
                    Ecosystem::Apk => "pkg:apk/alpine/x@1?distro=alpine-3.18.4".to_string(),
                    _ => format!("pkg:{ecosystem}/x@1"),
                };
                let package = Package {
                    ecosystem,
                    name: name.clone(),
                    version: version.clone(),
                    purl,
                    source: None,
                    license: None,
                };
                for hit in index.affecting(&package) {
                    assert!(
                        hit.advisory.affected.iter().any(|a| {
                            dispatch::model::versions::normal_name(ecosystem, &a.package.name)
                                == dispatch::model::versions::normal_name(ecosystem, name)
                        }),
                        "a hit names the package"
                    );
                }
            }
        }
    }
});
