//! Build contexts through a real engine (started by `.ci/services`): the built-in Dockerfile, an
//! override template and a template carried by the base image. Busybox bases, seconds each.

use crate::common::env;

use std::collections::{BTreeMap, HashMap};

use dispatch::apply::step::carried_template;
use dispatch::build::context::{self, BuildInputs};
use dispatch::build::dockerfile::{TEMPLATE_LABEL, Template};
use dispatch::engine::docker::DockerEngine;
use dispatch::engine::{BuildRequest, Engine};
use dispatch::model::image::{BuildFailure, Builder};
use dispatch::model::reference::ImageRef;
use dispatch::model::{ImageSpec, Language};

async fn engine() -> DockerEngine {
    DockerEngine::connect(
        &crate::common::engine_address(),
        dispatch::config::DEFAULT_TIMEOUT,
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

/// The busybox test base, pulled, as `repo@sha256:...`.
async fn pinned_base(engine: &DockerEngine) -> String {
    let base = ImageRef::parse(&env("DISPATCH_TEST_BASE")).unwrap();
    let local = engine.pull(&base, &|_| {}).await.unwrap();
    let digest = local
        .digest_in(&base)
        .expect("the pulled base has a digest");
    assert_eq!(digest, env("DISPATCH_TEST_BASE_DIGEST"));
    format!("{}@{digest}", base.repository())
}

fn spec(packages: &[(&str, Option<&str>)], manifest: Option<&str>) -> ImageSpec {
    dispatch::testing::image_spec("busybox", packages, manifest)
}

async fn build(
    engine: &DockerEngine,
    inputs: &BuildInputs<'_>,
    tag: &str,
    args: &HashMap<String, String>,
    builder: Builder,
) -> Result<String, BuildFailure> {
    let context = context::context(inputs);
    let args = context.with_args(args);
    engine
        .build(request(context.tar, tag, &args, builder), &|_| {})
        .await
}

fn request<'a>(
    context: Vec<u8>,
    tag: &'a str,
    build_args: &'a HashMap<String, String>,
    builder: Builder,
) -> BuildRequest<'a> {
    BuildRequest {
        context,
        tag,
        build_args,
        network: None,
        builder,
        base: None,
        labels: Default::default(),
    }
}

/// A tar of (path, content, mode) for a hand-made base image.
fn tar(files: &[(&str, &str, u32)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, content, mode) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(*mode);
        builder
            .append_data(&mut header, path, content.as_bytes())
            .unwrap();
    }
    builder.into_inner().unwrap()
}

/// Builds a base image from `files` (a `Dockerfile` among them) and returns its id.
async fn base_image(engine: &DockerEngine, tag: &str, files: &[(&str, &str, u32)]) -> String {
    engine
        .build(
            request(tar(files), tag, &HashMap::new(), Builder::BuildKit),
            &|_| {},
        )
        .await
        .unwrap_or_else(|e| panic!("building the test base {tag}: {e:?}"))
}

fn file<'a>(files: &'a [(String, Vec<u8>)], path: &str) -> &'a str {
    let (_, content) = files.iter().find(|(p, _)| p == path).unwrap_or_else(|| {
        panic!(
            "{path} not in {:?}",
            files.iter().map(|f| &f.0).collect::<Vec<_>>()
        )
    });
    std::str::from_utf8(content).unwrap()
}

#[tokio::test]
async fn system_packages_on_busybox_fail_naming_the_step() {
    crate::common::needs!(services);
    let engine = engine().await;
    let base = pinned_base(&engine).await;
    let image = spec(&[("curl", Some("8.0")), ("git", None)], None);
    let inputs = BuildInputs {
        base: &base,
        language: Language::Python3,
        image: &image,
        template: Template::BuiltIn,
        identity_args: &BTreeMap::new(),
    };
    // Both builders name the failed step the same way, with its output.
    for builder in [Builder::BuildKit, Builder::Classic] {
        let failure = build(
            &engine,
            &inputs,
            "dispatch-test/build-no-package-manager:1",
            &HashMap::new(),
            builder,
        )
        .await
        .expect_err("busybox has no package manager: the build must fail");
        let step = failure
            .step
            .as_ref()
            .map(|s| s.to_string())
            .unwrap_or_default();
        assert!(
            step.starts_with("Step 2/2 : RUN set -e;") && step.contains("apt-get"),
            "{builder:?}: {failure:?}"
        );
        assert_eq!(
            failure.message, "the step's command returned a non-zero code: 1",
            "{builder:?}: {failure:?}"
        );
        assert_eq!(
            failure.last_lines,
            [
                "dispatch: cannot install the system packages curl=8.0 git: the base image has none of apt-get, apk, dnf, tdnf, yum, microdnf"
            ],
            "{builder:?}: {failure:?}"
        );
    }
}

