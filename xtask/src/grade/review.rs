//! What in a learner's code reaches for the test harness, flagged for an
//! instructor's review: a pass earned by such code is held, not counted.
//!
//! Inside one process nothing is strictly unforgeable: code that can end the
//! process from the right thread, read the process's memory or write to its
//! file descriptors can imitate the kit's verdict (see
//! [`lesson_support::verdict`]). None of the lessons needs any of it. The
//! files are parsed with `syn` and every path, `use`, attribute, macro and
//! string is looked at, so no spelling hides a name: `use std::process::{exit}`,
//! `use std::process as p; p::exit`, a macro that builds the call, an
//! attribute inside `cfg_attr`. Method calls are not paths (`handle.abort()`
//! on a tokio task is fine). A file that cannot be parsed is scanned token by
//! token instead, and says so.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::visit::{self, Visit};

/// Names whose use (as a path or an import, in any spelling) is flagged, and why.
const NAMES: [(&str, &str); 11] = [
    ("exit", "ends the process (`exit`)"),
    ("_exit", "ends the process (`_exit`)"),
    ("abort", "ends the process (`abort`)"),
    ("from_raw_fd", "uses raw file descriptors (`from_raw_fd`)"),
    ("FromRawFd", "uses raw file descriptors (`FromRawFd`)"),
    ("OwnedFd", "uses raw file descriptors (`OwnedFd`)"),
    ("BorrowedFd", "uses raw file descriptors (`BorrowedFd`)"),
    ("RawFd", "uses raw file descriptors (`RawFd`)"),
    ("from_raw_handle", "uses raw handles (`from_raw_handle`)"),
    ("set_var", "changes the environment (`set_var`)"),
    ("remove_var", "changes the environment (`remove_var`)"),
];

/// Attributes that change what is compiled or linked, and why each is flagged.
const ATTRIBUTES: [(&str, &str); 8] = [
    ("path", "takes a module from another file (`#[path]`)"),
    (
        "link_section",
        "places code in a linker section (`link_section`)",
    ),
    ("no_mangle", "exports a symbol (`no_mangle`)"),
    ("export_name", "exports a symbol (`export_name`)"),
    ("used", "keeps a static the program never uses (`#[used]`)"),
    ("link", "links a library (`#[link]`)"),
    ("link_name", "names a foreign symbol (`link_name`)"),
    ("naked", "writes a function in assembly (`naked`)"),
];

/// Strings that name the process's own innards.
const STRINGS: [(&str, &str); 3] = [
    ("/proc", "names a path under /proc"),
    ("/dev/fd", "names a path under /dev/fd"),
    ("/sys/fs/cgroup", "names a path under /sys/fs/cgroup"),
];

/// Each line of `files` (paths relative to the lesson, `src/lib.rs`) worth an
/// instructor's look: `src/lib.rs:6: ends the process (`exit`)`.
pub fn review(files: &std::collections::BTreeMap<PathBuf, Vec<u8>>) -> Vec<String> {
    let mut found = BTreeSet::new();
    for (file, bytes) in files {
        if file.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = String::from_utf8_lossy(bytes);
        let mut reviewer = Reviewer {
            file,
            found: BTreeSet::new(),
        };
        match syn::parse_file(&text) {
            Ok(parsed) => reviewer.visit_file(&parsed),
            Err(error) => {
                reviewer.flag(
                    error.span(),
                    "cannot be parsed as Rust, so it was only scanned token by token",
                );
                match text.parse::<TokenStream>() {
                    Ok(tokens) => reviewer.scan(tokens),
                    Err(_) => reviewer.flag(Span::call_site(), "cannot even be split into tokens"),
                }
            }
        }
        found.extend(reviewer.found);
    }
    found.into_iter().map(|(_, line)| line).collect()
}

struct Reviewer<'a> {
    file: &'a Path,
    /// (file and line, the line shown), for order and no repeats.
    found: BTreeSet<((PathBuf, usize), String)>,
}

