//! The rebase step: an image moved onto its base patched in place, in the registry alone. Its
//! manifest, its old base's config and its new base's manifest and config are read; the
//! rebased image is put together ([`crate::build::rebase`]); its catalog (the new base's, its
//! own layers' over it) is checked against the policies; the new base's layers are mounted
//! into its repository (copied where they cannot be), its config uploaded, and its manifest
//! pushed as the tag a build on the new base would have. Nothing is built or pulled but the
//! base, which its own step pulled.

use super::Context;
use super::record::Done;
use super::step::{Finished, Recorded, StepError, planned};
use crate::build::rebase::{self, Held, Parts};
use crate::build::recipe;
use crate::catalog::CatalogError;
use crate::engine::Engine;
use crate::model::catalog::Catalog;
use crate::model::oci::Manifest;
use crate::model::reference::ImageRef;
use crate::model::words::count;
use crate::model::{Address, ImageSpec};
use crate::plan::{Rebase, short};
use crate::policy::check;
use crate::registry::{self, Carried, Registry};
use crate::state::Observed;

/// `repository@digest`, where `repository` is that of `reference`.
fn at(reference: &ImageRef, digest: &str) -> Result<ImageRef, StepError> {
    Ok(ImageRef::parse(&format!(
        "{}@{digest}",
        reference.repository()
    ))?)
}

/// The registry's trouble reading or writing `what`.
fn failed(what: String, error: impl std::fmt::Display) -> StepError {
    StepError::Registry {
        what,
        error: error.to_string(),
    }
}

