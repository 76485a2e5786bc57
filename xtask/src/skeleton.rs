//! The starter is the solution minus the learner's function bodies.
//!
//! A starter that drifts from its solution outside those bodies (a field
//! renamed, a doc comment the solution corrected, a helper only the solution
//! has) teaches one thing and grades another. Both files are parsed with `syn`
//! and compared item by item as token streams, so formatting and plain `//`
//! comments may differ while code and doc comments may not:
//!
//! - a *learner's function* is a function, method or trait default method
//!   whose starter body contains a `todo!`; its body is blanked on both sides
//!   (a nested function inside it goes with it);
//! - the one exception: the starter may carry **one** inner attribute
//!   `#![allow(…)]` naming only lints from [`STARTER_MAY_ALLOW`], which its
//!   solution does not have — what a starter needs while its bodies are
//!   `todo!()` (parameters, imports and fields not used yet).

use std::collections::BTreeSet;

use anyhow::{Context as _, Result};
use quote::ToTokens;
use syn::visit::Visit;
use syn::{AttrStyle, Attribute, Block, ImplItem, Item, TraitItem};

/// The lints a starter may allow in its one `#![allow(…)]`: rustc's `unused`
/// group and `dead_code`, which fire only because the bodies are not written yet.
pub const STARTER_MAY_ALLOW: &[&str] = &[
    "unused",
    "unused_variables",
    "unused_imports",
    "unused_mut",
    "unused_assignments",
    "dead_code",
    "unreachable_code",
];

/// How a starter file differs from its solution outside the learner's bodies,
/// one sentence each (at most a few); empty when they agree.
pub fn differences(starter: &str, solution: &str) -> Result<Vec<String>> {
    let mut starter = syn::parse_file(starter).context("the starter does not parse")?;
    let mut solution = syn::parse_file(solution).context("the solution does not parse")?;
    let mut learners = BTreeSet::new();
    blank_learner_bodies(&mut starter.items, &mut learners);
    blank_bodies_named(&mut solution.items, &learners);
    drop_starter_allow(&mut starter.attrs);

    let mut found = Vec::new();
    let (ours, theirs) = (tokens(&starter.attrs), tokens(&solution.attrs));
    if ours != theirs {
        found.push(format!(
            "the inner attributes differ (beyond one #![allow({})]): {}",
            STARTER_MAY_ALLOW.join(", "),
            first_difference(&ours, &theirs)
        ));
    }
    compare_items(&starter.items, &solution.items, "", &mut found);
    found.truncate(MAX_REPORTED);
    Ok(found)
}

/// Enough to find the drift; more would bury the first.
const MAX_REPORTED: usize = 5;

/// Blanks, in place, the body of every function whose body contains `todo!`;
/// records each one's path (`impl Queue<T>::put`).
fn blank_learner_bodies(items: &mut [Item], learners: &mut BTreeSet<String>) {
    for_each_body(items, "", &mut |block, name| {
        if contains_todo(block) {
            block.stmts.clear();
            learners.insert(name);
        }
    });
}

/// Blanks, in place, the bodies of the functions at the paths in `learners`.
fn blank_bodies_named(items: &mut [Item], learners: &BTreeSet<String>) {
    for_each_body(items, "", &mut |block, name| {
        if learners.contains(&name) {
            block.stmts.clear();
        }
    });
}

/// Calls `each` with every function body in `items` (free functions, methods,
/// trait default methods, in inline modules too) and the function's path.
fn for_each_body(items: &mut [Item], scope: &str, each: &mut dyn FnMut(&mut Block, String)) {
    for item in items {
        match item {
            Item::Fn(f) => each(&mut f.block, path(scope, &f.sig.ident.to_string())),
            Item::Impl(imp) => {
                let inner = path(scope, &impl_name(imp));
                for member in &mut imp.items {
                    if let ImplItem::Fn(f) = member {
                        each(&mut f.block, path(&inner, &f.sig.ident.to_string()));
                    }
                }
            }
            Item::Trait(t) => {
                let inner = path(scope, &format!("trait {}", t.ident));
                for member in &mut t.items {
                    if let TraitItem::Fn(f) = member
                        && let Some(block) = &mut f.default
                    {
                        each(block, path(&inner, &f.sig.ident.to_string()));
                    }
                }
            }
            Item::Mod(m) => {
                if let Some((_, content)) = &mut m.content {
                    for_each_body(content, &path(scope, &format!("mod {}", m.ident)), each);
                }
            }
            _ => {}
        }
    }
}

