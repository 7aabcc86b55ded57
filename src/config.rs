//! Every setting of a run, resolved once into a [`Config`]: flags (and the environment
//! variables clap reads for them) > other environment variables > `dispatch.toml` > defaults.
//! `dispatch.toml` holds project defaults, so CI and laptops run the same command line; every
//! key is documented in README.md ("dispatch.toml").

pub mod engines;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::model::Language;
use crate::model::diag::{Diagnostic, Hint, Location, Pos, io_reason};
use crate::model::image::Builder;
pub use engines::{Access, EngineConfig, TlsFiles};

pub const FILE_NAME: &str = "dispatch.toml";

/// The state file when neither `--state`, `DISPATCH_STATE` nor `state` says otherwise.
pub const DEFAULT_STATE: &str = ".dispatch/state.json";
/// Where the engine listens when neither `DOCKER_HOST` nor `[engine] host` says otherwise.
pub const DEFAULT_ENGINE: &str = "unix:///var/run/docker.sock";
/// How many pulls and builds run at once when nothing says otherwise.
pub const DEFAULT_PARALLELISM: usize = 4;
/// How long a registry or engine request may take, retries included, when nothing says
/// otherwise. Pulls, builds and pushes are bounded by it only while nothing moves.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// What the command line says, where it says anything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    pub state: Option<PathBuf>,
    pub parallelism: Option<usize>,
    pub lock_timeout: Option<Duration>,
    pub timeout: Option<Duration>,
    pub policies: Vec<PathBuf>,
}

/// The settings of one run, every precedence already applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub state: PathBuf,
    pub parallelism: usize,
    pub lock_timeout: Duration,
    /// The longest a registry or engine request may take.
    pub timeout: Duration,
    /// The Docker engines an apply spreads its builds over: `[[engines]]`, or the one default
    /// engine. Never empty; the first is the one other commands ask.
    pub engines: Vec<EngineConfig>,
    pub destination: Option<String>,
    /// Where `create seed-images` finds the seed base images (`[registry] seed`).
    pub seed: Option<String>,
    pub insecure: Vec<String>,
    pub network: Option<String>,
    pub builder: Builder,
    pub build_args: HashMap<String, String>,
    /// The names of the build args that are part of an image's identity.
    pub identity_args: Vec<String>,
    /// The Dockerfile templates `[templates]` names, read with the settings.
    pub templates: BTreeMap<Language, Template>,
    /// Where the state is kept.
    pub backend: BackendConfig,
    /// Files or folders of `kind: Policy` documents kept apart from the declarations.
    pub policies: Vec<PathBuf>,
    /// How old advisories may be before a plan says so (`max-advisory-age`).
    pub max_advisory_age: Option<Duration>,
}

/// Where the state is kept: `config.state` (local), or a PostgreSQL database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendConfig {
    Local,
    Postgres(PgSettings),
}

/// How long a PostgreSQL state lock lives without a heartbeat when nothing says otherwise.
pub const DEFAULT_LOCK_TTL: Duration = Duration::from_secs(120);
pub const DEFAULT_PG_SCHEMA: &str = "dispatch";
pub const DEFAULT_WORKSPACE: &str = "default";

/// A state in PostgreSQL, as `[backend]` and the environment say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgSettings {
    /// A `postgres://` URL or a `key=value` string; `None`: the `PG*` variables alone.
    pub url: Option<String>,
    pub schema: String,
    /// One of several independent states in one database.
    pub workspace: String,
    pub lock_ttl: Duration,
    /// The longest a connection attempt may take.
    pub connect_timeout: Duration,
}

/// A Dockerfile template that replaces a language's built-in one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// As `[templates]` names it.
    pub path: PathBuf,
    pub text: String,
}

impl Config {
    /// Reads `dispatch.toml` and the templates it names from `dir`, and resolves them under
    /// `overrides` and the environment.
    pub fn load(dir: &Path, overrides: Overrides) -> Result<Config, SettingsError> {
        let settings = Settings::load(dir)?;
        let templates = settings.read_templates(|path| std::fs::read_to_string(dir.join(path)))?;
        let mut config = Config::resolve(settings, templates, overrides, |key| {
            std::env::var(key).ok()
        });
        engines::rebase(&mut config.engines, dir);
        Ok(config)
    }

