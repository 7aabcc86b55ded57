//! Progress of an apply on this process's stdout: a bar per running pull or build on a
//! terminal, plain timestamped lines elsewhere (CI logs), nothing with `--quiet`.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use dispatch::apply::Reporter;
use dispatch::apply::record::Outcome;
use dispatch::model::Address;
use dispatch::model::image::Progress;
use dispatch::report::progress as words;

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

/// One timestamped line per event, no redraws.
struct Lines;

impl Lines {
    fn line(&self, address: &Address, text: &str) {
        // Progress is best effort: a failed write must not stop the apply.
        let _ = super::print(&words::line(&dispatch::host::now(), address, text));
    }
}

impl Reporter for Lines {
    fn started(&self, address: &Address, what: &str) {
        self.line(address, what);
    }

    /// Only build steps: byte counts would flood a log.
    fn progress(&self, address: &Address, progress: &Progress) {
        if let Progress::Step(step) = progress {
            self.line(address, &words::step(step, usize::MAX));
        }
    }

    fn finished(&self, address: &Address, outcome: Outcome, message: &str) {
        self.line(address, &words::finished(outcome, message));
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
        bar.set_message(dispatch::model::text::escape(what).into_owned());
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
            Progress::Step(step) => {
                bar.set_style(
                    ProgressStyle::with_template("{spinner} {prefix:.bold} [{bar:30}] {msg}")
                        .expect("valid template")
                        .progress_chars("=> "),
                );
                // The bar fills with the steps done; the running one is named beside it.
                bar.set_length(u64::from(step.of));
                bar.set_position(u64::from(step.number.saturating_sub(1)));
                bar.set_message(words::step(step, 60));
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
            .println(words::finished_mark(outcome, address, message));
    }
}
