//! What the conformance suites of the three seams share ([`crate::state::conformance`],
//! [`crate::engine::conformance`], [`crate::registry::conformance`]): every check runs, even
//! after one has failed, and the suite then fails once, naming each check that failed and why.
//! A failure is a panic with that message, never a line printed: the test harness shows it.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;

/// The checks of one suite run so far, and what those that failed said.
pub struct Verdict {
    suite: &'static str,
    ran: usize,
    failed: Vec<String>,
}

impl Verdict {
    /// The verdict on `suite` (`"engine"`), before any check.
    pub fn new(suite: &'static str) -> Self {
        Verdict {
            suite,
            ran: 0,
            failed: Vec::new(),
        }
    }

    /// Runs `check`; a panic in it is its failure, noted under `name`.
    pub fn check(&mut self, name: &str, check: impl FnOnce()) {
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(check));
        self.note(name, outcome);
    }

    /// Runs the check `check` is the future of; a panic in it is its failure, noted under `name`.
    pub async fn check_async(&mut self, name: &str, check: impl Future<Output = ()>) {
        let outcome = AssertUnwindSafe(check).catch_unwind().await;
        self.note(name, outcome);
    }

    fn note(&mut self, name: &str, outcome: Result<(), Box<dyn Any + Send>>) {
        self.ran += 1;
        if let Err(panic) = outcome {
            let why = message(&*panic).replace('\n', "\n  ");
            self.failed.push(format!("{name}: {why}"));
        }
    }

    /// Panics, naming every check that failed and why, if one did.
    pub fn finish(self) {
        if let Err(failures) = self.result() {
            panic!("{failures}");
        }
    }

    /// Every check that failed and why, if one did.
    fn result(self) -> Result<(), String> {
        let Verdict { suite, ran, failed } = self;
        match failed.is_empty() {
            true => Ok(()),
            false => Err(format!(
                "{} of the {ran} checks of the {suite} conformance suite failed:\n- {}",
                failed.len(),
                failed.join("\n- ")
            )),
        }
    }
}

/// What a panic said.
fn message(panic: &(dyn Any + Send)) -> String {
    match (panic.downcast_ref::<String>(), panic.downcast_ref::<&str>()) {
        (Some(text), _) => text.clone(),
        (None, Some(text)) => text.to_string(),
        (None, None) => "it panicked, with no message".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fails as a check does, without the panic hook printing it: a passing run stays quiet.
    fn fail(why: &str) -> ! {
        std::panic::resume_unwind(Box::new(why.to_string()))
    }

    #[test]
    fn every_check_runs_and_each_failure_is_named_with_its_reason() {
        let mut verdict = Verdict::new("sample");
        verdict.check("passes", || {});
        verdict.check("fails", || fail("the answer was 41"));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(verdict.check_async("fails later", async {
            tokio::task::yield_now().await;
            fail("one is not two\nbut one");
        }));
        assert_eq!(
            verdict.result().unwrap_err(),
            "2 of the 3 checks of the sample conformance suite failed:\n\
             - fails: the answer was 41\n\
             - fails later: one is not two\n  but one"
        );
        let mut verdict = Verdict::new("sample");
        verdict.check("passes", || {});
        verdict.finish();
    }
}