impl Reviewer<'_> {
    fn flag(&mut self, span: Span, why: &str) {
        let line = span.start().line;
        self.found.insert((
            (self.file.to_path_buf(), line),
            format!("{}:{line}: {why}", self.file.display()),
        ));
    }

    fn name(&mut self, ident: &proc_macro2::Ident) {
        let name = ident.to_string();
        let name = name.trim_start_matches("r#");
        if let Some((_, why)) = NAMES.iter().find(|(n, _)| *n == name) {
            self.flag(ident.span(), why);
        }
    }

    fn string(&mut self, value: &str, span: Span) {
        for (needle, why) in STRINGS {
            if value.contains(needle) {
                self.flag(span, why);
            }
        }
    }

    /// Looks at every token of a stream syn does not parse (a macro's input,
    /// a `macro_rules!` body, an attribute's arguments).
    fn scan(&mut self, tokens: TokenStream) {
        let tokens: Vec<TokenTree> = tokens.into_iter().collect();
        for (i, token) in tokens.iter().enumerate() {
            match token {
                TokenTree::Ident(ident) => {
                    let after_dot = i > 0
                        && matches!(&tokens[i - 1], TokenTree::Punct(p) if p.as_char() == '.');
                    if !after_dot {
                        self.name(ident);
                    }
                    let bang = matches!(tokens.get(i + 1), Some(TokenTree::Punct(p)) if p.as_char() == '!');
                    if bang {
                        self.macro_name(ident, tokens.get(i + 2));
                    }
                    if ident == "unsafe" {
                        self.flag(ident.span(), "`unsafe` code");
                    }
                    if ident == "extern" {
                        self.flag(ident.span(), "`extern`: foreign functions or a foreign ABI");
                    }
                    if let Some((_, why)) = ATTRIBUTES
                        .iter()
                        .find(|(n, _)| ident == n && *n != "path" && *n != "used" && *n != "link")
                    {
                        self.flag(ident.span(), why);
                    }
                }
                TokenTree::Literal(literal) => {
                    if let Ok(syn::Lit::Str(s)) = syn::parse_str::<syn::Lit>(&literal.to_string()) {
                        self.string(&s.value(), literal.span());
                    }
                }
                TokenTree::Group(group) => self.scan(group.stream()),
                TokenTree::Punct(_) => {}
            }
        }
    }

    /// A macro called `ident!` with `input` after the bang.
    fn macro_name(&mut self, ident: &proc_macro2::Ident, input: Option<&TokenTree>) {
        let name = ident.to_string();
        match name.as_str() {
            "include" | "include_str" | "include_bytes" => {
                let inside = match input {
                    Some(TokenTree::Group(group)) => self.stays_in_the_lesson(group.stream()),
                    _ => false,
                };
                if !inside {
                    self.flag(
                        ident.span(),
                        &format!("`{name}!` of a file outside the lesson's src/, or of a path it computes"),
                    );
                }
            }
            "asm" | "global_asm" | "naked_asm" => {
                self.flag(ident.span(), &format!("inline assembly (`{name}!`)"));
            }
            _ => {}
        }
    }

    /// Whether an `include*!` argument is one string naming a file that stays
    /// under the lesson's `src/`, relative to this file's folder.
    fn stays_in_the_lesson(&self, input: TokenStream) -> bool {
        let Ok(syn::Lit::Str(path)) = syn::parse2::<syn::Lit>(input) else {
            return false;
        };
        let path = path.value();
        if Path::new(&path).is_absolute() {
            return false;
        }
        let mut at: Vec<Component<'_>> = self
            .file
            .parent()
            .map(|dir| dir.components().collect())
            .unwrap_or_default();
        for part in Path::new(&path).components() {
            match part {
                Component::ParentDir => {
                    if at.pop().is_none() {
                        return false;
                    }
                }
                Component::Normal(_) => at.push(part),
                Component::CurDir => {}
                _ => return false,
            }
        }
        at.first() == Some(&Component::Normal("src".as_ref())) && at.len() > 1
    }
}

