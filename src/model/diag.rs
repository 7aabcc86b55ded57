//! Diagnostics: one problem in the declarations, pinned to `file:line:col`, as data (location,
//! message, hint) that each renderer lays out its own way.
//!
//! Loading never stops at the first problem; it collects these and the CLI prints them all.

use std::fmt;
use std::path::PathBuf;

use super::text::escape;

/// A 1-based position in a file. Line 0 means "the whole file".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

impl Pos {
    pub const FILE: Pos = Pos { line: 0, col: 0 };

    pub fn new(line: u64, col: u64) -> Self {
        Pos {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            col: u32::try_from(col).unwrap_or(u32::MAX),
        }
    }
}

/// A place in the declarations: a file (as the user named it) and a position in it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Location {
    pub file: PathBuf,
    pub pos: Pos,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.pos.line > 0 {
            write!(f, ":{}:{}", self.pos.line, self.pos.col)?;
        }
        Ok(())
    }
}

/// One problem found in the declarations, with an optional hint on how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Diagnostic {
    pub location: Location,
    pub message: String,
    pub hint: Option<String>,
    /// The check that found it, as a linter names its rules (`policy/allowedBaseImages`), for
    /// the CI systems that group by it; `None` for the declarations' own checks.
    pub rule: Option<String>,
}

impl Diagnostic {
    pub fn new(location: Location, message: impl Into<String>) -> Self {
        Diagnostic {
            location,
            message: message.into(),
            hint: None,
            rule: None,
        }
    }

    pub fn with_rule(mut self, rule: impl Into<String>) -> Self {
        self.rule = Some(rule.into());
        self
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.set_hint(hint);
        self
    }

    pub fn set_hint(&mut self, hint: impl Into<String>) {
        self.hint = Some(hint.into());
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // File names and messages quote what the declarations hold: shown escaped.
        let location = self.location.to_string();
        write!(f, "{}: {}", escape(&location), escape(&self.message))?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {}", escape(hint))?;
        }
        Ok(())
    }
}

/// Every problem found in a directory of declarations, sorted by file and position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} in the declarations", crate::model::words::count(.0.len(), "problem"))]
pub struct Diagnostics(pub Vec<Diagnostic>);

/// An I/O error in the OS's words, without the `(os error 13)` or the temp file a library
/// named (`at path "/x/.tmpAbC"`): what went wrong, once.
pub fn io_reason(err: &dyn std::error::Error) -> String {
    let text = err.to_string();
    let text = text.split(" (os error").next().unwrap_or(&text);
    text.split(" at path \"").next().unwrap_or(text).to_string()
}

/// Whether `err` is the OS refusing access.
pub fn denied(err: &std::io::Error) -> bool {
    err.kind() == std::io::ErrorKind::PermissionDenied
}

/// An error that knows what the user can do about it. Errors say what went wrong; the hint is
/// kept apart, so that whoever prints the error decides where it goes.
pub trait Hint {
    fn hint(&self) -> Option<String>;
}

/// The closest of `candidates` to `input`, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| {
            (
                strsim::jaro_winkler(&input.to_ascii_lowercase(), &c.to_ascii_lowercase()),
                c,
            )
        })
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// "did you mean `x`?" for the closest of `candidates`, if there is a likely one.
pub fn suggest<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    did_you_mean(input, candidates).map(|close| format!("did you mean `{close}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(
            did_you_mean("BaseImag", ["BaseImage", "Image"]),
            Some("BaseImage")
        );
        assert_eq!(
            did_you_mean("baseimage", ["BaseImage", "Image"]),
            Some("BaseImage")
        );
        assert_eq!(did_you_mean("Deployment", ["BaseImage", "Image"]), None);
        assert_eq!(
            suggest("pyhton3", ["python3", "nodejs"]).as_deref(),
            Some("did you mean `python3`?")
        );
    }

    #[test]
    fn renders_location_message_and_hint() {
        let d = Diagnostic::new(
            Location {
                file: "a/b.yaml".into(),
                pos: Pos { line: 3, col: 7 },
            },
            "unknown field `nmae`",
        )
        .with_hint("did you mean `name`?");
        assert_eq!(
            d.to_string(),
            "a/b.yaml:3:7: unknown field `nmae`\n  hint: did you mean `name`?"
        );
    }
}
