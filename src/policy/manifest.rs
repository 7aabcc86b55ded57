//! The dependencies a function declares in its manifest, each where it is written, so that a
//! policy's verdict on one points at the manifest's own `file:line:col` before anything is
//! built. Pure: the text in, the dependencies out.
//!
//! Manifests come from pull requests: every reader takes any text without panicking, in time
//! linear in its length, and returns what it can read of a malformed one. Each reads its format
//! the way the tool that installs from it does (pip, npm, Maven), so that a dependency the tool
//! would install is not missed. Lines count as that tool counts them (LF, CRLF or CR; pip also
//! breaks lines where Python does, at form feeds and U+2028…) and columns in characters, from
//! after a byte-order mark.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use quick_xml::events::{BytesRef, Event};
use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde_json::value::RawValue;

use crate::model::Language;
use crate::model::catalog::Ecosystem;
use crate::model::diag::Pos;
use crate::model::versions;

/// A dependency as the manifest declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    pub ecosystem: Ecosystem,
    /// As the ecosystem compares names: PEP 503-normalized for pypi (lowercase, runs of -_. → -),
    /// `group:artifact` for maven, as written for npm.
    pub name: String,
    /// The exact version it pins (`==1.2.3`, npm `1.2.3` or `=1.2.3`, a maven <version> that is a
    /// plain version), or None when it names a range or nothing.
    pub pinned: Option<String>,
    /// The requirement as written on its line, trimmed (for messages): `pandas==0.23.0`,
    /// `"lodash": "4.17.20"`, `org.apache.logging.log4j:log4j-core:2.14.1`.
    pub text: String,
    /// Where it is written in the manifest.
    pub pos: Pos,
}

/// The dependencies `manifest` declares, read as `language`'s manifest format: requirements.txt
/// for python3, package.json for nodejs, pom.xml for java; other languages: none.
pub fn declared(language: Language, manifest: &str) -> Vec<Declared> {
    // Editors hide a byte-order mark and pip, npm and Maven skip it.
    let text = manifest.strip_prefix('\u{feff}').unwrap_or(manifest);
    let (mut found, breaks): (_, &[char]) = match language {
        Language::Python3 => (requirements(text), &PYTHON_LINE_BREAKS),
        Language::Nodejs => (package_json(text), &LINE_BREAKS),
        Language::Java => (pom(text), &LINE_BREAKS),
        Language::Powershell => (Vec::new(), &LINE_BREAKS),
    };
    found.sort_by_key(|(at, _)| *at);
    let mut lines = Lines::new(text, breaks);
    found
        .into_iter()
        .map(|(at, mut dependency)| {
            dependency.pos = lines.pos(at);
            dependency
        })
        .collect()
}

/// A dependency found at a byte offset of the text; its position is filled in afterwards, in one
/// pass over the text for all of them.
fn declared_at(
    at: usize,
    ecosystem: Ecosystem,
    name: String,
    pinned: Option<String>,
    text: &str,
) -> (usize, Declared) {
    let dependency = Declared {
        ecosystem,
        name,
        pinned,
        text: text.trim().to_string(),
        pos: Pos::FILE,
    };
    (at, dependency)
}

/// Where lines break for JSON and XML (CRLF is one break).
const LINE_BREAKS: [char; 2] = ['\n', '\r'];

/// Where Python's `str.splitlines` breaks lines, and so pip: a requirement after any of these is
/// on a line of its own.
const PYTHON_LINE_BREAKS: [char; 10] = [
    '\n', '\r', '\u{b}', '\u{c}', '\u{1c}', '\u{1d}', '\u{1e}', '\u{85}', '\u{2028}', '\u{2029}',
];

/// Turns byte offsets, asked in increasing order, into positions, walking the text once however
/// many are asked (a minified manifest has thousands on one line).
struct Lines<'a> {
    text: &'a str,
    breaks: &'a [char],
    at: usize,
    line: u64,
    col: u64,
    after_cr: bool,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str, breaks: &'a [char]) -> Self {
        Lines {
            text,
            breaks,
            at: 0,
            line: 1,
            col: 1,
            after_cr: false,
        }
    }

    /// The position of byte `offset`; the whole file for one asked out of order.
    fn pos(&mut self, offset: usize) -> Pos {
        let Some(skipped) = self.text.get(self.at..offset) else {
            return Pos::FILE;
        };
        for c in skipped.chars() {
            match c {
                '\n' if self.after_cr => {}
                c if self.breaks.contains(&c) => (self.line, self.col) = (self.line + 1, 1),
                _ => self.col += 1,
            }
            self.after_cr = c == '\r';
        }
        self.at = offset;
        Pos::new(self.line, self.col)
    }
}

