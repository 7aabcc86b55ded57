//! The layout's rules, checked on the source itself (README.md, "Layout and design notes"):
//!
//! 1. The pure modules (`model`, `decl`, `plan`, `build`, `report`, `policy`, `manifest`, the
//!    state's and the source's types, `apply::schedule`, `apply::record`, `refresh::observe`,
//!    `catalog::scan`, `catalog::rpmdb`, `catalog::query`, `advisory`) touch no
//!    filesystem, network, environment, clock or stdout, and import only each other.
//! 2. The adapters (`source::fs`, `source::git`, `state::local`, `state::postgres` and the
//!    modules inside it, `engine::docker`, `registry::oci`) translate and decide nothing: they
//!    import only `model`, their own module, their settings (`config`), `files`, `retry` and
//!    the registry credentials.
//! 3. The top-level modules import each other without a circle, and nothing in the library
//!    names the binary's modules (those `main.rs` declares: `commands`, `console`, `views`).
//!
//! 4. Nothing in the library touches the terminal (stdout, stderr, stdin, Ctrl-C: the
//!    binary's `console`), returns `Result<_, String>` (errors have types), or holds more than
//!    700 lines of code in one file (blank lines, comments and tests apart).
//!
//! Test code (`#[cfg(test)]` modules, the fakes they declare, and the harness behind the
//! `testing` feature) is not held to these rules.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A module of the library: its path (`["plan", "saved"]`) and its code, tests and comments cut.
#[derive(Debug, Clone)]
struct Module {
    path: Vec<String>,
    code: String,
}

impl Module {
    fn name(&self) -> String {
        self.path.join("::")
    }
}

const PURE: &[&str] = &[
    "model",
    "advisory",
    "decl",
    "plan",
    "build",
    "report",
    "source",
    "state",
    "apply::schedule",
    "apply::record",
    "refresh::observe",
    "catalog::scan",
    "catalog::rpmdb",
    "catalog::query",
    "policy",
    "manifest",
];

/// Modules under a pure prefix that are adapters or harnesses, not pure code.
const NOT_PURE: &[&str] = &[
    "source::fs",
    "source::git",
    "state::local",
    "state::postgres",
];

const ADAPTERS: &[&str] = &[
    "source::fs",
    "source::git",
    "state::local",
    "state::postgres",
    "engine::docker",
    "engine::ssh",
    "registry::oci",
];

/// What adapters may use besides their own module.
const ADAPTER_MAY_USE: &[&str] = &["model", "config", "files", "retry", "registry::credentials"];

/// What pure code must not do, and why.
const IMPURE: &[(&str, &str)] = &[
    ("std::fs", "the filesystem"),
    ("std::net", "the network"),
    ("std::env", "the environment"),
    ("std::process", "the process"),
    ("SystemTime", "the clock"),
    ("Instant::now", "the clock"),
    ("print!", "stdout"),
    ("println!", "stdout"),
    ("eprint", "stderr"),
    ("stdout()", "stdout"),
    ("stderr()", "stderr"),
    ("tokio::", "the runtime"),
];

/// What only the binary may touch: the terminal, a prompt, Ctrl-C.
const TERMINAL: &[(&str, &str)] = &[
    ("stdout()", "stdout"),
    ("stderr()", "stderr"),
    ("stdin()", "stdin"),
    ("print!", "stdout"),
    ("println!", "stdout"),
    ("eprint", "stderr"),
    ("is_terminal", "the terminal"),
    ("indicatif", "the terminal"),
    ("tokio::signal", "Ctrl-C"),
];

/// The most lines of code (blank lines, comments and tests apart) a file of the library has.
const MAX_LINES: usize = 700;

