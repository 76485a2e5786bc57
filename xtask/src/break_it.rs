//! A chapter's "Break it" claims, held to the mistakes that prove them.
//!
//! Every top-level bullet (`- …` at the start of a line) under a lesson
//! chapter's `## Break it` heading names the patch that shows the break, as
//! `` `mistakes/NAME.patch` ``, and that patch exists in
//! `solutions/NN-slug/mistakes/`. `verify` already proves every patch is
//! caught by some test, so a break the chapter claims is a break the tests
//! catch. Bullets inside `<details>` (the answers) and code blocks are not claims.

use std::sync::LazyLock;

use regex::Regex;

/// The heading whose bullets are claims.
pub const HEADING: &str = "## Break it";

/// One top-level bullet of the section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bullet {
    /// Its first line's number in the chapter (1-based).
    pub line: usize,
    /// Its text, continuation lines joined with spaces.
    pub text: String,
    /// The patch names it mentions (`if-instead-of-while` for
    /// `` `mistakes/if-instead-of-while.patch` ``), in order.
    pub patches: Vec<String>,
}

static PATCH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"`mistakes/([A-Za-z0-9_.-]+)\.patch`").expect("regex"));

/// The bullets of the chapter's "Break it" section; `None` when it has none.
pub fn bullets(chapter: &str) -> Option<Vec<Bullet>> {
    let mut lines = chapter.lines().enumerate().peekable();
    lines.find(|(_, line)| line.trim_end() == HEADING)?;
    let mut bullets: Vec<Bullet> = Vec::new();
    let (mut in_code, mut in_details, mut in_bullet) = (false, 0usize, false);
    for (number, line) in lines {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_code = !in_code;
            in_bullet = false;
            continue;
        }
        if in_code {
            continue;
        }
        if line.starts_with("# ") || line.starts_with("## ") {
            break; // the next section
        }
        in_details += trimmed.matches("<details").count();
        in_details = in_details.saturating_sub(trimmed.matches("</details>").count());
        if in_details > 0 {
            in_bullet = false;
            continue;
        }
        if let Some(rest) = line.strip_prefix("- ").or_else(|| line.strip_prefix("* ")) {
            bullets.push(Bullet {
                line: number + 1,
                text: rest.trim().to_string(),
                patches: Vec::new(),
            });
            in_bullet = true;
        } else if in_bullet && line.starts_with(char::is_whitespace) && !trimmed.is_empty() {
            let bullet = bullets.last_mut().expect("in a bullet");
            bullet.text.push(' ');
            bullet.text.push_str(trimmed);
        } else {
            in_bullet = false;
        }
    }
    for bullet in &mut bullets {
        bullet.patches = PATCH
            .captures_iter(&bullet.text)
            .map(|found| found[1].to_string())
            .collect();
    }
    Some(bullets)
}

/// What is wrong with a chapter's "Break it" claims, one sentence each:
/// `chapter` is its text, shown as `shown`; `mistakes` the names of the
/// lesson's patches.
pub fn problems(shown: &str, chapter: &str, mistakes: &[String]) -> Vec<String> {
    let Some(bullets) = bullets(chapter) else {
        return vec![format!(
            "{shown} has no \"{HEADING}\" section naming the lesson's mistakes"
        )];
    };
    let mut found = Vec::new();
    if bullets.is_empty() {
        found.push(format!(
            "{shown}: \"{HEADING}\" has no bullets; each names a `mistakes/NAME.patch`"
        ));
    }
    for bullet in &bullets {
        let opening: String = bullet.text.chars().take(50).collect();
        if bullet.patches.is_empty() {
            found.push(format!(
                "{shown}:{}: the \"Break it\" bullet \"{opening}…\" names no `mistakes/NAME.patch` that shows it",
                bullet.line
            ));
        }
        for patch in &bullet.patches {
            if !mistakes.contains(patch) {
                found.push(format!(
                    "{shown}:{}: the \"Break it\" bullet names mistakes/{patch}.patch, which the lesson's solution does not have",
                    bullet.line
                ));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHAPTER: &str = "\
# 03 · Backpressure

## Break it

The tests catch each of these:

- Build the queue with `unbounded()` (`mistakes/unbounded.patch`).
- Use `bounded(capacity + 1)`
  (`mistakes/off-by-one.patch`), or `bounded(capacity - 1)`
  (`mistakes/one-short.patch`).
- Replace `send` with `try_send`.

```rust
- not a bullet
```

<details>
<summary>What you should see</summary>

- an answer, not a claim

</details>

## Fix it

- not in the section
";

    #[test]
    fn top_level_bullets_with_their_continuation_lines_are_the_claims() {
        let found = bullets(CHAPTER).expect("a Break it section");
        let names: Vec<&Vec<String>> = found.iter().map(|b| &b.patches).collect();
        assert_eq!(
            names,
            [
                &vec!["unbounded".to_string()],
                &vec!["off-by-one".to_string(), "one-short".to_string()],
                &vec![],
            ]
        );
        assert_eq!(found[2].line, 11);
    }

    #[test]
    fn a_bullet_naming_no_patch_or_a_missing_one_is_a_problem() {
        let mistakes = ["unbounded".to_string(), "off-by-one".to_string()];
        let found = problems("ch.md", CHAPTER, &mistakes);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].contains("one-short.patch, which the lesson's solution does not have"));
        assert!(found[1].starts_with("ch.md:11:"), "{found:?}");
        assert!(found[1].contains("names no `mistakes/NAME.patch`"));
    }

    #[test]
    fn a_chapter_without_the_section_is_a_problem() {
        assert_eq!(problems("ch.md", "# 01\n\n## Run\n", &[]).len(), 1);
    }
}
