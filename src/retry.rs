//! Requests to registries and the engine that fail for a moment (a refused connection, a 5xx,
//! a 429, a timeout) are tried again, with exponential backoff and jitter; the whole of it is
//! bounded by `--timeout`, so that a peer that hangs never hangs dispatch. A state lock that
//! another run holds is tried again, at a steady pace, until the lock timeout ([`wait`]).

#[cfg(feature = "adapters")]
use std::future::Future;
#[cfg(feature = "adapters")]
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use backon::BlockingRetryable;
#[cfg(feature = "adapters")]
use backon::{ExponentialBuilder, Retryable};

/// How many times a request is tried before its error stands.
#[cfg(feature = "adapters")]
pub const ATTEMPTS: usize = 3;

/// Why a request that was retried gave up.
#[cfg(feature = "adapters")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GaveUp<E> {
    /// The last error, and how many attempts were made.
    Failed { error: E, attempts: usize },
    /// No answer within the timeout, over this many attempts.
    TimedOut { after: Duration, attempts: usize },
}

#[cfg(feature = "adapters")]
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

/// Tries `attempt` until it succeeds, fails other than `busy` says, or `timeout` has passed,
/// when the last try's error stands (for a lock, the holder that keeps it). The tries are
/// `every` apart, the last pause cut short to end at the deadline; a zero timeout tries once.
pub fn wait<T, E>(
    timeout: Duration,
    every: Duration,
    attempt: impl FnMut() -> Result<T, E>,
    busy: impl FnMut(&E) -> bool,
) -> Result<T, E> {
    let deadline = Instant::now() + timeout;
    let pauses = std::iter::from_fn(move || {
        let left = deadline.saturating_duration_since(Instant::now());
        (!left.is_zero()).then(|| left.min(every))
    });
    BlockingRetryable::retry(attempt, pauses).when(busy).call()
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
    fn a_wait_tries_until_the_timeout_then_the_last_refusal_stands() {
        let calls = Cell::new(0);
        let started = Instant::now();
        let result: Result<(), _> = wait(
            Duration::from_millis(50),
            Duration::from_millis(20),
            || {
                calls.set(calls.get() + 1);
                Err(calls.get())
            },
            |_| true,
        );
        assert!(started.elapsed() >= Duration::from_millis(50));
        // At 0, 20, 40 and 50 ms (the last pause cut to the deadline), or fewer on a busy
        // machine; the refusal that stands is the last one.
        assert!((2..=4).contains(&calls.get()), "{}", calls.get());
        assert_eq!(result, Err(calls.get()));
    }

    #[test]
    fn a_wait_ends_at_a_success_or_a_lasting_error_and_a_zero_timeout_tries_once() {
        let calls = Cell::new(0);
        let attempt = || {
            calls.set(calls.get() + 1);
            if calls.get() < 3 {
                Err("busy")
            } else {
                Ok(calls.get())
            }
        };
        let every = Duration::from_millis(1);
        assert_eq!(
            wait(Duration::from_secs(60), every, attempt, |_| true),
            Ok(3)
        );
        let calls = Cell::new(0);
        let failing = || {
            calls.set(calls.get() + 1);
            Err::<(), _>("broken")
        };
        let lasting = wait(Duration::from_secs(60), every, failing, |e| *e == "busy");
        assert_eq!((lasting, calls.get()), (Err("broken"), 1));
        let calls = Cell::new(0);
        let busy = || {
            calls.set(calls.get() + 1);
            Err::<(), _>("busy")
        };
        assert_eq!(wait(Duration::ZERO, every, busy, |_| true), Err("busy"));
        assert_eq!(calls.get(), 1);
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
