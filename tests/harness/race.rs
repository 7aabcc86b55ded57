//! Concurrency trials: two and four `dispatch apply` started at once on one state. Exactly one
//! runs; the others are refused at once, naming the holder, or, with `--lock-timeout`, wait for
//! it and then find nothing to do. The figures are printed at the end.

use std::process::{Output, Stdio};

use crate::common::{Sandbox, base_doc, contains, env};

/// Trials of each size, refused and waiting.
const TRIALS: usize = 3;

/// Declarations of two images with work to do in trial `trial`.
fn declare(s: &Sandbox, trial: usize) {
    let mut yaml = base_doc("b", &env("DISPATCH_TEST_BASE"));
    for i in 0..2 {
        yaml += "---\n";
        yaml += &s.image_doc(&format!("img{i}"), "b", trial);
    }
    s.write("decl/all.yaml", &yaml);
}

/// Starts `runners` applies as close together as the OS allows; each one's pid and output.
fn race(s: &Sandbox, runners: usize, extra: &[&str]) -> Vec<(u32, Output)> {
    let children: Vec<_> = (0..runners)
        .map(|_| {
            crate::common::dispatch_command(s.path())
                .env("DOCKER_CONFIG", s.path().join("docker-config"))
                .args(["apply", "--auto-approve", "-q", "--no-color", "decl"])
                .args(extra)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    children
        .into_iter()
        .map(|child| (child.id(), child.wait_with_output().unwrap()))
        .collect()
}

#[test]
fn one_apply_at_a_time_and_the_others_told_or_waiting() {
    crate::common::needs!(services);
    let s = Sandbox::new("race");
    s.build_and_push();
    let (mut trials, mut refused, mut waited) = (0, 0, 0);
    for runners in [2, 4] {
        for _ in 0..TRIALS {
            // Refused at once: one ran, the others name it.
            trials += 1;
            crate::common::progress(&format!(
                "concurrency progress: trial {trials}, {runners} applies at once"
            ));
            declare(&s, trials);
            let outcomes = race(&s, runners, &[]);
            let ran: Vec<&(u32, Output)> = outcomes
                .iter()
                .filter(|(_, o)| o.status.success())
                .collect();
            assert_eq!(ran.len(), 1, "exactly one runs: {outcomes:?}");
            let winner = ran[0].0;
            for (_, output) in outcomes.iter().filter(|(_, o)| !o.status.success()) {
                let stderr = String::from_utf8_lossy(&output.stderr);
                contains(&stderr, format!("state is locked by pid {winner} "));
                refused += 1;
            }
            // Waiting: all run, one after the other; only the first finds work.
            trials += 1;
            declare(&s, trials);
            let outcomes = race(&s, runners, &["--lock-timeout", "2m"]);
            let mut worked = 0;
            for (_, output) in &outcomes {
                assert!(output.status.success(), "{output:?}");
                let stdout = String::from_utf8_lossy(&output.stdout);
                if stdout.contains("No changes.") {
                    waited += 1;
                } else {
                    contains(&stdout, "2 built");
                    worked += 1;
                }
            }
            assert_eq!(
                worked, 1,
                "one apply built, the others found nothing: {outcomes:?}"
            );
        }
    }
    println!(
        "concurrency: {trials} trials of 2 and 4 simultaneous applies, exactly one ran in each; {refused} refused naming the holder, {waited} waited and found nothing to do"
    );
}
