//! Where a run works: its settings, the backend that keeps its state, and the adapters it
//! opens from them (the declarations' source, the engine, the registries).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use super::{Error, Interaction};
use futures_util::future::join_all;

use crate::advisory::Index;
use crate::apply::{Member, Options};
use crate::build::identity::Identity;
use crate::build::naming;
use crate::config::{self, BackendConfig, Config, EngineConfig, Settings, SettingsError, Template};
use crate::decl::{self, Declarations, LoadOptions};
use crate::engine::docker::DockerEngine;
use crate::model::diag::{Diagnostic, Diagnostics, did_you_mean};
use crate::model::policy::Policy;
use crate::model::{Kind, Language, Resource, Spec};
use crate::policy;
use crate::registry::oci::Registries;
use crate::source::fs::FsSource;
use crate::source::git::{Provenance, Repo};
use crate::state::local::LocalBackend;
use crate::state::postgres::PgBackend;
use crate::state::{Backend, State, StateLock};

/// Where the declarations are: a folder or file in the work tree, or as it is at a commit.
#[derive(Debug, Clone, Default)]
pub struct Input {
    pub path: PathBuf,
    /// Read them at this revision (any rev-parse syntax), through git, not from the work tree.
    pub revision: Option<String>,
    /// The repository, when not the one `path` is in.
    pub repo: Option<PathBuf>,
    /// Let `@path` name files outside the declarations' folder.
    pub allow_outside_refs: bool,
}

/// The name beside `path` in its folder that `path` was likely meant to be.
fn close_to(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let parent = path.parent().unwrap_or(Path::new(""));
    let folder = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    let names: Vec<String> = std::fs::read_dir(folder)
        .ok()?
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .collect();
    let close = did_you_mean(name, names.iter().map(String::as_str))?;
    Some(parent.join(close).display().to_string())
}

/// What `templates`, `args` and the names of the identity args add to each image's identity.
fn identity(
    templates: &BTreeMap<Language, Template>,
    args: &HashMap<String, String>,
    identity_args: &[String],
) -> Identity {
    let templates = (templates.iter())
        .map(|(language, t)| (*language, t.path.display().to_string(), t.text.as_str()));
    Identity::new(templates, args, identity_args)
}

/// Declarations as loaded, and the commit they came from when they are in git.
pub struct Loaded {
    pub declarations: Declarations,
    pub provenance: Option<Provenance>,
}

/// Where a run works: its settings, where its state is kept, and how it names itself to a
/// second writer.
pub struct Workspace {
    pub config: Config,
    pub backend: Box<dyn Backend>,
    /// The command line, recorded with the state lock.
    pub command: String,
}

impl Workspace {
    /// A workspace whose state is where `config.backend` says; nothing is opened yet.
    pub fn new(config: Config, command: String) -> Result<Self, Error> {
        let backend: Box<dyn Backend> = match &config.backend {
            BackendConfig::Local => Box::new(LocalBackend::new(config.state.clone())),
            BackendConfig::Postgres(settings) => {
                Box::new(PgBackend::new(settings, |key| std::env::var(key).ok())?)
            }
        };
        Ok(Workspace {
            backend,
            config,
            command,
        })
    }

    /// The policies kept apart from the declarations (`--policy`, `policies` in dispatch.toml).
    pub fn policies(&self) -> Result<Vec<Policy>, Error> {
        let mut policies = Vec::new();
        for path in &self.config.policies {
            if !path.exists() {
                return Err(Error::NoSuchPolicy(path.display().to_string()));
            }
            policies.extend(decl::load_policies(&FsSource::new(path))?);
        }
        Ok(policies)
    }

    /// The declarations `input` names, whose images may name `state`'s base images, held to
    /// every policy.
    pub fn declarations(
        &self,
        input: &Input,
        state: Option<&State>,
    ) -> Result<Declarations, Error> {
        Ok(self.load(input, state, false)?.declarations)
    }

    /// As [`Workspace::declarations`], and where they came from when `provenance` is asked
    /// for: the repository is opened once for both.
    pub fn load(
        &self,
        input: &Input,
        state: Option<&State>,
        provenance: bool,
    ) -> Result<Loaded, Error> {
        let (mut loaded, problems) = self.read(input, state, provenance)?;
        if !problems.is_empty() {
            return Err(Diagnostics(problems).into());
        }
        self.hold_to_policies(&mut loaded.declarations, state, true)?;
        Ok(loaded)
    }

