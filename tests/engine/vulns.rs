//! The `vulnerabilities` rule at apply, on the real engine and registry: a built image whose
//! catalog holds a package with a known vulnerability is refused before it is pushed.

use std::process::Command as Process;

use crate::common::{Sandbox, base_doc, contains, env, ok};

/// The tags the test registry holds of `repository` (its path under the registry): none when
/// nothing was ever pushed to it.
fn tags(repository: &str) -> Vec<String> {
    let listed = Process::new("curl")
        .args(["-s", "-w", "\n%{http_code}"])
        .arg(format!(
            "http://{}/v2/{repository}/tags/list",
            env("DISPATCH_TEST_REGISTRY")
        ))
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&listed.stdout).to_string();
    let (body, code) = out.rsplit_once('\n').unwrap();
    match code {
        "404" => Vec::new(),
        "200" => {
            let listed: serde_json::Value = serde_json::from_str(body).unwrap();
            (listed["tags"].as_array().into_iter().flatten())
                .map(|t| t.as_str().unwrap().to_string())
                .collect()
        }
        other => panic!("the registry answered {other}: {body}"),
    }
}

#[test]
fn an_image_holding_a_vulnerable_package_is_refused_and_not_pushed() {
    crate::common::needs!(services);
    let s = Sandbox::new("vulns");
    // The manifest pins nothing; what the build installs (here, written by the template as pip
    // would) is requests 2.19.1: only the built image's catalog can tell.
    s.write(
        "template.Dockerfile",
        "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nARG PACKAGES_FILE\nCOPY ${PACKAGES_FILE} /manifest.txt\n\
         RUN mkdir -p /usr/lib/python3/site-packages/requests-2.19.1.dist-info && \
         printf 'Metadata-Version: 2.1\\nName: requests\\nVersion: 2.19.1\\n' \
         > /usr/lib/python3/site-packages/requests-2.19.1.dist-info/METADATA\n",
    );
    s.write(
        "dispatch.toml",
        &format!(
            "[registry]\ndestination = \"{}/{}\"\n[templates]\npython3 = \"template.Dockerfile\"\n",
            env("DISPATCH_TEST_REGISTRY"),
            s.id
        ),
    );
    s.write(
        "decl/all.yaml",
        &format!(
            "{}---\nkind: Image\nname: api\nbaseImageName: busybox\nruntimeDependencies:\n  manifest: \"requests>=2.0 # {}\"\n",
            base_doc("busybox", &env("DISPATCH_TEST_BASE")),
            s.id
        ),
    );
    let advisories = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/advisories/pypa/vulns"
    );
    ok(&s.dispatch(&["advisories", "import", advisories]));
    s.write(
        "security.yaml",
        "kind: Policy\nname: security\nvulnerabilities:\n  severity: error\n  minSeverity: high\n",
    );
    // Before merge the manifest pins nothing: nothing to say.
    let plan = s.dispatch(&["plan", "decl", "--policy", "security.yaml"]);
    ok(&plan);
    assert!(!plan.stdout.contains("PYSEC"), "{}", plan.stdout);

    let run = s.dispatch(&[
        "apply",
        "decl",
        "--policy",
        "security.yaml",
        "--auto-approve",
    ]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    contains(&run.stdout, "1 failed");
    let object = s.json(&["get", "image", "api", "--json"]);
    assert_eq!(object["status"], "ERROR", "{object}");
    let reason = object["reason"][0].as_str().unwrap();
    assert!(
        reason.starts_with(
            "refused by policy: it holds requests 2.19.1 (pypi), affected by PYSEC-2018-28 (CVE-2018-18074, GHSA-x84v-xcm2-53pg; severity unknown; fixed in 2.20.0), which policy security does not accept"
        ),
        "{reason}"
    );
    let repository = format!("{}/api", s.id);
    assert_eq!(
        tags(&repository),
        Vec::<String>::new(),
        "refused, so not pushed"
    );

    // The risks accepted (by alias, for PYSEC-2023-74 too), the same build is pushed.
    s.write(
        "security.yaml",
        "kind: Policy\nname: security\nvulnerabilities:\n  severity: error\n  ignore:\n    - {id: CVE-2018-18074, until: 2099-12-31, reason: no redirects}\n    - {id: PYSEC-2023-74, until: 2099-12-31, reason: no proxies}\n",
    );
    let run = s.dispatch(&[
        "apply",
        "decl",
        "--policy",
        "security.yaml",
        "--auto-approve",
    ]);
    ok(&run);
    let object = s.json(&["get", "image", "api", "--json"]);
    assert_eq!(object["status"], "READY", "{object}");
    let url = object["dockerUrl"].as_str().unwrap();
    let (_, tag) = url.rsplit_once(':').unwrap();
    assert_eq!(tags(&repository), [tag], "{url}");
}
