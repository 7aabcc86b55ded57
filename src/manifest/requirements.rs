//! requirements.txt, as pip reads it (pip/_internal/req/req_file.py): its lines, continued
//! lines, comments and options here, and each requirement by PEP 508, which pep508_rs reads.

use std::convert::Infallible;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use pep440_rs::Operator;
use pep508_rs::{Pep508ErrorSource, Pep508Url, Requirement, VersionOrUrl};

use super::Found;
use crate::model::versions::pep503;

/// Where Python's `str.splitlines` breaks lines, and so pip: a requirement after any of these is
/// on a line of its own.
pub(super) const LINE_BREAKS: [char; 10] = [
    '\n', '\r', '\u{b}', '\u{c}', '\u{1c}', '\u{1d}', '\u{1e}', '\u{85}', '\u{2028}', '\u{2029}',
];

/// The requirements of a requirements file: one per logical line, not counting options (`-r`,
/// `-e`, `--index-url`…, and `--hash` after a requirement), URLs and paths, which name no index
/// package. Environment markers are kept in the text, not evaluated: the image's Python is not
/// known here. `${VAR}`s are not expanded (no environment), nor `-r` files followed.
pub(super) fn read(text: &str) -> Vec<Found> {
    let mut found = Vec::new();
    let mut joined = Joined::default();
    for (at, line) in physical_lines(text) {
        // pip continues no comment line, even one ending with `\`; it ends a continued one.
        let comment = line.trim_start().starts_with('#');
        if !comment && line.ends_with('\\') {
            let piece = line.trim_start_matches('\\');
            joined.push(at + line.len() - piece.len(), piece.trim_end_matches('\\'));
            continue;
        }
        if !comment {
            joined.push(at, line);
        }
        found.extend(requirement(&std::mem::take(&mut joined)));
    }
    found.extend(requirement(&joined));
    found
}

/// The lines of `text` and the offset where each starts.
fn physical_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut at = 0;
    std::iter::from_fn(move || {
        let rest = text.get(at..).filter(|rest| !rest.is_empty())?;
        let end = rest.find(LINE_BREAKS).unwrap_or(rest.len());
        let width = match &rest[end..] {
            crlf if crlf.starts_with("\r\n") => 2,
            other => other.chars().next().map_or(0, char::len_utf8),
        };
        let start = at;
        at += end + width;
        Some((start, &rest[..end]))
    })
}

/// A logical line: physical lines joined where each ends with `\`, as pip joins them, with
/// where each piece starts in the file, so that a name is located on its own line.
#[derive(Default)]
struct Joined {
    text: String,
    /// (offset in `text`, offset in the file) where each piece starts.
    pieces: Vec<(usize, usize)>,
}

impl Joined {
    fn push(&mut self, at: usize, piece: &str) {
        self.pieces.push((self.text.len(), at));
        self.text.push_str(piece);
    }

    /// The file offset of `offset` in the joined text.
    fn file_offset(&self, offset: usize) -> usize {
        let piece = self.pieces.partition_point(|&(start, _)| start <= offset);
        self.pieces
            .get(piece.wrapping_sub(1))
            .map_or(0, |&(start, at)| at + (offset - start))
    }
}

/// The requirement on a logical line, if it names an index package.
fn requirement(line: &Joined) -> Option<Found> {
    let written = without_options(without_comment(&line.text));
    let requirement = written.trim();
    let (name, pinned) = name_and_pin(requirement)?;
    let at = line.file_offset(written.len() - written.trim_start().len());
    Some(Found::new(at, name, pinned, requirement))
}

/// The package `requirement` names, PEP 503-normalized, and the version it pins, as PEP 508
/// reads them (pep508_rs): None for a path or a URL (`./pkg`, `git+https:…`, `pkg-1.0.tar.gz`),
/// which names no index package. A line pep508_rs does not read is read by its name: pip reads
/// `===` with any version (`===5.0-custom`), and a line pip refuses too still names a package
/// that a policy may deny.
fn name_and_pin(requirement: &str) -> Option<(String, Option<String>)> {
    // Markers are not parsed: pep508_rs builds a decision diagram of them, which a hostile line
    // can make exponential. No name, extra or version holds a `;` (a URL may, and pins nothing).
    let spec = requirement.split(';').next().unwrap_or_default();
    // pep508_rs expands `${VAR}`s from the environment where it guesses a path: pure code hands
    // it none.
    if spec.contains("${") || !names_end_well(spec) {
        return by_name(spec);
    }
    match Requirement::<Url>::from_str(spec) {
        Ok(parsed) => Some((parsed.name.to_string(), pin(parsed.version_or_url))),
        Err(e) if matches!(e.message, Pep508ErrorSource::UnsupportedRequirement(_)) => None,
        Err(_) => by_name(spec),
    }
}

