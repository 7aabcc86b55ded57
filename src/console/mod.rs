//! The terminal: progress on stdout, the approval prompt, and Ctrl-C.

pub mod progress;

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether the user approved, or why they could not be asked.
#[derive(Debug, thiserror::Error)]
pub enum ApprovalError {
    #[error("apply needs approval and there is no terminal to ask")]
    NoTerminal,
    #[error("apply cancelled")]
    Cancelled,
    #[error("cannot read the answer: {0}")]
    Io(#[from] std::io::Error),
}

impl crate::model::diag::Hint for ApprovalError {
    fn hint(&self) -> Option<String> {
        match self {
            ApprovalError::NoTerminal => Some(
                "pass --auto-approve, or apply a plan saved with `dispatch plan --out FILE`".into(),
            ),
            _ => None,
        }
    }
}

/// Asks for `yes` on a terminal; refuses to guess anywhere else.
pub fn approve() -> Result<(), ApprovalError> {
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
/// Must be called inside a tokio runtime.
pub fn watch_interrupts() -> &'static AtomicBool {
    static CANCEL: AtomicBool = AtomicBool::new(false);
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
    let text = crate::model::text::for_terminal(text);
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
    let painter = crate::report::Painter {
        color: stderr_color(),
    };
    let line = format!(
        "{} {message}\n",
        painter.paint(anstyle::AnsiColor::Yellow.on_default().bold(), "Warning:")
    );
    let _ = std::io::stderr()
        .lock()
        .write_all(crate::model::text::for_terminal(&line).as_bytes());
}
