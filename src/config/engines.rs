//! `[[engines]]`: the Docker engines one apply spreads its builds over, each reached the way
//! Docker reaches it (`unix://`, `tcp://` with TLS, `ssh://` with a key). Without it, one
//! engine: the default (`DOCKER_HOST`, `[engine] host`), as before.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

/// The name of the one engine when `[[engines]]` lists none.
pub const DEFAULT_NAME: &str = "default";

/// One `[[engines]]` table, as written.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineEntry {
    /// How messages, the plan and the state name it.
    pub name: Spanned<String>,
    /// `unix:///path`, `tcp://host:port` or `ssh://user@host:port`.
    pub host: Spanned<String>,
    /// At most this many pulls and builds at once on it (default: `parallelism`).
    pub parallelism: Option<Spanned<usize>>,
    /// Client certificates for a `tcp://` engine that takes TLS.
    pub tls: Option<Spanned<TlsFiles>>,
    /// The private key an `ssh://` engine is logged in to with (ssh's `-i`), relative to
    /// dispatch.toml as written; without it, ssh's own choice (its config, the agent).
    pub identity: Option<Spanned<PathBuf>>,
}

/// The files of a TLS connection, relative to dispatch.toml as written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TlsFiles {
    /// The same files, relative to `dir` (where dispatch.toml is) instead.
    fn under(&self, dir: &Path) -> TlsFiles {
        TlsFiles {
            ca: dir.join(&self.ca),
            cert: dir.join(&self.cert),
            key: dir.join(&self.key),
        }
    }
}

/// One engine of the pool, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineConfig {
    pub name: String,
    pub host: String,
    pub tls: Option<TlsFiles>,
    /// The key an `ssh://` engine is logged in to with.
    pub identity: Option<PathBuf>,
    /// At most this many pulls and builds at once on it.
    pub parallelism: usize,
}

/// What reaching an engine takes besides its address: TLS files for `tcp://`, a key for
/// `ssh://`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Access<'a> {
    pub tls: Option<&'a TlsFiles>,
    pub identity: Option<&'a Path>,
}

impl EngineConfig {
    pub fn access(&self) -> Access<'_> {
        Access {
            tls: self.tls.as_ref(),
            identity: self.identity.as_deref(),
        }
    }
}

/// The pool `entries` describe, or the one `default` engine when they are none; an engine
/// without its own parallelism takes `parallelism`.
pub(super) fn resolve(
    entries: Vec<Spanned<EngineEntry>>,
    default: String,
    parallelism: usize,
) -> Vec<EngineConfig> {
    if entries.is_empty() {
        return vec![EngineConfig {
            name: DEFAULT_NAME.to_string(),
            host: default,
            tls: None,
            identity: None,
            parallelism,
        }];
    }
    entries
        .into_iter()
        .map(Spanned::into_inner)
        .map(|entry| EngineConfig {
            name: entry.name.into_inner(),
            host: entry.host.into_inner(),
            tls: entry.tls.map(Spanned::into_inner),
            identity: entry.identity.map(Spanned::into_inner),
            parallelism: entry.parallelism.map_or(parallelism, Spanned::into_inner),
        })
        .collect()
}

/// The engines' TLS files and ssh keys, taken relative to `dir`, where dispatch.toml is.
pub(super) fn rebase(engines: &mut [EngineConfig], dir: &Path) {
    for engine in engines {
        engine.tls = engine.tls.as_ref().map(|tls| tls.under(dir));
        engine.identity = engine.identity.as_ref().map(|key| dir.join(key));
    }
}

