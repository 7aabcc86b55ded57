//! The yardstick of the plan bench: libyaml's bare parse of the same YAML files, by
//! [`parse.c`](parse.c) (events pulled and dropped, one thread, the files read beforehand), built
//! with `cc` when libyaml's header is there (Debian: `apt-get install libyaml-dev`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// The compiled parser, in a temporary folder removed with it.
pub struct Libyaml {
    exe: PathBuf,
    _dir: tempfile::TempDir,
}

/// One parse of a set of files: wall-clock and CPU time.
#[derive(Clone, Copy)]
pub struct Timing {
    pub wall: Duration,
    pub cpu: Duration,
}

impl Libyaml {
    /// Builds the parser, or says why it cannot.
    pub fn build() -> Result<Libyaml, String> {
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/libyaml/parse.c");
        let dir = tempfile::tempdir().map_err(|e| format!("no temporary folder: {e}"))?;
        let exe = dir.path().join("libyaml-parse");
        let out = Command::new("cc")
            .args(["-O2", "-o"])
            .arg(&exe)
            .arg(&source)
            .arg("-lyaml")
            .output()
            .map_err(|e| format!("cannot run `cc`: {e}"))?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let reason = if stderr.contains("yaml.h") {
                "libyaml's header yaml.h is not installed (Debian: apt-get install libyaml-dev)"
                    .to_string()
            } else {
                format!(
                    "`cc` failed: {}",
                    stderr.lines().next().unwrap_or("").trim()
                )
            };
            return Err(reason);
        }
        Ok(Libyaml { exe, _dir: dir })
    }

    /// Parses every `*.yaml` under `root`, in a fresh process.
    pub fn parse(&self, root: &Path) -> Timing {
        let mut files: Vec<PathBuf> = walkdir::WalkDir::new(root)
            .into_iter()
            .filter_map(Result::ok)
            .map(walkdir::DirEntry::into_path)
            .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
            .collect();
        files.sort();
        let list: String = files.iter().map(|f| format!("{}\n", f.display())).collect();
        let mut child = Command::new(&self.exe)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("run the libyaml parser");
        std::io::Write::write_all(&mut child.stdin.take().expect("piped"), list.as_bytes())
            .expect("name the files");
        let out = child.wait_with_output().expect("libyaml parser output");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "libyaml failed: {stdout}");
        let field = |name: &str| {
            let mut words = stdout.split_whitespace();
            words.find(|w| *w == name);
            let ns: f64 = words.next().and_then(|w| w.parse().ok()).expect(name);
            Duration::from_nanos(ns as u64)
        };
        Timing {
            wall: field("wall_ns"),
            cpu: field("cpu_ns"),
        }
    }
}
