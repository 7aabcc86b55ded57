//! Refresh: ask the registries and the engine, concurrently, what really exists ([`ask`]), and
//! turn the answers into observations for the planner ([`observe`]): drift, or diagnostics when
//! a declared base image is gone.

pub mod ask;
pub mod observe;

pub use observe::RefreshError;

use crate::decl::Declarations;
use crate::engine::Engine;
use crate::plan::Observations;
use crate::registry::Registry;
use crate::state::State;

/// What a refresh may ask.
pub struct Sources<'a, E, R> {
    pub registries: &'a R,
    /// Asked whether built images still exist; `None` when no built image is recorded.
    pub engine: Option<&'a E>,
    /// With a destination registry, a built image that is there counts as present.
    pub destination: Option<&'a str>,
}

/// Whether a refresh of `state` needs the engine: only to ask after images dispatch built and
/// did not push to `destination`. A state without any needs none, so a runner without an
/// engine can plan.
pub fn needs_engine(state: &State, destination: Option<&str>) -> bool {
    state.resources.values().any(|r| {
        let reference = r.observed.as_ref().and_then(|o| o.reference.as_deref());
        reference.is_some_and(|r| !crate::build::naming::under_destination(destination, r))
    })
}

/// Checks every declared base image against its registry, and every built image recorded in
/// the state against the engine (and the destination registry). A base image that does not
/// exist is an error at its declaration: a typo fails the plan, not the apply.
pub async fn refresh<E: Engine, R: Registry>(
    declarations: &Declarations,
    state: Option<&State>,
    sources: &Sources<'_, E, R>,
) -> Result<Observations, RefreshError> {
    let answers = ask::ask(declarations, state, sources).await;
    observe::observe(answers, state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::fake::FakeEngine;
    use crate::model::diag::Pos;
    use crate::model::{Address, Kind};
    use crate::plan::Drift;
    use crate::registry::RegistryError;
    use crate::registry::fake::FakeRegistry;
    use crate::state::Observed;
    use crate::testing::{applied, base, declared, image};

    const BASE: &str = "127.0.0.1:5000/base/b:1";

    /// Refreshes `state` against what the fakes answer.
    fn refresh_with(
        state: &State,
        registry: &FakeRegistry,
        engine: &FakeEngine,
        destination: Option<&str>,
    ) -> Result<Observations, RefreshError> {
        let resources: Vec<_> = state
            .resources
            .values()
            .map(|r| r.resource.clone())
            .collect();
        let sources = Sources {
            registries: registry,
            engine: Some(engine),
            destination,
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(refresh(&declared(&resources), Some(state), &sources))
    }

    /// A state with base `b` pulled at `digest` and image `i` built as `built`.
    fn state(digest: &str, built: &str) -> State {
        let mut state = applied(&[base("b", BASE), image("i", "b", None)]);
        for (name, observed) in [
            (
                "BaseImage/b",
                Observed {
                    image_id: Some("sha256:id".into()),
                    digest: Some(digest.into()),
                    reference: None,
                    created: None,
                    ..Default::default()
                },
            ),
            (
                "Image/i",
                Observed {
                    image_id: Some("sha256:built".into()),
                    digest: None,
                    reference: Some(built.into()),
                    created: None,
                    ..Default::default()
                },
            ),
        ] {
            let address: Address = name.parse().unwrap();
            state.resources.get_mut(&address).unwrap().observed = Some(observed);
        }
        state
    }

    #[test]
    fn nothing_moved_is_no_drift() {
        let registry = FakeRegistry::with(&[(BASE, Ok("sha256:aa"))]);
        let engine = FakeEngine::default().holding("dispatch/i:1");
        let observed = refresh_with(
            &state("sha256:aa", "dispatch/i:1"),
            &registry,
            &engine,
            None,
        )
        .unwrap();
        assert!(observed.drift.is_empty(), "{observed:?}");
        // What each base's tag points at is kept, for apply to pull exactly that.
        assert_eq!(
            observed.digests[&Address::new(Kind::BaseImage, "b")],
            "sha256:aa"
        );
    }

    #[test]
    fn a_moved_tag_and_a_missing_image_are_drift() {
        let registry = FakeRegistry::with(&[(BASE, Ok("sha256:bb"))]);
        let engine = FakeEngine::default();
        let observed = refresh_with(
            &state("sha256:aa", "dispatch/i:1"),
            &registry,
            &engine,
            None,
        )
        .unwrap();
        assert_eq!(
            observed.drift[&Address::new(Kind::BaseImage, "b")],
            Drift::Moved {
                recorded: "sha256:aa".into(),
                current: "sha256:bb".into()
            }
        );
        assert_eq!(
            observed.drift[&Address::new(Kind::Image, "i")],
            Drift::Missing {
                reference: "dispatch/i:1".into(),
                detail: "image dispatch/i:1 is gone from the engine".into()
            }
        );
    }

    #[test]
    fn an_image_in_the_destination_registry_is_there() {
        let pushed = "127.0.0.1:5000/f/i:1";
        let registry = FakeRegistry::with(&[(BASE, Ok("sha256:aa")), (pushed, Ok("sha256:cc"))]);
        let observed = refresh_with(
            &state("sha256:aa", pushed),
            &registry,
            &FakeEngine::default(),
            Some("127.0.0.1:5000/f"),
        );
        assert!(observed.unwrap().drift.is_empty());
        let gone = FakeRegistry::with(&[(BASE, Ok("sha256:aa"))]);
        let observed = refresh_with(
            &state("sha256:aa", pushed),
            &gone,
            &FakeEngine::default(),
            Some("127.0.0.1:5000/f"),
        )
        .unwrap();
        assert_eq!(
            observed.drift[&Address::new(Kind::Image, "i")],
            Drift::Missing {
                reference: pushed.into(),
                detail: format!("image {pushed} is gone from the registry")
            }
        );
    }

    #[test]
    fn a_base_the_registry_cannot_find_or_refuses_fails_at_its_declaration() {
        let denied = RegistryError::Denied {
            registry: "127.0.0.1:5000".into(),
            reference: BASE.into(),
            detail: "unauthorized".into(),
        };
        let down = RegistryError::Unreachable {
            registry: "127.0.0.1:5000".into(),
            detail: "HTTP 500 after 3 attempts".into(),
        };
        // (answer, a mistake in the declarations?, message, hint)
        for (answer, mistake, message, hint) in [
            (
                None,
                true,
                "BaseImage/b: 127.0.0.1:5000/base/b:1 does not exist in the registry: manifest unknown",
                "check `dockerUrl`",
            ),
            (
                Some(denied),
                false,
                "BaseImage/b: registry 127.0.0.1:5000 refused access to 127.0.0.1:5000/base/b:1: unauthorized",
                "log in with `docker login REGISTRY`",
            ),
            (
                Some(down),
                false,
                "BaseImage/b: cannot reach registry 127.0.0.1:5000 (HTTP 500 after 3 attempts)",
                "check that the registry is up",
            ),
        ] {
            let registry = match answer {
                Some(err) => FakeRegistry::with(&[(BASE, Err(err))]),
                None => FakeRegistry::default(),
            };
            let engine = FakeEngine::default().holding("dispatch/i:1");
            let err = refresh_with(
                &state("sha256:aa", "dispatch/i:1"),
                &registry,
                &engine,
                None,
            )
            .unwrap_err();
            let diagnostics = match (&err, mistake) {
                (RefreshError::Declarations(d), true) => d,
                (
                    RefreshError::Registries {
                        diagnostics,
                        summary,
                    },
                    false,
                ) => {
                    // The error itself says what failed, not "1 problem in the declarations".
                    assert_eq!(format!("BaseImage/b: {summary}"), message);
                    diagnostics
                }
                _ => panic!("{message}: got {err:?}"),
            };
            let [diagnostic] = diagnostics.0.as_slice() else {
                panic!("{diagnostics:?}");
            };
            assert_eq!(diagnostic.location.file, std::path::Path::new("x.yaml"));
            assert_eq!(diagnostic.location.pos, Pos::FILE);
            assert_eq!(diagnostic.message, message);
            assert!(diagnostic.hint.as_deref().unwrap().starts_with(hint));
        }
    }
}
