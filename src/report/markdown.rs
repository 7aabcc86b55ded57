//! The plan in Markdown, for a pull request comment or a job's step summary: a headline that
//! tools can label on, a warning when anything is destroyed, the counts, and each change in a
//! collapsed block with its diff; cut to fit, saying what was cut.

use std::fmt::Write;

use super::{advisories, text};
use crate::model::diag::Diagnostic;
use crate::model::policy::Violation;
use crate::model::text::{escape, escape_lines};
use crate::plan::{Action, AdvisoryNotes, Plan};

/// A pull request comment holds 65,536 characters: keep a margin.
pub const COMMENT_LIMIT: usize = 65_000;
/// A job's step summary holds 1 MiB.
pub const STEP_SUMMARY_LIMIT: usize = 1_000_000;

/// Where a reader finds what a comment leaves out: the CI run's log, and the commit planned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Links {
    /// The job's page (GitHub: `$GITHUB_SERVER_URL/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_ID`).
    pub run: Option<String>,
    /// The commit the plan is of.
    pub commit: Option<String>,
}

/// The counts a reviewer needs, each change counted once: a replacement is neither an add nor a
/// destroy here (terraform's sentence counts it as both).
struct Counts {
    add: usize,
    change: usize,
    replace: usize,
    destroy: usize,
    unchanged: usize,
}

fn counts(plan: &Plan) -> Counts {
    let s = plan.summary();
    Counts {
        add: s.add - s.replace,
        change: s.change,
        replace: s.replace,
        destroy: s.destroy - s.replace,
        unchanged: s.unchanged,
    }
}

/// What the plan does, in the words a label can key on: `destroy` only when something is
/// really deleted; images rebuilt (`replace`) are not destroyed.
pub fn headline(plan: &Plan) -> &'static str {
    let c = counts(plan);
    if !plan.has_changes() {
        "no changes"
    } else if c.destroy > 0 {
        "destroy"
    } else if c.replace > 0 {
        "replace"
    } else {
        "add or update"
    }
}

/// The summary of `plan` in at most `limit` characters: each change whole while it fits (in
/// plan order: a base's own change before the images it rebuilds), then on one line, then the
/// rest counted, with where to read them.
pub fn summary(plan: &Plan, limit: usize, links: &Links) -> String {
    let mut out = head(plan);
    let changes: Vec<_> = (plan.changes.iter())
        .filter(|c| c.action != Action::NoOp)
        .collect();
    let more = |left: usize| more(left, links);
    let mut brief_from = None;
    for (i, change) in changes.iter().enumerate() {
        // Room kept for the line that counts the rest.
        let room = limit.saturating_sub(more(changes.len() - i).len());
        let whole = detailed(change);
        if brief_from.is_none() && out.len() + whole.len() <= room {
            out.push_str(&whole);
            continue;
        }
        brief_from.get_or_insert(i);
        let line = brief(change);
        if out.len() + line.len() > room {
            out.push_str(&more(changes.len() - i));
            return out;
        }
        out.push_str(&line);
    }
    out
}

/// `**N more changes not shown**, in the job log (link) of commit sha.`
fn more(left: usize, links: &Links) -> String {
    let log = match &links.run {
        Some(run) => format!("[the job log]({run})"),
        None => "the job log".into(),
    };
    let commit = (links.commit.as_deref())
        .map(|c| format!(" of commit `{}`", &c[..c.len().min(12)]))
        .unwrap_or_default();
    format!(
        "\n**{} not shown**: see {log}{commit}.\n",
        crate::model::words::count(left, "more change")
    )
}