pub(super) async fn run<E: Engine, R: Registry>(
    address: &Address,
    image: &ImageSpec,
    rebase: &Rebase,
    recorded: Recorded,
    cx: &Context<'_, E, R>,
) -> Result<Finished, StepError> {
    let previous = recorded.previous.clone().unwrap_or_default();
    let (Some(built), Some(built_digest)) = (&previous.reference, &previous.digest) else {
        return Err(StepError::NotPushed);
    };
    let built = ImageRef::parse(built)?;
    // The tag a build on the new base would have: what this image is, rebased.
    let planned = planned(address, image, recorded.base, cx).await?;
    let pulled = (planned.base_observed.as_ref()).and_then(|o| o.digest.clone());
    if pulled.as_deref() != Some(rebase.onto.as_str()) {
        return Err(StepError::BaseElsewhere {
            planned: rebase.onto.clone(),
            pulled: pulled.unwrap_or_else(|| "no digest".into()),
        });
    }
    let target = planned.reference;
    let registries = cx.registries;
    let moved = |observed: Observed| Observed {
        reference: Some(target.to_string()),
        base: Some(rebase.onto.clone()),
        ..observed
    };
    let finished = |done: Done| Finished {
        done,
        leftover: recipe::superseded(
            recorded.previous.as_ref(),
            target.as_str(),
            cx.options.keep_images,
        ),
        note: None,
        inputs: Some(crate::model::inputs::Inputs::clone(&planned.identity)),
    };
    // Already there: a rebase (or a build of the same inputs) whose record an interrupted
    // apply did not keep. Made in the registry, as this rebase would have made it: recorded
    // so, not as an image the engine holds.
    if let Ok(digest) = registries.digest(&target).await {
        let manifest = registries.manifest(&target).await;
        let config = manifest.ok().and_then(|raw| match Manifest::parse(&raw) {
            Ok(Manifest::Image(image)) => Some(image.config.digest),
            _ => None,
        });
        return Ok(finished(Done::Reused(moved(Observed {
            image_id: config,
            digest: Some(digest),
            rebased_from: Some(rebase.from.clone()),
            ..Observed::default()
        }))));
    }
    cx.reporter.started(
        address,
        &format!(
            "rebasing {built} onto {}@{}",
            rebase.base,
            short(&rebase.onto)
        ),
    );
    let base_url = &planned.base.docker_url;
    let own = at(&built, built_digest)?;
    let (_, image_manifest, image_config) = (registry::image(registries, &own, None).await)
        .map_err(|e| failed(format!("reading {own}"), e))?;
    let platform = image_config.platform();
    let old = at(base_url, &rebase.from)?;
    let (_, _, old_config) = (registry::image(registries, &old, Some(&platform)).await)
        .map_err(|e| failed(format!("reading the base it was built on, {old}"), e))?;
    let new = at(base_url, &rebase.onto)?;
    let (new, new_manifest, new_config) = (registry::image(registries, &new, Some(&platform))
        .await)
        .map_err(|e| failed(format!("reading its new base, {new}"), e))?;
    let labels = recipe::labels(
        cx.options.revision.as_ref(),
        cx.options.source_url.as_deref(),
        base_url,
        &planned.pin,
    );
    let rebased = rebase::rebase(Parts {
        image: Held {
            manifest: &image_manifest,
            config: &image_config,
        },
        old_base: &old_config,
        new_base: Held {
            manifest: &new_manifest,
            config: &new_config,
        },
        labels: &labels,
    })?;
    let id = crate::model::oci::digest(&rebased.config);
    // What it holds is checked before its tag is pushed.
    let note = checked(cx, address, &previous, &new_manifest.config.digest, &id).await?;
    // The new base's layers, then its own (there already, unless the destination moved).
    let own_layers = &image_manifest.layers[old_config.diff_ids().len()..];
    let layers =
        (rebased.base_layers.iter().map(|l| (&new, l))).chain(own_layers.iter().map(|l| (&own, l)));
    let (mut mounted, mut copied) = (0, 0);
    for (from, layer) in layers {
        let carried = (registries.carry(from, &target, &layer.digest).await)
            .map_err(|e| failed(format!("carrying layer {} into {target}", layer.digest), e))?;
        match carried {
            Carried::Mounted => mounted += 1,
            Carried::Copied => copied += 1,
            Carried::Present => {}
        }
    }
    let carried = [(mounted, "mounted"), (copied, "copied")]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, how)| format!("{} {how}", count(n, "layer")))
        .reduce(|a, b| format!("{a}, {b}"));
    (registries.put_blob(&target, rebased.config).await)
        .map_err(|e| failed(format!("uploading the config of {target}"), e))?;
    let digest = (registries.put_manifest(&target, &rebased.manifest).await)
        .map_err(|e| failed(format!("pushing {target}"), e))?;
    let done = Done::Rebased(moved(Observed {
        image_id: Some(id),
        digest: Some(digest),
        rebased_from: Some(rebase.from.clone()),
        ..Observed::default()
    }));
    Ok(Finished {
        note: carried
            .into_iter()
            .chain(note)
            .reduce(|a, b| format!("{a}; {b}")),
        ..finished(done)
    })
}