    /// The declarations at the side of a diff that is merged into: what could be read, and
    /// its problems, the policies' errors among them, which are that side's and not the
    /// change's. Its known vulnerabilities are not looked for: they are not the change's
    /// either, and the head's are.
    pub fn salvage(&self, input: &Input) -> Result<(Declarations, Vec<Diagnostic>), Error> {
        let (mut loaded, mut problems) = self.read(input, None, false)?;
        match self.hold_to_policies(&mut loaded.declarations, None, false) {
            Err(Error::Policies(broken)) => problems.extend(broken.errors.0),
            done => done?,
        }
        Ok((loaded.declarations, problems))
    }

    /// The declarations `input` names, and where they came from when asked, with their
    /// problems: before the policies.
    fn read(
        &self,
        input: &Input,
        state: Option<&State>,
        provenance: bool,
    ) -> Result<(Loaded, Vec<Diagnostic>), Error> {
        let known_bases = state
            .into_iter()
            .flat_map(|s| s.resources.keys())
            .filter(|a| a.kind == Kind::BaseImage)
            .map(|a| a.name.clone())
            .collect();
        let options = LoadOptions {
            known_bases,
            allow_outside_refs: input.allow_outside_refs,
        };
        let (loaded, provenance) = match &input.revision {
            None if !input.path.exists() => {
                return Err(Error::NoSuchPath {
                    path: input.path.display().to_string(),
                    close: close_to(&input.path),
                });
            }
            None => {
                let provenance = provenance.then(|| self.provenance(input)).flatten();
                (
                    decl::salvage(&FsSource::new(&input.path), options),
                    provenance,
                )
            }
            Some(rev) => {
                let repo = Repo::open(input.repo.as_deref(), &input.path)?;
                let commit = repo.commit(rev)?;
                let provenance = provenance
                    .then(|| repo.provenance(Some(rev)).ok())
                    .flatten();
                (
                    decl::salvage(&repo.source(commit, rev)?, options),
                    provenance,
                )
            }
        };
        let (mut declarations, problems) = loaded;
        // Built with the work tree's settings, whatever the revision: as apply builds them.
        self.identity().attach(&mut declarations, state);
        let loaded = Loaded {
            declarations,
            provenance,
        };
        Ok((loaded, problems))
    }

    /// Adds the `--policy` files' policies to those `declarations` hold, and keeps the
    /// warnings; an error-severity rule broken is the error. With `advisories`, the
    /// dependencies images declare are matched against those the backend holds.
    fn hold_to_policies(
        &self,
        declarations: &mut Declarations,
        state: Option<&State>,
        advisories: bool,
    ) -> Result<(), Error> {
        declarations.policies.extend(self.policies()?);
        let index = match advisories {
            true => self.declared_advisories(declarations)?,
            false => None,
        };
        let now = crate::host::now();
        declarations.warnings = policy::check::enforce(declarations, state, index.as_ref(), &now)?;
        Ok(())
    }

    /// The stored advisories of the ecosystems `declarations`' manifests are in, indexed;
    /// `None` when no image declares any, or the backend holds none of them (a local state
    /// folder not made yet holds none).
    fn declared_advisories(&self, declarations: &Declarations) -> Result<Option<Index>, Error> {
        let ecosystems = policy::vulns::ecosystems(declarations);
        if ecosystems.is_empty() {
            return Ok(None);
        }
        let index = Index::new(self.backend.advisories(Some(&ecosystems))?);
        Ok((!index.is_empty()).then_some(index))
    }

    /// What the settings add to each image's identity: the templates, the identity args.
    pub fn identity(&self) -> Identity {
        let config = &self.config;
        identity(&config.templates, &config.build_args, &config.identity_args)
    }

