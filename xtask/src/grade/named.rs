//! Which known mistake each failing lesson of a copy looks like, and per
//! lesson how many learners each: the learner's matcher ([`lab::known`]) run
//! over the grader's results, so a class can be taught from its own mistakes.
//!
//! A lesson is named only when every kit test of it ran (a lesson cut short
//! by the total limit, or whose tests could not be listed, says nothing) and
//! the matcher finds one group unambiguously; see the matcher's rule and the
//! instructors' appendix ("Naming a known mistake") for how often it is
//! right. Names are worked out from the rows each time a report is written,
//! so rows kept by `--resume` are named from the signatures of today.
//! Nothing here reads a patch: only names, test names and messages.

use std::collections::BTreeMap;

use lab::known::KnownMistakes;
use lab::matcher::Failure;

use super::report::{LessonMistakes, MistakeCount, Named, Row, State};
use super::trial::Status;
use crate::kit::Lesson;

/// Every graded lesson's known mistakes, loaded once per grading.
#[derive(Default)]
pub struct Catalogues {
    by_lesson: BTreeMap<String, KnownMistakes>,
}

impl Catalogues {
    /// The known mistakes of `lessons`. A lesson whose signatures or chapter
    /// cannot be read is graded all the same, its mistakes unnamed: stderr
    /// says why.
    pub fn load(lessons: &[Lesson]) -> Self {
        let mut by_lesson = BTreeMap::new();
        for lesson in lessons {
            match KnownMistakes::load(lesson) {
                Ok(Some(known)) => {
                    by_lesson.insert(lesson.slug.clone(), known);
                }
                Ok(None) => {}
                Err(error) => eprintln!(
                    "WARNING: {}'s known mistakes cannot be read, so none is named: {error:#}",
                    lesson.slug
                ),
            }
        }
        Catalogues { by_lesson }
    }

    /// Catalogues of these lessons' known mistakes (for tests).
    #[cfg(test)]
    pub fn from_map(by_lesson: BTreeMap<String, KnownMistakes>) -> Self {
        Catalogues { by_lesson }
    }

    /// Whether `lesson` has known mistakes recorded.
    pub fn has(&self, lesson: &str) -> bool {
        self.by_lesson.contains_key(lesson)
    }

    /// The known mistake `row`'s failures look like, if the match is
    /// unambiguous.
    pub fn identify(&self, row: &Row) -> Option<Named> {
        let known = self.by_lesson.get(&row.lesson)?;
        let failures = failures(row)?;
        let found = known.identify(&failures)?;
        Some(Named {
            mistakes: found.mistakes,
            description: found.description,
            section: found.section,
            bullet: found.bullet,
        })
    }

    /// Names the known mistake of every row (none where there is none).
    pub fn name_all(&self, rows: &mut [Row]) {
        for row in rows {
            row.known = self.identify(row);
        }
    }
}

/// Whether `row` is a graded lesson with a test that did not pass.
pub fn failing(row: &Row) -> bool {
    row.state == State::Graded && row.failed + row.timed_out > 0
}

/// A failing row's failures as the matcher takes them; `None` when the row
/// is not failing or not all of its tests ran (the set would be a guess).
fn failures(row: &Row) -> Option<Vec<Failure<'_>>> {
    if !failing(row) || row.tests.len() != row.total {
        return None;
    }
    let not_passing: Vec<_> = row
        .tests
        .iter()
        .filter(|t| t.status != Status::Passed)
        .collect();
    if not_passing.iter().any(|t| t.runs == 0) {
        return None;
    }
    Some(
        not_passing
            .into_iter()
            .map(|t| Failure {
                test: lab::known::without_binary(&t.name),
                // A test killed at the time limit has no message to compare,
                // as the learner's tools see it.
                message: match t.status {
                    Status::TimedOut => None,
                    _ => t.message.as_deref(),
                },
            })
            .collect(),
    )
}

/// Per lesson, in the rows' order: how many copies fail, and which known
/// mistakes they look like (the rows' [`Row::known`]).
pub fn summary(rows: &[Row], catalogues: &Catalogues) -> Vec<LessonMistakes> {
    let mut lessons: Vec<LessonMistakes> = Vec::new();
    for row in rows {
        let at = match lessons.iter().position(|l| l.lesson == row.lesson) {
            Some(at) => at,
            None => {
                lessons.push(LessonMistakes {
                    lesson: row.lesson.clone(),
                    signatures: catalogues.has(&row.lesson),
                    failing: 0,
                    named: Vec::new(),
                    not_named: 0,
                });
                lessons.len() - 1
            }
        };
        let lesson = &mut lessons[at];
        if !failing(row) {
            continue;
        }
        lesson.failing += 1;
        let Some(named) = &row.known else {
            lesson.not_named += 1;
            continue;
        };
        match lesson
            .named
            .iter_mut()
            .find(|m| m.named.mistakes == named.mistakes)
        {
            Some(count) => {
                count.count += 1;
                count.learners.push(row.learner.clone());
            }
            None => lesson.named.push(MistakeCount {
                named: named.clone(),
                count: 1,
                learners: vec![row.learner.clone()],
            }),
        }
    }
    for lesson in &mut lessons {
        // Stable: equal counts keep the order the class showed them in.
        lesson.named.sort_by_key(|m| std::cmp::Reverse(m.count));
    }
    lessons
}

#[cfg(test)]
pub(crate) mod tests {
    use lab::signature::{Signature, Signatures};

    use super::super::trial::TestResult;
    use super::*;