/// Every `Result<T, String>` in `code`: an error with no type.
fn string_errors(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (at, _) in code.match_indices("Result<") {
        let rest = &code[at + "Result<".len()..];
        let (mut depth, mut end) = (1, None);
        for (i, c) in rest.char_indices() {
            match c {
                '<' | '(' | '[' => depth += 1,
                '>' | ')' | ']' => depth -= 1,
                _ => {}
            }
            if depth == 0 {
                end = Some(i);
                break;
            }
        }
        let Some(end) = end else { continue };
        let inside = &rest[..end];
        if inside
            .rsplit(',')
            .next()
            .is_some_and(|e| e.trim() == "String")
        {
            found.push(format!("Result<{inside}>"));
        }
    }
    found
}

fn starts_with(module: &str, prefix: &str) -> bool {
    module == prefix || module.starts_with(&format!("{prefix}::"))
}

fn is_pure(module: &str) -> bool {
    PURE.iter().any(|p| starts_with(module, p)) && !NOT_PURE.iter().any(|p| starts_with(module, p))
}

/// The code of a file without comments and without its trailing `#[cfg(test)] mod tests`.
fn code_of(text: &str) -> String {
    let mut code = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("#[cfg(test)]")
            && lines
                .peek()
                .is_some_and(|next| next.trim_start().starts_with("mod tests"))
        {
            break;
        }
        if trimmed.starts_with("//") {
            continue;
        }
        code.push_str(line);
        code.push('\n');
    }
    code
}

/// What declares a module for tests only: the crate's own, or other crates' too (the `testing`
/// feature, which tests/ and benches/ turn on).
const TEST_ONLY: &[&str] = &["#[cfg(test)]", "#[cfg(any(test, feature = \"testing\"))]"];

/// The child modules `code` declares only for tests (`#[cfg(test)] mod fake;`).
fn test_only_children(code: &str) -> BTreeSet<String> {
    let mut children = BTreeSet::new();
    let mut lines = code.lines().peekable();
    while let Some(line) = lines.next() {
        if !TEST_ONLY.contains(&line.trim()) {
            continue;
        }
        if let Some(next) = lines.peek() {
            let declared = next.trim().trim_start_matches("pub ").strip_prefix("mod ");
            if let Some(name) = declared.and_then(|d| d.strip_suffix(';')) {
                children.insert(name.to_string());
            }
        }
    }
    children
}

/// The modules `src/main.rs` declares: the binary's, not the library's.
fn binary_modules(src: &Path) -> BTreeSet<String> {
    let main = std::fs::read_to_string(src.join("main.rs")).unwrap_or_default();
    main.lines()
        .filter_map(|line| line.trim().strip_prefix("mod ")?.strip_suffix(';'))
        .map(str::to_string)
        .collect()
}

/// Every module of the library under `src`, test-only ones left out.
fn library(src: &Path) -> Vec<Module> {
    let mut modules = Vec::new();
    walk(src, src, &mut modules);
    let test_only: BTreeSet<String> = modules
        .iter()
        .flat_map(|m| {
            test_only_children(&m.code)
                .into_iter()
                .map(|child| [m.path.clone(), vec![child]].concat().join("::"))
                .collect::<Vec<_>>()
        })
        .collect();
    modules
        .into_iter()
        .filter(|m| !test_only.iter().any(|t| starts_with(&m.name(), t)))
        .collect()
}

fn walk(src: &Path, dir: &Path, modules: &mut Vec<Module>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            walk(src, &path, modules);
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let relative = path.strip_prefix(src).unwrap().with_extension("");
        let mut parts: Vec<String> = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        // The binary's files are not the library's.
        if parts[0] == "main" || binary_modules(src).contains(&parts[0]) {
            continue;
        }
        if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
            parts.pop();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        modules.push(Module {
            path: parts,
            code: code_of(&text),
        });
    }
}

/// The modules `module` names with `crate::` or `super::` paths, as the longest known prefix.
fn uses(module: &Module, known: &BTreeSet<String>) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    let mut parent = module.path.clone();
    parent.pop();
    for (anchor, base) in [("crate::", Vec::new()), ("super::", parent)] {
        for (at, _) in module.code.match_indices(anchor) {
            let before = module.code[..at].chars().last();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            for path in expand(&module.code[at + anchor.len()..]) {
                let full = [base.clone(), path].concat();
                let longest = (1..=full.len())
                    .rev()
                    .map(|n| full[..n].join("::"))
                    .find(|p| known.contains(p));
                used.extend(longest);
            }
        }
    }
    used
}