/// Whether each name and extra of `spec` ends with a letter or digit, as PEP 508 wants: pep508_rs
/// 0.9.2 panics on one that ends with `-`, `_` or `.` before another character (`x-==1.0`,
/// `x[y-]`), where it should refuse it as pip does.
fn names_end_well(spec: &str) -> bool {
    let names = spec.split(['@', '(', '<', '=', '>', '~', '!']).next();
    let mut words = names
        .unwrap_or_default()
        .split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')));
    words.all(|word| !word.ends_with(['-', '_', '.']))
}

/// The version a requirement pins: a lone `==` of a version without wildcard, or a lone `===`;
/// `name @ url` installs whatever the URL holds.
fn pin(version: Option<VersionOrUrl<Url>>) -> Option<String> {
    let Some(VersionOrUrl::VersionSpecifier(specifiers)) = version else {
        return None;
    };
    match &*specifiers {
        [one] if matches!(one.operator(), Operator::Equal | Operator::ExactEqual) => {
            Some(one.version().to_string())
        }
        _ => None,
    }
}

/// The name that starts `spec`, and the version a lone `===` after it pins, which pip compares
/// as text (`===5.0-custom`, `(===5.0-custom)`). None for an option (`-e …`), a path or a URL:
/// no name followed by what may follow a name.
fn by_name(spec: &str) -> Option<(String, Option<String>)> {
    let name_len = spec
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(spec.len());
    let (name, rest) = spec.split_at(name_len);
    let rest = rest.trim_start();
    let follows = rest.is_empty() || rest.starts_with(['[', '(', '@', '=', '<', '>', '!', '~']);
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) || !follows {
        return None;
    }
    let rest = match rest.strip_prefix('[') {
        Some(extras) => extras.split_once(']').map_or("", |(_, rest)| rest),
        None => rest,
    };
    let rest = rest.trim();
    let inner = rest
        .strip_prefix('(')
        .and_then(|inner| inner.strip_suffix(')'))
        .unwrap_or(rest);
    let version = inner.trim().strip_prefix("===").map(str::trim);
    let lone = |v: &&str| !v.is_empty() && !v.contains(|c: char| c == ',' || c.is_whitespace());
    Some((
        pep503(name).collect(),
        version.filter(lone).map(str::to_string),
    ))
}

/// `line` without its comment: from a `#` that starts it or follows whitespace (a `#` in a URL
/// is a fragment).
fn without_comment(line: &str) -> &str {
    let mut after_space = true;
    for (i, c) in line.char_indices() {
        if c == '#' && after_space {
            return &line[..i];
        }
        after_space = c.is_whitespace();
    }
    line
}

/// `line` without the options that may follow a requirement (`--hash=…`): from the first word
/// that starts with `-`.
fn without_options(line: &str) -> &str {
    let mut after_space = false;
    for (i, c) in line.char_indices() {
        if c == '-' && after_space {
            return &line[..i];
        }
        after_space = c.is_whitespace();
    }
    line
}