// ---------------------------------------------------------------------------------------------
// requirements.txt, as pip reads it (pip/_internal/req/req_file.py).

/// The requirements of a requirements file: one per logical line, not counting options (`-r`,
/// `-e`, `--index-url`…, and `--hash` after a requirement), URLs and paths, which name no index
/// package. Environment markers are kept in the text, not evaluated: the image's Python is not
/// known here. `${VAR}`s are not expanded (no environment), nor `-r` files followed.
fn requirements(text: &str) -> Vec<(usize, Declared)> {
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
        let end = rest.find(PYTHON_LINE_BREAKS).unwrap_or(rest.len());
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
fn requirement(line: &Joined) -> Option<(usize, Declared)> {
    let written = without_options(without_comment(&line.text));
    let requirement = written.trim();
    let name_len = requirement
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(requirement.len());
    let (name, rest) = requirement.split_at(name_len);
    let rest = rest.trim_start();
    // An option (`-e …`), a path (`./pkg`, `/srv/pkg`) or a URL (`https:…`, `git+https:…`) is
    // no name followed by what may follow a name.
    let follows =
        rest.is_empty() || rest.starts_with(['[', '(', ';', '@', '=', '<', '>', '!', '~']);
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) || !follows {
        return None;
    }
    let rest = match rest.strip_prefix('[') {
        Some(extras) => extras.split_once(']').map_or("", |(_, rest)| rest),
        None => rest,
    };
    let specifiers = rest.split(';').next().unwrap_or_default();
    // `name @ url` installs whatever the URL holds.
    let pinned = if specifiers.trim_start().starts_with('@') {
        None
    } else {
        pep440_pin(specifiers)
    };
    let at = line.file_offset(written.len() - written.trim_start().len());
    Some(declared_at(
        at,
        Ecosystem::Pypi,
        versions::pep503(name).collect(),
        pinned,
        requirement,
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

/// The version that `specifiers` pins: a lone `==` of a version without wildcard, or a lone
/// `===` (arbitrary equality); `(==1.0)` is the old spelling of the first.
fn pep440_pin(specifiers: &str) -> Option<String> {
    let spec = specifiers.trim();
    let spec = spec
        .strip_prefix('(')
        .and_then(|inner| inner.strip_suffix(')'))
        .unwrap_or(spec)
        .trim();
    if let Some(arbitrary) = spec.strip_prefix("===") {
        let version = arbitrary.trim();
        let lone =
            !version.is_empty() && !version.contains(|c: char| c == ',' || c.is_whitespace());
        return lone.then(|| version.to_string());
    }
    // A wildcard, a second specifier or anything else after the version fails to parse.
    let version = spec.strip_prefix("==")?.trim();
    pep440_rs::Version::from_str(version)
        .is_ok()
        .then(|| version.to_string())
}

// ---------------------------------------------------------------------------------------------
// package.json, as npm reads it.

/// The sections npm installs in a production install, which is what an image holds:
/// `devDependencies` are not installed and `peerDependencies` are declared by whoever depends on
/// the package.
const NPM_SECTIONS: [&str; 2] = ["dependencies", "optionalDependencies"];

/// A JSON object, each key once: the last of the same key wins, as in JavaScript's
/// `JSON.parse` (keys are compared unescaped). The values are the text they are written as.
type Object<'a> = HashMap<JsonString, &'a RawValue>;

/// The dependencies of a package.json's `NPM_SECTIONS`, each at its key. serde_json reads the
/// document; each value's place in the text is that of the slice serde_json borrows for it, and
/// its key is written just before it. A document that is not JSON declares nothing: npm refuses
/// it.
fn package_json(text: &str) -> Vec<(usize, Declared)> {
    let Ok(manifest) = serde_json::from_str::<Object>(text) else {
        return Vec::new();
    };
    let sections = NPM_SECTIONS
        .iter()
        .filter_map(|section| manifest.get(*section))
        .filter_map(|section| serde_json::from_str::<Object>(section.get()).ok());
    sections
        .flatten()
        .filter_map(|(JsonString(key), value)| {
            let JsonString(spec) = serde_json::from_str(value.get()).ok()?;
            let value_at = offset_in(text, value.get())?;
            let at = key_start(text, value_at)?;
            let (name, spec) = npm_target(&key, &spec);
            let written = text.get(at..value_at + value.get().len())?;
            Some(declared_at(
                at,
                Ecosystem::Npm,
                name.to_string(),
                npm_pin(spec),
                written,
            ))
        })
        .collect()
}

/// Where `part`, a slice of `text`, starts in it.
fn offset_in(text: &str, part: &str) -> Option<usize> {
    let at = (part.as_ptr() as usize).checked_sub(text.as_ptr() as usize)?;
    (at + part.len() <= text.len()).then_some(at)
}

/// Where the key of the value at `value_at` starts: its opening quote, the last `"` before
/// `"key" :` that no odd run of backslashes escapes.
fn key_start(text: &str, value_at: usize) -> Option<usize> {
    let before = text.get(..value_at)?.trim_end();
    let key = before.strip_suffix(':')?.trim_end().strip_suffix('"')?;
    let mut end = key.len();
    loop {
        let quote = key[..end].rfind('"')?;
        let backslashes = quote - key[..quote].trim_end_matches('\\').len();
        if backslashes % 2 == 0 {
            return Some(quote);
        }
        end = quote;
    }
}

/// The package a dependency installs and its spec: an alias (`"my-lodash": "npm:lodash@4"`)
/// installs the package it names, which is the one policies are about.
fn npm_target<'a>(key: &'a str, spec: &'a str) -> (&'a str, &'a str) {
    let Some(alias) = spec.trim().strip_prefix("npm:") else {
        return (key, spec);
    };
    // A scoped name starts with `@`; the version's `@` comes after it.
    match alias.char_indices().skip(1).find(|&(_, c)| c == '@') {
        Some((at, _)) => (&alias[..at], &alias[at + 1..]),
        None => (alias, ""),
    }
}

/// The version an npm spec pins: a whole semver version, which npm's loose reading allows
/// after `v`s, `=`s and spaces; not a range, tag, URL, path or git spec.
fn npm_pin(spec: &str) -> Option<String> {
    let version = spec
        .trim()
        .trim_start_matches(|c: char| c == 'v' || c == '=' || c.is_whitespace());
    // nodejs_semver reads a version at the start of its input and ignores the rest
    // (`1.2.3 - 2.0.0`): only one written exactly as it prints is whole.
    let parsed = nodejs_semver::Version::parse(version).ok()?;
    (parsed.to_string() == version).then(|| version.to_string())
}

/// A JSON string, unescaped, with a lone surrogate escape (`"\ud800"`) read as U+FFFD as
/// JavaScript would keep it, where serde_json refuses the document.
#[derive(PartialEq, Eq, Hash)]
struct JsonString(String);

impl std::borrow::Borrow<str> for JsonString {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for JsonString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Lossy;
        impl Visitor<'_> for Lossy {
            type Value = JsonString;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<JsonString, E> {
                Ok(JsonString(String::from_utf8_lossy(bytes).into_owned()))
            }
        }
        // serde_json hands a string's bytes unescaped but unchecked.
        deserializer.deserialize_bytes(Lossy)
    }
}

