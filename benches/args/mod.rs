//! The command line every benchmark takes: `--bench` for the full run (`cargo bench`), else
//! one quick run (as `cargo test --all-targets` runs benches); sizes as numeric arguments
//! (`1000`, `10_000`, `100,000`). Anything else (libtest flags, test name filters from
//! `cargo test -- NAME`) is not for a bench and is ignored.

/// What the benchmark was asked to do.
pub struct Args {
    /// A full run (`cargo bench`), not a quick check.
    pub bench: bool,
    /// The sizes to measure.
    pub sizes: Vec<usize>,
}

/// The arguments, or `None` when a test runner only asks what is in the binary (`--list`):
/// a bench has no named tests to list.
pub fn parse(defaults: &[usize], quick: usize) -> Option<Args> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        return None;
    }
    let bench = args.iter().any(|a| a == "--bench");
    let sizes: Vec<usize> = args
        .iter()
        .filter_map(|a| a.replace(['_', ','], "").parse().ok())
        .filter(|&n: &usize| n > 0)
        .collect();
    let sizes = match (bench, sizes.is_empty()) {
        (_, false) => sizes,
        (true, true) => defaults.to_vec(),
        (false, true) => vec![quick],
    };
    Some(Args { bench, sizes })
}
