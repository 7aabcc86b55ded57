//! What the tests against real services share: where `.ci/run` (via `.ci/services` and
//! `.ci/python-base`) says those services are.

/// A `DISPATCH_TEST_*` variable, or a panic that says how to get the services.
#[allow(dead_code)] // not every test binary talks to services
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

/// Asserts that `plan` (a JSON plan or a saved plan) follows the published JSON Schema.
#[allow(dead_code)] // not every test binary reads plans
pub fn assert_plan_schema(plan: &serde_json::Value) {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../src/plan/plan.schema.json"))
            .expect("the schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("the schema is a valid JSON Schema");
    let errors: Vec<String> = validator
        .iter_errors(plan)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "the plan breaks its schema:\n{}\n{plan:#}",
        errors.join("\n")
    );
}
