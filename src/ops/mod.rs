//! Operations: one library call per command (cargo's `ops`). Each wires the pieces — the
//! declarations' source, the state backend, the engine and registries — around the pure core:
//! load, refresh, plan, apply, record.

pub mod apply;
pub mod catalog;
pub mod change;
pub mod diff;
pub mod plan;
pub mod state;

use std::path::PathBuf;

use crate::apply::Options;
use crate::build;
use crate::config::BackendConfig;
use crate::config::{Config, SettingsError};
use crate::console::ApprovalError;
use crate::decl::{self, Declarations, LoadOptions};
use crate::engine::EngineError;
use crate::engine::docker::DockerEngine;
use crate::model::diag::{Diagnostic, Diagnostics, Hint, io_reason};
use crate::model::language::UnknownLanguage;
use crate::model::policy::{Policy, Severity, Violation};
use crate::model::words::agree;
use crate::model::{
    Address, Kind, NAME_RULE, PACKAGE_NAME_PUNCTUATION, PACKAGE_VERSION_PUNCTUATION, Resource, Spec,
};
use crate::plan::PlanError;
use crate::plan::saved::PlanFileError;
use crate::policy;
use crate::refresh::RefreshError;
use crate::registry::oci::Registries;
use crate::source::fs::FsSource;
use crate::source::git::{GitError, Provenance, Repo};
use crate::state::local::LocalBackend;
use crate::state::postgres::PgBackend;
use crate::state::{Backend, State, StateError, StateLock};

/// Everything that can stop an operation, each with what the user can do about it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Declarations(#[from] Diagnostics),
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    PlanFile(#[from] PlanFileError),
    #[error(transparent)]
    Refresh(#[from] RefreshError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Approval(#[from] ApprovalError),
    #[error(transparent)]
    Git(#[from] GitError),
    #[error("cannot start the runtime: {0}")]
    Runtime(std::io::Error),
    #[error("cannot write the output: {0}")]
    Output(std::io::Error),
    #[error("dispatch.toml: {0}")]
    Destination(String),
    #[error("cannot read the {language} template {path} named in dispatch.toml: {}", io_reason(.error))]
    Template {
        language: String,
        path: String,
        error: std::io::Error,
    },
    #[error("cannot read {path}: {}", io_reason(.error))]
    Read { path: String, error: std::io::Error },
    #[error("{} already exist{}", list(.0), agree(.0.len(), "s", ""))]
    AlreadyExist(Vec<Address>),
    #[error("{} do{} not exist", list(.0), agree(.0.len(), "es", ""))]
    DoNotExist(Vec<Address>),
    #[error("{0} does not exist")]
    NoSuch(Address),
    #[error("{0} not found")]
    NotFound(Address),
    #[error("{0} is not in the state")]
    NotInState(Address),
    #[error("there is no state yet; nothing to remove")]
    NoState,
    #[error("there is no state at {0} to copy")]
    NothingToCopy(String),
    #[error("the state is kept in the local file {0} already; there is nowhere to copy it")]
    LocalOnly(String),
    #[error(
        "{to} holds another state (lineage {found}) than {from} (lineage {lineage}); it was not overwritten"
    )]
    Lineage {
        from: String,
        to: String,
        lineage: uuid::Uuid,
        found: uuid::Uuid,
    },
    #[error("{address} is still used by {}", list(.users))]
    InUse {
        address: Address,
        users: Vec<Address>,
    },
    #[error("{address} names base image `{base}`, which does not exist")]
    BaseMissing { address: Address, base: String },
    #[error("invalid name {0:?}")]
    InvalidName(String),
    #[error("invalid tag {0:?}")]
    InvalidTag(String),
    #[error("invalid image reference {url:?}: {reason}")]
    InvalidReference { url: String, reason: String },
    #[error("{0}")]
    InvalidLanguage(UnknownLanguage),
    #[error("{path}: {detail}")]
    Packages { path: String, detail: String },
    #[error("{path}: invalid package {package:?}")]
    InvalidPackage { path: String, package: String },
    #[error("{0} has no image yet")]
    NoImage(Address),
    #[error("{0} has no catalog")]
    NotCatalogued(Address),
    #[error("both {} and {} are named {name:?}", Address::new(Kind::BaseImage, .name), Address::new(Kind::Image, .name))]
    Ambiguous { name: String },
    #[error("{0}")]
    InvalidQuery(String),
}