/// Headline, the counts, a warning for what is deleted, a note for what is rebuilt.
fn head(plan: &Plan) -> String {
    let c = counts(plan);
    let mut out = format!("## dispatch: {}\n\n", headline(plan));
    if plan.has_changes() {
        let _ = writeln!(
            out,
            "Plan: {} to add, {} to change, {} to replace, {} to destroy.\n",
            c.add, c.change, c.replace, c.destroy
        );
    } else {
        out.push_str("Images match the declarations.\n\n");
    }
    let named = |action| {
        let found: Vec<String> = (plan.changes.iter())
            .filter(|c| c.action == action)
            .map(|c| format!("`{}`", c.address))
            .collect();
        match found.len() {
            0 => None,
            n if n > 20 => Some(format!("{}, and {} more", found[..20].join(", "), n - 20)),
            _ => Some(found.join(", ")),
        }
    };
    if let Some(deleted) = named(Action::Delete) {
        let n = crate::model::words::count(c.destroy, "resource");
        let _ = writeln!(out, "> [!WARNING]\n> {n} will be destroyed: {deleted}.\n");
    }
    if let Some(rebased) = named(Action::Rebase) {
        let n = crate::model::words::count(plan.summary().rebase, "image");
        let _ = writeln!(
            out,
            "> [!NOTE]\n> {n} will be rebased onto {} patched in place (no build): {rebased}.\n",
            crate::model::words::agree(plan.summary().rebase, "its base", "their bases")
        );
    }
    if let Some(replaced) = named(Action::Replace) {
        let n = crate::model::words::count(c.replace, "resource");
        let _ = writeln!(
            out,
            "> [!NOTE]\n> {n} will be replaced (rebuilt): {replaced}.\n"
        );
    }
    let _ = writeln!(
        out,
        "| add | change | replace | destroy | unchanged |\n|---:|---:|---:|---:|---:|\n| {} | {} | {} | {} | {} |\n",
        c.add, c.change, c.replace, c.destroy, c.unchanged
    );
    out.push_str(&warnings(&plan.warnings));
    out.push_str(&advisory_notes(&plan.advisories));
    out.push_str(&base_problems(&plan.base_problems));
    out
}

/// Stale advisories, each a warning; then the applied images advisories imported since affect.
fn advisory_notes(notes: &AdvisoryNotes) -> String {
    let stale = (advisories::stale_all(notes).into_iter()).map(|d| {
        let hint = d.hint.unwrap_or_default();
        let said = format!("{} <br>hint: {}", html(&d.message), html(&hint));
        (d.location.to_string(), said)
    });
    let mut out = alert("WARNING", "Stale advisories:", stale.collect());
    let newly =
        (notes.newly.iter()).map(|n| (n.address.to_string(), html(&advisories::described(n))));
    out.push_str(&alert("NOTE", advisories::NEWLY, newly.collect()));
    out
}

/// A diff's base revision's own problems: not the change's, but they leave some of the base
/// out of the comparison.
fn base_problems(problems: &[Diagnostic]) -> String {
    let head = format!(
        "The revision compared against has {} of its own; what its broken documents declare is \
         left out of this diff:",
        crate::model::words::count(problems.len(), "problem")
    );
    let places = problems
        .iter()
        .map(|p| (p.location.to_string(), html(&p.message)));
    alert("WARNING", &head, places.collect())
}

/// The policy rules the change breaks with a warning, each where it is broken; then the
/// known vulnerabilities of what it declares, each with what to use instead.
fn warnings(violations: &[Violation]) -> String {
    let (known, broken): (Vec<&Violation>, Vec<&Violation>) =
        violations.iter().partition(|v| v.vulnerability.is_some());
    let head = format!(
        "{} against policy:",
        crate::model::words::count(broken.len(), "warning")
    );
    let places = (broken.iter()).map(|v| (v.at.to_string(), html(&v.message)));
    let mut out = alert("CAUTION", &head, places.collect());
    let head = format!(
        "{} {} in the declared dependencies:",
        known.len(),
        crate::model::words::agree(known.len(), "known vulnerability", "known vulnerabilities")
    );
    let places = known.iter().map(|v| {
        let hint = v.diagnostic().hint.unwrap_or_default();
        let said = format!("{} <br>hint: {}", html(&v.message), html(&hint));
        (v.at.to_string(), said)
    });
    out.push_str(&alert("WARNING", &head, places.collect()));
    out
}

/// A GitHub alert (`> [!KIND]`) headed `head`, listing at most ten places and what is wrong
/// at each (Markdown already escaped); nothing when there are none.
fn alert(kind: &str, head: &str, places: Vec<(String, String)>) -> String {
    if places.is_empty() {
        return String::new();
    }
    let mut out = format!("> [!{kind}]\n> {head}\n");
    for (at, said) in places.iter().take(10) {
        let _ = writeln!(out, "> - <code>{}</code>: {said}", html(at));
    }
    if places.len() > 10 {
        let _ = writeln!(out, "> - and {} more, in the job log", places.len() - 10);
    }
    out.push('\n');
    out
}

fn symbol(action: Action) -> &'static str {
    match action {
        Action::Create => "+",
        Action::Update | Action::Rebase => "~",
        Action::Replace => "-/+",
        Action::Delete => "-",
        Action::NoOp => "",
    }
}

