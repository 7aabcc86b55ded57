//! What the tests against real services share: where `.ci/run` (via `.ci/services` and
//! `.ci/python-base`) says those services are.

/// A `DISPATCH_TEST_*` variable, or a panic that says how to get the services.
pub fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run `bash .ci/python-base && source /tmp/dispatch-services/env` first (.ci/run does)")
    })
}