// ---------------------------------------------------------------------------------------------
// pom.xml, as Maven reads it.

/// Elements whose dependencies are not the project's own: versions managed for whoever
/// declares them, and the build's plugins'.
const NOT_THE_PROJECTS: [&str; 2] = ["dependencyManagement", "plugins"];

/// At most this many rounds of `${…}` inside property values are followed, to this length: a
/// real pom needs one or two; a hostile one could double its text with each.
const INTERPOLATION_ROUNDS: usize = 8;
const INTERPOLATED_MAX: usize = 1024;

/// A `<dependency>` as written, before its `${…}`s are resolved.
#[derive(Default)]
struct Coordinates {
    group: String,
    artifact: String,
    version: String,
    scope: String,
}

/// The dependencies of a pom: each `<dependency>` of a `<dependencies>` outside
/// `<dependencyManagement>` and `<plugins>` (a profile's included: it may be active), at its
/// start tag, but those of scope `test`, which the packaged application does not hold. `${…}` is
/// resolved from the pom's `<properties>` and its own and its parent's `groupId` and `version`,
/// not from a parent pom's properties or the command line. quick-xml reads the text; it expands
/// no entity a DTD defines.
fn pom(text: &str) -> Vec<(usize, Declared)> {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut path: Vec<String> = Vec::new();
    let mut not_the_projects = 0usize;
    let mut properties = HashMap::new();
    // The dependency being read: where it starts and how deep it is.
    let mut open: Option<(usize, usize, Coordinates)> = None;
    let mut dependencies = Vec::new();
    // The text of the element being read, once it has no child.
    let mut content = String::new();
    loop {
        let at = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        match reader.read_event() {
            Ok(Event::Start(tag)) => {
                let name = tag.local_name().as_ref().to_string();
                not_the_projects += usize::from(NOT_THE_PROJECTS.contains(&name.as_str()));
                let in_dependencies = path.last().is_some_and(|parent| parent == "dependencies");
                let dependency = name == "dependency";
                path.push(name);
                if dependency && in_dependencies && not_the_projects == 0 && open.is_none() {
                    open = Some((at, path.len(), Coordinates::default()));
                }
                content.clear();
            }
            Ok(Event::Text(part)) => content.push_str(&part.xml10_content()),
            Ok(Event::CData(part)) => content.push_str(&part.xml10_content()),
            Ok(Event::GeneralRef(reference)) => push_reference(&mut content, &reference),
            Ok(Event::End(_)) => {
                let value = content.trim().to_string();
                match &mut open {
                    Some((_, depth, coordinates)) if path.len() == *depth + 1 => {
                        let field = match path.last().map(String::as_str) {
                            Some("groupId") => Some(&mut coordinates.group),
                            Some("artifactId") => Some(&mut coordinates.artifact),
                            Some("version") => Some(&mut coordinates.version),
                            Some("scope") => Some(&mut coordinates.scope),
                            _ => None,
                        };
                        if let Some(field) = field {
                            *field = value;
                        }
                    }
                    Some((_, depth, _)) if path.len() == *depth => dependencies.extend(open.take()),
                    _ => {
                        if let Some(property) = property_name(&path) {
                            properties.insert(property, value);
                        }
                    }
                }
                if let Some(name) = path.pop() {
                    not_the_projects -= usize::from(NOT_THE_PROJECTS.contains(&name.as_str()));
                }
                content.clear();
            }
            // A malformed pom: what was read so far.
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => {}
        }
    }
    for field in ["groupId", "version"] {
        if let Some(parents) = properties.get(&format!("project.parent.{field}")).cloned() {
            properties
                .entry(format!("project.{field}"))
                .or_insert(parents);
        }
    }
    dependencies
        .into_iter()
        .filter(|(_, _, c)| !c.group.is_empty() && !c.artifact.is_empty() && c.scope != "test")
        .map(|(at, _, coordinates)| {
            let resolve = |value: &str| interpolate(value, &properties);
            let name = format!(
                "{}:{}",
                resolve(&coordinates.group),
                resolve(&coordinates.artifact)
            );
            let version = resolve(&coordinates.version);
            let pinned = maven_pin(&version).then(|| version.clone());
            let text = if version.is_empty() {
                name.clone()
            } else {
                format!("{name}:{version}")
            };
            declared_at(at, Ecosystem::Maven, name, pinned, &text)
        })
        .collect()
}

