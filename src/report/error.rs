//! An error as the user reads it: every diagnostic at its `file:line:col` with its hint, then
//! one `error:` line and the error's own hint.

use anstyle::{AnsiColor, Style};

use super::Painter;
use crate::model::diag::Diagnostic;

/// The whole report, one string, so that many thousands of diagnostics are one write.
pub fn render(
    diagnostics: &[Diagnostic],
    message: &str,
    hint: Option<&str>,
    painter: Painter,
) -> String {
    let mut report = String::new();
    for diagnostic in diagnostics {
        report.push_str(&format!("{diagnostic}\n"));
    }
    let label = Style::new().bold().fg_color(Some(AnsiColor::Red.into()));
    report.push_str(&format!("{}: {message}\n", painter.paint(label, "error")));
    if let Some(hint) = hint {
        report.push_str(&format!("  hint: {hint}\n"));
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::diag::{Location, Pos};

    #[test]
    fn diagnostics_then_the_error_and_its_hint() {
        let diagnostic = Diagnostic::new(
            Location {
                file: "a.yaml".into(),
                pos: Pos { line: 2, col: 3 },
            },
            "unknown field `nmae`",
        )
        .with_hint("did you mean `name`?");
        let plain = Painter { color: false };
        assert_eq!(
            render(&[diagnostic], "1 problem in the declarations", None, plain),
            "a.yaml:2:3: unknown field `nmae`\n  hint: did you mean `name`?\nerror: 1 problem in the declarations\n"
        );
        assert_eq!(
            render(&[], "state is locked", Some("wait"), plain),
            "error: state is locked\n  hint: wait\n"
        );
        let colored = render(&[], "x", None, Painter { color: true });
        assert!(colored.starts_with("\u{1b}["), "{colored:?}");
    }
}