impl<'ast> Visit<'ast> for Reviewer<'_> {
    fn visit_path(&mut self, path: &'ast syn::Path) {
        if let Some(last) = path.segments.last() {
            self.name(&last.ident);
        }
        visit::visit_path(self, path);
    }

    fn visit_use_name(&mut self, name: &'ast syn::UseName) {
        self.name(&name.ident);
    }

    fn visit_use_rename(&mut self, rename: &'ast syn::UseRename) {
        self.name(&rename.ident);
        if rename.ident == "process" {
            self.flag(
                rename.ident.span(),
                "imports std::process under another name",
            );
        }
    }

    fn visit_use_path(&mut self, path: &'ast syn::UsePath) {
        if path.ident == "process" && matches!(*path.tree, syn::UseTree::Glob(_)) {
            self.flag(path.ident.span(), "imports all of std::process (`*`)");
        }
        visit::visit_use_path(self, path);
    }

    fn visit_attribute(&mut self, attribute: &'ast syn::Attribute) {
        if attribute.path().is_ident("doc") {
            return;
        }
        let mut tokens = TokenStream::new();
        quote::ToTokens::to_tokens(&attribute.meta, &mut tokens);
        self.attribute_tokens(tokens);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        if let Some(last) = mac.path.segments.last() {
            let group = TokenTree::Group(proc_macro2::Group::new(
                proc_macro2::Delimiter::Parenthesis,
                mac.tokens.clone(),
            ));
            self.macro_name(&last.ident, Some(&group));
        }
        self.visit_path(&mac.path);
        self.scan(mac.tokens.clone());
    }

    fn visit_lit_str(&mut self, lit: &'ast syn::LitStr) {
        self.string(&lit.value(), lit.span());
    }

    fn visit_expr_unsafe(&mut self, block: &'ast syn::ExprUnsafe) {
        self.flag(block.unsafe_token.span, "`unsafe` code");
        visit::visit_expr_unsafe(self, block);
    }

    fn visit_signature(&mut self, signature: &'ast syn::Signature) {
        if let syn::Safety::Unsafe(token) = &signature.safety {
            self.flag(token.span, "`unsafe` code");
        }
        if let Some(abi) = &signature.abi {
            self.flag(abi.extern_token.span, "`extern`: a foreign ABI");
        }
        visit::visit_signature(self, signature);
    }

    fn visit_item_impl(&mut self, item: &'ast syn::ItemImpl) {
        if let Some(token) = item.unsafety {
            self.flag(token.span, "`unsafe` code");
        }
        visit::visit_item_impl(self, item);
    }

    fn visit_item_trait(&mut self, item: &'ast syn::ItemTrait) {
        if let Some(token) = item.unsafety {
            self.flag(token.span, "`unsafe` code");
        }
        visit::visit_item_trait(self, item);
    }

    fn visit_item_foreign_mod(&mut self, item: &'ast syn::ItemForeignMod) {
        self.flag(item.abi.extern_token.span, "`extern`: foreign functions");
        visit::visit_item_foreign_mod(self, item);
    }

    fn visit_item_extern_crate(&mut self, item: &'ast syn::ItemExternCrate) {
        self.flag(item.extern_token.span, "`extern crate`");
        visit::visit_item_extern_crate(self, item);
    }

    fn visit_type_fn_ptr(&mut self, function: &'ast syn::TypeFnPtr) {
        if let Some(token) = function.unsafety {
            self.flag(token.span, "`unsafe` code");
        }
        if let Some(abi) = &function.abi {
            self.flag(abi.extern_token.span, "`extern`: a foreign ABI");
        }
        visit::visit_type_fn_ptr(self, function);
    }
}