fn path(scope: &str, name: &str) -> String {
    if scope.is_empty() {
        name.to_string()
    } else {
        format!("{scope}::{name}")
    }
}

/// `impl BlockingQueue<T> for CondvarQueue<T>`, as a person would write it.
fn impl_name(imp: &syn::ItemImpl) -> String {
    let self_ty = squeeze(&imp.self_ty.to_token_stream().to_string());
    match &imp.trait_ {
        Some((trait_, _)) => format!(
            "impl {} for {self_ty}",
            squeeze(&trait_.to_token_stream().to_string())
        ),
        None => format!("impl {self_ty}"),
    }
}

/// `CondvarQueue < T >` → `CondvarQueue<T>`: token streams print spaced out.
fn squeeze(tokens: &str) -> String {
    tokens
        .replace(" < ", "<")
        .replace(" <", "<")
        .replace("< ", "<")
        .replace(" >", ">")
        .replace(" :: ", "::")
        .replace(" ,", ",")
        .replace("& ", "&")
}

/// Whether `block` calls `todo!` anywhere (in a nested block or closure too).
fn contains_todo(block: &Block) -> bool {
    struct FindTodo(bool);
    impl<'ast> Visit<'ast> for FindTodo {
        fn visit_macro(&mut self, mac: &'ast syn::Macro) {
            if mac.path.segments.last().is_some_and(|s| s.ident == "todo") {
                self.0 = true;
            }
        }
    }
    let mut finder = FindTodo(false);
    finder.visit_block(block);
    finder.0
}

/// Removes the starter's one permitted inner `#![allow(…)]`, if it has one.
fn drop_starter_allow(attrs: &mut Vec<Attribute>) {
    if let Some(at) = attrs.iter().position(is_starter_allow) {
        attrs.remove(at);
    }
}

/// `#![allow(a, b)]` whose every lint is one [`STARTER_MAY_ALLOW`] names.
fn is_starter_allow(attr: &Attribute) -> bool {
    if !matches!(attr.style, AttrStyle::Inner(_)) || !attr.path().is_ident("allow") {
        return false;
    }
    let mut lints = Vec::new();
    let parsed = attr.parse_nested_meta(|meta| {
        lints.push(meta.path.to_token_stream().to_string());
        Ok(())
    });
    parsed.is_ok()
        && !lints.is_empty()
        && lints
            .iter()
            .all(|lint| STARTER_MAY_ALLOW.contains(&lint.as_str()))
}

fn tokens<T: ToTokens>(parts: &[T]) -> Vec<String> {
    let mut stream = proc_macro2::TokenStream::new();
    for part in parts {
        part.to_tokens(&mut stream);
    }
    flatten(stream)
}

/// A token stream as a flat list of token texts (groups opened and closed),
/// so two streams can be compared and their first difference shown.
fn flatten(stream: proc_macro2::TokenStream) -> Vec<String> {
    let mut out = Vec::new();
    for tree in stream {
        match tree {
            proc_macro2::TokenTree::Group(group) => {
                let (open, close) = match group.delimiter() {
                    proc_macro2::Delimiter::Parenthesis => ("(", ")"),
                    proc_macro2::Delimiter::Brace => ("{", "}"),
                    proc_macro2::Delimiter::Bracket => ("[", "]"),
                    proc_macro2::Delimiter::None => ("", ""),
                };
                out.push(open.to_string());
                out.extend(flatten(group.stream()));
                out.push(close.to_string());
            }
            other => out.push(other.to_string()),
        }
    }
    out
}

