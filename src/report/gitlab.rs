//! GitLab's code quality report: the problems found, as the merge request widget shows them.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::model::diag::Diagnostic;
use crate::model::policy::Violation;

/// One issue of a code quality report (GitLab's subset of the Code Climate format).
#[derive(Debug, Serialize)]
pub struct Issue {
    pub description: String,
    pub check_name: String,
    /// Stable across runs: the same problem at the same place is the same issue.
    pub fingerprint: String,
    pub severity: &'static str,
    pub location: IssueLocation,
}

#[derive(Debug, Serialize)]
pub struct IssueLocation {
    pub path: String,
    pub lines: Lines,
}

#[derive(Debug, Serialize)]
pub struct Lines {
    pub begin: u32,
}

/// The report of `diagnostics`: an empty array when there are none.
pub fn code_quality(diagnostics: &[Diagnostic]) -> Vec<Issue> {
    issues(diagnostics, "major")
}

/// The report of what valid declarations still break: policy rules of warning severity.
pub fn advice(violations: &[Violation]) -> Vec<Issue> {
    let diagnostics: Vec<Diagnostic> = violations.iter().map(Violation::diagnostic).collect();
    issues(&diagnostics, "minor")
}

fn issues(diagnostics: &[Diagnostic], severity: &'static str) -> Vec<Issue> {
    diagnostics
        .iter()
        .map(|d| {
            let file = d.location.file.display().to_string();
            let path = file.split_once(':').map_or(file.as_str(), |(_, p)| p);
            let path = path.trim_start_matches("./").to_string();
            let mut description = d.message.clone();
            if let Some(hint) = &d.hint {
                description.push_str(&format!(" (hint: {hint})"));
            }
            let check_name = format!("dispatch/{}", d.rule.as_deref().unwrap_or("declarations"));
            // The rule, the file and what it says: not the line, so that moving a declaration
            // keeps its issue, and the widget compares branches by it.
            let identity = format!("{check_name}\0{path}\0{}", d.message);
            Issue {
                fingerprint: format!("{:x}", Sha256::digest(identity.as_bytes())),
                description,
                check_name,
                severity,
                location: IssueLocation {
                    path,
                    lines: Lines {
                        begin: d.location.pos.line.max(1),
                    },
                },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::diag::{Location, Pos};

    fn at(line: u32) -> Diagnostic {
        Diagnostic::new(
            Location {
                file: "./images/a.yaml".into(),
                pos: Pos { line, col: 1 },
            },
            "unknown field `nmae`",
        )
    }

    #[test]
    fn an_issue_keeps_its_fingerprint_when_its_line_moves() {
        let before = code_quality(&[at(3)]);
        let after = code_quality(&[at(9)]);
        assert_eq!(before[0].fingerprint, after[0].fingerprint);
        assert_eq!(after[0].location.lines.begin, 9);
        assert_eq!(before[0].check_name, "dispatch/declarations");
        let ruled = code_quality(&[at(3).with_rule("policy/packages")]);
        assert_eq!(ruled[0].check_name, "dispatch/policy/packages");
        assert_ne!(ruled[0].fingerprint, before[0].fingerprint);
    }
}