/// A change in a collapsed block, its diff inside; one with nothing to show (an image rebuilt
/// because its base changed) on one line.
fn detailed(change: &crate::plan::Change) -> String {
    let diff = text::diff_lines(change);
    if diff.trim().is_empty() {
        return brief(change);
    }
    let fence = fence(&diff);
    format!(
        "<details><summary><code>{} {}</code></summary>\n\n{fence}diff\n{diff}{fence}\n\n</details>\n\n",
        symbol(change.action),
        html(&text::describe(change)),
    )
}

/// A change on one line.
fn brief(change: &crate::plan::Change) -> String {
    format!(
        "- <code>{} {}</code>\n",
        symbol(change.action),
        html(&text::describe(change))
    )
}

/// Why a command failed, where the reviewer looks: what failed, each problem at its
/// `file:line:col` with its hint, so that a comment never keeps saying all is well.
pub fn failed(
    diagnostics: &[Diagnostic],
    warned: &[Violation],
    error: &str,
    hint: Option<&str>,
) -> String {
    // Every line of the error inside the alert: a list of differences is part of it.
    let mut out = String::from("## dispatch: failed\n\n> [!CAUTION]\n");
    for line in error.lines().chain(hint) {
        let _ = writeln!(out, "> {}", html(line));
    }
    out.push('\n');
    for d in diagnostics.iter().take(MAX_LISTED) {
        let _ = write!(
            out,
            "- <code>{}</code>: {}",
            html(&d.location.to_string()),
            html(&d.message)
        );
        if let Some(hint) = &d.hint {
            let _ = write!(out, " <br>hint: {}", html(hint));
        }
        out.push('\n');
    }
    if diagnostics.len() > MAX_LISTED {
        let _ = writeln!(
            out,
            "- and {} more, in the job log",
            diagnostics.len() - MAX_LISTED
        );
    }
    if !warned.is_empty() {
        out.push('\n');
        out.push_str(&warnings(warned));
    }
    out
}

/// The verdict on valid declarations, with the policy warnings they carry.
pub fn valid(base_images: usize, images: usize, warned: &[Violation]) -> String {
    format!(
        "## dispatch: valid\n\n{}\n{}",
        text::validated(base_images, images),
        warnings(warned)
    )
}

/// How many problems a failure lists before it counts the rest.
const MAX_LISTED: usize = 50;

/// A failed resource, its reason in a collapsed block.
pub fn failure(address: &crate::model::Address, reason: &str) -> String {
    let reason = escape_lines(reason);
    let fence = fence(&reason);
    let first = reason.lines().next().unwrap_or_default();
    format!(
        "\n<details><summary><code>{address}</code> failed: {}</summary>\n\n{fence}\n{reason}\n{fence}\n\n</details>\n",
        html(first)
    )
}

/// A code fence longer than any run of backticks in `text`, so that text cannot close it.
fn fence(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    "`".repeat(longest.max(2) + 1)
}

