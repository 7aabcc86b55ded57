//! What every fuzz target checks of a set of declarations files: loading answers (declarations
//! or diagnostics, never a panic); a plan from nothing and from the declarations' own applied
//! state can be made and rendered; the latter has no changes; and no human-readable rendering
//! carries a control character (other than line breaks and tabs) or a bidirectional override,
//! policy violations (over the manifests' own lines) included.

use dispatch::decl::{self, LoadOptions};
use dispatch::model::diag::Diagnostic;
use dispatch::model::text::is_hazard;
use dispatch::plan::{self, Observations, Plan};
use dispatch::policy::check;
use dispatch::report::text::{self, TextOptions};
use dispatch::report::{self, Painter};
use dispatch::source::memory::MemorySource;
use dispatch::state::{ResourceState, State};

/// Loads `files`, plans and renders, and checks every property above.
pub fn exercise(files: Vec<(String, Vec<u8>)>) {
    let source = MemorySource::from_bytes(files);
    let mut declared = match decl::load(&source, LoadOptions::default()) {
        Ok(declared) => declared,
        Err(diagnostics) => {
            shown("the error report", &errors(&diagnostics.0));
            return;
        }
    };
    // The policies declared among them, over their manifests, as `plan` checks them.
    let violations = check::declarations(&declared.policies, &declared);
    let diagnostics: Vec<Diagnostic> = violations.iter().map(|v| v.diagnostic()).collect();
    shown("the policy report", &errors(&diagnostics));
    declared.warnings = violations;
    let fresh =
        plan::plan(&declared, None, &Observations::default(), &[]).expect("a plan from nothing");
    rendered(&fresh);
    let mut state = State::new();
    for (address, d) in &declared.resources {
        state.resources.insert(
            address.clone(),
            ResourceState::applied(d.resource.clone(), "2026-11-25T08:00:00Z"),
        );
    }
    let again = plan::plan(&declared, Some(&state), &Observations::default(), &[])
        .expect("a plan from the applied state");
    assert!(
        !again.has_changes(),
        "applied declarations plan changes: {:?}",
        again.summary()
    );
    rendered(&again);
}

fn errors(diagnostics: &[Diagnostic]) -> String {
    report::error::render(diagnostics, "problems", None, Painter { color: false })
}

/// Every human rendering of `plan`, checked; the JSON one parses.
fn rendered(plan: &Plan) {
    for compact in [false, true] {
        let options = TextOptions {
            color: false,
            compact,
        };
        shown("the text plan", &text::plan(plan, options));
    }
    shown(
        "the Markdown plan",
        &report::markdown::summary(plan, 65_536, &Default::default()),
    );
    let json = serde_json::to_string(&report::json::plan(plan)).expect("the JSON plan serializes");
    serde_json::from_str::<serde_json::Value>(&json).expect("the JSON plan parses");
}

/// Asserts that `text` shows no hazard raw.
fn shown(what: &str, text: &str) {
    if let Some(c) = text
        .chars()
        .find(|&c| is_hazard(c) && c != '\n' && c != '\t')
    {
        panic!("{what} shows {c:?} raw:\n{text}");
    }
}
