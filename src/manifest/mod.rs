//! The dependencies a function declares in its manifest, each where it is written, so that a
//! policy's verdict on one points at the manifest's own `file:line:col` before anything is
//! built. Pure: the text in, the dependencies out. One reader a format: [`requirements`]
//! (pip), [`package_json`] (npm), [`pom`] (Maven).
//!
//! Manifests come from pull requests: every reader takes any text without panicking, in time
//! linear in its length, and returns what it can read of a malformed one. Each reads its format
//! the way the tool that installs from it does, so that a dependency the tool would install is
//! not missed. Lines count as that tool counts them (LF, CRLF or CR; pip also breaks lines
//! where Python does, at form feeds and U+2028…) and columns in characters, from after a
//! byte-order mark.

mod package_json;
mod pom;
mod requirements;

use crate::model::Language;
use crate::model::catalog::Ecosystem;
use crate::model::diag::Pos;

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

/// The dependencies `manifest` declares, read in the format of `language`'s manifest
/// ([`Language::facts`]): by its ecosystem, a requirements.txt for pypi, a package.json for
/// npm, a pom.xml for maven; PowerShell's requirements.psd1 is not read.
pub fn declared(language: Language, manifest: &str) -> Vec<Declared> {
    // Editors hide a byte-order mark and pip, npm and Maven skip it.
    let text = manifest.strip_prefix('\u{feff}').unwrap_or(manifest);
    let ecosystem = language.facts().ecosystem;
    let (mut found, breaks): (_, &[char]) = match ecosystem {
        Ecosystem::Pypi => (requirements::read(text), &requirements::LINE_BREAKS),
        Ecosystem::Npm => (package_json::read(text), &LINE_BREAKS),
        Ecosystem::Maven => (pom::read(text), &LINE_BREAKS),
        Ecosystem::Powershell | Ecosystem::Deb | Ecosystem::Apk | Ecosystem::Rpm => {
            (Vec::new(), &LINE_BREAKS)
        }
    };
    found.sort_by_key(|found| found.at);
    let mut lines = Lines::new(text, breaks);
    found
        .into_iter()
        .map(|found| Declared {
            ecosystem,
            name: found.name,
            pinned: found.pinned,
            text: found.text,
            pos: lines.pos(found.at),
        })
        .collect()
}

/// A dependency a reader found at a byte offset of the text; its position is worked out
/// afterwards, in one pass over the text for all of them.
struct Found {
    at: usize,
    name: String,
    pinned: Option<String>,
    /// As written, trimmed.
    text: String,
}

impl Found {
    fn new(at: usize, name: String, pinned: Option<String>, text: &str) -> Found {
        Found {
            at,
            name,
            pinned,
            text: text.trim().to_string(),
        }
    }
}

/// Where lines break for JSON and XML (CRLF is one break).
const LINE_BREAKS: [char; 2] = ['\n', '\r'];

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

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    // Helpers the readers' tests share.

    /// A dependency's name, pin, line and column.
    pub(super) type Row = (String, Option<String>, u32, u32);

    pub(super) fn read(language: Language, manifest: &str) -> Vec<Row> {
        declared(language, manifest)
            .into_iter()
            .map(|d| (d.name, d.pinned, d.pos.line, d.pos.col))
            .collect()
    }

    pub(super) fn dep(name: &str, pinned: Option<&str>, line: u32, col: u32) -> Row {
        (name.to_string(), pinned.map(str::to_string), line, col)
    }

    pub(super) fn pins(language: Language, manifest: &str) -> Vec<(String, Option<String>)> {
        let rows = read(language, manifest).into_iter();
        rows.map(|(name, pinned, ..)| (name, pinned)).collect()
    }

    pub(super) fn texts(language: Language, manifest: &str) -> Vec<String> {
        declared(language, manifest)
            .into_iter()
            .map(|d| d.text)
            .collect()
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
            "\\", "\"", "\r", "\n", "#", "${", "}", "<", "]]>", "&", "\u{2028}", "é", "@", "-", ".",
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
            // A bound, not a benchmark: a quadratic reader takes minutes on a megabyte, this
            // one milliseconds (seconds on a machine loaded 7x over).
            assert!(took < Duration::from_secs(30), "{language:?} took {took:?}");
        }
    }
}
