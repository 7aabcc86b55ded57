//! Refresh: ask the registries and the engine, concurrently, what really exists ([`ask`]), and
//! turn the answers into observations for the planner ([`observe`]): drift, or diagnostics when
//! a declared base image is gone.

pub mod ask;
pub mod observe;
pub mod rebase;

pub use observe::RefreshError;

use crate::decl::Declarations;
use crate::engine::Engine;
use crate::plan::Observations;
use crate::registry::Registry;
use crate::state::{Catalogs, State};

/// What a refresh may ask.
pub struct Sources<'a, E, R> {
    pub registries: &'a R,
    /// Asked whether built images still exist; `None` when no built image is recorded.
    pub engine: Option<&'a E>,
    /// With a destination registry, a built image that is there counts as present.
    pub destination: Option<&'a str>,
    /// The recorded catalogs, which the rebase decisions read (and a base's catalog read from
    /// its registry joins).
    pub catalogs: Option<&'a dyn Catalogs>,
    /// Ask what the rebase decisions need (not when images are to be built whatever they say).
    pub rebases: bool,
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
/// the state against the engine (and the destination registry); for each pushed image whose
/// base moved, asks what the rebase decision needs. A base image that does not exist is an
/// error at its declaration: a typo fails the plan, not the apply.
pub async fn refresh<E: Engine, R: Registry>(
    declarations: &Declarations,
    state: Option<&State>,
    sources: &Sources<'_, E, R>,
) -> Result<Observations, RefreshError> {
    let answers = ask::ask(declarations, state, sources).await;
    let mut observations = observe::observe(answers, state)?;
    if let Some(state) = state.filter(|_| sources.rebases) {
        let digests = &observations.digests;
        let asked = rebase::ask(
            declarations,
            state,
            digests,
            sources.registries,
            sources.catalogs,
        )
        .await;
        observations.bases = asked.bases;
        observations.images = asked.images;
    }
    Ok(observations)
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
            catalogs: None,
            rebases: true,
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
    fn what_a_rebase_decision_needs_is_asked_when_a_base_moved() {
        use crate::model::catalog::Ecosystem;
        use crate::plan::Action;
        use crate::registry::fake::layer;
        use crate::state::memory::MemoryBackend;

        let registry = FakeRegistry::default();
        let status = |openssl: &str| {
            format!(
                "Package: openssl\nStatus: install ok installed\nVersion: {openssl}\n\nPackage: python3\nStatus: install ok installed\nVersion: 3.11.2-1\n"
            )
        };
        let base = |openssl: &str| {
            layer(
                &[("/var/lib/dpkg/status", status(openssl).as_bytes())],
                true,
            )
        };
        let settings = serde_json::json!({});
        let old = registry.push_image(BASE, &[base("3.0.11-1")], settings.clone());
        let pushed = "127.0.0.1:5000/f/i:1";
        let own = layer(&[("/function/main.py", b"print()")], false);
        let built = registry.push_image(pushed, &[base("3.0.11-1"), own], settings.clone());
        // Patched in place: the same tag, a new digest.
        let new = registry.push_image(BASE, &[base("3.0.11-2")], settings);
        let mut state = state(&old, pushed);
        let image = state
            .resources
            .get_mut(&Address::new(Kind::Image, "i"))
            .unwrap();
        let observed = image.observed.as_mut().unwrap();
        observed.digest = Some(built);
        observed.base = Some(old.clone());
        let catalogs = MemoryBackend::default();
        let resources: Vec<_> = state
            .resources
            .values()
            .map(|r| r.resource.clone())
            .collect();
        let declarations = declared(&resources);
        let engine = FakeEngine::default();
        let sources = Sources {
            registries: &registry,
            engine: Some(&engine),
            destination: Some("127.0.0.1:5000/f"),
            catalogs: Some(&catalogs),
            rebases: true,
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let observations = runtime
            .block_on(refresh(&declarations, Some(&state), &sources))
            .unwrap();
        let openssl = |digest: &str| {
            let facts = observations.bases[digest].as_ref().unwrap();
            let packages = facts.packages.as_ref().unwrap();
            let found = packages.iter().find(|p| p.name == "openssl").unwrap();
            assert_eq!(found.ecosystem, Ecosystem::Deb);
            (facts.diff_ids.len(), found.version.clone())
        };
        assert_eq!(openssl(&old), (1, "3.0.11-1".to_string()));
        assert_eq!(openssl(&new), (1, "3.0.11-2".to_string()));
        let image = observations.images[&Address::new(Kind::Image, "i")]
            .as_ref()
            .unwrap();
        assert_eq!(image.diff_ids.len(), 2);
        // The new base's catalog is kept, by its config's digest, for its pull to find.
        let kept = catalogs.catalogs(&catalogs.ids()).unwrap();
        assert_eq!(kept.len(), 2);
        let plan = crate::plan::plan(&declarations, Some(&state), &observations, &[]).unwrap();
        assert_eq!(
            plan.changes[1].action,
            Action::Rebase,
            "{:?}",
            plan.changes[1]
        );

        // A base gone from the registry: the plan says what could not be read.
        let mut gone = state.clone();
        let base_entry = gone
            .resources
            .get_mut(&Address::new(Kind::BaseImage, "b"))
            .unwrap();
        let lost = format!("sha256:{}", "0".repeat(64));
        base_entry.observed.as_mut().unwrap().digest = Some(lost.clone());
        let image = gone
            .resources
            .get_mut(&Address::new(Kind::Image, "i"))
            .unwrap();
        image.observed.as_mut().unwrap().base = Some(lost.clone());
        let observations = runtime
            .block_on(refresh(&declarations, Some(&gone), &sources))
            .unwrap();
        let why = observations.bases[&lost].clone().unwrap_err().0;
        assert!(
            why.starts_with("what base sha256:000000000000 holds could not be read: "),
            "{why}"
        );
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