/// The paths a `use` tail names: `a::b::C` → [a, b, C]; `a::{b::C, d}` → [a, b, C], [a, d].
fn expand(tail: &str) -> Vec<Vec<String>> {
    let mut head = Vec::new();
    let mut rest = tail;
    loop {
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if end > 0 {
            head.push(rest[..end].to_string());
        }
        rest = &rest[end..];
        if let Some(next) = rest.strip_prefix("::") {
            if let Some(group) = next.strip_prefix('{') {
                let close = group.find('}').unwrap_or(group.len());
                return group[..close]
                    .split(',')
                    .flat_map(|item| expand(item.trim()))
                    .map(|path| [head.clone(), path].concat())
                    .collect();
            }
            rest = next;
        } else {
            return vec![head];
        }
    }
}

/// Every broken rule, in words.
fn violations(modules: &[Module], binary: &BTreeSet<String>) -> Vec<String> {
    let known: BTreeSet<String> = modules.iter().map(Module::name).collect();
    let mut found = Vec::new();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for module in modules {
        let name = module.name();
        let used = uses(module, &known);
        if is_pure(&name) {
            for (token, what) in IMPURE {
                if module.code.contains(token) {
                    found.push(format!("{name} is pure but touches {what} (`{token}`)"));
                }
            }
            for other in used.iter().filter(|u| !is_pure(u)) {
                found.push(format!("{name} is pure but imports {other}"));
            }
        }
        if ADAPTERS.iter().any(|a| starts_with(&name, a)) {
            let own = &module.path[0];
            for other in &used {
                let allowed = starts_with(other, own)
                    || ADAPTER_MAY_USE.iter().any(|a| starts_with(other, a));
                if !allowed {
                    found.push(format!("{name} is an adapter but imports {other}"));
                }
            }
        }
        if let Some(named) = (binary.iter().chain(["main".to_string()].iter()))
            .find(|b| module.code.contains(&format!("crate::{b}")))
        {
            found.push(format!("{name} names the binary's {named}"));
        }
        for (token, what) in TERMINAL.iter().filter(|_| !is_pure(&name)) {
            if module.code.contains(token) {
                found.push(format!(
                    "{name} touches {what} (`{token}`): that is the binary's"
                ));
            }
        }
        let lines = module.code.lines().filter(|l| !l.trim().is_empty()).count();
        if lines > MAX_LINES {
            found.push(format!(
                "{name} has {lines} lines of code, more than {MAX_LINES}: split it by job"
            ));
        }
        if let Some(result) = string_errors(&module.code).first() {
            found.push(format!(
                "{name} returns `{result}`: give the error a type (thiserror)"
            ));
        }
        let top = module.path.first().cloned().unwrap_or_default();
        for other in used {
            let other_top = other.split("::").next().unwrap_or_default().to_string();
            if !top.is_empty() && other_top != top {
                graph.entry(top.clone()).or_default().insert(other_top);
            }
        }
    }
    found.extend(circles(&graph));
    found
}

/// Every circle of imports among top-level modules, each named once.
fn circles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let mut found = BTreeSet::new();
    for start in graph.keys() {
        let mut stack = vec![(start.clone(), vec![start.clone()])];
        while let Some((node, path)) = stack.pop() {
            for next in graph.get(&node).into_iter().flatten() {
                if next == start {
                    let mut circle = path.clone();
                    // Name each circle from its smallest module, so it is reported once.
                    let min = circle.iter().enumerate().min_by_key(|(_, m)| *m).unwrap().0;
                    circle.rotate_left(min);
                    found.insert(format!("circle of imports: {}", circle.join(" -> ")));
                } else if !path.contains(next) {
                    stack.push((next.clone(), [path.clone(), vec![next.clone()]].concat()));
                }
            }
        }
    }
    found.into_iter().collect()
}

