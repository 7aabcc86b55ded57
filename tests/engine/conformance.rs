//! The Docker engine and the registry client pass the conformance suites their fakes pass
//! (`engine::conformance`, `registry::conformance`), against the services' engine and registries.

use crate::common::{engine_address, env};

use dispatch::engine::conformance as engine_suite;
use dispatch::engine::docker::DockerEngine;
use dispatch::model::reference::ImageRef;
use dispatch::registry::conformance as registry_suite;
use dispatch::registry::oci::Registries;

/// The services' engine, and a client for the registries named.
async fn connect(registries: &[&str]) -> (DockerEngine, Registries) {
    let engine = DockerEngine::connect(&engine_address(), dispatch::config::DEFAULT_TIMEOUT)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let registries = Registries::new(
        registries.iter().copied(),
        &[],
        dispatch::config::DEFAULT_TIMEOUT,
    );
    (engine, registries)
}

fn parse(text: &str) -> ImageRef {
    ImageRef::parse(text).unwrap()
}

struct Docker {
    engine: DockerEngine,
    registries: Registries,
    /// A loopback address where nothing listens.
    closed: String,
}

impl engine_suite::Subject for Docker {
    type Engine = DockerEngine;
    type Registry = Registries;

    fn engine(&self) -> &DockerEngine {
        &self.engine
    }

    fn registry(&self) -> &Registries {
        &self.registries
    }

    fn base(&self) -> ImageRef {
        parse(&env("DISPATCH_TEST_BASE"))
    }
}

impl registry_suite::Subject for Docker {
    type Registry = Registries;
    type Engine = DockerEngine;

    fn registry(&self) -> &Registries {
        &self.registries
    }

    fn engine(&self) -> &DockerEngine {
        &self.engine
    }

    fn existing(&self) -> ImageRef {
        parse(&env("DISPATCH_TEST_BASE"))
    }

    /// The registry with basic auth, asked without its credentials.
    fn refusing(&self) -> ImageRef {
        parse(&env("DISPATCH_TEST_AUTH_IMAGE"))
    }

    fn unreachable(&self) -> ImageRef {
        parse(&format!("{}/base/x:1", self.closed))
    }

    fn writable(&self) -> ImageRef {
        let registry = env("DISPATCH_TEST_REGISTRY");
        parse(&format!(
            "{registry}/conformance-{}/copy:1",
            std::process::id()
        ))
    }
}

async fn docker() -> Docker {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = listener.local_addr().unwrap().to_string();
    drop(listener);
    let hosts = [
        env("DISPATCH_TEST_REGISTRY"),
        env("DISPATCH_TEST_AUTH_REGISTRY"),
    ];
    let (engine, registries) = connect(&[hosts[0].as_str(), &hosts[1], &closed]).await;
    Docker {
        engine,
        registries,
        closed,
    }
}

#[tokio::test]
async fn the_docker_engine_passes_the_engine_conformance_suite() {
    crate::common::needs!(services);
    engine_suite::run(&docker().await).await;
}

#[tokio::test]
async fn the_registry_client_passes_the_registry_conformance_suite() {
    crate::common::needs!(services);
    registry_suite::run(&docker().await).await;
}