#[tokio::test]
async fn built_in_dockerfile_installs_with_the_image_tools_and_settings_args() {
    crate::common::needs!(services);
    let engine = engine().await;
    let base = pinned_base(&engine).await;
    // Stand-ins for apk and pip3 that record how they were called.
    let apk = "#!/bin/sh\necho \"$*\" > /apk-log\n";
    let pip3 = "#!/bin/sh\nset -e\ngrep -qv '^fail' requirements.txt || { echo 'pip3: cannot install fail' >&2; exit 1; }\n\
        { echo \"cwd=$(pwd)\"; echo \"args=$*\"; echo \"break=$PIP_BREAK_SYSTEM_PACKAGES\"; \
        echo \"index=${PIP_INDEX_URL-unset}\"; echo \"no-index=${PIP_NO_INDEX-unset}\"; \
        cat requirements.txt; } > /function/pip-log\n";
    let dockerfile = format!("FROM {base}\nCOPY apk pip3 /usr/local/bin/\n");
    // Named by its tag: BuildKit cannot build FROM an image id.
    let tools = "dispatch-test/build-tools-base:1";
    base_image(
        &engine,
        tools,
        &[
            ("Dockerfile", &dockerfile, 0o644),
            ("apk", apk, 0o755),
            ("pip3", pip3, 0o755),
        ],
    )
    .await;

    let image = spec(
        &[("curl", Some("8.0")), ("git", None)],
        Some("requests==2.31.0\n"),
    );
    let inputs = BuildInputs {
        base: tools,
        language: Language::Python3,
        image: &image,
        template: Template::BuiltIn,
        identity_args: &BTreeMap::new(),
    };
    let args = HashMap::from([(
        "PIP_INDEX_URL".to_string(),
        "http://127.0.0.1:9/simple".to_string(),
    )]);
    let tag = "dispatch-test/build-tools:1";
    build(&engine, &inputs, tag, &args, Builder::BuildKit)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let apk_log = engine.files(tag, "/apk-log").await.unwrap();
    assert_eq!(file(&apk_log, "apk-log"), "add --no-cache curl=8.0 git\n");
    let function = engine.files(tag, "/function").await.unwrap();
    assert_eq!(file(&function, "requirements.txt"), "requests==2.31.0\n");
    assert_eq!(
        file(&function, "pip-log"),
        "cwd=/function\nargs=install --no-cache-dir -r requirements.txt\nbreak=1\n\
         index=http://127.0.0.1:9/simple\nno-index=unset\nrequests==2.31.0\n"
    );

    // A failing install fails the build, at the install step.
    let failing = spec(&[], Some("fail\n"));
    let inputs = BuildInputs {
        image: &failing,
        ..inputs
    };
    let failure = build(
        &engine,
        &inputs,
        "dispatch-test/build-tools:fail",
        &args,
        Builder::BuildKit,
    )
    .await
    .expect_err("pip3 failed: the build must fail");
    assert!(
        failure
            .step
            .as_ref()
            .is_some_and(|s| s.text.contains("pip3 install")),
        "{failure:?}"
    );
    assert!(
        failure
            .last_lines
            .iter()
            .any(|l| l.contains("pip3: cannot install fail")),
        "{failure:?}"
    );
    for tag in [tag, "dispatch-test/build-tools-base:1"] {
        engine.remove(tag).await.unwrap();
    }
}