/// A URL as written after `name @`: it pins nothing, so it is neither read nor, as pep508_rs's
/// own would, expanded from the environment.
#[derive(Debug)]
struct Url(String);

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Pep508Url for Url {
    type Err = Infallible;
    fn parse_url(url: &str, _working_dir: Option<&Path>) -> Result<Url, Infallible> {
        Ok(Url(url.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use crate::manifest::tests::{dep, pins, read, texts};
    use crate::manifest::{Declared, declared};
    use crate::model::Language;
    use crate::model::catalog::Ecosystem;
    use crate::model::diag::Pos;

    #[test]
    fn requirements_are_read_with_their_pins_and_positions() {
        let manifest = "# the app\n\npandas==0.23.0\n  numpy>=1.20  # fast arrays\nFlask_Cors==3.0.10\nzope.Interface===5.0-custom\n";
        let found = declared(Language::Python3, manifest);
        assert_eq!(
            found,
            vec![
                Declared {
                    ecosystem: Ecosystem::Pypi,
                    name: "pandas".into(),
                    pinned: Some("0.23.0".into()),
                    text: "pandas==0.23.0".into(),
                    pos: Pos::new(3, 1),
                },
                Declared {
                    ecosystem: Ecosystem::Pypi,
                    name: "numpy".into(),
                    pinned: None,
                    text: "numpy>=1.20".into(),
                    pos: Pos::new(4, 3),
                },
                Declared {
                    ecosystem: Ecosystem::Pypi,
                    name: "flask-cors".into(),
                    pinned: Some("3.0.10".into()),
                    text: "Flask_Cors==3.0.10".into(),
                    pos: Pos::new(5, 1),
                },
                Declared {
                    ecosystem: Ecosystem::Pypi,
                    name: "zope-interface".into(),
                    pinned: Some("5.0-custom".into()),
                    text: "zope.Interface===5.0-custom".into(),
                    pos: Pos::new(6, 1),
                },
            ]
        );
    }

    #[test]
    fn requirement_names_are_pep_503_normalized() {
        let manifest = "Flask_Cors\nzope.interface\nSome__Odd-._Name\n";
        let names = pins(Language::Python3, manifest)
            .into_iter()
            .map(|(name, _)| name);
        assert!(names.eq(["flask-cors", "zope-interface", "some-odd-name"]));
    }

    #[test]
    fn only_a_lone_exact_specifier_pins() {
        let manifest = [
            "a==1.2.3",
            "b == 1.2.3",
            "c===anything-goes",
            "d==1.*",
            "e==1.0,<2",
            "f>=1.0",
            "g~=1.4",
            "h!=1.0",
            "i<2",
            "j",
            "k (==2.0)",
            "l==not a version",
            "m==1.0+local.7",
            "n===1.0 ,<2",
        ]
        .join("\n");
        let expected = [
            ("a", Some("1.2.3")),
            ("b", Some("1.2.3")),
            ("c", Some("anything-goes")),
            ("d", None),
            ("e", None),
            ("f", None),
            ("g", None),
            ("h", None),
            ("i", None),
            ("j", None),
            ("k", Some("2.0")),
            ("l", None),
            ("m", Some("1.0+local.7")),
            ("n", None),
        ]
        .map(|(name, pin)| (name.to_string(), pin.map(str::to_string)));
        assert_eq!(pins(Language::Python3, &manifest), expected);
    }

    #[test]
    fn requirements_with_extras_markers_and_urls() {
        let manifest = "requests[security,socks] == 2.31.0 ; python_version < \"3.8\"\n\
                        importlib-metadata==6.0; python_version<'3.10'  # backport\n\
                        mylib @ https://example.com/mylib-1.0.tar.gz#sha256=abc\n\
                        broken[extra==1.0\n";
        assert_eq!(
            read(Language::Python3, manifest),
            vec![
                dep("requests", Some("2.31.0"), 1, 1),
                dep("importlib-metadata", Some("6.0"), 2, 1),
                dep("mylib", None, 3, 1),
                dep("broken", None, 4, 1),
            ]
        );
        assert_eq!(
            texts(Language::Python3, manifest)[..3],
            [
                "requests[security,socks] == 2.31.0 ; python_version < \"3.8\"",
                "importlib-metadata==6.0; python_version<'3.10'",
                "mylib @ https://example.com/mylib-1.0.tar.gz#sha256=abc",
            ]
        );
    }

    #[test]
    fn options_urls_paths_and_comments_declare_nothing() {
        let manifest = "-r base.txt\n-c constraints.txt\n--index-url https://pypi.example/simple\n\
                        -i https://pypi.example/simple\n--extra-index-url=https://x\n\
                        -e git+https://github.com/o/r.git#egg=r\n-e .\n\
                        https://example.com/pkg-1.0-py3-none-any.whl\ngit+https://github.com/o/r.git\n\
                        ./local/pkg\n/srv/pkg\n.\n../sibling\nC:\\pkgs\\thing.whl\n\
                        #pandas==0.23.0\n   # indented comment\n${PKG}==1.0\n==1.0\n\
                        requests-2.26.0.tar.gz\nsix-1.16.0-py2.py3-none-any.whl\n";
        assert_eq!(read(Language::Python3, manifest), vec![]);
    }

    /// Markers are kept as written, not parsed: pep508_rs's reading of these takes time
    /// exponential in their number (0.8 s for 16).
    #[test]
    fn markers_are_read_in_linear_time() {
        let clauses: Vec<String> = (0..64)
            .map(|i| format!("(extra == 'a{i}' and extra == 'b{i}')"))
            .collect();
        let manifest = format!("pkg==1.0 ; {}\n", clauses.join(" or "));
        let start = Instant::now();
        assert_eq!(
            read(Language::Python3, &manifest),
            vec![dep("pkg", Some("1.0"), 1, 1)]
        );
        assert!(start.elapsed() < Duration::from_secs(1));
    }

    /// pip refuses a name or extra that ends with punctuation; such a line is read by its name.
    #[test]
    fn names_and_extras_that_end_with_punctuation_are_read_by_name() {
        let manifest = "x-==1.0\ny.[a]==1.0\nz[a-]==1.0\nw[a,b_\n";
        let expected = ["x-", "y-", "z", "w"].map(|name| (name.to_string(), None));
        assert_eq!(pins(Language::Python3, manifest), expected);
    }

    #[test]
    fn a_hash_after_a_requirement_is_an_option_and_a_hash_inside_a_word_no_comment() {
        let manifest = "six==1.16.0 --hash=sha256:1e61c37477a1626458e36f7b1d82aa5c9b094fa4802892072e49de9c60c4c926\n\
                        tricky==1.0#not-a-comment\n";
        assert_eq!(
            texts(Language::Python3, manifest),
            ["six==1.16.0", "tricky==1.0#not-a-comment"]
        );
        assert_eq!(
            pins(Language::Python3, manifest),
            [
                ("six".into(), Some("1.16.0".into())),
                ("tricky".into(), None)
            ]
        );
    }

    #[test]
    fn continued_lines_are_one_requirement_at_its_first_line() {
        let manifest = "# pip-compile output\n\
                        pandas==0.23.0 \\\n    --hash=sha256:aaaa \\\n    --hash=sha256:bbbb\n    \
                        # via -r requirements.in\n\
                        requests\\\n[security]\\\n==2.31.0\n\
                        numpy==1.0 \\\n# a comment ends the continuation\nscipy\n\
                        \\\n  late==1.0\n\
                        last==2.0 \\";
        assert_eq!(
            read(Language::Python3, manifest),
            vec![
                dep("pandas", Some("0.23.0"), 2, 1),
                dep("requests", Some("2.31.0"), 6, 1),
                dep("numpy", Some("1.0"), 9, 1),
                dep("scipy", None, 11, 1),
                // A name that is not on the first line is located on its own.
                dep("late", Some("1.0"), 13, 3),
                dep("last", Some("2.0"), 14, 1),
            ]
        );
        assert_eq!(
            texts(Language::Python3, manifest)[1],
            "requests[security]==2.31.0"
        );
    }

    #[test]
    fn requirements_accept_crlf_cr_a_bom_and_python_line_breaks() {
        let crlf =
            "\u{feff}pandas==0.23.0\r\n\r\n  numpy==1.0 \\\r\n  --hash=sha256:aa\r\nscipy\r\n";
        assert_eq!(
            read(Language::Python3, crlf),
            vec![
                dep("pandas", Some("0.23.0"), 1, 1),
                dep("numpy", Some("1.0"), 3, 3),
                dep("scipy", None, 5, 1),
            ]
        );
        // pip breaks lines where Python's str.splitlines does: a requirement after one of these
        // is on a line of its own, not hidden in the version of the one before.
        let hidden = "six==1.0\rpandas==0.23.0\u{2028}numpy==1.0\u{c}scipy==1.0";
        assert_eq!(
            read(Language::Python3, hidden),
            vec![
                dep("six", Some("1.0"), 1, 1),
                dep("pandas", Some("0.23.0"), 2, 1),
                dep("numpy", Some("1.0"), 3, 1),
                dep("scipy", Some("1.0"), 4, 1),
            ]
        );
    }
}
