//! The words of an apply's progress, for bars on a terminal and lines in a log.

use crate::apply::record::Outcome;
use crate::model::Address;
use crate::model::image::Step;
use crate::model::text::{escape, escape_lines};

/// How a log line names an outcome.
pub fn word(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Done => "done",
        Outcome::Failed => "FAILED",
        Outcome::Skipped => "skipped",
    }
}

/// How a bar's last line marks an outcome.
pub fn mark(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Done => "✓",
        Outcome::Failed => "✗",
        Outcome::Skipped => "-",
    }
}

/// A log line: `2026-11-25T08:00:00Z BaseImage/python3: pulling ...`.
pub fn line(time: &str, address: &Address, text: &str) -> String {
    format!("{time} {address}: {}\n", escape_lines(text))
}

/// A build step as progress shows it, its text cut to `width` characters with `…` (for a
/// terminal; logs take it whole).
pub fn step(step: &Step, width: usize) -> String {
    let text = match step.text.char_indices().nth(width) {
        Some((at, _)) => format!("{}…", &step.text[..at]),
        None => step.text.clone(),
    };
    format!("step {}/{}: {}", step.number, step.of, escape(&text))
}

/// A step's end in a log: `done: pulled (sha256:...)`.
pub fn finished(outcome: Outcome, message: &str) -> String {
    format!("{}: {message}", word(outcome))
}

/// A step's end under the bars: `✓ BaseImage/python3: pulled (sha256:...)`.
pub fn finished_mark(outcome: Outcome, address: &Address, message: &str) -> String {
    format!("{} {address}: {}", mark(outcome), escape_lines(message))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Kind;

    #[test]
    fn lines_name_the_resource_and_what_happened() {
        let address = Address::new(Kind::Image, "pandas");
        let step = Step {
            number: 2,
            of: 3,
            text: "RUN pip3 install".into(),
        };
        assert_eq!(
            line("t", &address, &super::step(&step, usize::MAX)),
            "t Image/pandas: step 2/3: RUN pip3 install\n"
        );
        assert_eq!(super::step(&step, 3), "step 2/3: RUN…");
        assert_eq!(finished(Outcome::Failed, "why"), "FAILED: why");
        assert_eq!(
            finished_mark(Outcome::Done, &address, "built"),
            "✓ Image/pandas: built"
        );
    }
}
