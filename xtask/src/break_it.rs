//! A chapter's "Break it" claims, held to the mistakes that prove them.
//!
//! Every top-level bullet (`- …` at the start of a line) under a lesson
//! chapter's `## Break it` heading names the patch that shows the break, as
//! `` `mistakes/NAME.patch` ``, and that patch exists in
//! `solutions/NN-slug/mistakes/`. `verify` already proves every patch is
//! caught by some test, so a break the chapter claims is a break the tests
//! catch. Bullets inside `<details>` (the answers) and code blocks are not claims.

pub use lab::break_it::{HEADING, bullets};

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