#[test]
fn the_layout_keeps_its_rules() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let modules = library(&src);
    let names: BTreeSet<String> = modules.iter().map(Module::name).collect();
    for expected in [
        "model",
        "decl",
        "source",
        "source::fs",
        "plan",
        "build",
        "state",
        "state::local",
        "state::postgres",
        "state::postgres::connection",
        "state::postgres::lock",
        "state::postgres::schema",
        "engine",
        "engine::docker",
        "registry",
        "registry::oci",
        "refresh::observe",
        "apply::schedule",
        "apply::record",
        "report",
        "config",
        "ops",
    ] {
        assert!(
            names.contains(expected),
            "{expected} is not a module: {names:?}"
        );
    }
    // `source::memory` is compiled in: the fuzz targets load declarations from memory.
    // The conformance suites are built for tests and the `testing` feature: not in a release.
    for test_only in [
        "engine::fake",
        "registry::fake",
        "state::memory",
        "conformance",
        "state::conformance",
        "engine::conformance",
        "registry::conformance",
    ] {
        assert!(
            !names.contains(test_only),
            "{test_only} should be test-only"
        );
    }
    let found = violations(&modules, &binary_modules(&src));
    assert!(
        found.is_empty(),
        "the layout's rules are broken:\n{}",
        found.join("\n")
    );
}

/// The checker finds what it is for: a file tree with every kind of violation.
#[test]
fn the_checker_catches_each_kind_of_violation() {
    let dir = tempfile::tempdir().unwrap();
    let write = |path: &str, text: &str| {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(
        "lib.rs",
        "pub mod plan;\npub mod engine;\npub mod model;\npub mod state;\n",
    );
    write(
        "plan/mod.rs",
        "use crate::engine::Engine;\nuse crate::model::{Address, diag::Pos};\nfn f() { println!(\"x\"); let _ = std::fs::read(\"x\"); }\n#[cfg(test)]\nmod tests {\n    use crate::state::local::LocalBackend;\n}\n",
    );
    write(
        "engine/mod.rs",
        "use crate::plan::Plan;\nfn ask() -> Result<(), String> { eprintln!(\"?\"); Ok(()) }\n#[cfg(test)]\npub mod fake;\n",
    );
    write("engine/long.rs", &"let x = 1;\n".repeat(MAX_LINES + 1));
    write("engine/fake.rs", "use crate::state::local::LocalBackend;\n");
    write(
        "model/mod.rs",
        "pub mod diag;\n// crate::engine in a comment is fine\n",
    );
    write("model/diag.rs", "use crate::console::print;\n");
    write("main.rs", "mod console;\n");
    write("console.rs", "pub fn print() {}\n");
    write("state/mod.rs", "pub mod local;\n");
    write(
        "state/local.rs",
        "use super::State;\nuse crate::plan::Plan;\nuse crate::model::Kind;\n",
    );
    // A module inside an adapter is held to the adapter's rule.
    write(
        "state/postgres/lock.rs",
        "use super::schema::Sql;\nuse crate::plan::Plan;\n",
    );
    let found = violations(&library(dir.path()), &binary_modules(dir.path()));
    assert_eq!(
        found,
        [
            "engine::long has 701 lines of code, more than 700: split it by job",
            // `eprintln!` is both.
            "engine touches stdout (`println!`): that is the binary's",
            "engine touches stderr (`eprint`): that is the binary's",
            "engine returns `Result<(), String>`: give the error a type (thiserror)",
            "model::diag names the binary's console",
            "plan is pure but touches the filesystem (`std::fs`)",
            "plan is pure but touches stdout (`println!`)",
            "plan is pure but imports engine",
            "state::local is an adapter but imports plan",
            "state::postgres::lock is an adapter but imports plan",
            "circle of imports: engine -> plan",
        ],
        "{found:#?}"
    );
}
