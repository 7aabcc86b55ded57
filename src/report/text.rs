//! Text for people: the terraform-style plan (blocks, or one line a change with `--compact`),
//! and the closing lines of validate and apply.

use std::fmt::Write;

use anstyle::{AnsiColor, Style};

use super::Painter;
use crate::apply::record::Tally;
use crate::model::catalog::Filled;
use crate::model::diag::Diagnostic;
use crate::model::policy::Violation;
use crate::model::text::{escape, escape_lines};
use crate::model::words::{agree, count};
use crate::model::{Kind, Resource, Spec};
use crate::plan::{Action, Change, Plan, short};

/// How text output looks: colours on a terminal, one line per change with `--compact`.
#[derive(Debug, Clone, Copy, Default)]
pub struct TextOptions {
    pub color: bool,
    pub compact: bool,
}

fn action_style(action: Action) -> Style {
    let color = match action {
        Action::Create => AnsiColor::Green,
        Action::Update | Action::Rebase => AnsiColor::Yellow,
        Action::Replace => AnsiColor::Magenta,
        Action::Delete => AnsiColor::Red,
        Action::NoOp => AnsiColor::White,
    };
    Style::new().fg_color(Some(color.into()))
}

fn symbol(action: Action) -> &'static str {
    match action {
        Action::Create => "  +",
        Action::Update | Action::Rebase => "  ~",
        Action::Replace => "-/+",
        Action::Delete => "  -",
        Action::NoOp => "   ",
    }
}

fn verb(change: &Change) -> &'static str {
    match (change.action, change.address.kind) {
        (Action::Create, Kind::BaseImage) => "will be pulled",
        (Action::Create, Kind::Image) => "will be built",
        (Action::Update, _) => "will be updated in place",
        (Action::Rebase, _) => "will be rebased",
        (Action::Replace, _) => "must be replaced",
        (Action::Delete, _) => "will be destroyed",
        (Action::NoOp, _) => "is up to date",
    }
}

/// The human plan: a block per change, unchanged resources counted, one summary line.
pub fn plan(plan: &Plan, options: TextOptions) -> String {
    let painter = Painter {
        color: options.color,
    };
    let mut out = String::new();
    let changes: Vec<&Change> = plan
        .changes
        .iter()
        .filter(|c| c.action != Action::NoOp)
        .collect();
    if !changes.is_empty() {
        if !options.compact {
            out.push_str("Dispatch will perform the following actions:\n\n");
        }
        for change in &changes {
            if options.compact {
                compact_line(&mut out, &painter, change);
            } else {
                block(&mut out, &painter, change);
            }
        }
        let unchanged = plan.summary().unchanged;
        if !options.compact && unchanged > 0 {
            let _ = writeln!(
                out,
                "{} {} not shown.\n",
                count(unchanged, "unchanged resource"),
                agree(unchanged, "is", "are")
            );
        }
    }
    if !options.compact {
        // Unchanged, but not for the reason one would assume: say why.
        for change in plan
            .changes
            .iter()
            .filter(|c| c.action == Action::NoOp && !c.reasons.is_empty())
        {
            let _ = writeln!(
                out,
                "  # {} is {}\n",
                change.address,
                escape(&change.reasons.join("; "))
            );
        }
    }
    out.push_str(&summary(&painter, plan));
    out.push_str(&warnings(&painter, &plan.warnings));
    out.push_str(&super::advisories::plan_notes(&painter, &plan.advisories));
    out.push_str(&base_problems(&painter, &plan.base_problems));
    out
}

/// A diff's base revision's own problems: not the change's, but what they leave out of the
/// comparison must be said.
fn base_problems(painter: &Painter, problems: &[Diagnostic]) -> String {
    if problems.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "\n{} the revision compared against has {} of its own; what its broken documents declare \
         is left out of this diff, as if absent there:\n",
        painter.paint(AnsiColor::Yellow.on_default().bold(), "Warning:"),
        count(problems.len(), "problem"),
    );
    for problem in problems {
        let _ = writeln!(out, "  {}", problem.to_string().replace('\n', "\n  "));
    }
    out
}

