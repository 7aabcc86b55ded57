//! Raw bytes as a directory of declarations: split at each `\0\0` into the files `a.yaml`,
//! `team/b.yml`, `r.txt` (a manifest the others may name with `@r.txt`), `team/c.yaml`, ...
#![no_main]

use libfuzzer_sys::fuzz_target;

const NAMES: [&str; 6] = [
    "a.yaml",
    "team/b.yml",
    "r.txt",
    "team/c.yaml",
    "d.yaml",
    "team/e.txt",
];

fuzz_target!(|data: &[u8]| {
    let files = data
        .split(|&b| b == 0)
        .collect::<Vec<_>>()
        .chunk_by(|a, _| !a.is_empty())
        .map(|parts| parts.join(&0u8))
        .zip(NAMES)
        .map(|(bytes, name)| (name.to_string(), bytes))
        .collect();
    dispatch_fuzz::exercise(files);
});
