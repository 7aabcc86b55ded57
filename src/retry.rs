//! Requests to registries and the engine that fail for a moment (a refused connection, a 5xx,
//! a 429, a timeout) are tried again, with exponential backoff and jitter; the whole of it is
//! bounded by `--timeout`, so that a peer that hangs never hangs dispatch.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};

/// How many times a request is tried before its error stands.
pub const ATTEMPTS: usize = 3;

/// Why a request that was retried gave up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GaveUp<E> {
    /// The last error, and how many attempts were made.
    Failed { error: E, attempts: usize },
    /// No answer within the timeout, over this many attempts.
    TimedOut { after: Duration, attempts: usize },
}

/// Runs `request` until it succeeds, fails for good (`transient` says no), has been tried
/// [`ATTEMPTS`] times, or `timeout` (if any: a long pull bounds itself) has passed.
pub async fn retry<T, E, F, Fut>(
    timeout: Option<Duration>,
    request: F,
    transient: impl Fn(&E) -> bool,
) -> Result<T, GaveUp<E>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let attempts = AtomicUsize::new(0);
    let mut request = request;
    let counted = || {
        attempts.fetch_add(1, Ordering::SeqCst);
        request()
    };
    let backoff = ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(200))
        .with_max_delay(Duration::from_secs(5))
        .with_max_times(ATTEMPTS - 1)
        .with_jitter();
    let tried = counted.retry(backoff).when(|e| transient(e));
    let outcome = match timeout {
        Some(timeout) => {
            tokio::time::timeout(timeout, tried)
                .await
                .map_err(|_| GaveUp::TimedOut {
                    after: timeout,
                    attempts: attempts.load(Ordering::SeqCst),
                })?
        }
        None => tried.await,
    };
    outcome.map_err(|error| GaveUp::Failed {
        error,
        attempts: attempts.load(Ordering::SeqCst),
    })
}

/// `3 attempts`, `1 attempt`.
pub fn attempts(n: usize) -> String {
    crate::model::words::count(n, "attempt")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn run<T>(future: impl Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap()
            .block_on(future)
    }

    #[test]
    fn transient_failures_are_retried_a_few_times() {
        let calls = Cell::new(0);
        let result: Result<(), _> = run(retry(
            Some(Duration::from_secs(60)),
            || {
                calls.set(calls.get() + 1);
                async { Err::<(), _>("HTTP 500") }
            },
            |_| true,
        ));
        assert_eq!(
            result,
            Err(GaveUp::Failed {
                error: "HTTP 500",
                attempts: ATTEMPTS
            })
        );
        assert_eq!(calls.get(), ATTEMPTS);
    }

    #[test]
    fn lasting_failures_are_not_retried_and_successes_end_it() {
        let calls = Cell::new(0);
        let result: Result<(), _> = run(retry(
            Some(Duration::from_secs(60)),
            || {
                calls.set(calls.get() + 1);
                async { Err::<(), _>("not found") }
            },
            |_| false,
        ));
        assert_eq!(
            result,
            Err(GaveUp::Failed {
                error: "not found",
                attempts: 1
            })
        );
        let calls = Cell::new(0);
        let result = run(retry(
            Some(Duration::from_secs(60)),
            || {
                calls.set(calls.get() + 1);
                let n = calls.get();
                async move { if n < 2 { Err("HTTP 429") } else { Ok(n) } }
            },
            |_| true,
        ));
        assert_eq!(result, Ok(2));
    }

    #[test]
    fn a_request_that_hangs_gives_up_at_the_timeout() {
        let result: Result<(), GaveUp<()>> = run(retry(
            Some(Duration::from_secs(5)),
            std::future::pending::<Result<(), ()>>,
            |_| true,
        ));
        assert_eq!(
            result,
            Err(GaveUp::TimedOut {
                after: Duration::from_secs(5),
                attempts: 1
            })
        );
    }
}