/// What `[[engines]]` says that cannot work, at its offset in dispatch.toml: names used
/// twice, hosts dispatch cannot reach, `[engine]` beside it (`engine`, at its offset), or
/// several engines without a `destination` to share images through. `line` turns an offset
/// into a line number, for messages that name another line.
pub(super) fn check(
    entries: &[Spanned<EngineEntry>],
    engine: Option<usize>,
    destination: bool,
    line: impl Fn(usize) -> usize,
) -> Result<(), (usize, String)> {
    let Some(first) = entries.first() else {
        return Ok(());
    };
    if let Some(engine) = engine {
        return Err((
            first.span().start,
            format!(
                "[[engines]] (line {}) and [engine] (line {}) cannot be used together: list the default engine as one of [[engines]]",
                line(first.span().start),
                line(engine)
            ),
        ));
    }
    let mut seen = HashMap::new();
    for entry in entries.iter().map(Spanned::get_ref) {
        let name = &entry.name;
        if name.get_ref().is_empty() {
            return Err((name.span().start, "an engine's name cannot be empty".into()));
        }
        if let Some(earlier) = seen.insert(name.get_ref(), name.span().start) {
            return Err((
                name.span().start,
                format!(
                    "engine name {:?} is used twice (first at line {}): names must be unique",
                    name.get_ref(),
                    line(earlier)
                ),
            ));
        }
        check_host(entry.host.get_ref(), entry.tls.is_some())
            .map_err(|bad| (entry.host.span().start, bad.to_string()))?;
        if let Some(identity) = &entry.identity
            && !entry.host.get_ref().starts_with("ssh://")
        {
            return Err((
                identity.span().start,
                format!(
                    "host {:?}: identity is for ssh:// engines only",
                    entry.host.get_ref()
                ),
            ));
        }
        if let Some(zero) = entry.parallelism.as_ref().filter(|p| *p.get_ref() == 0) {
            return Err((
                zero.span().start,
                format!(
                    "engine {:?}: parallelism must be at least 1",
                    name.get_ref()
                ),
            ));
        }
    }
    match entries.get(1) {
        Some(second) if !destination => Err((
            second.span().start,
            format!(
                "{} engines need a destination under [registry]: images built on one engine are pushed there so that the others can pull them",
                entries.len()
            ),
        )),
        _ => Ok(()),
    }
}

/// Why a `host` is no address dispatch can reach an engine at.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum BadHost {
    #[error("host {0:?} is not an engine's URL: {1}")]
    NotUrl(String, url::ParseError),
    #[error("host {0:?}: engines are reached over unix://, tcp:// or ssh://, not {1}://")]
    Scheme(String, String),
    #[error(
        "host {0:?} is not an engine's URL: unix:///var/run/docker.sock, tcp://host:2376 or ssh://user@host:22"
    )]
    Shape(String),
    #[error("host {0:?}: tls is for tcp:// engines only")]
    Tls(String),
}