/// Text that HTML shows as it is, on one line: a line break or control character in a
/// declared value can neither end a list item or an alert nor hide what follows.
fn html(text: &str) -> String {
    escape(text)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Observations;
    use crate::testing::{applied, base, declared, image};

    fn plan_of(count: usize, manifest: &str) -> Plan {
        let mut resources = vec![base("b", "x/b:1")];
        resources.extend((0..count).map(|i| image(&format!("i{i}"), "b", Some(manifest))));
        let old = applied(&[base("b", "x/b:1"), base("legacy", "x/l:1")]);
        crate::plan::plan(
            &declared(&resources),
            Some(&old),
            &Observations::default(),
            &[],
        )
        .unwrap()
    }

    #[test]
    fn headlines_a_tool_can_label_on() {
        let old = [base("b", "x/b:1")];
        let none = crate::plan::plan(
            &declared(&old),
            Some(&applied(&old)),
            &Observations::default(),
            &[],
        )
        .unwrap();
        assert_eq!(headline(&none), "no changes");
        let links = Links::default();
        assert!(summary(&none, COMMENT_LIMIT, &links).starts_with("## dispatch: no changes\n"));
        let add = crate::plan::plan(&declared(&old), None, &Observations::default(), &[]).unwrap();
        assert_eq!(headline(&add), "add or update");
        assert_eq!(headline(&plan_of(1, "x")), "destroy");
    }

    #[test]
    fn replacement_is_not_destruction() {
        let before = [
            base("b", "x/b:1"),
            image("i", "b", None),
            image("j", "b", None),
        ];
        let after = [
            base("b", "x/b:2"),
            image("i", "b", None),
            image("j", "b", None),
        ];
        let plan = crate::plan::plan(
            &declared(&after),
            Some(&applied(&before)),
            &Observations::default(),
            &[],
        )
        .unwrap();
        assert_eq!(headline(&plan), "replace");
        let text = summary(&plan, COMMENT_LIMIT, &Links::default());
        assert!(!text.contains("destroyed"), "{text}");
        assert!(
            text.contains("Plan: 0 to add, 0 to change, 3 to replace, 0 to destroy."),
            "{text}"
        );
        assert!(
            text.contains("> [!NOTE]\n> 3 resources will be replaced (rebuilt)"),
            "{text}"
        );
        // The base's own change once, in full; the images rebuilt on it, a line each.
        assert_eq!(text.matches("```diff").count(), 1, "{text}");
        assert!(text.contains("- <code>-/+ Image/i"), "{text}");
    }

    #[test]
    fn a_plan_that_fits_is_shown_whole_with_a_warning_for_deletions() {
        let text = summary(&plan_of(2, "x==1\n```\n"), COMMENT_LIMIT, &Links::default());
        assert!(
            text.contains("> [!WARNING]\n> 1 resource will be destroyed: `BaseImage/legacy`."),
            "{text}"
        );
        assert!(
            text.contains("<details><summary><code>+ Image/i0 will be built</code></summary>"),
            "{text}"
        );
        // The manifest's own backticks cannot close the fence.
        assert!(text.contains("````diff\n"), "{text}");
    }

    #[test]
    fn a_long_plan_keeps_the_first_diffs_then_lines_then_a_count_with_links() {
        let manifest = "x==1\n".repeat(50);
        let plan = plan_of(300, &manifest);
        let links = Links {
            run: Some("https://ci.example/runs/7".into()),
            commit: Some("0123456789abcdef0123".into()),
        };
        let fitted = summary(&plan, COMMENT_LIMIT, &links);
        assert!(fitted.len() <= COMMENT_LIMIT, "{}", fitted.len());
        assert!(
            fitted.contains("<details>"),
            "the first changes keep their diffs"
        );
        let cut = summary(&plan, 4_000, &links);
        assert!(cut.len() <= 4_000, "{}", cut.len());
        let marker = cut.lines().last().unwrap();
        assert!(
            marker.ends_with(
                "not shown**: see [the job log](https://ci.example/runs/7) of commit `0123456789ab`."
            ),
            "{marker}"
        );
        let shown = cut.matches("<code>").count();
        let left: usize = marker
            .trim_start_matches("**")
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(shown + left, 301, "every change is shown or counted");
    }

    #[test]
    fn a_failure_says_what_and_where() {
        use crate::model::diag::{Location, Pos};
        let problem = Diagnostic::new(
            Location {
                file: "images/a.yaml".into(),
                pos: Pos::new(3, 5),
            },
            "unknown field `nmae`",
        );
        let text = failed(
            std::slice::from_ref(&problem),
            &[],
            "1 problem in the declarations",
            None,
        );
        assert!(
            text.starts_with("## dispatch: failed\n\n> [!CAUTION]\n> 1 problem"),
            "{text}"
        );
        assert!(
            text.contains("- <code>images/a.yaml:3:5</code>: unknown field `nmae`"),
            "{text}"
        );
    }

    #[test]
    fn a_failure_keeps_its_lines_in_the_alert_and_values_on_theirs() {
        let problem = Diagnostic::new(
            crate::model::diag::Location {
                file: "images/a.yaml".into(),
                pos: crate::model::diag::Pos::new(3, 5),
            },
            "dockerUrl x\n## forged\u{1b}[8m is not pinned",
        );
        let error =
            "saved plan is stale, and planned again:\n  Image/a: reviewed create, now no change";
        let text = failed(&[problem], &[], error, Some("plan again"));
        assert!(
            text.starts_with(
                "## dispatch: failed\n\n> [!CAUTION]\n> saved plan is stale, and planned again:\n>   Image/a: reviewed create, now no change\n> plan again\n"
            ),
            "{text}"
        );
        assert!(
            !text.contains("\n## forged") && !text.contains('\u{1b}'),
            "{text}"
        );
        assert!(
            text.contains(r"x\n## forged\u001b[8m is not pinned"),
            "{text}"
        );
    }
}