/// "starter has `… cap : usize …`, the solution `… capacity : usize …`".
fn first_difference(ours: &[String], theirs: &[String]) -> String {
    let at = ours
        .iter()
        .zip(theirs)
        .position(|(a, b)| a != b)
        .unwrap_or(ours.len().min(theirs.len()));
    let around = |side: &[String]| {
        let start = at.saturating_sub(4);
        let end = (at + 6).min(side.len());
        let text = side[start.min(end)..end].join(" ");
        if text.is_empty() {
            "(nothing)".to_string()
        } else {
            let more = if end < side.len() { " …" } else { "" };
            format!("`{}{text}{more}`", if start > 0 { "… " } else { "" })
        }
    };
    format!(
        "the starter has {}, the solution {}",
        around(ours),
        around(theirs)
    )
}

/// Compares two item lists in order, descending into impls, traits and
/// modules with the same header so a difference is named as closely as it can be.
fn compare_items(starter: &[Item], solution: &[Item], scope: &str, found: &mut Vec<String>) {
    let count = starter.len().max(solution.len());
    for at in 0..count {
        let (Some(ours), Some(theirs)) = (starter.get(at), solution.get(at)) else {
            let (side, item) = match starter.get(at) {
                Some(item) => ("only the starter", item),
                None => ("only the solution", &solution[at]),
            };
            found.push(format!(
                "{}: {side} has it",
                located(&describe(item), scope)
            ));
            continue;
        };
        let (a, b) = (
            tokens(std::slice::from_ref(ours)),
            tokens(std::slice::from_ref(theirs)),
        );
        if a == b {
            continue;
        }
        match (ours, theirs) {
            (Item::Impl(x), Item::Impl(y)) if same_header_impl(x, y) => {
                compare_members(&x.items, &y.items, &path(scope, &impl_name(x)), found);
            }
            (Item::Mod(x), Item::Mod(y))
                if x.ident == y.ident && x.content.is_some() && y.content.is_some() =>
            {
                let (Some((_, xs)), Some((_, ys))) = (&x.content, &y.content) else {
                    continue;
                };
                compare_items(xs, ys, &path(scope, &format!("mod {}", x.ident)), found);
            }
            _ => found.push(format!(
                "{}: {}",
                located(&describe(ours), scope),
                first_difference(&a, &b)
            )),
        }
    }
}

fn same_header_impl(x: &syn::ItemImpl, y: &syn::ItemImpl) -> bool {
    let header = |imp: &syn::ItemImpl| {
        let mut bare = imp.clone();
        bare.items.clear();
        bare.to_token_stream().to_string()
    };
    header(x) == header(y)
}

fn compare_members(
    starter: &[ImplItem],
    solution: &[ImplItem],
    scope: &str,
    found: &mut Vec<String>,
) {
    let count = starter.len().max(solution.len());
    for at in 0..count {
        match (starter.get(at), solution.get(at)) {
            (Some(ours), Some(theirs)) => {
                let (a, b) = (
                    tokens(std::slice::from_ref(ours)),
                    tokens(std::slice::from_ref(theirs)),
                );
                if a != b {
                    found.push(format!(
                        "{} in {scope}: {}",
                        describe_member(ours),
                        first_difference(&a, &b)
                    ));
                }
            }
            (Some(ours), None) => found.push(format!(
                "{} in {scope}: only the starter has it",
                describe_member(ours)
            )),
            (None, Some(theirs)) => found.push(format!(
                "{} in {scope}: only the solution has it",
                describe_member(theirs)
            )),
            (None, None) => {}
        }
    }
}

/// `fn run in impl Pool`, or just `fn run` at the top of the file.
fn located(what: &str, scope: &str) -> String {
    if scope.is_empty() {
        what.to_string()
    } else {
        format!("{what} in {scope}")
    }
}