    /// As [`Workspace::identity`], from dispatch.toml and its templates as they are at `rev`
    /// in the repository `input` names; the work tree's where this folder is not in it.
    pub fn identity_at(&self, input: &Input, rev: &str) -> Result<Identity, Error> {
        let Ok(repo) = Repo::open(input.repo.as_deref(), Path::new(".")) else {
            return Ok(self.identity());
        };
        let commit = repo.commit(rev)?;
        let files = repo.files(commit)?;
        let settings = match files.read(Path::new(config::FILE_NAME))? {
            None => Settings::default(),
            Some(bytes) => {
                let path = PathBuf::from(format!("{rev}:{}", config::FILE_NAME));
                Settings::parse(&path, &String::from_utf8_lossy(&bytes))?
            }
        };
        let read = |path: &Path| match files.read(path) {
            Ok(Some(bytes)) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
            Ok(None) => Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "No such file or directory",
            )),
            Err(e) => Err(std::io::Error::other(e.to_string())),
        };
        let templates = settings.read_templates(read).map_err(|e| match e {
            // Named at the revision, as its dispatch.toml is.
            SettingsError::Template {
                language,
                path,
                error,
            } => SettingsError::Template {
                language,
                path: PathBuf::from(format!("{rev}:{}", path.display())),
                error,
            },
            other => other,
        })?;
        let args = settings.build.identity_args();
        Ok(identity(&templates, &settings.build.args, &args))
    }

    /// The state, or an empty one.
    pub fn state(&self) -> Result<State, Error> {
        Ok(self.backend.load()?.unwrap_or_default())
    }

    /// The state, for a question about what was applied: none at all is said as such.
    pub fn recorded(&self) -> Result<State, Error> {
        (self.backend.load()?).ok_or_else(|| Error::NoStateAt(self.backend.location()))
    }

    /// Takes the state lock, waiting as long as the config says.
    pub fn lock(&self, ui: &dyn Interaction) -> Result<Box<dyn StateLock>, Error> {
        self.lock_on(self.backend.as_ref(), ui)
    }

    /// Takes `backend`'s lock as this run, waiting as long as the config says; a lock taken
    /// over from a run that died is told to `ui`.
    pub fn lock_on(
        &self,
        backend: &dyn Backend,
        ui: &dyn Interaction,
    ) -> Result<Box<dyn StateLock>, Error> {
        let holder = crate::host::holder(&self.command);
        let lock = backend.lock(self.config.lock_timeout, &holder)?;
        if let Some(notice) = lock.notice() {
            ui.notice(&notice);
        }
        Ok(lock)
    }

    pub async fn engine(&self) -> Result<DockerEngine, Error> {
        let engine = self.config.engine();
        Ok(DockerEngine::connect_over(&engine.host, engine.access(), self.config.timeout).await?)
    }

    /// The engines an apply spreads its steps over, each connected (its health check). Of
    /// several, one that does not answer within seconds is left out, and `ui` told; none
    /// answering is the first one's error. The only engine is waited for, as `engine` does.
    pub async fn pool(&self, ui: &dyn Interaction) -> Result<Vec<Member<DockerEngine>>, Error> {
        let several = self.config.engines.len() > 1;
        let timeout = self.config.timeout;
        let connect = |config: &EngineConfig| {
            let config = config.clone();
            async move {
                let engine = if several {
                    DockerEngine::check(&config.host, config.access(), timeout).await
                } else {
                    DockerEngine::connect_over(&config.host, config.access(), timeout).await
                };
                (config, engine)
            }
        };
        let connected = join_all(self.config.engines.iter().map(connect)).await;
        let mut pool = Vec::new();
        let mut first = None;
        for (config, engine) in connected {
            match engine {
                Ok(engine) => pool.push(Member {
                    name: config.name,
                    parallelism: config.parallelism,
                    engine,
                }),
                Err(e) if several => {
                    ui.notice(&format!(
                        "engine {} does not answer, and is left out of this apply: {e}",
                        config.name
                    ));
                    first.get_or_insert(e);
                }
                Err(e) => return Err(e.into()),
            }
        }
        match first {
            Some(e) if pool.is_empty() => Err(e.into()),
            _ => Ok(pool),
        }
    }

    /// A registry client for every registry `resources` name, and the destination.
    pub fn registries<'r>(&self, resources: impl IntoIterator<Item = &'r Resource>) -> Registries {
        let mut hosts: Vec<String> = resources
            .into_iter()
            .filter_map(|r| match &r.spec {
                Spec::BaseImage(b) => b.docker_url.domain.clone(),
                Spec::Image(_) => None,
            })
            .collect();
        if let Some(destination) = &self.config.destination {
            hosts.extend(destination.split('/').next().map(str::to_string));
        }
        Registries::new(
            hosts.iter().map(String::as_str),
            &self.config.insecure,
            self.config.timeout,
        )
    }

    /// Where the declarations `input` names come from, if they are in a git repository.
    pub fn provenance(&self, input: &Input) -> Option<Provenance> {
        Repo::open(input.repo.as_deref(), &input.path)
            .and_then(|repo| repo.provenance(input.revision.as_deref()))
            .ok()
    }

    /// How to apply: the config, and where the declarations came from.
    pub fn apply_options(
        &self,
        keep_images: bool,
        provenance: Option<Provenance>,
    ) -> Result<Options, Error> {
        naming::check_destination(self.config.destination.as_deref())?;
        let templates = (self.config.templates.iter())
            .map(|(language, template)| (*language, template.text.clone()))
            .collect();
        Ok(Options {
            keep_images,
            destination: self.config.destination.clone(),
            build_args: self.config.build_args.clone(),
            network: self.config.network.clone(),
            builder: self.config.builder,
            templates,
            identity: self.identity(),
            source_url: provenance.as_ref().and_then(|p| p.source.clone()),
            revision: provenance.map(|p| p.revision),
        })
    }
}