#[tokio::test]
async fn override_template_gets_the_manifest_and_packages_files() {
    crate::common::needs!(services);
    let engine = engine().await;
    let base = pinned_base(&engine).await;
    let image = spec(
        &[("curl", Some("8.0")), ("git", None)],
        Some("left-pad@1\n"),
    );
    let template = "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nARG SYSTEM_PACKAGES_FILE\nARG PACKAGES_FILE\n\
        COPY ${SYSTEM_PACKAGES_FILE} ${PACKAGES_FILE} /tmp/dispatch/\n\
        RUN set -e; mkdir -p /function; cat /tmp/dispatch/${PACKAGES_FILE} > /function/installed; \
        cat /tmp/dispatch/${SYSTEM_PACKAGES_FILE} > /function/system\n";
    let inputs = BuildInputs {
        base: &base,
        language: Language::Nodejs,
        image: &image,
        template: Template::Override(template.into()),
        identity_args: &BTreeMap::new(),
    };
    let tag = "dispatch-test/build-override:1";
    let id = build(&engine, &inputs, tag, &HashMap::new(), Builder::BuildKit)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(engine.inspect(tag).await.unwrap().unwrap().id, id);
    let function = engine.files(tag, "/function").await.unwrap();
    assert_eq!(file(&function, "installed"), "left-pad@1\n");
    assert_eq!(file(&function, "system"), "curl 8.0\ngit\n");
    // The busybox base carries no template.
    assert_eq!(carried_template(&engine, &base).await.unwrap(), None);
    engine.remove(tag).await.unwrap();
}

#[tokio::test]
async fn template_carried_by_the_base_image() {
    crate::common::needs!(services);
    let engine = engine().await;
    let base = pinned_base(&engine).await;
    let dockerfile = format!(
        "FROM {base}\nCOPY image-template /image-template\nLABEL {}=/image-template\n",
        TEMPLATE_LABEL
    );
    // Reads the system packages as the original Dispatch base images' templates do, turning
    // `name version` lines into `name-version` words for tdnf.
    let template_dockerfile = "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nARG SYSTEM_PACKAGES_FILE\nARG PACKAGES_FILE\n\
        COPY ${SYSTEM_PACKAGES_FILE} ${PACKAGES_FILE} helpers/note.txt /function/\n\
        RUN test \"$(cat /function/note.txt)\" = 'from the base'\n\
        RUN packages=$(cat /function/${SYSTEM_PACKAGES_FILE} | sed 's/ /-/' | uniq); echo ${packages} > /function/tdnf-args\n";
    let template_base = base_image(
        &engine,
        "dispatch-test/build-template-base:1",
        &[
            ("Dockerfile", &dockerfile, 0o644),
            ("image-template/Dockerfile", template_dockerfile, 0o644),
            ("image-template/helpers/note.txt", "from the base", 0o644),
        ],
    )
    .await;

    let files = carried_template(&engine, &template_base)
        .await
        .unwrap()
        .expect("the label names a template");
    let paths: Vec<_> = files.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths, ["Dockerfile", "helpers/note.txt"]);
    assert_eq!(file(&files, "Dockerfile"), template_dockerfile);

    // The base has no registry digest: it is pinned by its image id, which only the classic
    // builder can build FROM.
    let image = spec(
        &[("curl", Some("8.0")), ("tzdata", None)],
        Some("requests==2.31.0\n"),
    );
    let inputs = BuildInputs {
        base: &template_base,
        language: Language::Python3,
        image: &image,
        template: Template::FromBase(files),
        identity_args: &BTreeMap::new(),
    };
    let tag = "dispatch-test/build-from-base:1";
    build(&engine, &inputs, tag, &HashMap::new(), Builder::Classic)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let function = engine.files(tag, "/function").await.unwrap();
    assert_eq!(file(&function, "packages.txt"), "requests==2.31.0\n");
    assert_eq!(file(&function, "system-packages.txt"), "curl 8.0\ntzdata\n");
    assert_eq!(file(&function, "tdnf-args"), "curl-8.0 tzdata\n");
    assert_eq!(file(&function, "note.txt"), "from the base");

    // A label naming a directory that is not there is an error, not "no template".
    let broken = format!("FROM {base}\nLABEL {}=/nowhere\n", TEMPLATE_LABEL);
    let broken_id = base_image(
        &engine,
        "dispatch-test/build-template-broken:1",
        &[("Dockerfile", &broken, 0o644)],
    )
    .await;
    let err = carried_template(&engine, &broken_id).await.unwrap_err();
    assert!(
        err.to_string().contains("/nowhere is not in the image"),
        "{err}"
    );

    for tag in [
        tag,
        "dispatch-test/build-template-base:1",
        "dispatch-test/build-template-broken:1",
    ] {
        engine.remove(tag).await.unwrap();
    }
}