impl Error {
    /// The problems found in the declarations, each at its place, when that is what failed.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            Error::Declarations(d)
            | Error::Refresh(RefreshError::Declarations(d))
            | Error::Refresh(RefreshError::Registries { diagnostics: d, .. }) => &d.0,
            _ => &[],
        }
    }
}

fn list(addresses: &[Address]) -> String {
    let names: Vec<String> = addresses.iter().map(Address::to_string).collect();
    names.join(", ")
}

impl Hint for Error {
    fn hint(&self) -> Option<String> {
        match self {
            Error::Declarations(_) => None,
            Error::Settings(e) => e.hint(),
            Error::State(e) => e.hint(),
            Error::Plan(e) => e.hint(),
            Error::PlanFile(e) => e.hint(),
            Error::Refresh(e) => e.hint(),
            Error::Engine(e) => e.hint(),
            Error::Approval(e) => e.hint(),
            Error::Git(e) => e.hint(),
            Error::AlreadyExist(_) => Some(
                "use `dispatch update -f FILE` or `dispatch apply` to change what exists".into(),
            ),
            Error::DoNotExist(addresses) => Some(format!(
                "create {} first with `dispatch create -f FILE`",
                agree(addresses.len(), "it", "them")
            )),
            Error::NoSuch(_) => {
                Some("`dispatch get base-image` and `dispatch get image` list what does".into())
            }
            Error::NotFound(address) => Some(format!(
                "`dispatch get {}` lists what exists",
                crate::report::get::noun(address.kind)
            )),
            Error::NotInState(_) => Some("`dispatch state list` shows what is".into()),
            Error::NoImage(_) => Some("`dispatch apply` pulls or builds it".into()),
            Error::NotCatalogued(_) => Some(
                "`dispatch apply` catalogues every recorded image without a catalog that the engine still holds".into(),
            ),
            Error::Ambiguous { name } => Some(format!(
                "name one: `dispatch catalog BaseImage/{name}` or `dispatch catalog Image/{name}`"
            )),
            Error::InvalidQuery(_) => Some(
                "write NAME, NAME with a range in its ecosystem's syntax (`pandas<1.0`, `lodash@^4.17`), or ECOSYSTEM:NAME (`deb:openssl`)".into(),
            ),
            Error::LocalOnly(_) => Some(
                "`state push` and `state pull` copy between the local file and the [backend] in dispatch.toml; set type = \"postgres\" there".into(),
            ),
            Error::Lineage { .. } => Some(
                "check that both name the same project; --force overwrites it (its history keeps the old one)".into(),
            ),
            Error::InUse { users, .. } => {
                Some(format!("delete {} first", agree(users.len(), "it", "them")))
            }
            Error::BaseMissing { base, .. } => Some(format!(
                "create it first with `dispatch create base-image {base} URL --language L`"
            )),
            Error::InvalidName(_) => Some(NAME_RULE.into()),
            Error::InvalidTag(_) => Some("write --tag KEY=VALUE".into()),
            Error::Packages { .. } => {
                Some("write packages as `- name: curl` / `  version: 7.61.1`".into())
            }
            Error::InvalidPackage { .. } => Some(format!(
                "names are letters, digits and `{PACKAGE_NAME_PUNCTUATION}`, versions letters, digits and `{PACKAGE_VERSION_PUNCTUATION}`, each starting with a letter or digit"
            )),
            Error::Runtime(_)
            | Error::Output(_)
            | Error::Destination(_)
            | Error::Template { .. }
            | Error::Read { .. }
            | Error::NoState
            | Error::NothingToCopy(_)
            | Error::InvalidReference { .. }
            | Error::InvalidLanguage(_) => None,
        }
    }
}

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
            policies.extend(decl::load_policies(&FsSource::new(path))?);
        }
        Ok(policies)
    }

    /// The declarations `input` names, whose images may name `state`'s base images.
    pub fn declarations(
        &self,
        input: &Input,
        state: Option<&State>,
    ) -> Result<Declarations, Error> {
        let known_bases = state
            .into_iter()
            .flat_map(|s| s.resources.keys())
            .filter(|a| a.kind == crate::model::Kind::BaseImage)
            .map(|a| a.name.clone())
            .collect();
        let options = LoadOptions {
            known_bases,
            allow_outside_refs: input.allow_outside_refs,
        };
        let loaded = match &input.revision {
            None => decl::load(&FsSource::new(&input.path), options),
            Some(rev) => {
                let repo = Repo::open(input.repo.as_deref(), &input.path)?;
                let commit = repo.commit(rev)?;
                decl::load(&repo.source(commit, rev)?, options)
            }
        };
        let mut declarations = loaded?;
        declarations.policies.extend(self.policies()?);
        // A broken rule of error severity stops the command as an invalid declaration does.
        let policies = &declarations.policies;
        let mut violations = policy::check::declarations(policies, &declarations);
        if let Some(state) = state {
            let now = crate::host::now();
            let aged = policy::check::recorded_bases(policies, &declarations, state, &now);
            violations.extend(aged);
        }
        let (errors, warnings): (Vec<_>, Vec<_>) = violations
            .into_iter()
            .partition(|v| v.severity == Severity::Error);
        if !errors.is_empty() {
            return Err(Diagnostics(errors.iter().map(Violation::diagnostic).collect()).into());
        }
        declarations.warnings = warnings;
        Ok(declarations)
    }

    /// The state, or an empty one.
    pub fn state(&self) -> Result<State, Error> {
        Ok(self.backend.load()?.unwrap_or_default())
    }

    /// Takes the state lock, waiting as long as the config says.
    pub fn lock(&self) -> Result<Box<dyn StateLock>, Error> {
        self.lock_on(self.backend.as_ref())
    }

    /// Takes `backend`'s lock as this run, waiting as long as the config says.
    pub fn lock_on(&self, backend: &dyn Backend) -> Result<Box<dyn StateLock>, Error> {
        let holder = crate::host::holder(&self.command);
        let lock = backend.lock(self.config.lock_timeout, &holder)?;
        if let Some(notice) = lock.notice() {
            crate::console::warn(&notice);
        }
        Ok(lock)
    }

    pub async fn engine(&self) -> Result<DockerEngine, Error> {
        Ok(DockerEngine::connect(&self.config.engine, self.config.timeout).await?)
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

    /// How to apply: the config, with the templates it names read, and where the declarations
    /// came from.
    pub fn apply_options(
        &self,
        keep_images: bool,
        provenance: Option<Provenance>,
    ) -> Result<Options, Error> {
        let mut templates = std::collections::HashMap::new();
        for (language, path) in &self.config.templates {
            let text = std::fs::read_to_string(path).map_err(|error| Error::Template {
                language: language.to_string(),
                path: path.display().to_string(),
                error,
            })?;
            templates.insert(*language, text);
        }
        build::check_destination(self.config.destination.as_deref()).map_err(Error::Destination)?;
        Ok(Options {
            parallelism: self.config.parallelism,
            keep_images,
            destination: self.config.destination.clone(),
            build_args: self.config.build_args.clone(),
            network: self.config.network.clone(),
            builder: self.config.builder,
            templates,
            source_url: provenance.as_ref().and_then(|p| p.source.clone()),
            revision: provenance.map(|p| p.revision),
        })
    }
}

/// A single-threaded runtime: the work is waiting on the engine and registries, not CPU.
pub fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)
}