    const CHAPTER: &str = "\
# 09 · A blocking queue

## Run

## Putting and getting

## Closing

## Alter it

## Break it

- Replace `while` with `if` around the wait in `get`:
  `mistakes/if-instead-of-while-in-get.patch`.
- In `close`, `notify_one` instead of `notify_all`:
  `mistakes/close-strands-waiters.patch`.
";

    fn catalogues() -> Catalogues {
        let sig = |fails: &[&str], message: &str| Signature {
            fails: fails.iter().map(|t| t.to_string()).collect(),
            messages: fails
                .iter()
                .map(|t| (t.to_string(), message.to_string()))
                .collect(),
        };
        let signatures = Signatures::from([
            (
                "if-instead-of-while-in-get".to_string(),
                sig(&["s1_putting_and_getting::b"], "got None"),
            ),
            (
                "close-strands-waiters".to_string(),
                sig(&["s2_closing::d"], "waiter # stranded"),
            ),
        ]);
        Catalogues::from_map(BTreeMap::from([(
            "09-queue".to_string(),
            KnownMistakes::new("09", signatures, CHAPTER),
        )]))
    }

    fn test(name: &str, status: Status, message: Option<&str>) -> TestResult {
        TestResult {
            name: format!("queue::{name}"),
            status,
            runs: if status == Status::Passed { 1 } else { 3 },
            failures: u32::from(status != Status::Passed) * 3,
            seconds: 0.1,
            message: message.map(str::to_string),
        }
    }

    /// A graded row of lesson `lesson`, counted from `tests`.
    pub(crate) fn row(learner: &str, lesson: &str, tests: Vec<TestResult>) -> Row {
        let mut row = Row {
            learner: learner.to_string(),
            lesson: lesson.to_string(),
            state: State::Graded,
            passed: 0,
            held: 0,
            failed: 0,
            timed_out: 0,
            total: tests.len(),
            note: None,
            review: Vec::new(),
            tests,
            files: Vec::new(),
            known: None,
        };
        row.count();
        row
    }

    /// Lesson 09 failing `b` with `message`, passing `d`.
    fn fails_b(learner: &str, message: &str) -> Row {
        row(
            learner,
            "09-queue",
            vec![
                test(
                    "s1_putting_and_getting::b",
                    Status::Failed,
                    Some(&format!("{message}\n  left: 1")),
                ),
                test("s2_closing::d", Status::Passed, None),
            ],
        )
    }

    #[test]
    fn a_failing_lesson_is_named_and_the_class_counts_learners_per_mistake() {
        let catalogues = catalogues();
        let mut rows = vec![
            fails_b("ada", "got None"),
            fails_b("bob", "got None"),
            // The same test failing for another reason is not that mistake.
            fails_b("cy", "the queue is empty"),
            row(
                "dee",
                "09-queue",
                vec![
                    test("s1_putting_and_getting::b", Status::Passed, None),
                    // Killed at the limit: no message to compare, the tests decide.
                    test("s2_closing::d", Status::TimedOut, Some("killed at 20 s")),
                ],
            ),
            row(
                "eve",
                "09-queue",
                vec![
                    test("s1_putting_and_getting::b", Status::Passed, None),
                    test("s2_closing::d", Status::Passed, None),
                ],
            ),
        ];
        catalogues.name_all(&mut rows);
        let named = rows[0].known.as_ref().expect("ada's is named");
        assert_eq!(named.mistakes, ["if-instead-of-while-in-get"]);
        assert_eq!(named.description, "if instead of while in get");
        assert_eq!(named.section.as_deref(), Some("Putting and getting"));
        assert!(named.bullet.as_deref().unwrap().starts_with("Replace"));
        assert_eq!(rows[2].known, None);
        assert_eq!(rows[4].known, None, "a passing lesson names nothing");

        let summary = summary(&rows, &catalogues);
        assert_eq!(summary.len(), 1);
        let lesson = &summary[0];
        assert!(lesson.signatures);
        assert_eq!((lesson.failing, lesson.not_named), (4, 1));
        let counts: Vec<(&str, usize, Vec<&str>)> = lesson
            .named
            .iter()
            .map(|m| {
                (
                    m.named.mistakes[0].as_str(),
                    m.count,
                    m.learners.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            counts,
            [
                ("if-instead-of-while-in-get", 2, vec!["ada", "bob"]),
                ("close-strands-waiters", 1, vec!["dee"]),
            ]
        );
    }

    #[test]
    fn a_lesson_not_every_test_of_which_ran_is_not_named() {
        let catalogues = catalogues();
        let mut cut = fails_b("ada", "got None");
        cut.tests.pop();
        cut.count();
        assert_eq!(catalogues.identify(&cut), None);
        let mut unlisted = fails_b("bob", "got None");
        unlisted.tests[1] = TestResult {
            runs: 0,
            ..test("s2_closing::d", Status::Failed, Some("not listed"))
        };
        unlisted.count();
        assert_eq!(catalogues.identify(&unlisted), None);
    }

    #[test]
    fn a_lesson_without_signatures_counts_its_failing_copies_as_not_named() {
        let mut rows = vec![
            fails_b("ada", "got None"),
            Row {
                state: State::NotStarted,
                ..fails_b("bob", "got None")
            },
        ];
        let none = Catalogues::default();
        none.name_all(&mut rows);
        let summary = summary(&rows, &none);
        assert!(!summary[0].signatures);
        assert_eq!((summary[0].failing, summary[0].not_named), (1, 1));
        assert!(summary[0].named.is_empty());
    }
}
