//! Output for programs: the plan's JSON document (README.md, "JSON plan format") and the
//! verdict of `validate`, shaped as terraform's.

use serde::Serialize;

use crate::model::diag::Diagnostic;
use crate::plan::Plan;
use crate::plan::document::Document;

/// The plan as its versioned document ([`Document`]).
pub fn plan(plan: &Plan) -> Document {
    Document::new(plan)
}

/// `validate -o json`, shaped like `terraform validate -json`.
#[derive(Debug, Serialize)]
pub struct Validation<'a> {
    pub format_version: &'static str,
    pub valid: bool,
    pub error_count: usize,
    pub warning_count: usize,
    pub diagnostics: Vec<JsonDiagnostic<'a>>,
    /// How many of each kind are declared, when the declarations are valid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_images: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub images: Option<usize>,
}

/// A diagnostic as terraform's JSON output shapes one.
#[derive(Debug, Serialize)]
pub struct JsonDiagnostic<'a> {
    pub severity: &'static str,
    pub summary: &'a str,
    /// The hint, if any.
    pub detail: &'a str,
    /// Where, when the problem has a line (`null` for a whole file).
    pub range: Option<Range>,
    pub filename: String,
}

#[derive(Debug, Serialize)]
pub struct Range {
    pub filename: String,
    pub start: Position,
}

#[derive(Debug, Serialize)]
pub struct Position {
    pub line: u32,
    pub column: u32,
}

pub fn diagnostic(d: &Diagnostic) -> JsonDiagnostic<'_> {
    let filename = d.location.file.display().to_string();
    JsonDiagnostic {
        severity: "error",
        summary: &d.message,
        detail: d.hint.as_deref().unwrap_or_default(),
        range: (d.location.pos.line > 0).then(|| Range {
            filename: filename.clone(),
            start: Position {
                line: d.location.pos.line,
                column: d.location.pos.col,
            },
        }),
        filename,
    }
}

/// The verdict on a set of declarations: `diagnostics` (errors) and `warnings`, and the
/// counts of a valid set.
pub fn validation<'a>(
    diagnostics: &'a [Diagnostic],
    warnings: &'a [Diagnostic],
    counts: Option<(usize, usize)>,
) -> Validation<'a> {
    let warned = warnings.iter().map(|w| JsonDiagnostic {
        severity: "warning",
        ..diagnostic(w)
    });
    Validation {
        format_version: "1.0",
        valid: diagnostics.is_empty(),
        error_count: diagnostics.len(),
        warning_count: warnings.len(),
        diagnostics: diagnostics.iter().map(diagnostic).chain(warned).collect(),
        base_images: counts.map(|c| c.0),
        images: counts.map(|c| c.1),
    }
}
