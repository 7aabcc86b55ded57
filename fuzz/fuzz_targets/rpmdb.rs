//! Any bytes as rpm's database in each form read without SQLite (BerkeleyDB `Packages`, ndb
//! `Packages.db`), through the scan as an image's file, and as one header blob: a reason or
//! packages, never a panic, and memory bounded by the input. Every version read is an rpm
//! version that its own range `<=VERSION` holds.
#![no_main]

use dispatch::catalog::{rpmdb, scan};
use dispatch::model::catalog::Ecosystem;
use dispatch::model::versions::Range;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for path in ["/var/lib/rpm/Packages", "/usr/lib/sysimage/rpm/Packages.db"] {
        let files = [(path.to_string(), data.to_vec())];
        if let Ok(scanned) = scan::scan(&files) {
            for package in scanned.packages {
                assert_eq!(package.ecosystem, Ecosystem::Rpm);
                if let Ok(range) = Range::parse(Ecosystem::Rpm, &format!("<={}", package.version)) {
                    assert!(range.contains(&package.version), "{package:?}");
                }
            }
        }
    }
    let _ = rpmdb::header::read(data);
});