/// The catalog of the image rebased (its own layers' packages, as recorded for the image it
/// was, over its new base's `base`), recorded as `id`'s, and checked against the policies:
/// the error is what refuses it, the note its warnings or why it has no catalog.
async fn checked<E: Engine, R: Registry>(
    cx: &Context<'_, E, R>,
    address: &Address,
    previous: &Observed,
    base: &str,
    id: &str,
) -> Result<Option<String>, StepError> {
    cx.reporter.started(address, "checking what it holds");
    let ids: Vec<String> = (previous.image_id.iter().cloned())
        .chain([base.to_string()])
        .collect();
    let taken = match cx.catalogs.catalogs(&ids) {
        Ok(mut found) => (previous.image_id.as_ref())
            .and_then(|own| found.remove(own))
            .zip(found.remove(base))
            .ok_or_else(|| CatalogError::NotRecorded {
                image: address.to_string(),
            }),
        Err(e) => Err(CatalogError::Recorded(e)),
    };
    let (own, base_catalog): (Catalog, Catalog) = match taken {
        Ok(pair) => pair,
        Err(e) if check::checks_packages(cx.policies) => return Err(StepError::Unreadable(e)),
        Err(e) => return Ok(Some(format!("not catalogued: {e}"))),
    };
    let rebased = own.rebased(base, &base_catalog);
    let entries = rebased.entries(Some(&base_catalog));
    let now = crate::host::now();
    let verdict = check::catalog(cx.policies, cx.advisories, address, &entries, &now);
    let verdict = check::verdict(&verdict)?;
    (cx.catalogs.put_catalog(id, &rebased)).map_err(|error| {
        StepError::Unreadable(CatalogError::Record {
            image: id.to_string(),
            error,
        })
    })?;
    Ok(verdict)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::apply::record::{Outcome, Tally};
    use crate::apply::{Options, Reporter, run as apply};
    use crate::engine::fake::FakeEngine;
    use crate::model::Kind;
    use crate::model::catalog::{Ecosystem, Package};
    use crate::model::image::Progress;
    use crate::model::oci::{ImageManifest, RawManifest};
    use crate::model::policy::Policy;
    use crate::plan::{Action, Plan};
    use crate::refresh::{Sources, refresh};
    use crate::registry::fake::{FakeRegistry, layer};
    use crate::state::memory::MemoryBackend;
    use crate::state::{Backend, Catalogs, State, conformance};
    use crate::testing::{applied, base, declared, image};

    const BASE: &str = "127.0.0.1:5000/base/b:1";
    const BUILT: &str = "127.0.0.1:5000/f/i:old";
    const DESTINATION: &str = "127.0.0.1:5000/f";

    /// What each step said when it finished.
    #[derive(Default)]
    struct Said(std::sync::Mutex<Vec<String>>);

    impl Reporter for Said {
        fn started(&self, _: &Address, _: &str) {}
        fn progress(&self, _: &Address, _: &Progress) {}
        fn finished(&self, address: &Address, _: Outcome, message: &str) {
            self.0.lock().unwrap().push(format!("{address}: {message}"));
        }
    }

    /// A base at `b:1` whose openssl is at `openssl`.
    fn base_layer(openssl: &str) -> (Vec<u8>, Vec<u8>) {
        let status = format!(
            "Package: openssl\nStatus: install ok installed\nVersion: {openssl}\n\nPackage: python3\nStatus: install ok installed\nVersion: 3.11.2-1\n"
        );
        layer(&[("/var/lib/dpkg/status", status.as_bytes())], true)
    }

    fn image_manifest(registry: &FakeRegistry, reference: &str) -> (RawManifest, ImageManifest) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let raw = runtime
            .block_on(registry.manifest(&ImageRef::parse(reference).unwrap()))
            .unwrap();
        let Manifest::Image(manifest) = Manifest::parse(&raw).unwrap() else {
            unreachable!()
        };
        (raw, manifest)
    }

    /// The world after `i` was built on `b` and pushed, and `b:1` was patched in place.
    struct World {
        engine: FakeEngine,
        catalogs: MemoryBackend,
        state: State,
        old: String,
        new: String,
    }

    fn world() -> World {
        let registry = FakeRegistry::default();
        let env = |env: &[&str]| json!({ "Env": env });
        let old = registry.push_image(
            BASE,
            &[base_layer("3.0.11-1")],
            env(&["PATH=/bin", "LANG=C"]),
        );
        let own = layer(&[("/function/main.py", b"print()")], false);
        let built = registry.push_image(
            BUILT,
            &[base_layer("3.0.11-1"), own],
            env(&["PATH=/bin", "LANG=C", "APP=1"]),
        );
        let new = registry.push_image(
            BASE,
            &[base_layer("3.0.11-2")],
            env(&["PATH=/usr/bin:/bin", "LANG=C"]),
        );
        let built_id = image_manifest(&registry, BUILT).1.config.digest;
        let mut state = applied(&[base("b", BASE), image("i", "b", None)]);
        for (address, entry) in state.resources.iter_mut() {
            entry.observed = Some(match address.kind {
                Kind::BaseImage => Observed {
                    image_id: Some("sha256:old-base".into()),
                    digest: Some(old.clone()),
                    ..Observed::default()
                },
                Kind::Image => Observed {
                    image_id: Some(built_id.clone()),
                    digest: Some(built.clone()),
                    reference: Some(BUILT.into()),
                    base: Some(old.clone()),
                    ..Observed::default()
                },
            });
        }
        let catalogs = MemoryBackend::default();
        let own = Catalog {
            base: Some("sha256:old-base".into()),
            packages: vec![Package::plain(Ecosystem::Pypi, "requests", "2.31.0")],
            removed: vec![],
            ..Default::default()
        };
        catalogs.put_catalog(&built_id, &own).unwrap();
        World {
            engine: FakeEngine::pulling_from(registry),
            catalogs,
            state,
            old,
            new,
        }
    }

    impl World {
        fn plan(&self) -> Plan {
            let resources: Vec<_> = (self.state.resources.values())
                .map(|r| r.resource.clone())
                .collect();
            let declarations = declared(&resources);
            let sources = Sources {
                registries: self.engine.registry(),
                engine: Some(&self.engine),
                destination: Some(DESTINATION),
                catalogs: Some(&self.catalogs),
                rebases: true,
            };
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            let observed = runtime
                .block_on(refresh(&declarations, Some(&self.state), &sources))
                .unwrap();
            crate::plan::plan(&declarations, Some(&self.state), &observed, &[]).unwrap()
        }

        fn apply(&mut self, plan: &Plan, policies: &[Policy]) -> Tally {
            self.applied(plan, policies).0
        }

        /// The apply's tally, and what each step said.
        fn applied(&mut self, plan: &Plan, policies: &[Policy]) -> (Tally, Vec<String>) {
            let said = Said::default();
            let backend = MemoryBackend::default();
            let lock = backend
                .lock(Duration::ZERO, &conformance::holder("apply"))
                .unwrap();
            let options = Options {
                destination: Some(DESTINATION.into()),
                ..Options::default()
            };
            // The world's engine, as a pool of one for the apply.
            let pool = [crate::apply::Member {
                name: crate::config::engines::DEFAULT_NAME.into(),
                parallelism: 2,
                engine: std::mem::take(&mut self.engine),
            }];
            let cx = crate::apply::Context {
                engine: &pool[0].engine,
                pool: &pool,
                named: false,
                registries: pool[0].engine.registry(),
                options: &options,
                catalogs: &self.catalogs,
                policies,
                advisories: None,
                reporter: &said,
                cancel: &AtomicBool::new(false),
            };
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            let tally = runtime
                .block_on(apply(plan, &mut self.state, lock.as_ref(), &cx))
                .unwrap();
            let [member] = pool;
            self.engine = member.engine;
            let mut said = said.0.into_inner().unwrap();
            said.sort();
            (tally, said)
        }

        fn image(&self) -> Observed {
            let address = Address::new(Kind::Image, "i");
            self.state.resources[&address].observed.clone().unwrap()
        }
    }

    #[test]
    fn an_image_is_rebased_in_the_registry_and_recorded() {
        let mut world = world();
        let plan = world.plan();
        assert_eq!(
            plan.changes[1].action,
            Action::Rebase,
            "{:?}",
            plan.changes[1]
        );
        let (tally, said) = world.applied(&plan, &[]);
        assert_eq!(
            (tally.pulled, tally.rebased, tally.built),
            (1, 1, 0),
            "{tally:?}"
        );
        assert!(
            !world.engine.calls().iter().any(|c| c.starts_with("build")),
            "{:?}",
            world.engine.calls()
        );
        let observed = world.image();
        let target = observed.reference.clone().unwrap();
        assert!(
            target.starts_with("127.0.0.1:5000/f/i:") && target != BUILT,
            "{target}"
        );
        assert_eq!(
            said[1],
            format!("Image/i: rebased as {target} (1 layer mounted)")
        );
        assert_eq!(observed.rebased_from.as_deref(), Some(world.old.as_str()));
        assert_eq!(observed.base.as_deref(), Some(world.new.as_str()));
        // The new base's layer, then the image's own; its settings as a build would have them.
        let registry = world.engine.registry();
        let (raw, rebased) = image_manifest(registry, &target);
        assert_eq!(observed.digest.as_deref(), Some(raw.digest.as_str()));
        let (_, patched) = image_manifest(registry, BASE);
        let (_, built) = image_manifest(registry, BUILT);
        assert_eq!(rebased.layers[0].digest, patched.layers[0].digest);
        assert_eq!(rebased.layers[1].digest, built.layers[1].digest);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let config = runtime
            .block_on(registry.blob(
                &ImageRef::parse(&target).unwrap(),
                &rebased.config.digest,
                1 << 20,
            ))
            .unwrap();
        let config: serde_json::Value = serde_json::from_slice(&config).unwrap();
        assert_eq!(
            config["config"]["Env"],
            json!(["PATH=/usr/bin:/bin", "LANG=C", "APP=1"])
        );
        assert_eq!(
            config["config"]["Labels"]["org.opencontainers.image.base.digest"],
            world.new.as_str()
        );
        // Its catalog: its own packages over the new base's, kept by its config's digest.
        let id = observed.image_id.unwrap();
        assert_eq!(id, rebased.config.digest);
        let catalog = world
            .catalogs
            .catalogs(std::slice::from_ref(&id))
            .unwrap()
            .remove(&id)
            .unwrap();
        assert_eq!(
            catalog.base.as_deref(),
            Some(patched.config.digest.as_str())
        );
        // Nothing left to do.
        assert!(!world.plan().has_changes(), "{:?}", world.plan().changes);
    }

    #[test]
    fn layers_are_copied_where_the_registry_refuses_to_mount_them() {
        let mut world = world();
        let registry = std::mem::take(&mut world.engine).into_registry();
        world.engine = FakeEngine::pulling_from(registry.refusing_mounts("127.0.0.1:5000"));
        let plan = world.plan();
        let (tally, said) = world.applied(&plan, &[]);
        assert_eq!(tally.rebased, 1);
        let target = world.image().reference.unwrap();
        assert_eq!(
            said[1],
            format!("Image/i: rebased as {target} (1 layer copied)")
        );
    }

    #[test]
    fn a_policy_refuses_before_the_tag_is_pushed() {
        let mut world = world();
        let plan = world.plan();
        let yaml = "kind: Policy\nname: p\npackages:\n  deny:\n    - {ecosystem: deb, name: openssl, versions: \">= 3.0.11-2\"}\n";
        let source = crate::source::memory::MemorySource::new(&[("p.yaml", yaml)]);
        let policies = crate::decl::load_policies(&source).unwrap();
        let tally = world.apply(&plan, &policies);
        assert_eq!((tally.rebased, tally.failed), (0, 1));
        let address = Address::new(Kind::Image, "i");
        let entry = &world.state.resources[&address];
        assert!(
            entry.reason[0].starts_with("refused by policy"),
            "{:?}",
            entry.reason
        );
        let pushed = world.engine.registry().references();
        assert_eq!(pushed, [BASE, BUILT], "nothing tagged");
    }

    #[test]
    fn a_rebase_pushed_before_its_record_is_adopted() {
        let mut world = world();
        let before = world.state.clone();
        let plan = world.plan();
        world.apply(&plan, &[]);
        let rebased = world.image();
        // Killed after the push: the base's record kept, the image's not.
        let base = Address::new(Kind::BaseImage, "b");
        let mut killed = before;
        killed
            .resources
            .insert(base.clone(), world.state.resources[&base].clone());
        world.state = killed;
        let plan = world.plan();
        assert_eq!(plan.changes[0].action, Action::NoOp);
        assert_eq!(plan.changes[1].action, Action::Rebase);
        let tally = world.apply(&plan, &[]);
        assert_eq!((tally.rebased, tally.reused), (0, 1), "{tally:?}");
        let adopted = world.image();
        assert_eq!(adopted.reference, rebased.reference);
        assert_eq!(adopted.digest, rebased.digest);
        assert_eq!(adopted.image_id, rebased.image_id);
        // Made in the registry, as the rebase made it: the engine never held it.
        assert_eq!(adopted.rebased_from, rebased.rebased_from);
        assert!(!world.plan().has_changes());
    }
}