/// `fn work_queue`, `struct State`, `impl Drop for Pool`, `use …`.
fn describe(item: &Item) -> String {
    match item {
        Item::Fn(f) => format!("fn {}", f.sig.ident),
        Item::Struct(s) => format!("struct {}", s.ident),
        Item::Enum(e) => format!("enum {}", e.ident),
        Item::Trait(t) => format!("trait {}", t.ident),
        Item::Type(t) => format!("type {}", t.ident),
        Item::Const(c) => format!("const {}", c.ident),
        Item::Static(s) => format!("static {}", s.ident),
        Item::Mod(m) => format!("mod {}", m.ident),
        Item::Impl(imp) => impl_name(imp),
        Item::Use(u) => format!("use {}", squeeze(&u.tree.to_token_stream().to_string())),
        Item::Macro(m) => format!(
            "macro call {}!",
            squeeze(&m.mac.path.to_token_stream().to_string())
        ),
        other => squeeze(&other.to_token_stream().to_string())
            .chars()
            .take(40)
            .collect(),
    }
}

fn describe_member(member: &ImplItem) -> String {
    match member {
        ImplItem::Fn(f) => format!("fn {}", f.sig.ident),
        ImplItem::Const(c) => format!("const {}", c.ident),
        ImplItem::Type(t) => format!("type {}", t.ident),
        other => squeeze(&other.to_token_stream().to_string())
            .chars()
            .take(40)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOLUTION: &str = r#"
        //! A lesson.
        use std::thread;

        /// Doubles.
        pub fn double(x: u32) -> u32 {
            // The learner writes this.
            x * 2
        }

        pub struct Pool { workers: usize }

        impl Pool {
            pub fn new(workers: usize) -> Self { Pool { workers } }
            pub fn run(&self) -> usize { thread::scope(|_| self.workers) }
        }
    "#;

    fn starter(edit: impl Fn(String) -> String) -> String {
        let base = r#"
            //! A lesson.
            #![allow(unused_variables, dead_code)]
            use std::thread;

            /// Doubles.
            pub fn double(x: u32) -> u32 {
                todo!("double it — book chapter 01, \"Double\"")
            }

            pub struct Pool { workers: usize }

            impl Pool {
                pub fn new(workers: usize) -> Self { Pool { workers } }
                pub fn run(&self) -> usize {
                    let _unused = 1;
                    todo!()
                }
            }
        "#;
        edit(base.to_string())
    }

    #[test]
    fn a_starter_that_differs_only_in_todo_bodies_and_its_allow_line_agrees() {
        assert_eq!(
            differences(&starter(|s| s), SOLUTION).unwrap(),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_renamed_parameter_outside_a_body_is_named() {
        let renamed = starter(|s| s.replace("new(workers: usize)", "new(count: usize)"));
        let found = differences(&renamed, SOLUTION).unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("fn new in impl Pool:"), "{found:?}");
        assert!(found[0].contains("count"), "{found:?}");
    }

    #[test]
    fn a_doc_comment_is_code_but_a_plain_comment_is_not() {
        let plain = starter(|s| s.replace("pub struct Pool", "// a note\n pub struct Pool"));
        assert!(differences(&plain, SOLUTION).unwrap().is_empty());
        let doc = starter(|s| s.replace("/// Doubles.", "/// Triples."));
        let found = differences(&doc, SOLUTION).unwrap();
        assert!(found[0].starts_with("fn double"), "{found:?}");
    }

    #[test]
    fn an_allow_beyond_unused_lints_or_a_second_one_is_a_difference() {
        let clippy = starter(|s| s.replace("dead_code)]", "dead_code, clippy::all)]"));
        assert!(!differences(&clippy, SOLUTION).unwrap().is_empty());
        let twice = starter(|s| s.replace("use std", "#![allow(unused_mut)]\nuse std"));
        assert!(!differences(&twice, SOLUTION).unwrap().is_empty());
    }

    #[test]
    fn a_helper_only_the_solution_has_is_named() {
        let solution = format!("{SOLUTION}\nfn helper() {{}}");
        let found = differences(&starter(|s| s), &solution).unwrap();
        assert_eq!(found, ["fn helper: only the solution has it"]);
    }
}