/// Appends what an entity or character reference in text stands for: a character, one of
/// XML's five entities, or (one a DTD would define) the reference as written.
fn push_reference(content: &mut String, reference: &BytesRef) {
    match reference.resolve_char_ref() {
        Ok(Some(c)) => content.push(c),
        _ => match quick_xml::escape::resolve_predefined_entity(reference) {
            Some(entity) => content.push_str(entity),
            None => content.push_str(&format!("&{};", &**reference)),
        },
    }
}

/// The `${…}` name an element at `path` defines: each of `<properties>`, and the project's and
/// its parent's `groupId` and `version`.
fn property_name(path: &[String]) -> Option<String> {
    let coordinate = |field: &String| ["groupId", "version"].contains(&field.as_str());
    match path {
        [project, properties, name] if project == "project" && properties == "properties" => {
            Some(name.clone())
        }
        [project, field] if project == "project" && coordinate(field) => {
            Some(format!("project.{field}"))
        }
        [project, parent, field]
            if project == "project" && parent == "parent" && coordinate(field) =>
        {
            Some(format!("project.parent.{field}"))
        }
        _ => None,
    }
}

/// `value` with its `${name}`s replaced by `properties`, as Maven interpolates, round after
/// round since a property may refer to others; as written when one is undefined or the
/// replacing goes past the bounds.
fn interpolate(value: &str, properties: &HashMap<String, String>) -> String {
    (0..INTERPOLATION_ROUNDS)
        .try_fold(value.to_string(), |current, _| {
            if current.contains("${") {
                substitute(&current, properties)
            } else {
                Some(current)
            }
        })
        .filter(|resolved| !resolved.contains("${"))
        .unwrap_or_else(|| value.to_string())
}

/// One round of `interpolate`: each `${name}` of `text` replaced, or None.
fn substitute(text: &str, properties: &HashMap<String, String>) -> Option<String> {
    let mut next = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let end = start + rest[start..].find('}')?;
        next.push_str(&rest[..start]);
        next.push_str(properties.get(&rest[start + 2..end])?);
        if next.len() > INTERPOLATED_MAX {
            return None;
        }
        rest = &rest[end + 1..];
    }
    next.push_str(rest);
    Some(next)
}