/// The policy rules broken with a warning, each at its place, as terraform prints warnings
/// after a plan.
pub fn warnings(painter: &Painter, violations: &[Violation]) -> String {
    let mut out = String::new();
    for violation in violations {
        let _ = write!(
            out,
            "\n{} {}\n",
            painter.paint(AnsiColor::Yellow.on_default().bold(), "Warning:"),
            violation.diagnostic()
        );
    }
    out
}

/// `Plan: 1 to add, 2 to change, 1 to destroy.` in terraform's words (a replacement counts as
/// an add and a destroy, so the usual regexes match), then dispatch's own breakdown.
fn summary(painter: &Painter, plan: &Plan) -> String {
    let s = plan.summary();
    if !plan.has_changes() {
        return format!(
            "{} Images match the declarations.\n",
            painter.paint(Style::new().bold(), "No changes.")
        );
    }
    let counted = |action: Action, kind: Option<Kind>| {
        plan.changes
            .iter()
            .filter(|c| c.action == action && kind.is_none_or(|k| c.address.kind == k))
            .count()
    };
    let made = |kind| counted(Action::Create, Some(kind)) + counted(Action::Replace, Some(kind));
    let parts: Vec<String> = [
        (made(Kind::BaseImage), "pull"),
        (counted(Action::Rebase, None), "rebase"),
        (made(Kind::Image), "build"),
        (counted(Action::Update, None), "tag update"),
        (counted(Action::Delete, None), "deletion"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| count(n, what))
    .collect();
    let replaced = match s.replace {
        0 => String::new(),
        n => format!(" ({})", count(n, "replacement")),
    };
    format!(
        "{} {} to add, {} to change, {} to destroy.\nDispatch: {}{replaced}.\n",
        painter.paint(Style::new().bold(), "Plan:"),
        s.add,
        s.change,
        s.destroy,
        parts.join(", ")
    )
}

fn compact_line(out: &mut String, painter: &Painter, change: &Change) {
    let action = format!("{:?}", change.action).to_lowercase();
    let why = if change.reasons.is_empty() {
        String::new()
    } else {
        format!(": {}", escape(&change.reasons.join("; ")))
    };
    let _ = writeln!(
        out,
        "{} {} ({action}{why})",
        painter.paint(
            action_style(change.action),
            symbol(change.action).trim_start()
        ),
        change.address
    );
}

/// The header of a change: `# Image/pandas must be replaced (manifest changed)`, without `#`;
/// a rebase names the base it is rebased onto.
pub fn describe(change: &Change) -> String {
    let why = if change.reasons.is_empty() {
        String::new()
    } else {
        format!(" ({})", escape(&change.reasons.join("; ")))
    };
    let onto = match &change.rebase {
        Some(rebase) if change.action == Action::Rebase => {
            format!(" onto {}@{}", rebase.base, short(&rebase.onto))
        }
        _ => String::new(),
    };
    format!("{} {}{onto}{why}", change.address, verb(change))
}

fn block(out: &mut String, painter: &Painter, change: &Change) {
    let header = format!("  # {}", describe(change));
    let _ = writeln!(out, "{}", painter.paint(Style::new().bold(), &header));
    let style = action_style(change.action);
    let rows = rows(change);
    let sign = painter.paint(style, symbol(change.action));
    if rows.is_empty() {
        // Nothing declared changed (the base moved, or the image went missing): the header says why.
        let _ = writeln!(out, "{sign} {}\n", change.address);
        return;
    }
    let _ = writeln!(out, "{sign} {} {{", change.address);
    let width = rows.iter().map(|r| r.key().len()).max().unwrap_or(0);
    for row in rows {
        row.write(out, painter, width);
    }
    out.push_str("    }\n\n");
}

/// What changes in a resource, attribute by attribute.
fn rows(change: &Change) -> Vec<Row> {
    let before = change.before.as_ref().map(attributes).unwrap_or_default();
    let after = change.after.as_ref().map(attributes).unwrap_or_default();
    match change.action {
        Action::Create => after
            .into_iter()
            .map(|(k, v)| Row::Set('+', k, v))
            .collect(),
        Action::Delete => before
            .into_iter()
            .map(|(k, v)| Row::Set('-', k, v))
            .collect(),
        _ => {
            let mut rows = changed_rows(before, after);
            // A rebase changes no attribute: what it changes is the base under the image.
            if let (Action::Rebase, Some(rebase)) = (change.action, &change.rebase) {
                let at = |digest: &str| Value::Line(format!("{}@{}", rebase.base, short(digest)));
                rows.push(Row::Changed("base", at(&rebase.from), at(&rebase.onto)));
            }
            rows
        }
    }
}

/// A change as the lines of a unified diff (`+`, `-`, ` ` first), for a `diff` block.
pub fn diff_lines(change: &Change) -> String {
    let mut out = String::new();
    for row in rows(change) {
        match row {
            Row::Set(sign, key, Value::Line(value)) => {
                let _ = writeln!(out, "{sign} {key} = {value}");
            }
            Row::Set(sign, key, Value::Text(text)) => {
                let _ = writeln!(out, "{sign} {key}:");
                for line in text.lines() {
                    let _ = writeln!(out, "{sign}     {line}");
                }
            }
            Row::Changed(key, Value::Text(old), Value::Text(new)) => {
                let _ = writeln!(out, "  {key}:");
                let diff = similar::TextDiff::from_lines(&old, &new);
                let unified = diff.unified_diff().context_radius(2).to_string();
                for line in unified.lines().filter(|l| !l.starts_with("@@")) {
                    let (sign, rest) = line.split_at(line.len().min(1));
                    let _ = writeln!(out, "{sign}     {rest}");
                }
            }
            Row::Changed(key, old, new) => {
                let _ = writeln!(out, "- {key} = {}", show(&old));
                let _ = writeln!(out, "+ {key} = {}", show(&new));
            }
        }
    }
    out
}

/// An attribute value: one line, or a text block (a manifest) shown as lines or a diff.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Line(String),
    Text(String),
}

