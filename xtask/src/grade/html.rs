//! The grades as one self-contained HTML page: a row per learner and a
//! column per lesson (score, not started, review flags, the known mistake a
//! failing lesson looks like), the class's charts as inline SVG, the known
//! mistakes per lesson, and what failed. Inline CSS, no script, no URL: it
//! opens from a file, a mail or a phone.
//!
//! Learners' copies are hostile: every string that reaches the page goes
//! through [`escape`], the kit's own too (one rule is easier to keep).
//! On a 390 px phone only the table's own box scrolls sideways; long words
//! elsewhere wrap.

use std::fmt::Write as _;

use super::charts::{self, Bar};
use super::named;
use super::report::{Class, LessonMistakes, Row, State};
use super::trial::Status;

/// `text` safe inside an element or a quoted attribute.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const STYLE: &str = "\
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0 auto;max-width:62rem;padding:0 12px 2rem;font:16px/1.45 system-ui,sans-serif;color:#1b1b1b;background:#fff;overflow-wrap:anywhere}
h1{font-size:1.6rem}h2{font-size:1.3rem;margin-top:2rem}h3{font-size:1.1rem}
.warn{background:#fde8e8;border-left:4px solid #b00;padding:.5rem .75rem}
figure{margin:1rem 0}figcaption{font-weight:600}
svg{display:block;width:100%;max-width:480px;height:auto}
.legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.25rem 1rem;font-size:14px}
.swatch{display:inline-block;width:.9em;height:.9em;margin-right:.3em;vertical-align:-.1em}
.scroll{overflow-x:auto;max-width:100%;border:1px solid #ccc}
table{border-collapse:collapse;font-size:14px;overflow-wrap:normal}
th,td{border:1px solid #ddd;padding:.3rem .45rem;vertical-align:top;text-align:left}
thead th{background:#f2f2f2}
tbody th{position:sticky;left:0;background:#fff;max-width:10rem;overflow-wrap:anywhere}
td{min-width:6.5rem}
.ok{background:#e3f4ea}.bad{background:#fdeee4}.none{color:#555;background:#f7f7f7}.odd{background:#fff6d6}
.score{font-weight:600}
.named,.flag{display:block;font-size:13px}
.flag{color:#8a1c00;font-weight:600}
pre{white-space:pre-wrap;overflow-wrap:anywhere;font-size:13px;background:#f7f7f7;padding:.5rem}
summary{cursor:pointer}
.small{font-size:13px;color:#444}
";

/// The whole page.
pub fn render(class: &Class) -> String {
    let mut out = String::new();
    let learners = class.learners.len();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Grades: {learners} cop{}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n",
        if learners == 1 { "y" } else { "ies" }
    );
    let _ = writeln!(out, "<h1>Grades</h1>");
    header(&mut out, class);
    let _ = writeln!(out, "<h2>The class</h2>");
    class_charts(&mut out, class);
    let _ = writeln!(out, "<h2>Learners and lessons</h2>");
    grid(&mut out, class);
    let _ = writeln!(out, "<h2>Known mistakes, per lesson</h2>");
    known(&mut out, &class.known_mistakes);
    let _ = writeln!(out, "<h2>What failed</h2>");
    failures(&mut out, &class.rows);
    footer(&mut out, class);
    out.push_str("</body>\n</html>\n");
    out
}

fn header(out: &mut String, class: &Class) {
    let learners = class.learners.len();
    if !class.sandboxed {
        let _ = writeln!(
            out,
            "<p class=\"warn\">NOT sandboxed (bubblewrap is not available): the learners' code ran with your permissions.</p>"
        );
    }
    if class.cut_short {
        let _ = writeln!(
            out,
            "<p class=\"warn\">Stopped at the total limit: the lessons not graded say so.</p>"
        );
    }
    if class.verdicts != "channel" {
        let _ = writeln!(
            out,
            "<p class=\"warn\">Verdicts read from the tests' output (no verdict channel on this platform): forgeable.</p>"
        );
    }
    let _ = writeln!(
        out,
        "<p>{learners} cop{} graded in {:.1} s.</p>",
        if learners == 1 { "y" } else { "ies" },
        class.seconds
    );
    let _ = writeln!(out, "<ul>");
    for summary in &class.learners {
        let _ = writeln!(out, "<li>{}</li>", escape(&summary.line()));
    }
    let _ = writeln!(out, "</ul>");
}

/// The lessons in the rows' order.
fn lessons(rows: &[Row]) -> Vec<&str> {
    let mut lessons: Vec<&str> = Vec::new();
    for row in rows {
        if !lessons.contains(&row.lesson.as_str()) {
            lessons.push(&row.lesson);
        }
    }
    lessons
}

/// `03` of `03-backpressure`.
fn number(lesson: &str) -> &str {
    lesson.split('-').next().unwrap_or(lesson)
}

/// Which bar of the outcomes chart a row counts in.
fn outcome(row: &Row) -> usize {
    if row.complete() {
        0
    } else if named::failing(row) || row.state == State::DoesNotCompile {
        1
    } else if row.state == State::NotStarted {
        3
    } else {
        4
    }
}

const OUTCOMES: [(usize, &str); 4] = [
    (0, "complete"),
    (1, "failing (or does not compile)"),
    (3, "not started"),
    (4, "other: held for review, missing, refused, not graded"),
];

fn legend(out: &mut String, series: &[(usize, &str)]) {
    let _ = write!(out, "<ul class=\"legend\">");
    for (colour, name) in series {
        let _ = write!(
            out,
            "<li><span class=\"swatch\" style=\"background:{}\"></span>{}</li>",
            charts::css_colour(*colour),
            escape(name)
        );
    }
    let _ = writeln!(out, "</ul>");
}

fn figure(
    out: &mut String,
    caption: &str,
    chart: anyhow::Result<String>,
    series: &[(usize, &str)],
) {
    let _ = writeln!(
        out,
        "<figure>\n<figcaption>{}</figcaption>",
        escape(caption)
    );
    match chart {
        Ok(svg) => out.push_str(&svg),
        Err(error) => {
            let _ = writeln!(
                out,
                "<p>(the chart could not be drawn: {})</p>",
                escape(&format!("{error:#}"))
            );
        }
    }
    legend(out, series);
    let _ = writeln!(out, "</figure>");
}

fn class_charts(out: &mut String, class: &Class) {
    let lessons = lessons(&class.rows);
    if lessons.is_empty() {
        let _ = writeln!(out, "<p>No lesson graded.</p>");
        return;
    }
    let bars: Vec<Bar> = lessons
        .iter()
        .map(|lesson| {
            let mut parts = vec![0; 5];
            for row in class.rows.iter().filter(|r| r.lesson == *lesson) {
                parts[outcome(row)] += 1;
            }
            Bar {
                label: number(lesson).to_string(),
                parts,
            }
        })
        .collect();
    figure(
        out,
        "Learners per lesson, by outcome",
        charts::stacked(&bars, "learners"),
        &OUTCOMES,
    );
    let failing: Vec<&LessonMistakes> = class
        .known_mistakes
        .iter()
        .filter(|l| l.failing > 0)
        .collect();
    if failing.is_empty() {
        return;
    }
    let bars: Vec<Bar> = failing
        .iter()
        .map(|lesson| {
            let named: usize = lesson.named.iter().map(|m| m.count).sum();
            Bar {
                label: number(&lesson.lesson).to_string(),
                parts: vec![0, 0, named as u32, lesson.not_named as u32],
            }
        })
        .collect();
    figure(
        out,
        "Failing copies per lesson: a known mistake named, or not",
        charts::stacked(&bars, "failing copies"),
        &[(2, "looks like a known mistake"), (3, "not named")],
    );
}

/// A lesson's cell: its score or state, its review flags, its known mistake.
fn cell(row: &Row) -> String {
    let (class, main) = match row.state {
        State::Graded if row.complete() => ("ok", format!("{}/{}", row.passed, row.total)),
        State::Graded if named::failing(row) => ("bad", format!("{}/{}", row.passed, row.total)),
        State::Graded => ("odd", format!("{}/{}", row.passed, row.total)),
        State::NotStarted => ("none", "not started".to_string()),
        State::DoesNotCompile => ("bad", "does not compile".to_string()),
        State::Missing => ("none", "missing".to_string()),
        State::Refused => ("odd", "refused".to_string()),
        State::NotGraded => ("none", "not graded".to_string()),
    };
    let mut text = format!(
        "<td class=\"{class}\"><span class=\"score\">{}</span>",
        escape(&main)
    );
    if row.timed_out > 0 {
        let _ = write!(
            text,
            "<span class=\"flag\">{} timed out</span>",
            row.timed_out
        );
    }
    if !row.review.is_empty() {
        let _ = write!(
            text,
            "<span class=\"flag\">review: {} line{}{}</span>",
            row.review.len(),
            if row.review.len() == 1 { "" } else { "s" },
            if row.held > 0 {
                format!(", {} pass(es) held", row.held)
            } else {
                String::new()
            }
        );
    }
    if let Some(known) = &row.known {
        let _ = write!(
            text,
            "<span class=\"named\">looks like: {}</span>",
            escape(&known.description)
        );
    }
    text.push_str("</td>");
    text
}

fn grid(out: &mut String, class: &Class) {
    let lessons = lessons(&class.rows);
    let _ = writeln!(
        out,
        "<p class=\"small\">A cell: tests passed of the kit's tests; a flag when code \
         must be reviewed (its passes are held, not counted) or a test timed out; \
         \"looks like\" names the known mistake a failing lesson's tests match — a likely \
         diagnosis, not a verdict.</p>"
    );
    let _ = write!(
        out,
        "<div class=\"scroll\" role=\"region\" aria-label=\"Grades, one row per learner\" tabindex=\"0\">\n<table>\n<thead><tr><th scope=\"col\">learner</th>"
    );
    for lesson in &lessons {
        let _ = write!(
            out,
            "<th scope=\"col\"><abbr title=\"{}\">{}</abbr></th>",
            escape(lesson),
            escape(number(lesson))
        );
    }
    let _ = writeln!(out, "<th scope=\"col\">complete</th></tr></thead>\n<tbody>");
    for summary in &class.learners {
        let _ = write!(
            out,
            "<tr><th scope=\"row\">{}</th>",
            escape(&summary.learner)
        );
        for lesson in &lessons {
            match class
                .rows
                .iter()
                .find(|r| r.learner == summary.learner && r.lesson == *lesson)
            {
                Some(row) => out.push_str(&cell(row)),
                None => out.push_str("<td class=\"none\">—</td>"),
            }
        }
        let _ = writeln!(
            out,
            "<td>{} of {}</td></tr>",
            summary.lessons_complete, summary.lessons
        );
    }
    let _ = writeln!(out, "</tbody>\n</table>\n</div>");
}

fn known(out: &mut String, lessons: &[LessonMistakes]) {
    let failing: Vec<&LessonMistakes> = lessons.iter().filter(|l| l.failing > 0).collect();
    if failing.is_empty() {
        let _ = writeln!(out, "<p>No graded lesson fails.</p>");
        return;
    }
    let _ = writeln!(
        out,
        "<p class=\"small\">A mistake is named only when a copy's failing tests are exactly \
         a known mistake's (and their messages agree), and no other mistake matches as well. \
         See the instructors' appendix, \"Naming a known mistake\", for how often it is right.</p>"
    );
    for lesson in failing {
        let _ = writeln!(
            out,
            "<h3>{}: {} failing cop{}</h3>\n<ul>",
            escape(&lesson.lesson),
            lesson.failing,
            if lesson.failing == 1 { "y" } else { "ies" }
        );
        for mistake in &lesson.named {
            let named = &mistake.named;
            let _ = write!(
                out,
                "<li><strong>{} learner{}</strong>: {}",
                mistake.count,
                if mistake.count == 1 { "" } else { "s" },
                escape(&named.description)
            );
            if let Some(section) = &named.section {
                let _ = write!(out, " (read \u{201c}{}\u{201d})", escape(section));
            }
            let _ = write!(out, " — {}", escape(&mistake.learners.join(", ")));
            if let Some(bullet) = &named.bullet {
                let _ = write!(
                    out,
                    "<br><span class=\"small\">Break it: {}</span>",
                    escape(bullet)
                );
            }
            let _ = writeln!(out, "</li>");
        }
        if lesson.not_named > 0 {
            let _ = writeln!(
                out,
                "<li><strong>{}</strong> not named ({})</li>",
                lesson.not_named,
                if lesson.signatures {
                    "like no known mistake, or not unambiguously"
                } else {
                    "no known mistakes are recorded for this lesson"
                }
            );
        }
        let _ = writeln!(out, "</ul>");
    }
}

fn failures(out: &mut String, rows: &[Row]) {
    let mut any = false;
    for row in rows {
        let not_passing: Vec<_> = row
            .tests
            .iter()
            .filter(|t| t.status != Status::Passed)
            .collect();
        if not_passing.is_empty() && row.note.is_none() && row.review.is_empty() {
            continue;
        }
        any = true;
        let _ = writeln!(
            out,
            "<details><summary>{} · {}: {}</summary>",
            escape(&row.learner),
            escape(&row.lesson),
            escape(row.state.name())
        );
        if let Some(note) = &row.note {
            let _ = writeln!(out, "<pre>{}</pre>", escape(note));
        }
        for test in not_passing {
            let how = match test.status {
                Status::TimedOut => "timed out".to_string(),
                _ if test.varied() => format!("fails {} of {} runs", test.failures, test.runs),
                _ => "failed".to_string(),
            };
            let _ = writeln!(
                out,
                "<p>{} {}:</p><pre>{}</pre>",
                escape(&how),
                escape(&test.name),
                escape(test.message.as_deref().unwrap_or("(no message)"))
            );
        }
        for line in &row.review {
            let _ = writeln!(out, "<p class=\"flag\">review: {}</p>", escape(line));
        }
        let _ = writeln!(out, "</details>");
    }
    if !any {
        let _ = writeln!(out, "<p>Nothing failed.</p>");
    }
}

fn footer(out: &mut String, class: &Class) {
    let l = &class.limits;
    let _ = writeln!(
        out,
        "<p class=\"small\">Limits: {} s per test run, {} run(s) of each test of a lesson that \
         differs from the solution, {} s of CPU per compiler, {} MiB of memory and {} processes \
         per build or test ({}), {} MiB per writable area.</p>",
        l.test_seconds,
        l.runs,
        l.build_cpu_seconds,
        l.memory_mib,
        l.processes,
        escape(&l.enforced_by),
        l.disk_mib
    );
}

#[cfg(test)]
mod tests {
    use super::super::named::tests::row;
    use super::super::report::{LimitsReport, summaries};
    use super::super::trial::TestResult;
    use super::*;

    fn class(rows: Vec<Row>) -> Class {
        Class {
            sandboxed: true,
            verdicts: "channel".into(),
            limits: LimitsReport {
                test_seconds: 20,
                build_cpu_seconds: 300,
                memory_mib: 2048,
                processes: 512,
                disk_mib: 512,
                enforced_by: "cgroup v1".into(),
                runs: 3,
            },
            seconds: 1.0,
            cut_short: false,
            learners: summaries(&rows),
            known_mistakes: Vec::new(),
            rows,
        }
    }

    #[test]
    fn escape_leaves_no_markup() {
        assert_eq!(
            escape(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
    }

    #[test]
    fn a_hostile_copy_name_and_message_are_escaped_and_the_page_names_no_url() {
        let failing = TestResult {
            name: "answer::the_answer_is_42".into(),
            status: Status::Failed,
            runs: 3,
            failures: 3,
            seconds: 0.1,
            message: Some("<img src=x onerror=alert(1)> https://evil.example/".into()),
        };
        let mut hostile = row("<script>", "01-good", vec![failing]);
        hostile.review = vec!["src/lib.rs:3: <b>unsafe</b>".into()];
        let page = render(&class(vec![hostile]));
        assert!(!page.contains("<script>"), "{page}");
        assert!(page.contains("&lt;script&gt;"), "{page}");
        assert!(!page.contains("<img") && !page.contains("<b>"), "{page}");
        assert!(page.contains("&lt;img src=x"), "{page}");
        // The message's URL is shown as text: no element of the page
        // refers to anything outside it.
        for outside in ["src=\"", "href=", "<script", "<link", "<iframe", "url("] {
            assert!(!page.contains(outside), "{outside} in:\n{page}");
        }
        assert!(!page.contains("http://"), "{page}");
    }

    #[test]
    fn the_grid_has_a_row_per_learner_and_a_column_per_lesson() {
        let pass = |name: &str| TestResult {
            name: name.into(),
            status: Status::Passed,
            runs: 1,
            failures: 0,
            seconds: 0.1,
            message: None,
        };
        let mut untouched = row("bob", "02-two", Vec::new());
        untouched.state = State::NotStarted;
        untouched.total = 2;
        let page = render(&class(vec![
            row("ada", "01-one", vec![pass("a::x")]),
            row("ada", "02-two", vec![pass("a::y"), pass("a::z")]),
            row("bob", "01-one", vec![pass("a::x")]),
            untouched,
        ]));
        assert_eq!(page.matches("<tr><th scope=\"row\">").count(), 2, "{page}");
        assert!(page.contains("<abbr title=\"02-two\">02</abbr>"), "{page}");
        assert!(page.contains("not started"), "{page}");
        assert!(page.contains("2/2"), "{page}");
        assert!(page.contains("<svg"), "the class chart is inline: {page}");
    }
}
