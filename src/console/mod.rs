//! The terminal: stdout and stderr, progress, the approval prompt and Ctrl-C. The binary's
//! alone: the library reaches the person running it only through [`Interaction`].

pub mod progress;

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use dispatch::apply::Reporter;
use dispatch::apply::record::Outcome;
use dispatch::model::Address;
use dispatch::model::image::Progress;
use dispatch::ops::{ApprovalError, Interaction};
use dispatch::plan::Plan;
use dispatch::report::{self, Painter, text::TextOptions};

/// The person at the terminal (or the CI log): sees notices and the plan, says yes, watches
/// the progress, stops it with Ctrl-C. What failed is kept, for a CI system to point at.
pub struct Terminal {
    reporter: Box<dyn Reporter>,
    failed: Mutex<Vec<(Address, String)>>,
}

impl Terminal {
    /// Progress as bars on a terminal, lines elsewhere, none when `quiet`.
    pub fn new(quiet: bool) -> Self {
        Terminal {
            reporter: progress::for_stdout(quiet),
            failed: Mutex::new(Vec::new()),
        }
    }

    /// The steps that failed, each with why.
    pub fn failures(self) -> Vec<(Address, String)> {
        self.failed.into_inner().expect("failures lock")
    }
}

impl Interaction for Terminal {
    fn notice(&self, message: &str) {
        warn(message);
    }

    fn show(&self, plan: &Plan) -> std::io::Result<()> {
        let options = TextOptions {
            color: stdout_color(),
            compact: false,
        };
        print(&report::text::plan(plan, options))
    }

    fn approve(&self) -> Result<(), ApprovalError> {
        approve()
    }

    fn reporter(&self) -> &dyn Reporter {
        self
    }

    fn cancel(&self) -> &AtomicBool {
        watch_interrupts()
    }
}

impl Reporter for Terminal {
    fn started(&self, address: &Address, what: &str) {
        self.reporter.started(address, what);
    }

    fn progress(&self, address: &Address, progress: &Progress) {
        self.reporter.progress(address, progress);
    }

    fn finished(&self, address: &Address, outcome: Outcome, message: &str) {
        if outcome == Outcome::Failed {
            let mut failed = self.failed.lock().expect("failures lock");
            failed.push((address.clone(), message.to_string()));
        }
        self.reporter.finished(address, outcome, message);
    }
}

/// Asks for `yes` on a terminal; refuses to guess anywhere else.
fn approve() -> Result<(), ApprovalError> {
    if !std::io::stdin().is_terminal() {
        return Err(ApprovalError::NoTerminal);
    }
    print(
        "\nDo you want to perform these actions?\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ",
    )?;
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    if answer.trim() != "yes" {
        return Err(ApprovalError::Cancelled);
    }
    Ok(())
}

/// First Ctrl-C: start nothing new and let running steps finish. Second: abort at once.
/// Watches from the first call on, which must be inside a tokio runtime.
fn watch_interrupts() -> &'static AtomicBool {
    static CANCEL: AtomicBool = AtomicBool::new(false);
    static WATCHING: std::sync::Once = std::sync::Once::new();
    WATCHING.call_once(|| {
        tokio::spawn(async {
            if tokio::signal::ctrl_c().await.is_ok() {
                CANCEL.store(true, Ordering::SeqCst);
                eprintln!(
                    "\nInterrupt received: waiting for running pulls and builds to finish (Ctrl-C again to abort)."
                );
                if tokio::signal::ctrl_c().await.is_ok() {
                    eprintln!("Aborted. The state holds every step that finished.");
                    std::process::exit(130);
                }
            }
        });
    });
    &CANCEL
}

/// Writes `text` to stdout. A reader that went away (`dispatch get images | head -1`) is
/// not an error: the rest is dropped and the command's own outcome decides the exit code, as
/// for any shell tool; other write errors (a full disk behind `>`) are.
pub fn print(text: &str) -> std::io::Result<()> {
    static CLOSED: AtomicBool = AtomicBool::new(false);
    if CLOSED.load(Ordering::Relaxed) {
        return Ok(());
    }
    let text = dispatch::model::text::for_terminal(text);
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            CLOSED.store(true, Ordering::Relaxed);
            Ok(())
        }
        other => other,
    }
}

/// Writes `text` to stderr, where what is not the output goes; best effort.
pub fn eprint(text: &str) {
    let text = dispatch::model::text::for_terminal(text);
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// Whether stdout takes colour: a terminal, and neither `--no-color` nor `NO_COLOR`.
pub fn stdout_color() -> bool {
    anstream::AutoStream::choice(&std::io::stdout()) != anstream::ColorChoice::Never
}

/// Whether stderr takes colour, by the same rules as stdout.
pub fn stderr_color() -> bool {
    anstream::AutoStream::choice(&std::io::stderr()) != anstream::ColorChoice::Never
}

/// Writes `message` to stderr as a warning, which no output format on stdout carries.
pub fn warn(message: &str) {
    let painter = Painter {
        color: stderr_color(),
    };
    let bold_yellow = anstyle::AnsiColor::Yellow.on_default().bold();
    eprint(&format!(
        "{} {message}\n",
        painter.paint(bold_yellow, "Warning:")
    ));
}