enum Row {
    Set(char, &'static str, Value),
    Changed(&'static str, Value, Value),
}

impl Row {
    fn key(&self) -> &'static str {
        match self {
            Row::Set(_, key, _) | Row::Changed(key, _, _) => key,
        }
    }

    fn write(&self, out: &mut String, painter: &Painter, width: usize) {
        let (sign, key) = match self {
            Row::Set(sign, key, _) => (*sign, *key),
            Row::Changed(key, _, _) => ('~', *key),
        };
        let style = match sign {
            '+' => action_style(Action::Create),
            '-' => action_style(Action::Delete),
            _ => action_style(Action::Update),
        };
        let _ = write!(
            out,
            "      {} {key:<width$} = ",
            painter.paint(style, &sign.to_string())
        );
        match self {
            Row::Set(_, _, Value::Line(v)) => {
                let _ = writeln!(out, "{v}");
            }
            Row::Set(_, _, Value::Text(text)) => {
                heredoc(out, text.lines().map(|l| format!("    {l}")))
            }
            Row::Changed(_, Value::Text(old), Value::Text(new)) => {
                let diff = similar::TextDiff::from_lines(old, new);
                let unified = diff.unified_diff().context_radius(2).to_string();
                heredoc(
                    out,
                    unified.lines().map(|l| {
                        let style = match l.chars().next() {
                            Some('+') => action_style(Action::Create),
                            Some('-') => action_style(Action::Delete),
                            _ => Style::new(),
                        };
                        format!("  {}", painter.paint(style, l))
                    }),
                )
            }
            Row::Changed(_, old, new) => {
                let _ = writeln!(out, "{} -> {}", show(old), show(new));
            }
        }
    }
}

fn show(value: &Value) -> String {
    match value {
        Value::Line(v) => v.clone(),
        Value::Text(t) => format!("<{} lines>", t.lines().count()),
    }
}

fn heredoc(out: &mut String, lines: impl Iterator<Item = String>) {
    out.push_str("<<EOT\n");
    for line in lines {
        let _ = writeln!(out, "      {line}");
    }
    out.push_str("        EOT\n");
}

fn changed_rows(before: Vec<(&'static str, Value)>, after: Vec<(&'static str, Value)>) -> Vec<Row> {
    let mut rows = Vec::new();
    let absent = Value::Line("(none)".into());
    let keys = after.iter().chain(&before).map(|(k, _)| *k);
    let mut seen = Vec::new();
    for key in keys {
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let old = before.iter().find(|(k, _)| *k == key).map(|(_, v)| v);
        let new = after.iter().find(|(k, _)| *k == key).map(|(_, v)| v);
        if old != new {
            let old = old.cloned().unwrap_or_else(|| empty_like(new, &absent));
            let new = new
                .cloned()
                .unwrap_or_else(|| empty_like(Some(&old), &absent));
            rows.push(Row::Changed(key, old, new));
        }
    }
    rows
}

/// A missing manifest diffs as empty text, a missing list as `[]`, anything else as `(none)`.
fn empty_like(other: Option<&Value>, absent: &Value) -> Value {
    match other {
        Some(Value::Text(_)) => Value::Text(String::new()),
        Some(Value::Line(line)) if line.starts_with('[') => Value::Line("[]".into()),
        _ => absent.clone(),
    }
}

/// The attributes a plan shows, in a fixed order.
fn attributes(resource: &Resource) -> Vec<(&'static str, Value)> {
    let quoted = |s: &str| Value::Line(format!("{s:?}"));
    let list = |items: Vec<String>| Value::Line(format!("[{}]", items.join(", ")));
    let mut attributes = Vec::new();
    match &resource.spec {
        Spec::BaseImage(b) => {
            attributes.push(("dockerUrl", quoted(b.docker_url.as_str())));
            attributes.push(("language", quoted(b.language.as_str())));
        }
        Spec::Image(i) => {
            attributes.push(("baseImageName", quoted(&i.base_image_name)));
            if let Some(runtime) = &i.runtime_dependencies {
                attributes.push((
                    "manifest",
                    Value::Text(escape_lines(&runtime.manifest).into_owned()),
                ));
            }
            if let Some(system) = &i.system_dependencies {
                attributes.push((
                    "systemPackages",
                    list(system.packages.iter().map(|p| p.to_string()).collect()),
                ));
            }
        }
    }
    if !resource.tags().is_empty() {
        attributes.push((
            "tags",
            list(
                resource
                    .tags()
                    .iter()
                    .map(|t| escape(&t.to_string()).into_owned())
                    .collect(),
            ),
        ));
    }
    attributes
}

/// `The declarations are valid: 1 base image, 2 images.`
pub fn validated(base_images: usize, images: usize) -> String {
    format!(
        "The declarations are valid: {}, {}.\n",
        count(base_images, "base image"),
        count(images, "image")
    )
}

/// What `create seed-images -O FILE` did.
pub fn seeds_written(base_images: usize, images: usize, file: &str) -> String {
    format!(
        "Wrote {} and {} to {file}; nothing was created.\n",
        count(base_images, "base image"),
        count(images, "image")
    )
}

/// What filling in missing catalogs did, when it did anything (failures are warnings).
pub fn filled(filled: &Filled) -> String {
    let mut lines = String::new();
    if filled.read > 0 {
        lines.push_str(&format!(
            "Catalogued {} recorded without a catalog.\n",
            count(filled.read, "image")
        ));
    }
    if filled.again > 0 {
        lines.push_str(&format!(
            "Catalogued again {} an older dispatch catalogued (sources, licenses, the operating system).\n",
            count(filled.again, "image")
        ));
    }
    if filled.absent > 0 {
        lines.push_str(&format!(
            "{} {} no catalog and {} no longer in the engine: each gets one when next pulled or built.\n",
            count(filled.absent, "image"),
            agree(filled.absent, "has", "have"),
            agree(filled.absent, "is", "are")
        ));
    }
    lines
}

/// `Apply complete! 3 pulled, 2 built, 0 deleted, 1 failed.` plus whatever else happened.
pub fn tally(tally: &Tally) -> String {
    let mut parts = vec![format!("{} pulled", tally.pulled)];
    if tally.rebased > 0 {
        parts.push(format!("{} rebased", tally.rebased));
    }
    parts.push(format!("{} built", tally.built));
    for (n, what) in [(tally.reused, "already built"), (tally.updated, "updated")] {
        if n > 0 {
            parts.push(format!("{n} {what}"));
        }
    }
    parts.push(format!("{} deleted", tally.deleted));
    parts.push(format!("{} failed", tally.failed));
    for (n, what) in [
        (tally.skipped, "skipped"),
        (tally.not_started, "not started"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {what}"));
        }
    }
    let head = if tally.not_started > 0 {
        "Apply interrupted!"
    } else {
        "Apply complete!"
    };
    let mut text = format!("{head} {}.", parts.join(", "));
    for gone in &tally.gone {
        // The time of day: the date is the apply's.
        let at = gone.at.get(11..19).unwrap_or(&gone.at);
        text.push_str(&format!("\nengine {} went away at {at}", gone.engine));
        let moved: Vec<String> = (gone.moved.iter())
            .map(|(to, n)| format!("{} moved to {to}", count(*n, "build")))
            .collect();
        if !moved.is_empty() {
            text.push_str(&format!("; {}", moved.join(", ")));
        }
    }
    text
}

/// What one of the original commands (`create`, `update`, `delete`) set out to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Create,
    Update,
    Delete,
}

