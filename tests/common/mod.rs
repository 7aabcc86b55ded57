//! What the tests against real services share: where `.ci/run` (via `.ci/services` and
//! `.ci/python-base`) says those services are.

/// A `DISPATCH_TEST_*` variable, or a panic that says how to get the services.
pub fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run `bash .ci/python-base && source /tmp/dispatch-services/env` first (.ci/run does)")
    })
}

/// The engine the tests use: `DOCKER_HOST`, else the default socket, as dispatch resolves it.
#[allow(dead_code)] // not every test binary talks to the engine directly
pub fn engine_address() -> String {
    use dispatch::config::{Config, Overrides, Settings};
    Config::resolve(Settings::default(), Overrides::default(), |key| {
        std::env::var(key).ok()
    })
    .engine
}
