//! A chapter's "Break it" section: its top-level bullets, each naming the
//! patch (`` `mistakes/NAME.patch` ``) that makes the break it describes.
//! `verify` holds every bullet to an existing patch (xtask's `break_it`);
//! the learner's tools show the bullet that names the mistake a learner's
//! failures look like ([`crate::known`]). Bullets inside `<details>` (the
//! answers) and code blocks are not part of the list.

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
        bullet.patches = patches_named(&bullet.text);
    }
    Some(bullets)
}

/// The patch names `text` mentions as `` `mistakes/NAME.patch` `` (NAME of
/// letters, digits, `_`, `.` and `-`), in order. Read by hand: the learner's
/// tools build no regex engine.
pub fn patches_named(text: &str) -> Vec<String> {
    const OPEN: &str = "`mistakes/";
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(OPEN) {
        rest = &rest[at + OPEN.len()..];
        let name_len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || "_.-".contains(c)))
            .unwrap_or(rest.len());
        // The name runs up to the first character a name cannot hold; it
        // ends in `.patch` followed by the closing backtick.
        if let Some(name) = rest[..name_len].strip_suffix(".patch")
            && !name.is_empty()
            && rest[name_len..].starts_with('`')
        {
            found.push(name.to_string());
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
    fn a_patch_name_is_read_between_its_backticks_only() {
        assert_eq!(
            patches_named(
                "a `mistakes/a-b_1.2.patch`, `mistakes/x.patch` and `mistakes/no patch` or mistakes/y.patch"
            ),
            ["a-b_1.2", "x"]
        );
        assert!(patches_named("`mistakes/.patch` `mistakes/z.patch").is_empty());
    }
}