/// Whether a Maven `<version>` is one version: not a range (`[1.0,2.0)`), an unresolved
/// `${…}` or a meta-version that Maven resolves to the newest.
fn maven_pin(version: &str) -> bool {
    !version.is_empty()
        && !version.contains(|c: char| "[](),${}".contains(c) || c.is_whitespace())
        && !["LATEST", "RELEASE"].contains(&version)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    /// A dependency's name, pin, line and column.
    type Row = (String, Option<String>, u32, u32);

    fn read(language: Language, manifest: &str) -> Vec<Row> {
        declared(language, manifest)
            .into_iter()
            .map(|d| (d.name, d.pinned, d.pos.line, d.pos.col))
            .collect()
    }

    fn dep(name: &str, pinned: Option<&str>, line: u32, col: u32) -> Row {
        (name.to_string(), pinned.map(str::to_string), line, col)
    }

    fn pins(language: Language, manifest: &str) -> Vec<(String, Option<String>)> {
        let rows = read(language, manifest).into_iter();
        rows.map(|(name, pinned, ..)| (name, pinned)).collect()
    }

    fn texts(language: Language, manifest: &str) -> Vec<String> {
        declared(language, manifest)
            .into_iter()
            .map(|d| d.text)
            .collect()
    }

    // requirements.txt

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
                        #pandas==0.23.0\n   # indented comment\n${PKG}==1.0\n==1.0\n";
        assert_eq!(read(Language::Python3, manifest), vec![]);
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

    // package.json

    #[test]
    fn package_json_dependencies_are_read_at_their_keys() {
        let manifest = r#"{
  "name": "app",
  "devDependencies": {
    "lodash": "4.17.21",
    "jest": "29.0.0"
  },
  "dependencies": {
    "lodash": "4.17.20",
    "@types/node": "=20.1.0",
    "express": "^4.18.2"
  },
  "optionalDependencies": { "fsevents": "v2.3.2" },
  "peerDependencies": { "react": "18.2.0" }
}
"#;
        assert_eq!(
            read(Language::Nodejs, manifest),
            vec![
                dep("lodash", Some("4.17.20"), 8, 5),
                dep("@types/node", Some("20.1.0"), 9, 5),
                dep("express", None, 10, 5),
                dep("fsevents", Some("2.3.2"), 12, 29),
            ]
        );
        assert_eq!(
            texts(Language::Nodejs, manifest),
            [
                r#""lodash": "4.17.20""#,
                r#""@types/node": "=20.1.0""#,
                r#""express": "^4.18.2""#,
                r#""fsevents": "v2.3.2""#,
            ]
        );
        assert!(
            declared(Language::Nodejs, manifest)
                .iter()
                .all(|d| d.ecosystem == Ecosystem::Npm)
        );
    }

    #[test]
    fn only_an_exact_npm_version_pins() {
        let specs = [
            ("1.2.3", Some("1.2.3")),
            ("=1.2.3", Some("1.2.3")),
            ("v1.2.3", Some("1.2.3")),
            ("= v1.2.3 ", Some("1.2.3")),
            ("1.2.3-beta.1+build.5", Some("1.2.3-beta.1+build.5")),
            ("^1.2.3", None),
            ("~1.2.3", None),
            (">=1.2.3", None),
            (">=1.0.0 <2.0.0", None),
            ("1.2.x", None),
            ("1.2", None),
            ("*", None),
            ("", None),
            ("latest", None),
            ("1.2.3 - 2.0.0", None),
            ("1.2.3 || 2.0.0", None),
            ("1.2.3-", None),
            ("file:../local", None),
            ("git+https://github.com/o/r.git#v1.2.3", None),
            ("https://example.com/p-1.2.3.tgz", None),
            ("github:o/r", None),
        ];
        for (spec, pinned) in specs {
            let manifest = format!(
                r#"{{"dependencies": {{"p": {}}}}}"#,
                serde_json::json!(spec)
            );
            let found = declared(Language::Nodejs, &manifest);
            assert_eq!(found.len(), 1, "{spec}");
            assert_eq!(found[0].pinned.as_deref(), pinned, "{spec}");
        }
    }

    #[test]
    fn an_npm_alias_declares_the_package_it_installs() {
        let manifest = r#"{"dependencies": {
            "old-lodash": "npm:lodash@4.17.20",
            "scoped": "npm:@scope/pkg@^1.0.0",
            "bare": "npm:left-pad"
        }}"#;
        assert_eq!(
            pins(Language::Nodejs, manifest),
            [
                ("lodash".to_string(), Some("4.17.20".to_string())),
                ("@scope/pkg".to_string(), None),
                ("left-pad".to_string(), None),
            ]
        );
    }

    #[test]
    fn package_json_keys_are_located_past_escapes_and_duplicates() {
        let manifest = "{\"description\": \"\\\"dependencies\\\": {\\\"x\\\": \\\"1.0.0\\\"}\",\n\
                        \"dependencies\": {\"odd\\\\\": \"1.0.0\", \"q\\\"uote\": \"2.0.0\",\n\
                        \"\\u0061bc\"  :\n  \"3.0.0\", \"dup\": \"1.0.0\", \"dup\": \"2.0.0\"}}";
        assert_eq!(
            read(Language::Nodejs, manifest),
            vec![
                dep("odd\\", Some("1.0.0"), 2, 18),
                dep("q\"uote", Some("2.0.0"), 2, 36),
                dep("abc", Some("3.0.0"), 3, 1),
                // The last of a key wins, as in JSON.parse.
                dep("dup", Some("2.0.0"), 4, 28),
            ]
        );
    }

    #[test]
    fn the_last_dependencies_section_wins() {
        let manifest = r#"{"dependencies": {"a": "1.0.0"}, "dependencies": {"b": "1.0.0"}}"#;
        assert_eq!(
            read(Language::Nodejs, manifest),
            vec![dep("b", Some("1.0.0"), 1, 51)]
        );
    }

    #[test]
    fn package_json_accepts_crlf_a_bom_and_a_lone_surrogate() {
        let manifest = "\u{feff}{\r\n  \"description\": \"\\ud800\",\r\n  \"dependencies\": {\r\n    \"lodash\": \"4.17.20\"\r\n  }\r\n}\r\n";
        assert_eq!(
            read(Language::Nodejs, manifest),
            vec![dep("lodash", Some("4.17.20"), 4, 5)]
        );
    }

    #[test]
    fn package_json_that_is_not_json_or_not_shaped_as_expected_declares_what_it_can() {
        for manifest in [
            "",
            "[]",
            "{\"dependencies\": {\"a\": \"1.0.0\",}}",
            "{\"dependencies\": {\"a\": \"1.0.0\"}",
            "{\"dependencies\": [\"a\"]}",
            "not json at all",
        ] {
            assert_eq!(read(Language::Nodejs, manifest), vec![], "{manifest}");
        }
        let mixed =
            r#"{"dependencies": {"a": 1, "b": {"version": "1.0.0"}, "c": "1.0.0", "d": null}}"#;
        assert_eq!(
            read(Language::Nodejs, mixed),
            vec![dep("c", Some("1.0.0"), 1, 54)]
        );
    }

    // pom.xml

    const POM: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <parent>
    <groupId>com.example</groupId>
    <artifactId>parent</artifactId>
    <version>7.1</version>
  </parent>
  <artifactId>app</artifactId>
  <properties>
    <log4j.version>2.14.1</log4j.version>
    <jackson.version>${jackson.major}.3</jackson.version>
    <jackson.major>2.15</jackson.major>
  </properties>
  <dependencyManagement>
    <dependencies>
      <dependency>
        <groupId>org.springframework</groupId>
        <artifactId>spring-core</artifactId>
        <version>5.3.0</version>
      </dependency>
    </dependencies>
  </dependencyManagement>
  <dependencies>
    <!-- <dependency><groupId>commented</groupId><artifactId>out</artifactId></dependency> -->
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-core</artifactId>
      <version>${log4j.version}</version>
      <exclusions>
        <exclusion>
          <groupId>excluded.group</groupId>
          <artifactId>excluded</artifactId>
        </exclusion>
      </exclusions>
    </dependency>
    <dependency><groupId>com.fasterxml.jackson.core</groupId><artifactId>jackson-databind</artifactId><version>${jackson.version}</version></dependency>
    <dependency>
      <groupId>org.springframework</groupId>
      <artifactId>spring-core</artifactId>
    </dependency>
    <dependency>
      <groupId>${project.groupId}</groupId>
      <artifactId>sibling</artifactId>
      <version>${project.version}</version>
    </dependency>
    <dependency>
      <groupId>com.google.guava</groupId>
      <artifactId>guava</artifactId>
      <version>[30.0,32.0)</version>
    </dependency>
    <dependency>
      <groupId>org.undefined</groupId>
      <artifactId>thing</artifactId>
      <version>${nowhere.version}</version>
    </dependency>
    <dependency>
      <groupId>junit</groupId>
      <artifactId>junit</artifactId>
      <version>4.13.2</version>
      <scope>test</scope>
    </dependency>
    <dependency>
      <groupId>a&amp;b&#46;c</groupId>
      <artifactId><![CDATA[cdata-artifact]]></artifactId>
      <version> 1.0 </version>
    </dependency>
  </dependencies>
  <build>
    <plugins>
      <plugin>
        <artifactId>maven-shade-plugin</artifactId>
        <dependencies>
          <dependency>
            <groupId>org.ow2.asm</groupId>
            <artifactId>asm</artifactId>
            <version>9.0</version>
          </dependency>
        </dependencies>
      </plugin>
    </plugins>
  </build>
