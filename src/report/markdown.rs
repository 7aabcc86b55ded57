//! The plan in Markdown, for a pull request comment or a job's step summary: a headline that
//! tools can label on, a warning when anything is destroyed, the counts, and each change in a
//! collapsed block with its diff; cut to fit, saying what was cut.

use std::fmt::Write;

use super::text;
use crate::model::policy::Violation;
use crate::plan::{Action, Plan};

/// A pull request comment holds 65,536 characters: keep a margin.
pub const COMMENT_LIMIT: usize = 65_000;
/// A job's step summary holds 1 MiB.
pub const STEP_SUMMARY_LIMIT: usize = 1_000_000;

/// What the plan does, in the words a label can key on.
pub fn headline(plan: &Plan) -> &'static str {
    let summary = plan.summary();
    if !plan.has_changes() {
        "no changes"
    } else if summary.destroy > 0 {
        "destroy"
    } else {
        "add or update"
    }
}

/// The summary of `plan` in at most `limit` characters: first whole, then with each change on
/// one line, then with the last changes left out and counted.
pub fn summary(plan: &Plan, limit: usize) -> String {
    let head = head(plan);
    let changes: Vec<_> = plan
        .changes
        .iter()
        .filter(|c| c.action != Action::NoOp)
        .collect();
    let whole: Vec<String> = changes.iter().map(|c| detailed(c)).collect();
    if fits(&head, &whole, limit) {
        return head + &whole.concat();
    }
    let brief: Vec<String> = changes.iter().map(|c| brief(c)).collect();
    let mut out = head + "Each change on one line; the job log shows them whole.\n\n";
    let mut shown = 0;
    for line in &brief {
        // Room for the marker that counts what is left out.
        if out.len() + line.len() + 80 > limit {
            break;
        }
        out.push_str(line);
        shown += 1;
    }
    if shown < brief.len() {
        let _ = writeln!(
            out,
            "\n**{} more changes not shown, see the job log.**",
            brief.len() - shown
        );
    }
    out
}

fn fits(head: &str, entries: &[String], limit: usize) -> bool {
    head.len() + entries.iter().map(String::len).sum::<usize>() <= limit
}

/// Headline, the terraform-style count, the deletion warning and the table.
fn head(plan: &Plan) -> String {
    let s = plan.summary();
    let mut out = format!("## dispatch: {}\n\n", headline(plan));
    if plan.has_changes() {
        let _ = writeln!(
            out,
            "Plan: {} to add, {} to change, {} to destroy.\n",
            s.add, s.change, s.destroy
        );
    } else {
        out.push_str("Images match the declarations.\n\n");
    }
    let destroyed: Vec<String> = plan
        .changes
        .iter()
        .filter(|c| matches!(c.action, Action::Delete | Action::Replace))
        .map(|c| format!("`{}`", c.address))
        .collect();
    if !destroyed.is_empty() {
        let named = if destroyed.len() > 20 {
            format!(
                "{}, and {} more",
                destroyed[..20].join(", "),
                destroyed.len() - 20
            )
        } else {
            destroyed.join(", ")
        };
        let _ = writeln!(
            out,
            "> [!WARNING]\n> {} will be destroyed (replacements included): {named}.\n",
            crate::model::words::count(destroyed.len(), "resource")
        );
    }
    let _ = writeln!(
        out,
        "| add | change | destroy | replace | unchanged |\n|---:|---:|---:|---:|---:|\n| {} | {} | {} | {} | {} |\n",
        s.add, s.change, s.destroy, s.replace, s.unchanged
    );
    out.push_str(&warnings(&plan.warnings));
    out
}

/// The policy rules the change breaks with a warning, at most ten, each where it is broken.
fn warnings(violations: &[Violation]) -> String {
    if violations.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "> [!CAUTION]\n> {} against policy:\n",
        crate::model::words::count(violations.len(), "warning")
    );
    for v in violations.iter().take(10) {
        let _ = writeln!(
            out,
            "> - <code>{}</code>: {}",
            html(&v.at.to_string()),
            html(&v.message)
        );
    }
    if violations.len() > 10 {
        let _ = writeln!(
            out,
            "> - and {} more, in the job log",
            violations.len() - 10
        );
    }
    out.push('\n');
    out
}

fn symbol(action: Action) -> &'static str {
    match action {
        Action::Create => "+",
        Action::Update => "~",
        Action::Replace => "-/+",
        Action::Delete => "-",
        Action::NoOp => "",
    }
}

/// A change in a collapsed block, its diff inside.
fn detailed(change: &crate::plan::Change) -> String {
    let diff = text::diff_lines(change);
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

/// A failed resource, its reason in a collapsed block.
pub fn failure(address: &crate::model::Address, reason: &str) -> String {
    let fence = fence(reason);
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

/// Text that HTML shows as it is.
fn html(text: &str) -> String {
    text.replace('&', "&amp;")
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
        assert!(summary(&none, COMMENT_LIMIT).starts_with("## dispatch: no changes\n"));
        let add = crate::plan::plan(&declared(&old), None, &Observations::default(), &[]).unwrap();
        assert_eq!(headline(&add), "add or update");
        assert_eq!(headline(&plan_of(1, "x")), "destroy");
    }

    #[test]
    fn a_plan_that_fits_is_shown_whole_with_a_warning_for_deletions() {
        let text = summary(&plan_of(2, "x==1\n```\n"), COMMENT_LIMIT);
        assert!(text.contains("> [!WARNING]\n> 1 resource will be destroyed (replacements included): `BaseImage/legacy`."), "{text}");
        assert!(
            text.contains("<details><summary><code>+ Image/i0 will be built</code></summary>"),
            "{text}"
        );
        // The manifest's own backticks cannot close the fence.
        assert!(text.contains("````diff\n"), "{text}");
    }

    #[test]
    fn a_long_plan_is_collapsed_then_cut_with_a_count() {
        let manifest = "x==1\n".repeat(50);
        let plan = plan_of(300, &manifest);
        let collapsed = summary(&plan, COMMENT_LIMIT);
        assert!(collapsed.len() <= COMMENT_LIMIT);
        assert!(collapsed.contains("Each change on one line"));
        assert!(!collapsed.contains("more changes not shown"));
        let cut = summary(&plan, 4_000);
        assert!(cut.len() <= 4_000, "{}", cut.len());
        let marker = cut.lines().last().unwrap();
        assert!(
            marker.starts_with("**")
                && marker.ends_with(" more changes not shown, see the job log.**"),
            "{marker}"
        );
        let shown = cut.lines().filter(|l| l.starts_with("- <code>")).count();
        let left: usize = marker
            .trim_matches('*')
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(shown + left, 301, "every change is shown or counted");
    }
}
