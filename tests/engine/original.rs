//! The original Dispatch's names, fields and commands against the real engine and registry:
//! a name it accepted is pulled, built, pushed and deleted like any other.

use crate::common::{Sandbox, contains, env, image_exists, ok};

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
