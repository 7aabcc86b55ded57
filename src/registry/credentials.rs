//! Registry credentials from the docker config (`DOCKER_CONFIG` or `~/.docker/config.json`),
//! credential helpers included. They are handed to clients and never printed or stored.

use std::fmt;

/// Docker Hub's key in the docker config.
const DOCKER_HUB: &str = "https://index.docker.io/v1/";

#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    Basic { user: String, password: String },
    Token(String),
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Basic { user, .. } => write!(f, "Basic({user}, ***)"),
            Credential::Token(_) => f.write_str("Token(***)"),
        }
    }
}

/// The credential for `registry` (`host[:port]`, `None` for Docker Hub), if the config has one.
pub fn lookup(registry: Option<&str>) -> Option<Credential> {
    let server = registry.unwrap_or(DOCKER_HUB);
    match docker_credential::get_credential(server).ok()? {
        docker_credential::DockerCredential::UsernamePassword(user, password) => {
            Some(Credential::Basic { user, password })
        }
        docker_credential::DockerCredential::IdentityToken(token) => Some(Credential::Token(token)),
    }
}
