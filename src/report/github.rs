//! GitHub Actions workflow commands: an `::error` annotation per problem, pinned to its file
//! and line in the pull request's diff.

use std::fmt::Write;

use crate::model::diag::{Diagnostic, Location};
use crate::model::policy::Violation;
use crate::model::text::{escape, escape_lines};

/// At most this many annotations a step: GitHub shows ten per step and drops the rest.
pub const MAX_ANNOTATIONS: usize = 10;

/// One annotation: where, a title, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    pub at: Option<Location>,
    pub title: String,
    pub message: String,
    /// A warning (a policy's advice) rather than an error.
    pub warning: bool,
}

impl Annotation {
    /// A diagnostic, its hint on a line of its own.
    pub fn of(diagnostic: &Diagnostic, title: &str) -> Annotation {
        let mut message = diagnostic.message.clone();
        if let Some(hint) = &diagnostic.hint {
            message.push_str(&format!("\nhint: {hint}"));
        }
        Annotation {
            at: Some(diagnostic.location.clone()),
            title: title.to_string(),
            message,
            warning: false,
        }
    }

    /// The policy rules a plan breaks with a warning, each where it is broken.
    pub fn warnings(violations: &[Violation]) -> Vec<Annotation> {
        violations
            .iter()
            .map(|v| Annotation {
                warning: true,
                ..Annotation::of(&v.diagnostic(), &format!("policy {}", v.policy))
            })
            .collect()
    }
}

/// `::error file=F,line=L,col=C,title=T::message` for the first [`MAX_ANNOTATIONS`], then one
/// line that counts the rest.
pub fn annotations(annotations: &[Annotation]) -> String {
    let mut out = String::new();
    for annotation in annotations.iter().take(MAX_ANNOTATIONS) {
        let mut properties = Vec::new();
        if let Some(at) = &annotation.at {
            // A revision's file (`main:images/a.yaml`) is annotated at its path.
            let file = at.file.display().to_string();
            let path = file.split_once(':').map_or(file.as_str(), |(_, p)| p);
            properties.push(format!(
                "file={}",
                property(&escape(path.trim_start_matches("./")))
            ));
            if at.pos.line > 0 {
                properties.push(format!("line={}", at.pos.line));
                properties.push(format!("col={}", at.pos.col));
            }
        }
        properties.push(format!("title={}", property(&escape(&annotation.title))));
        // A log shows escape sequences as colours and moves: the message's are made visible.
        let _ = writeln!(
            out,
            "::{} {}::{}",
            if annotation.warning {
                "warning"
            } else {
                "error"
            },
            properties.join(","),
            data(&escape_lines(&annotation.message))
        );
    }
    if annotations.len() > MAX_ANNOTATIONS {
        let _ = writeln!(
            out,
            "::warning title=dispatch::{} more problems are not annotated; the job log lists them all",
            annotations.len() - MAX_ANNOTATIONS
        );
    }
    out
}

/// A command's message: `%`, CR and LF escaped, so a value cannot end the command early.
fn data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A command's property: as [`data`], and `:` and `,`, which separate properties.
fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::diag::Pos;

    fn diagnostic(line: u32) -> Diagnostic {
        Diagnostic::new(
            Location {
                file: "main:images/a,b.yaml".into(),
                pos: Pos { line, col: 3 },
            },
            "unknown field `nmae`\r\nin Image: 100%",
        )
        .with_hint("did you mean `name`?")
    }

    #[test]
    fn annotations_are_escaped_and_capped() {
        let one = annotations(&[Annotation::of(&diagnostic(2), "invalid declaration")]);
        assert_eq!(
            one,
            "::error file=images/a%2Cb.yaml,line=2,col=3,title=invalid declaration::unknown field `nmae`\\r%0Ain Image: 100%25%0Ahint: did you mean `name`?\n"
        );
        let many: Vec<Annotation> = (1..=13)
            .map(|l| Annotation::of(&diagnostic(l), "t"))
            .collect();
        let text = annotations(&many);
        assert_eq!(text.lines().count(), MAX_ANNOTATIONS + 1);
        assert!(
            text.ends_with("::warning title=dispatch::3 more problems are not annotated; the job log lists them all\n"),
            "{text}"
        );
    }
}