    /// The engine commands other than apply ask: the first of the pool.
    pub fn engine(&self) -> &EngineConfig {
        &self.engines[0]
    }

    /// `overrides` > `env` > `settings` > defaults. An empty variable counts as unset.
    pub fn resolve(
        settings: Settings,
        templates: BTreeMap<Language, Template>,
        overrides: Overrides,
        env: impl Fn(&str) -> Option<String>,
    ) -> Config {
        let env = |key: &str| env(key).filter(|value| !value.is_empty());
        let engine = env("DOCKER_HOST")
            .or(settings.engine.and_then(|e| e.into_inner().host))
            .unwrap_or_else(|| DEFAULT_ENGINE.to_string());
        let parallelism = overrides
            .parallelism
            .or(settings.parallelism)
            .unwrap_or(DEFAULT_PARALLELISM);
        let timeout = overrides
            .timeout
            .or(settings.timeout)
            .unwrap_or(DEFAULT_TIMEOUT);
        let backend = settings.backend;
        let kind = match env("DISPATCH_BACKEND").as_deref() {
            Some("postgres") => Some(BackendKind::Postgres),
            Some("local") => Some(BackendKind::Local),
            _ => backend.kind,
        };
        let backend = match kind.unwrap_or_default() {
            BackendKind::Local => BackendConfig::Local,
            BackendKind::Postgres => BackendConfig::Postgres(PgSettings {
                url: env("DISPATCH_PG_URL").or(backend.url),
                schema: backend
                    .schema
                    .unwrap_or_else(|| DEFAULT_PG_SCHEMA.to_string()),
                workspace: env("DISPATCH_WORKSPACE")
                    .or(backend.workspace)
                    .unwrap_or_else(|| DEFAULT_WORKSPACE.to_string()),
                lock_ttl: backend.lock_ttl.unwrap_or(DEFAULT_LOCK_TTL),
                connect_timeout: timeout,
            }),
        };
        let identity_args = settings.build.identity_args();
        Config {
            state: overrides
                .state
                .or(settings.state)
                .unwrap_or_else(|| PathBuf::from(DEFAULT_STATE)),
            parallelism,
            lock_timeout: overrides
                .lock_timeout
                .or(settings.lock_timeout)
                .unwrap_or(Duration::ZERO),
            timeout,
            engines: engines::resolve(settings.engines, engine, parallelism),
            destination: settings.registry.destination,
            seed: settings.registry.seed,
            insecure: settings.registry.insecure,
            network: settings.build.network.map(toml::Spanned::into_inner),
            builder: settings.build.builder.unwrap_or_default(),
            identity_args,
            build_args: settings.build.args,
            templates,
            backend,
            policies: settings
                .policies
                .into_iter()
                .chain(overrides.policies)
                .collect(),
            max_advisory_age: settings.max_advisory_age,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Settings {
    /// Path of the state file, relative to the current directory.
    pub state: Option<PathBuf>,
    /// How many pulls and builds run at once during apply.
    pub parallelism: Option<usize>,
    /// How long to wait for another run's state lock, e.g. "30s" or "5m".
    #[serde(default, with = "humantime_serde_opt")]
    pub lock_timeout: Option<Duration>,
    /// How long a registry or engine request may take, retries included, e.g. "30s".
    #[serde(default, with = "humantime_serde_opt")]
    pub timeout: Option<Duration>,
    #[serde(default)]
    pub registry: RegistrySettings,
    /// The one engine, when `engines` lists none. Spanned, so that both may be named when
    /// they are given together.
    pub engine: Option<toml::Spanned<EngineSettings>>,
    /// The engines an apply spreads its builds over (README, "Several engines").
    #[serde(default)]
    pub engines: Vec<toml::Spanned<engines::EngineEntry>>,
    #[serde(default)]
    pub build: BuildSettings,
    /// Dockerfile templates per language (`python3 = "templates/python3.Dockerfile"`),
    /// used instead of the built-in ones. Paths are relative to the current directory.
    #[serde(default)]
    pub templates: BTreeMap<Language, PathBuf>,
    #[serde(default)]
    pub backend: BackendSettings,
    /// Files or folders of `kind: Policy` documents checked besides those among the
    /// declarations (`--policy` adds more). Paths are relative to the current directory.
    #[serde(default)]
    pub policies: Vec<PathBuf>,
    /// How old the newest advisory of an ecosystem may be before a plan warns that the
    /// advisories are stale, e.g. "7days" (grype's max-allowed-built-age).
    #[serde(default, with = "humantime_serde_opt")]
    pub max_advisory_age: Option<Duration>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BackendKind {
    /// The state file `state` names.
    #[default]
    Local,
    Postgres,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct BackendSettings {
    /// `local` (the default; the file `state` names) or `postgres`; `DISPATCH_BACKEND` wins.
    #[serde(rename = "type")]
    pub kind: Option<BackendKind>,
    /// The database, e.g. "postgres://dispatch@db:5432/dispatch"; `DISPATCH_PG_URL` wins, and
    /// the `PG*` variables fill in what it leaves out (the password in `PGPASSWORD`).
    pub url: Option<String>,
    /// The schema of dispatch's tables (default "dispatch").
    pub schema: Option<String>,
    /// Which of the database's states (default "default"); `DISPATCH_WORKSPACE` wins.
    pub workspace: Option<String>,
    /// How long a lock lives without a heartbeat before another run may take it over.
    #[serde(default, with = "humantime_serde_opt")]
    pub lock_ttl: Option<Duration>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct EngineSettings {
    /// The Docker engine's address, e.g. "unix:///var/run/docker.sock"; `DOCKER_HOST` wins.
    pub host: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct BuildSettings {
    /// The network builds run on, e.g. "host" so a package index on 127.0.0.1 is reachable.
    /// Spanned, so that a network the builder cannot use is reported at its line.
    pub network: Option<toml::Spanned<String>>,
    /// `buildkit` (the default) or `classic`: which of the engine's builders builds images.
    pub builder: Option<Builder>,
    /// Build args for every build (package index URLs, say). Not part of an image's identity,
    /// unless `identity-args` names them.
    #[serde(default)]
    pub args: HashMap<String, String>,
    /// The names of those `args` that change what an image is (a runtime version a template
    /// reads, say): a change of their value rebuilds every image. Spanned, so that a name
    /// `args` does not set is reported at its line.
    #[serde(default)]
    pub identity_args: Vec<toml::Spanned<String>>,
}

impl BuildSettings {
    /// The names `identity-args` lists.
    pub fn identity_args(&self) -> Vec<String> {
        self.identity_args
            .iter()
            .map(|name| name.get_ref().clone())
            .collect()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RegistrySettings {
    /// Where built images are pushed, e.g. "127.0.0.1:5000/functions".
    pub destination: Option<String>,
    /// The registry and path holding the original Dispatch's seed base images (`python3-base`,
    /// ...), e.g. "registry.lan/dispatchframework": `create seed-images` without `--registry`.
    pub seed: Option<String>,
    /// Registries (`host:port`) spoken to over plain HTTP although not on loopback.
    #[serde(default)]
    pub insecure: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read {path}: {}", io_reason(.error))]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("cannot read the {language} template {} named in dispatch.toml: {}", .path.display(), io_reason(.error))]
    Template {
        language: Language,
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{path}:{line}:{col}: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        col: usize,
        message: String,
    },
}

impl Hint for SettingsError {
    fn hint(&self) -> Option<String> {
        match self {
            SettingsError::Invalid { .. } => {
                Some("the keys are documented in README.md, section \"dispatch.toml\"".into())
            }
            SettingsError::Read { .. } | SettingsError::Template { .. } => None,
        }
    }
}

impl SettingsError {
    /// The error at its place, for the settings of a revision a diff compares against, whose
    /// problems are that side's.
    pub fn diagnostic(&self) -> Diagnostic {
        let at = |path: &Path, pos| Location {
            file: path.to_path_buf(),
            pos,
        };
        let diagnostic = match self {
            SettingsError::Invalid {
                path,
                line,
                col,
                message,
            } => Diagnostic::new(at(path, Pos::new(*line as u64, *col as u64)), message),
            SettingsError::Template {
                language,
                path,
                error,
            } => Diagnostic::new(
                at(path, Pos::FILE),
                format!(
                    "the {language} template named in dispatch.toml cannot be read: {}",
                    io_reason(error)
                ),
            ),
            SettingsError::Read { path, error } => {
                Diagnostic::new(at(path, Pos::FILE), io_reason(error))
            }
        };
        match self.hint() {
            Some(hint) => diagnostic.with_hint(hint),
            None => diagnostic,
        }
    }
}

impl Settings {
    /// Reads `dispatch.toml` from `dir`; no file means all defaults.
    pub fn load(dir: &Path) -> Result<Settings, SettingsError> {
        let path = dir.join(FILE_NAME);
        match std::fs::read_to_string(&path) {
            Ok(text) => Settings::parse(&path, &text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Settings::default()),
            Err(error) => Err(SettingsError::Read { path, error }),
        }
    }

    /// The settings `text` holds, read from `path` (as messages name it).
    pub fn parse(path: &Path, text: &str) -> Result<Settings, SettingsError> {
        let line = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
        let invalid = |offset: usize, message: String| {
            let before = &text[..offset.min(text.len())];
            SettingsError::Invalid {
                path: path.to_path_buf(),
                line: line(offset),
                col: before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1,
                message,
            }
        };
        let settings: Settings = toml::from_str(text)
            .map_err(|e| invalid(e.span().map_or(0, |s| s.start), e.message().to_string()))?;
        settings
            .check(line)
            .map_err(|(offset, message)| invalid(offset, message))?;
        Ok(settings)
    }

    /// The templates `[templates]` names, each path given to `read` as written there.
    pub fn read_templates(
        &self,
        read: impl Fn(&Path) -> Result<String, std::io::Error>,
    ) -> Result<BTreeMap<Language, Template>, SettingsError> {
        let read = |(language, path): (&Language, &PathBuf)| {
            let text = read(path).map_err(|error| SettingsError::Template {
                language: *language,
                path: path.clone(),
                error,
            })?;
            let path = path.clone();
            Ok((*language, Template { path, text }))
        };
        self.templates.iter().map(read).collect()
    }

    /// Settings that parse but cannot work together: where, and why.
    fn check(&self, line: impl Fn(usize) -> usize) -> Result<(), (usize, String)> {
        engines::check(
            &self.engines,
            self.engine.as_ref().map(|e| e.span().start),
            self.registry.destination.is_some(),
            line,
        )?;
        let builder = self.build.builder.unwrap_or_default();
        let unset = (self.build.identity_args.iter())
            .find(|name| !self.build.args.contains_key(name.get_ref()));
        if let Some(name) = unset {
            return Err((
                name.span().start,
                format!(
                    "identity-args names {:?}, which [build.args] does not set",
                    name.get_ref()
                ),
            ));
        }
        match &self.build.network {
            Some(network) if !builder.supports_network(network.get_ref()) => Err((
                network.span().start,
                format!(
                    "network {:?} needs builder = \"classic\": BuildKit builds run only on the \"host\", \"none\" or default network",
                    network.get_ref()
                ),
            )),
            _ => Ok(()),
        }
    }
}

mod humantime_serde_opt {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(&text)
            .map(Some)
            .map_err(|e| serde::de::Error::custom(format!("{text:?}: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backend_is_local_unless_postgres_is_asked_for() {
        let resolve = |toml: &str, env: &[(&str, &str)]| {
            let settings: Settings = toml::from_str(toml).unwrap();
            let env: Vec<(String, String)> = env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            Config::resolve(settings, BTreeMap::new(), Overrides::default(), |key| {
                env.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
            })
            .backend
        };
        assert_eq!(resolve("", &[]), BackendConfig::Local);
        let toml = "timeout = \"9s\"\n[backend]\ntype = \"postgres\"\nurl = \"postgres://a@db/x\"\nschema = \"s\"\nworkspace = \"prod\"\nlock-ttl = \"30s\"\n";
        assert_eq!(
            resolve(toml, &[]),
            BackendConfig::Postgres(PgSettings {
                url: Some("postgres://a@db/x".into()),
                schema: "s".into(),
                workspace: "prod".into(),
                lock_ttl: Duration::from_secs(30),
                connect_timeout: Duration::from_secs(9),
            })
        );
        let BackendConfig::Postgres(from_env) = resolve(
            "",
            &[
                ("DISPATCH_BACKEND", "postgres"),
                ("DISPATCH_PG_URL", "postgres://b@db/y"),
                ("DISPATCH_WORKSPACE", "staging"),
            ],
        ) else {
            panic!("DISPATCH_BACKEND=postgres asks for PostgreSQL");
        };
        assert_eq!(from_env.url.as_deref(), Some("postgres://b@db/y"));
        assert_eq!(from_env.workspace, "staging");
        assert_eq!(from_env.schema, DEFAULT_PG_SCHEMA);
        assert_eq!(from_env.lock_ttl, DEFAULT_LOCK_TTL);
        assert_eq!(
            resolve(toml, &[("DISPATCH_BACKEND", "local")]),
            BackendConfig::Local
        );
    }

    #[test]
    fn reads_every_key() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(FILE_NAME),
            "state = \"s.json\"\nparallelism = 2\nlock-timeout = \"30s\"\ntimeout = \"45s\"\nmax-advisory-age = \"7days\"\n[registry]\ndestination = \"127.0.0.1:5000/f\"\nseed = \"registry.lan/df\"\ninsecure = [\"registry.lan:5000\"]\n[engine]\nhost = \"unix:///tmp/d.sock\"\n[build]\nnetwork = \"host\"\nbuilder = \"classic\"\nidentity-args = [\"PIP_NO_INDEX\"]\n[build.args]\nPIP_NO_INDEX = \"1\"\n[templates]\npython3 = \"t/py.Dockerfile\"\n",
        )
        .unwrap();
        let s = Settings::load(dir.path()).unwrap();
        assert_eq!(s.state.as_deref(), Some(Path::new("s.json")));
        assert_eq!(s.parallelism, Some(2));
        assert_eq!(s.lock_timeout, Some(Duration::from_secs(30)));
        assert_eq!(s.timeout, Some(Duration::from_secs(45)));
        assert_eq!(s.max_advisory_age, Some(Duration::from_secs(7 * 86_400)));
        assert_eq!(s.registry.destination.as_deref(), Some("127.0.0.1:5000/f"));
        assert_eq!(s.registry.seed.as_deref(), Some("registry.lan/df"));
        assert_eq!(s.registry.insecure, ["registry.lan:5000"]);
        assert_eq!(
            s.engine.unwrap().into_inner().host.as_deref(),
            Some("unix:///tmp/d.sock")
        );
        assert_eq!(
            s.build.network.as_ref().map(|n| n.get_ref().as_str()),
            Some("host")
        );
        assert_eq!(s.build.builder, Some(Builder::Classic));
        assert_eq!(s.build.args["PIP_NO_INDEX"], "1");
        assert_eq!(s.build.identity_args(), ["PIP_NO_INDEX"]);
        assert_eq!(
            s.templates[&Language::Python3],
            Path::new("t/py.Dockerfile")
        );
    }

    #[test]
    fn unknown_keys_name_their_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(FILE_NAME),
            "parallelism = 2\nstate_file = \"x\"\n",
        )
        .unwrap();
        let err = Settings::load(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("dispatch.toml:2:1: unknown field `state_file`"),
            "{err}"
        );
    }

    #[test]
    fn buildkit_builds_only_on_host_none_or_default_networks() {
        let dir = tempfile::tempdir().unwrap();
        let load = |toml: &str| {
            std::fs::write(dir.path().join(FILE_NAME), toml).unwrap();
            Settings::load(dir.path()).map_err(|e| e.to_string())
        };
        for network in ["host", "none", "default"] {
            assert!(load(&format!("[build]\nnetwork = \"{network}\"\n")).is_ok());
        }
        let err = load("[build]\nnetwork = \"functions\"\n").unwrap_err();
        assert!(
            err.ends_with("dispatch.toml:2:11: network \"functions\" needs builder = \"classic\": BuildKit builds run only on the \"host\", \"none\" or default network"),
            "{err}"
        );
        assert!(load("[build]\nnetwork = \"functions\"\nbuilder = \"classic\"\n").is_ok());
    }

    #[test]
    fn identity_args_name_build_args_that_are_set() {
        let err = Settings::parse(
            Path::new("dispatch.toml"),
            "[build]\nidentity-args = [\"PYTHON\", \"PYTHN\"]\n[build.args]\nPYTHON = \"3.11\"\n",
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "dispatch.toml:2:28: identity-args names \"PYTHN\", which [build.args] does not set"
        );
    }

    #[test]
    fn missing_file_is_defaults() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Settings::load(dir.path()).unwrap(), Settings::default());
    }

    #[test]
    fn flags_win_over_the_environment_over_the_file_over_defaults() {
        let none = |_: &str| None;
        let defaults = Config::resolve(
            Settings::default(),
            BTreeMap::new(),
            Overrides::default(),
            none,
        );
        assert_eq!(defaults.state, Path::new(DEFAULT_STATE));
        assert_eq!(defaults.parallelism, DEFAULT_PARALLELISM);
        assert_eq!(defaults.lock_timeout, Duration::ZERO);
        assert_eq!(defaults.engine().host, DEFAULT_ENGINE);
        assert_eq!(defaults.engines.len(), 1);
        assert_eq!(defaults.builder, Builder::BuildKit);

        let file = Settings {
            state: Some("file.json".into()),
            parallelism: Some(2),
            lock_timeout: Some(Duration::from_secs(30)),
            engine: Some(toml::Spanned::new(
                0..0,
                EngineSettings {
                    host: Some("unix:///file.sock".into()),
                },
            )),
            ..Settings::default()
        };
        let from_file = Config::resolve(file.clone(), BTreeMap::new(), Overrides::default(), none);
        assert_eq!(
            (
                from_file.state.as_path(),
                from_file.parallelism,
                from_file.lock_timeout
            ),
            (Path::new("file.json"), 2, Duration::from_secs(30))
        );
        assert_eq!(from_file.engine().host, "unix:///file.sock");
        assert_eq!(from_file.engine().parallelism, 2);

        let env = |key: &str| (key == "DOCKER_HOST").then(|| "tcp://127.0.0.1:2375".to_string());
        let flags = Overrides {
            state: Some("flag.json".into()),
            parallelism: Some(8),
            lock_timeout: Some(Duration::from_secs(5)),
            timeout: Some(Duration::from_secs(7)),
            policies: vec!["ci/policy.yaml".into()],
        };
        let resolved = Config::resolve(file.clone(), BTreeMap::new(), flags, env);
        assert_eq!(
            (
                resolved.state.as_path(),
                resolved.parallelism,
                resolved.lock_timeout
            ),
            (Path::new("flag.json"), 8, Duration::from_secs(5))
        );
        assert_eq!(resolved.engine().host, "tcp://127.0.0.1:2375");
        assert_eq!(resolved.timeout, Duration::from_secs(7));
        assert_eq!(defaults.timeout, DEFAULT_TIMEOUT);
        // An empty DOCKER_HOST is unset.
        let empty = |_: &str| Some(String::new());
        assert_eq!(
            Config::resolve(file, BTreeMap::new(), Overrides::default(), empty)
                .engine()
                .host,
            "unix:///file.sock"
        );
    }
}
