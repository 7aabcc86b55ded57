//! The original Dispatch's names, fields and commands against the real engine and registry:
//! a name it accepted is pulled, built, pushed and deleted like any other.

use crate::common::{Sandbox, contains, docker, env, golden, image_exists, ok};

#[test]
fn the_original_names_work_end_to_end() {
    crate::common::needs!(services);
    let s = Sandbox::new("names");
    // Pushed, so the repository the name gives must be one the registry takes.
    s.write(
        "dispatch.toml",
        &format!(
            "[registry]\ndestination = \"{}/{}\"\n",
            env("DISPATCH_TEST_REGISTRY"),
            s.id
        ),
    );
    let base = "my_py_base";
    let image = format!("_My__App_{}", s.id.replace('-', "_"));
    ok(&s.dispatch(&[
        "create",
        "base-image",
        base,
        &env("DISPATCH_TEST_BASE"),
        "--language",
        "python3",
    ]));
    ok(&s.dispatch(&["create", "image", &image, base]));
    let built = s.json(&["get", "image", &image, "-o", "json"]);
    assert_eq!(built["status"], "READY", "{built}");
    assert_eq!(built["baseImageName"], base);
    let url = built["dockerUrl"].as_str().unwrap().to_string();
    // Lowercased, the leading and trailing `_` dropped, `__` kept.
    let repository = format!(
        "{}/{}/my__app_{}:",
        env("DISPATCH_TEST_REGISTRY"),
        s.id,
        s.id.replace('-', "_")
    );
    assert!(url.starts_with(&repository), "{url}");
    assert!(image_exists(&url), "{url}");
    contains(&s.dispatch(&["get", "images"]).stdout, &image);
    ok(&s.dispatch(&["delete", "image", &image]));
    assert!(!image_exists(&url), "the built image is removed");
    ok(&s.dispatch(&["delete", "base-image", base]));
}

/// `create image` with the original's flags: `-a APP` tags it Application=APP, and
/// `--system-deps` takes the original's JSON file as well as YAML.
#[test]
fn the_originals_create_image_flags_work() {
    crate::common::needs!(services);
    let s = Sandbox::new("flags");
    s.write(
        "template.Dockerfile",
        "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nARG PACKAGES_FILE\nARG SYSTEM_PACKAGES_FILE\nCOPY ${PACKAGES_FILE} ${SYSTEM_PACKAGES_FILE} /deps/\n",
    );
    s.write(
        "dispatch.toml",
        "[templates]\npython3 = \"template.Dockerfile\"\n",
    );
    s.write(
        "deps.json",
        r#"{"packages": [{"name": "curl", "version": "7.61.1"}]}"#,
    );
    s.write("requirements.txt", "requests\n");
    ok(&s.dispatch(&[
        "create",
        "base-image",
        "busybox",
        &env("DISPATCH_TEST_BASE"),
        "--language",
        "python3",
    ]));
    let image = format!("{}-app", s.id);
    ok(&s.dispatch(&[
        "create",
        "image",
        &image,
        "busybox",
        "--runtime-deps",
        "requirements.txt",
        "--system-deps",
        "deps.json",
        "-a",
        "analytics",
        "--tags",
        "team=ml",
    ]));
    let object = s.json(&["get", "image", &image, "-o", "json"]);
    assert_eq!(object["status"], "READY", "{object}");
    assert_eq!(
        object["tags"],
        serde_json::json!([
            {"key": "team", "value": "ml"},
            {"key": "Application", "value": "analytics"}
        ])
    );
    assert_eq!(
        object["systemDependencies"],
        serde_json::json!({"packages": [{"name": "curl", "version": "7.61.1"}]})
    );
    assert_eq!(object["runtimeDependencies"]["manifest"], "requests\n");
    let url = object["dockerUrl"].as_str().unwrap();
    let files = crate::common::docker(&[
        "run",
        "--rm",
        url,
        "cat",
        "/deps/system-packages.txt",
        "/deps/packages.txt",
    ]);
    assert_eq!(files, "curl 7.61.1\nrequests\n");
    ok(&s.dispatch(&["delete", "image", &image]));
    ok(&s.dispatch(&["delete", "base-image", "busybox"]));
}

/// `create seed-images` against a registry holding the original's four seed base images
/// (here the tests' tiny bases under the original's names and tags): the base images pulled,
/// an image built on each, listed as the original's quick start lists them
/// (testdata/original/documented/).
#[test]
fn seed_images_are_created_from_the_registry_named() {
    crate::common::needs!(services);
    let s = Sandbox::new("seed");
    let registry = format!("{}/{}", env("DISPATCH_TEST_REGISTRY"), s.id);
    for (language, tag) in [
        ("NODEJS", "nodejs-base:0.0.12"),
        ("PYTHON3", "python3-base:0.0.13"),
        ("POWERSHELL", "powershell-base:0.0.13"),
        ("JAVA", "java-base:0.0.13"),
    ] {
        let source = env(&format!("DISPATCH_TEST_BASE_{language}"));
        let target = format!("{registry}/{tag}");
        docker(&["pull", "-q", &source]);
        docker(&["tag", &source, &target]);
        docker(&["push", "-q", &target]);
    }
    // The bases hold no language tools: each language's template only copies the manifest.
    s.write(
        "template.Dockerfile",
        "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nARG PACKAGES_FILE\nCOPY ${PACKAGES_FILE} /manifest.txt\n",
    );
    // Pushed under the sandbox, so that no other run shares the images' names.
    s.write(
        "dispatch.toml",
        &format!(
            "[registry]\ndestination = \"{registry}/built\"\n[templates]\npython3 = \"template.Dockerfile\"\nnodejs = \"template.Dockerfile\"\njava = \"template.Dockerfile\"\npowershell = \"template.Dockerfile\"\n"
        ),
    );
    let seeded = s.dispatch(&[
        "create",
        "seed-images",
        "--registry",
        &registry,
        "--parallelism",
        "1",
    ]);
    ok(&seeded);
    golden!("seed_images_created", &s, &seeded.stdout);
    contains(&seeded.stdout, "\nCreated 8.\n");
    let bases = s.dispatch(&["get", "base-images"]);
    golden!("seed_images_base_images", &s, &bases.stdout);
    let images = s.dispatch(&["get", "images"]);
    golden!("seed_images_images", &s, &images.stdout);
    let python3 = s.json(&["get", "image", "python3", "-o", "json"]);
    assert_eq!(python3["status"], "READY");
    assert_eq!(python3["runtimeDependencies"]["manifest"], "requests");
    let url = python3["dockerUrl"].as_str().unwrap();
    assert_eq!(
        docker(&["run", "--rm", url, "cat", "/manifest.txt"]),
        "requests"
    );
    // Seeded once: a second time, every one of them exists.
    let again = s.dispatch(&["create", "seed", "--registry", &registry]);
    assert_eq!(again.code, 1);
    golden!("seed_images_again", &s, &again.stderr);
    for image in ["nodejs", "python3", "powershell", "java"] {
        ok(&s.dispatch(&["delete", "image", image, "-q"]));
    }
}
