//! GitHub Actions workflow commands: an `::error` annotation per problem, pinned to its file
//! and line in the pull request's diff.

use std::fmt::Write;
use std::path::Path;

use crate::model::diag::{Diagnostic, Location};
use crate::model::policy::Violation;
use crate::model::text::{escape, escape_lines};
use crate::plan::AdvisoryNotes;

/// At most this many annotations of each kind a step: GitHub shows ten errors and ten warnings
/// per step and drops the rest.
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

    /// The policy rules a plan breaks with a warning and the known vulnerabilities it
    /// declares, each where it is.
    pub fn warnings(violations: &[Violation]) -> Vec<Annotation> {
        violations
            .iter()
            .map(|v| {
                let title = match (&v.policy, &v.vulnerability) {
                    (Some(policy), _) => format!("policy {policy}"),
                    (None, Some(vulnerable)) => format!("known vulnerability {}", vulnerable.id),
                    (None, None) => "dispatch".into(),
                };
                Annotation {
                    warning: true,
                    ..Annotation::of(&v.diagnostic(), &title)
                }
            })
            .collect()
    }

    /// A warning at dispatch.toml for each ecosystem whose advisories are older than
    /// `max-advisory-age`.
    pub fn stale(notes: &AdvisoryNotes) -> Vec<Annotation> {
        (super::advisories::stale_all(notes).iter())
            .map(|d| Annotation {
                warning: true,
                ..Annotation::of(d, "stale advisories")
            })
            .collect()
    }
}

/// `::error file=F,line=L,col=C,title=T::message` for the first [`MAX_ANNOTATIONS`] errors and
/// the first as many warnings, then a notice that counts the rest (never an eleventh warning,
/// which GitHub would drop). Files are named from the repository's root: `within` is the folder
/// (from that root) the declarations on disk were named from; a revision's are from the root.
pub fn annotations(annotations: &[Annotation], within: &Path) -> String {
    let (warnings, errors): (Vec<_>, Vec<_>) = annotations.iter().partition(|a| a.warning);
    let mut out = String::new();
    let shown = (errors.iter().take(MAX_ANNOTATIONS)).chain(warnings.iter().take(MAX_ANNOTATIONS));
    for annotation in shown {
        let mut properties = Vec::new();
        if let Some(at) = &annotation.at {
            properties.push(format!(
                "file={}",
                property(&escape(&from_root(at, within)))
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
    let left = |n: usize, what| crate::model::words::count(n.saturating_sub(MAX_ANNOTATIONS), what);
    if errors.len() > MAX_ANNOTATIONS || warnings.len() > MAX_ANNOTATIONS {
        let _ = writeln!(
            out,
            "::notice title=dispatch::{} and {} are not annotated (GitHub shows ten of each a step); the job log and the step summary list them all",
            left(errors.len(), "more error"),
            left(warnings.len(), "more warning"),
        );
    }
    out
}

/// Where a location's file is, from the repository's root: a revision's file (`main:a.yaml`)
/// is named from it already; one on disk from the folder the command ran in.
fn from_root(at: &Location, within: &Path) -> String {
    let file = at.file.display().to_string();
    match file.split_once(':') {
        Some((_, path)) => path.to_string(),
        None => {
            let joined = within.join(file.trim_start_matches("./"));
            (crate::source::normal(&joined).unwrap_or(joined))
                .display()
                .to_string()
        }
    }
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
    fn annotations_are_escaped() {
        let one = annotations(
            &[Annotation::of(&diagnostic(2), "invalid declaration")],
            Path::new(""),
        );
        assert_eq!(
            one,
            "::error file=images/a%2Cb.yaml,line=2,col=3,title=invalid declaration::unknown field `nmae`\\r%0Ain Image: 100%25%0Ahint: did you mean `name`?\n"
        );
    }

    #[test]
    fn errors_and_warnings_are_capped_apart_and_the_rest_counted_in_a_notice() {
        let mut many: Vec<Annotation> = (1..=12)
            .map(|l| Annotation::of(&diagnostic(l), "t"))
            .collect();
        many.extend((1..=13).map(|l| Annotation {
            warning: true,
            ..Annotation::of(&diagnostic(l), "w")
        }));
        let text = annotations(&many, Path::new(""));
        assert_eq!(text.matches("::error ").count(), MAX_ANNOTATIONS);
        assert_eq!(text.matches("::warning ").count(), MAX_ANNOTATIONS);
        assert!(
            text.ends_with("::notice title=dispatch::2 more errors and 3 more warnings are not annotated (GitHub shows ten of each a step); the job log and the step summary list them all\n"),
            "{text}"
        );
    }

    #[test]
    fn files_are_named_from_the_repository_root() {
        let on_disk = Diagnostic::new(
            Location {
                file: "./images/a.yaml".into(),
                pos: Pos { line: 1, col: 1 },
            },
            "x",
        );
        let text = annotations(&[Annotation::of(&on_disk, "t")], Path::new("deploy"));
        assert!(
            text.starts_with("::error file=deploy/images/a.yaml,"),
            "{text}"
        );
        // A revision's file is from the root already, wherever the command ran.
        let text = annotations(&[Annotation::of(&diagnostic(1), "t")], Path::new("deploy"));
        assert!(
            text.starts_with("::error file=images/a%2Cb.yaml,"),
            "{text}"
        );
    }
}
