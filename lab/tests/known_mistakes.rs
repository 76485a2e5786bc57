//! The kit's own known mistakes, as the learner's tools would name them:
//! every recorded signature belongs to a patch, the line naming a mistake
//! (from its own failures) quotes none of its patch's code, and the Break-it
//! bullet a hint shows is one that names the mistake. Reads files only.

use std::collections::BTreeSet;
use std::path::Path;

use lab::kit;
use lab::known::KnownMistakes;
use lab::matcher::Catalogue;

/// The code lines a patch adds or removes (long enough to be code, not `}`).
fn changed_code(patch: &str) -> Vec<String> {
    patch
        .lines()
        .filter(|line| {
            (line.starts_with('+') || line.starts_with('-'))
                && !line.starts_with("+++")
                && !line.starts_with("---")
        })
        .map(|line| line[1..].trim().to_string())
        .filter(|code| code.len() >= 12)
        .collect()
}

#[test]
fn every_mistake_named_by_its_own_failures_is_told_without_its_patch_and_with_its_own_bullet() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut checked = 0;
    for lesson in kit::lessons(&root, &[]).expect("the kit's lessons") {
        let Some(known) = KnownMistakes::load(&lesson).expect("signatures and chapter read") else {
            continue;
        };
        let patches: BTreeSet<String> = lesson
            .mistakes()
            .expect("mistakes listed")
            .into_iter()
            .map(|m| m.name)
            .collect();
        for (name, signature) in known.signatures() {
            assert!(
                patches.contains(name),
                "lesson {}: signatures.json names {name}, which has no patch in mistakes/",
                lesson.number
            );
            let Some(found) = known.identify(&Catalogue::failures_of(signature)) else {
                continue; // ambiguous: silence, nothing told
            };
            // The line is the tool's own words; the bullet a hint adds is the
            // chapter's, which may quote code on purpose.
            let said = known.learner_line(&found);
            for mistake in &found.mistakes {
                let patch = std::fs::read_to_string(
                    lesson
                        .solution
                        .join("mistakes")
                        .join(format!("{mistake}.patch")),
                )
                .expect("the patch reads");
                for code in changed_code(&patch) {
                    assert!(
                        !said.contains(&code),
                        "lesson {}: what the learner is told about {mistake} quotes its patch ({code:?}):\n{said}",
                        lesson.number
                    );
                }
                if let Some(bullet) = &found.bullet {
                    assert!(
                        found
                            .mistakes
                            .iter()
                            .any(|m| bullet.contains(&format!("`mistakes/{m}.patch`"))),
                        "lesson {}: the bullet shown for {mistake} does not name it: {bullet}",
                        lesson.number
                    );
                }
            }
            checked += 1;
        }
    }
    assert!(checked > 0, "no lesson has signatures to check");
}
