//! How an operation talks with whoever runs it. The library never touches the terminal: the
//! binary answers these calls for a person at a terminal or a CI log, a test with a recorder.

use std::sync::atomic::AtomicBool;

use crate::apply::Reporter;
use crate::model::diag::Hint;
use crate::plan::Plan;

/// The person (or pipeline) an operation reports to and asks.
pub trait Interaction: Sync {
    /// Something worth knowing that is not the command's result: a lock taken over from a run
    /// that died, a catalog that could not be read.
    fn notice(&self, message: &str);
    /// Shows the plan about to be applied (a saved plan was shown when it was made).
    fn show(&self, plan: &Plan) -> std::io::Result<()>;
    /// Asks whether to go on.
    fn approve(&self) -> Result<(), ApprovalError>;
    /// Receives the progress of every step.
    fn reporter(&self) -> &dyn Reporter;
    /// Set once the user asks to stop: no new step starts, running ones finish. Asked for
    /// inside the apply's runtime, when the first step is about to start.
    fn cancel(&self) -> &AtomicBool;
}

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

impl Hint for ApprovalError {
    fn hint(&self) -> Option<String> {
        match self {
            ApprovalError::NoTerminal => Some(
                "pass --auto-approve, or apply a plan saved with `dispatch plan --out FILE`".into(),
            ),
            _ => None,
        }
    }
}
