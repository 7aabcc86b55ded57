//! Progress of an apply: a bar per running pull or build on a terminal, plain timestamped
//! lines elsewhere (CI logs), nothing with `--quiet`.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::engine::Progress;
use crate::model::Address;

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Done,
    Failed,
    /// Not run, because something it needs failed.
    Skipped,
}

impl Outcome {
    fn word(self) -> &'static str {
        match self {
            Outcome::Done => "done",
            Outcome::Failed => "FAILED",
            Outcome::Skipped => "skipped",
        }
    }

    fn mark(self) -> &'static str {
        match self {
            Outcome::Done => "✓",
            Outcome::Failed => "✗",
            Outcome::Skipped => "-",
        }
    }
}

/// Receives what an apply is doing. Shared by every running step.
pub trait Reporter: Sync {
    fn started(&self, address: &Address, what: &str);
    fn progress(&self, address: &Address, progress: &Progress);
    fn finished(&self, address: &Address, outcome: Outcome, message: &str);
}

/// The reporter that suits standard output: bars on a terminal, lines otherwise.
pub fn for_stdout(quiet: bool) -> Box<dyn Reporter> {
    if quiet {
        Box::new(Quiet)
    } else if std::io::stdout().is_terminal() {
        Box::new(Bars::new())
    } else {
        Box::new(Lines)
    }
}

struct Quiet;

impl Reporter for Quiet {
    fn started(&self, _: &Address, _: &str) {}
    fn progress(&self, _: &Address, _: &Progress) {}
    fn finished(&self, _: &Address, _: Outcome, _: &str) {}
}

/// `2026-11-25T08:00:00Z BaseImage/python3: pulling ...`: one line per event, no redraws.
struct Lines;

impl Lines {
    fn line(&self, address: &Address, text: &str) {
        let line = format!("{} {address}: {text}\n", crate::state::now());
        let _ = std::io::stdout().lock().write_all(line.as_bytes());
    }
}

impl Reporter for Lines {
    fn started(&self, address: &Address, what: &str) {
        self.line(address, what);
    }

    /// Only build steps: byte counts would flood a log.
    fn progress(&self, address: &Address, progress: &Progress) {
        if let Progress::Step { number, of, text } = progress {
            self.line(address, &format!("step {number}/{of}: {text}"));
        }
    }

    fn finished(&self, address: &Address, outcome: Outcome, message: &str) {
        self.line(address, &format!("{}: {message}", outcome.word()));
    }
}

struct Bars {
    multi: MultiProgress,
    bars: Mutex<HashMap<Address, ProgressBar>>,
}

impl Bars {
    fn new() -> Self {
        Bars {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stdout()),
            bars: Mutex::new(HashMap::new()),
        }
    }
}

impl Reporter for Bars {
    /// A resource's next phase (pulling its base, building, pushing) takes over its bar.
    fn started(&self, address: &Address, what: &str) {
        let mut bars = self.bars.lock().expect("bars lock");
        let bar = bars.entry(address.clone()).or_insert_with(|| {
            let bar = self.multi.add(ProgressBar::new_spinner());
            bar.set_prefix(address.to_string());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        bar.set_style(
            ProgressStyle::with_template("{spinner} {prefix:.bold} {msg}").expect("valid template"),
        );
        bar.set_message(what.to_string());
    }

    fn progress(&self, address: &Address, progress: &Progress) {
        let bars = self.bars.lock().expect("bars lock");
        let Some(bar) = bars.get(address) else { return };
        match progress {
            Progress::Bytes { current, total } => {
                bar.set_style(
                    ProgressStyle::with_template(
                        "{spinner} {prefix:.bold} [{bar:30}] {bytes}/{total_bytes}",
                    )
                    .expect("valid template")
                    .progress_chars("=> "),
                );
                bar.set_length(*total);
                bar.set_position(*current);
            }
            Progress::Step { number, of, text } => {
                bar.set_style(
                    ProgressStyle::with_template("{spinner} {prefix:.bold} [{bar:30}] {msg}")
                        .expect("valid template")
                        .progress_chars("=> "),
                );
                // The bar fills with the steps done; the running one is named beside it.
                bar.set_length(u64::from(*of));
                bar.set_position(u64::from(number.saturating_sub(1)));
                let text: String = text.chars().take(60).collect();
                bar.set_message(format!("step {number}/{of}: {text}"));
            }
        }
    }

    fn finished(&self, address: &Address, outcome: Outcome, message: &str) {
        // A skipped step never started, so it has no bar.
        if let Some(bar) = self.bars.lock().expect("bars lock").remove(address) {
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
        let _ = self
            .multi
            .println(format!("{} {address}: {message}", outcome.mark()));
    }
}