/// Why `host` is no address dispatch can reach an engine at, if it is not.
fn check_host(host: &str, tls: bool) -> Result<(), BadHost> {
    let url = url::Url::parse(host).map_err(|e| BadHost::NotUrl(host.into(), e))?;
    let fits = match url.scheme() {
        "unix" => url.host_str().is_none_or(str::is_empty) && url.path().len() > 1,
        "tcp" => url.host_str().is_some_and(|h| !h.is_empty()) && url.port().is_some(),
        "ssh" => {
            url.host_str().is_some_and(|h| !h.is_empty())
                && url.password().is_none()
                && matches!(url.path(), "" | "/")
                && url.query().is_none()
        }
        other => return Err(BadHost::Scheme(host.into(), other.into())),
    };
    if !fits {
        return Err(BadHost::Shape(host.into()));
    }
    if tls && url.scheme() != "tcp" {
        return Err(BadHost::Tls(host.into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{BTreeMap, Config, Overrides, Settings};

    const POOL: &str = "[registry]\ndestination = \"127.0.0.1:5000/f\"\n\n[[engines]]\nname = \"a\"\nhost = \"unix:///var/run/docker.sock\"\nparallelism = 2\n\n[[engines]]\nname = \"b\"\nhost = \"tcp://builder-2.example:2376\"\ntls = { ca = \"certs/ca.pem\", cert = \"certs/cert.pem\", key = \"certs/key.pem\" }\n\n[[engines]]\nname = \"c\"\nhost = \"ssh://builder@builder-3.example:2222\"\nidentity = \"keys/id_ed25519\"\n";

    fn parse(text: &str) -> Result<Settings, String> {
        Settings::parse(Path::new("dispatch.toml"), text).map_err(|e| e.to_string())
    }

    #[test]
    fn engines_are_listed_with_their_parallelism_and_tls_files_beside_dispatch_toml() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(crate::config::FILE_NAME), POOL).unwrap();
        let overrides = Overrides {
            parallelism: Some(3),
            ..Overrides::default()
        };
        let config = Config::load(dir.path(), overrides).unwrap();
        assert_eq!(
            config.engines,
            [
                EngineConfig {
                    name: "a".into(),
                    host: "unix:///var/run/docker.sock".into(),
                    tls: None,
                    identity: None,
                    parallelism: 2,
                },
                EngineConfig {
                    name: "b".into(),
                    host: "tcp://builder-2.example:2376".into(),
                    tls: Some(TlsFiles {
                        ca: dir.path().join("certs/ca.pem"),
                        cert: dir.path().join("certs/cert.pem"),
                        key: dir.path().join("certs/key.pem"),
                    }),
                    identity: None,
                    parallelism: 3,
                },
                EngineConfig {
                    name: "c".into(),
                    host: "ssh://builder@builder-3.example:2222".into(),
                    tls: None,
                    identity: Some(dir.path().join("keys/id_ed25519")),
                    parallelism: 3,
                },
            ]
        );
        // DOCKER_HOST names the default engine, not one of a pool.
        let settings = parse(POOL).unwrap();
        let docker_host = |_: &str| Some("unix:///elsewhere.sock".to_string());
        let config = Config::resolve(settings, BTreeMap::new(), Overrides::default(), docker_host);
        assert_eq!(config.engine().name, "a");
        assert_eq!(config.engine().host, "unix:///var/run/docker.sock");
    }

    #[test]
    fn what_cannot_work_is_an_error_at_its_line() {
        let both = format!("[engine]\nhost = \"unix:///x.sock\"\n{POOL}");
        let single = "[[engines]]\nname = \"a\"\nhost = \"unix:///a.sock\"\n";
        for (text, want) in [
            (
                both,
                "dispatch.toml:6:1: [[engines]] (line 6) and [engine] (line 1) cannot be used together: list the default engine as one of [[engines]]",
            ),
            (
                POOL.replace("[registry]\ndestination = \"127.0.0.1:5000/f\"\n", ""),
                "dispatch.toml:7:1: 3 engines need a destination under [registry]: images built on one engine are pushed there so that the others can pull them",
            ),
            (
                POOL.replace("name = \"b\"", "name = \"a\""),
                "dispatch.toml:10:8: engine name \"a\" is used twice (first at line 5): names must be unique",
            ),
            (
                POOL.replace("tcp://builder-2.example:2376", "tcp://builder-2.example"),
                "dispatch.toml:11:8: host \"tcp://builder-2.example\" is not an engine's URL: unix:///var/run/docker.sock, tcp://host:2376 or ssh://user@host:22",
            ),
            (
                format!("{single}identity = \"id_ed25519\"\n"),
                "dispatch.toml:4:12: host \"unix:///a.sock\": identity is for ssh:// engines only",
            ),
            (
                format!("{single}parallelism = 0\n"),
                "dispatch.toml:4:15: engine \"a\": parallelism must be at least 1",
            ),
            (
                format!("{single}port = 2376\n"),
                "dispatch.toml:4:1: unknown field `port`, expected one of `name`, `host`, `parallelism`, `tls`, `identity`",
            ),
            (
                format!("{single}tls = {{ ca = \"ca.pem\", crt = \"c.pem\" }}\n"),
                "dispatch.toml:4:24: unknown field `crt`, expected one of `ca`, `cert`, `key`",
            ),
            (
                "[[engines]]\nhost = \"unix:///a.sock\"\n".to_string(),
                "dispatch.toml:1:1: missing field `name`",
            ),
        ] {
            assert_eq!(parse(&text).unwrap_err(), want, "{text}");
        }
        assert!(parse(single).is_ok(), "one engine needs no destination");
    }

    #[test]
    fn hosts_are_unix_tcp_or_ssh_urls() {
        for good in [
            "unix:///var/run/docker.sock",
            "tcp://127.0.0.1:2376",
            "tcp://builder-2.example:2376",
            "ssh://user@builder",
            "ssh://builder:2222",
            "ssh://user@builder:2222",
        ] {
            assert_eq!(check_host(good, false), Ok(()), "{good}");
        }
        for (bad, why) in [
            ("unix://var/run/docker.sock", "is not an engine's URL"),
            ("unix://", "is not an engine's URL"),
            ("tcp://builder", "is not an engine's URL"),
            ("http://builder:2375", "not http://"),
            ("builder:2375", "not builder://"),
            ("/var/run/docker.sock", "relative URL without a base"),
            ("ssh://u:password@builder", "is not an engine's URL"),
            (
                "ssh://builder/var/run/docker.sock",
                "is not an engine's URL",
            ),
            ("ssh://builder?x=1", "is not an engine's URL"),
        ] {
            let err = check_host(bad, false).unwrap_err().to_string();
            assert!(err.contains(why), "{bad}: {err}");
        }
        assert_eq!(
            check_host("ssh://u@b", true).unwrap_err().to_string(),
            "host \"ssh://u@b\": tls is for tcp:// engines only"
        );
    }
}