impl Reviewer<'_> {
    /// An attribute's words, wherever they sit (`#[unsafe(no_mangle)]`,
    /// `#[cfg_attr(all(), path = "…")]`).
    fn attribute_tokens(&mut self, tokens: TokenStream) {
        for token in tokens {
            match token {
                TokenTree::Ident(ident) => {
                    if let Some((_, why)) = ATTRIBUTES.iter().find(|(n, _)| ident == n) {
                        self.flag(ident.span(), why);
                    }
                    if ident == "unsafe" {
                        self.flag(ident.span(), "`unsafe` code");
                    }
                }
                TokenTree::Group(group) => self.attribute_tokens(group.stream()),
                TokenTree::Literal(literal) => {
                    if let Ok(syn::Lit::Str(s)) = syn::parse_str::<syn::Lit>(&literal.to_string()) {
                        self.string(&s.value(), literal.span());
                    }
                }
                TokenTree::Punct(_) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(code: &str) -> Vec<String> {
        let files = [(PathBuf::from("src/lib.rs"), code.as_bytes().to_vec())]
            .into_iter()
            .collect();
        review(&files)
    }

    fn flagged(code: &str, word: &str) -> bool {
        flags(code).iter().any(|line| line.contains(word))
    }

    #[test]
    fn every_spelling_of_exit_is_flagged() {
        for code in [
            "pub fn f() { std::process::exit(0) }",
            "use std::process::{exit};\npub fn f() { exit(0) }",
            "use std::process as p;\npub fn f() { p::exit(0) }",
            "use std::process::*;\npub fn f() { exit(0) }",
            "pub fn f() { let e = std::process::exit; e(0) }",
            "macro_rules! m { ($x:ident) => { std::process::$x(0) } }\npub fn f() { m!(exit) }",
            "pub fn f() { println!(\"{}\", { std::process::abort(); 1 }) }",
            "use std::process::exit as leave;\npub fn f() { leave(0) }",
        ] {
            let found = flags(code);
            assert!(
                found
                    .iter()
                    .any(|l| l.contains("ends the process") || l.contains("std::process")),
                "not flagged: {code}\n{found:?}"
            );
        }
    }

    #[test]
    fn lines_are_named() {
        let found = flags("pub fn f() {}\n\npub fn g() { std::process::exit(0) }\n");
        assert_eq!(found, ["src/lib.rs:3: ends the process (`exit`)"]);
    }

    #[test]
    fn harness_reaching_constructs_are_flagged() {
        assert!(flagged("pub fn f() -> i32 { unsafe { 1 } }", "unsafe"));
        assert!(flagged(
            "unsafe extern \"C\" { fn exit(c: i32); }",
            "extern"
        ));
        assert!(flagged("#[path = \"../x.rs\"] mod x;", "#[path]"));
        assert!(flagged(
            "#[cfg_attr(all(), path = \"../x.rs\")] mod x;",
            "#[path]"
        ));
        assert!(flagged(
            "#[used] #[unsafe(link_section = \".init_array\")] static F: u8 = 0;",
            "link_section"
        ));
        assert!(flagged("#[unsafe(no_mangle)] pub fn f() {}", "no_mangle"));
        assert!(flagged(
            "pub fn f() { std::fs::read(\"/proc/self/mem\").ok(); }",
            "/proc"
        ));
        assert!(flagged(
            "use std::os::fd::FromRawFd;",
            "raw file descriptors"
        ));
        assert!(flagged(
            "pub const S: &str = include_str!(\"/etc/shadow\");",
            "include_str"
        ));
        assert!(flagged(
            "pub const S: &str = include_str!(\"../../secret\");",
            "include_str"
        ));
        assert!(flagged(
            "pub const S: &str = include_str!(concat!(\"a\", \"b\"));",
            "include_str"
        ));
        assert!(flagged(
            "pub fn f() { unsafe { std::env::set_var(\"A\", \"b\") } }",
            "set_var"
        ));
    }

    #[test]
    fn ordinary_code_is_not_flagged() {
        for code in [
            "pub fn f(h: tokio::task::JoinHandle<()>) { h.abort() }",
            "pub const S: &str = include_str!(\"data.txt\");",
            "pub fn f() -> u32 { let exit_code = 3; exit_code }",
            "/// Calls std::process::exit — in a comment only.\npub fn f() {}",
            "pub fn f() -> std::process::ExitCode { std::process::ExitCode::SUCCESS }",
        ] {
            assert_eq!(flags(code), Vec::<String>::new(), "{code}");
        }
    }
}