/// The closing line of an original command: `Created 2.`, or what failed first:
/// `Failed 1, created 2, skipped 1.`
pub fn changed(verb: Verb, tally: &Tally) -> String {
    let past = match verb {
        Verb::Create => "created",
        Verb::Update => "updated",
        Verb::Delete => "deleted",
    };
    let done =
        tally.pulled + tally.built + tally.rebased + tally.reused + tally.updated + tally.deleted;
    let mut parts = Vec::new();
    if tally.failed > 0 {
        parts.push(format!("failed {}", tally.failed));
    }
    parts.push(format!("{past} {done}"));
    for (n, what) in [
        (tally.skipped, "skipped"),
        (tally.not_started, "not started"),
    ] {
        if n > 0 {
            parts.push(format!("{what} {n}"));
        }
    }
    let line = parts.join(", ");
    let line = if tally.failed == 0 && tally.not_started > 0 {
        format!("Interrupted: {line}")
    } else {
        let mut chars = line.chars();
        chars
            .next()
            .map(|first| first.to_uppercase().chain(chars).collect())
            .unwrap_or_default()
    };
    format!("{line}.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tally_names_what_happened() {
        let done = Tally {
            pulled: 3,
            built: 2,
            failed: 1,
            ..Tally::default()
        };
        assert_eq!(
            tally(&done),
            "Apply complete! 3 pulled, 2 built, 0 deleted, 1 failed."
        );
        let interrupted = Tally {
            reused: 2,
            skipped: 1,
            not_started: 2,
            ..Tally::default()
        };
        let rebased = Tally {
            pulled: 1,
            rebased: 5,
            built: 1,
            ..Tally::default()
        };
        assert_eq!(
            tally(&rebased),
            "Apply complete! 1 pulled, 5 rebased, 1 built, 0 deleted, 0 failed."
        );
        assert_eq!(
            tally(&interrupted),
            "Apply interrupted! 0 pulled, 0 built, 2 already built, 0 deleted, 0 failed, 1 skipped, 2 not started."
        );
    }

    #[test]
    fn original_commands_say_what_they_did_and_what_failed_first() {
        let created = Tally {
            pulled: 1,
            built: 1,
            ..Tally::default()
        };
        assert_eq!(changed(Verb::Create, &created), "Created 2.");
        let failed = Tally {
            built: 2,
            failed: 1,
            skipped: 1,
            ..Tally::default()
        };
        assert_eq!(
            changed(Verb::Update, &failed),
            "Failed 1, updated 2, skipped 1."
        );
        let deleted = Tally {
            deleted: 1,
            not_started: 2,
            ..Tally::default()
        };
        assert_eq!(
            changed(Verb::Delete, &deleted),
            "Interrupted: deleted 1, not started 2."
        );
    }

    #[test]
    fn validated_counts_each_kind() {
        assert_eq!(
            validated(1, 2),
            "The declarations are valid: 1 base image, 2 images.\n"
        );
    }
}
