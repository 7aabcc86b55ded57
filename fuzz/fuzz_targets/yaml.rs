//! Any text, read by both YAML parsers: wherever the fast path reads a file, it must read what
//! the full parser reads, node for node and position for position (the fast path may give up
//! on anything; it may never differ).
#![no_main]

use dispatch::decl::yaml;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(fast) = yaml::fast::parse(text) {
        assert_eq!(Ok(fast), yaml::parse_fully(text), "{text:?}");
    }
});