</project>
"#;

    #[test]
    fn pom_dependencies_are_read_at_their_start_tags() {
        assert_eq!(
            read(Language::Java, POM),
            vec![
                dep("org.apache.logging.log4j:log4j-core", Some("2.14.1"), 25, 5),
                dep(
                    "com.fasterxml.jackson.core:jackson-databind",
                    Some("2.15.3"),
                    36,
                    5
                ),
                dep("org.springframework:spring-core", None, 37, 5),
                dep("com.example:sibling", Some("7.1"), 41, 5),
                dep("com.google.guava:guava", None, 46, 5),
                dep("org.undefined:thing", None, 51, 5),
                dep("a&b.c:cdata-artifact", Some("1.0"), 62, 5),
            ]
        );
        assert_eq!(
            texts(Language::Java, POM),
            [
                "org.apache.logging.log4j:log4j-core:2.14.1",
                "com.fasterxml.jackson.core:jackson-databind:2.15.3",
                "org.springframework:spring-core",
                "com.example:sibling:7.1",
                "com.google.guava:guava:[30.0,32.0)",
                "org.undefined:thing:${nowhere.version}",
                "a&b.c:cdata-artifact:1.0",
            ]
        );
        assert!(
            declared(Language::Java, POM)
                .iter()
                .all(|d| d.ecosystem == Ecosystem::Maven)
        );
    }

    #[test]
    fn a_pom_read_with_crlf_has_the_same_positions() {
        let crlf = POM.replace('\n', "\r\n");
        assert_eq!(read(Language::Java, &crlf), read(Language::Java, POM));
    }

    #[test]
    fn pom_versions_pin_only_when_plain() {
        for (version, pinned) in [
            ("1.0", true),
            ("2.0.0-SNAPSHOT", true),
            ("1.0.Final", true),
            ("[1.0]", false),
            ("[1.0,2.0)", false),
            ("(,1.0]", false),
            ("LATEST", false),
            ("RELEASE", false),
            ("${undefined}", false),
            ("", false),
        ] {
            let pom = format!(
                "<project><dependencies><dependency><groupId>g</groupId><artifactId>a</artifactId>\
                 <version>{version}</version></dependency></dependencies></project>"
            );
            let found = declared(Language::Java, &pom);
            assert_eq!(found.len(), 1);
            assert_eq!(found[0].pinned.is_some(), pinned, "{version}");
            assert_eq!(found[0].pos, Pos::new(1, 24));
        }
    }

    #[test]
    fn pom_properties_that_expand_without_end_are_left_as_written() {
        let doubling: String = (0..40)
            .map(|i| format!("<p{i}>${{p{n}}}${{p{n}}}</p{i}>", n = i + 1))
            .collect();
        let pom = format!(
            "<project><properties>{doubling}<p40>x</p40><loop>${{loop}}</loop></properties><dependencies>\
             <dependency><groupId>g</groupId><artifactId>a</artifactId><version>${{p0}}</version></dependency>\
             <dependency><groupId>g</groupId><artifactId>b</artifactId><version>${{loop}}</version></dependency>\
             </dependencies></project>"
        );
        let found = declared(Language::Java, &pom);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].text, "g:a:${p0}");
        assert_eq!(found[1].text, "g:b:${loop}");
        assert!(found.iter().all(|d| d.pinned.is_none()));
    }

    #[test]
    fn a_malformed_pom_declares_what_comes_before_the_fault() {
        let good = "<project><dependencies>\n<dependency><groupId>g</groupId><artifactId>a</artifactId><version>1.0</version></dependency>\n";
        for tail in [
            "",
            "<dependency><groupId>g</groupId><artifactId>b</artif",
            "<dependency><groupId>g</groupId></wrong></dependency>",
            "<dependency><groupId>g&unknown;</groupId><artifactId>c</artifactId></dependency></dependencies></project>",
        ] {
            let found = read(Language::Java, &format!("{good}{tail}"));
            assert_eq!(found[0], dep("g:a", Some("1.0"), 2, 1), "{tail}");
        }
        let unknown_entity = format!(
            "{good}<dependency><groupId>g&unknown;</groupId><artifactId>c</artifactId></dependency></dependencies></project>"
        );
        assert_eq!(texts(Language::Java, &unknown_entity)[1], "g&unknown;:c");
        assert_eq!(read(Language::Java, "not xml"), vec![]);
        assert_eq!(
            read(
                Language::Java,
                "<dependency><groupId>g</groupId><artifactId>a</artifactId></dependency>"
            ),
            vec![]
        );
    }

    #[test]
    fn powershell_declares_nothing_here() {
        assert_eq!(
            read(Language::Powershell, "@{ RequiredModules = @('Az') }"),
            vec![]
        );
    }

    // Hostile input

    /// Reads every prefix of each sample, cut at every character, and each with text that
    /// matters to the readers spliced in: nothing panics.
    #[test]
    fn no_cut_or_splice_panics() {
        let samples = [
            (
                Language::Python3,
                "a==1 \\\r\n--hash=x \\\n b[c]==2; x<'1' # c\n\\\\\nd @ u#e\n-e .\n=\n",
            ),
            (
                Language::Nodejs,
                "{\"dependencies\": {\"a\\\"\": \"npm:@s/p@1.0.0\", \"b\": \"v1.0.0\"}}",
            ),
            (
                Language::Java,
                "<project><properties><v>1</v></properties><dependencyManagement/>\
                 <dependencies><dependency><groupId>g&amp;</groupId>\
                 <artifactId><![CDATA[a]]></artifactId><version>${v}</version>\
                 </dependency></dependencies></project>",
            ),
        ];
        let splices = [
            "\\", "\"", "\r", "\n", "#", "${", "}", "<", "]]>", "&", "\u{2028}", "é", "@",
        ];
        for (language, sample) in samples {
            for (cut, _) in sample.char_indices() {
                declared(language, &sample[..cut]);
                for splice in splices {
                    let spliced = format!("{}{splice}{}", &sample[..cut], &sample[cut..]);
                    declared(language, &spliced);
                }
            }
        }
    }

    /// A megabyte of each format, and of the shapes that would make a careless reader
    /// quadratic, is read in well under the time a quadratic one would take.
    #[test]
    fn a_megabyte_manifest_is_read_in_linear_time() {
        const MB: usize = 1 << 20;
        let requirements: String = (0..MB / 64)
            .map(|i| format!("package-{i}[extra]=={i}.0 ; python_version < \"3.8\"  # note\n"))
            .collect();
        let minified_json = format!(
            "{{\"dependencies\":{{{}}}}}",
            (0..MB / 24)
                .map(|i| format!("\"p{i}\":\"1.0.{i}\""))
                .collect::<Vec<_>>()
                .join(",")
        );
        let pom: String = (0..MB / 100)
            .map(|i| {
                format!(
                    "<dependency><groupId>g</groupId><artifactId>a{i}</artifactId>\
                     <version>1.{i}</version></dependency>"
                )
            })
            .collect();
        let cases = [
            (Language::Python3, requirements, MB / 64),
            (Language::Python3, "\\\n".repeat(MB / 2) + "pandas==1.0", 1),
            (
                Language::Python3,
                "a".repeat(MB / 2) + &" #".repeat(MB / 4),
                1,
            ),
            (Language::Nodejs, minified_json, MB / 24),
            (
                Language::Nodejs,
                format!(
                    "{{\"dependencies\":{{\"{}\": \"1.0.0\"}}}}",
                    "\\\"".repeat(MB / 2)
                ),
                1,
            ),
            (
                Language::Java,
                format!("<project><dependencies>{pom}</dependencies></project>"),
                MB / 100,
            ),
            (
                Language::Java,
                "<dependencies><dependency>".repeat(MB / 26),
                0,
            ),
            (
                Language::Java,
                format!(
                    "<project><properties><p>${{p}}${{p}}</p></properties><dependencies><dependency>\
                     <groupId>g</groupId><artifactId>a</artifactId><version>{}</version>\
                     </dependency></dependencies></project>",
                    "${p}".repeat(MB / 4)
                ),
                1,
            ),
        ];
        for (language, manifest, count) in cases {
            let start = Instant::now();
            let found = declared(language, &manifest);
            let took = start.elapsed();
            assert_eq!(found.len(), count, "{language:?}");
            assert!(took < Duration::from_secs(5), "{language:?} took {took:?}");
        }
    }
}
