//! Every crate's modules import each other without loops: each file of `src/` is a node, each
//! path it names into another file of the crate (`use crate::…`, `use super::…`, `routes::x::f`
//! after `use crate::routes`, …) an edge, and the graph must be acyclic. A file's use of its own
//! ancestors (its folder's `mod.rs`, the crate root: `use super::Subject`) is the module tree,
//! not an edge. Test code (`#[cfg(test)]` items, `tests.rs` files) and `main.rs` (another crate)
//! are left out.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::{Path, PathBuf},
};

type Module = Vec<String>;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Sep,
    Punct(char),
}

/// Identifiers, `::` and punctuation; comments, strings and char literals dropped.
fn tokens(src: &str) -> Vec<Tok> {
    let c: Vec<char> = src.chars().collect();
    let (mut i, mut out) = (0, Vec::new());
    while i < c.len() {
        let ch = c[i];
        let next = c.get(i + 1).copied();
        if ch == '/' && next == Some('/') {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && next == Some('*') {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if ch == 'r' && matches!(next, Some('"' | '#')) && {
            let hashes = c[i + 1..].iter().take_while(|&&h| h == '#').count();
            c.get(i + 1 + hashes) == Some(&'"')
        } {
            let hashes = c[i + 1..].iter().take_while(|&&h| h == '#').count();
            i += 2 + hashes;
            while i < c.len() && !(c[i] == '"' && c[i + 1..].iter().take(hashes).all(|&h| h == '#'))
            {
                i += 1;
            }
            i += 1 + hashes;
        } else if ch == '"' {
            i += 1;
            while i < c.len() && c[i] != '"' {
                i += if c[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
        } else if ch == '\'' {
            // A char literal ('x', '\n', '\u{1F600}'), or a lifetime ('a), whose quote is dropped.
            if next == Some('\\') {
                i += 2;
                while i < c.len() && c[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if c.get(i + 2) == Some(&'\'') {
                i += 3;
            } else {
                i += 1;
            }
        } else if ch.is_alphanumeric() || ch == '_' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            out.push(Tok::Ident(c[start..i].iter().collect()));
        } else if ch == ':' && next == Some(':') {
            out.push(Tok::Sep);
            i += 2;
        } else {
            if !ch.is_whitespace() {
                out.push(Tok::Punct(ch));
            }
            i += 1;
        }
    }
    out
}

/// Drops `#[cfg(test)]` items: the attribute, then up to the item's `;` or its matching `}`.
fn without_tests(toks: Vec<Tok>) -> Vec<Tok> {
    let cfg_test: Vec<Tok> = tokens("#[cfg(test)]");
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        if toks[i..].starts_with(&cfg_test) {
            i += cfg_test.len();
            while i < toks.len() && !matches!(toks[i], Tok::Punct('{' | ';')) {
                i += 1;
            }
            if toks.get(i) == Some(&Tok::Punct('{')) {
                let mut depth = 0;
                loop {
                    match toks.get(i) {
                        Some(Tok::Punct('{')) => depth += 1,
                        Some(Tok::Punct('}')) => depth -= 1,
                        None => break,
                        _ => {}
                    }
                    i += 1;
                    if depth == 0 {
                        break;
                    }
                }
            } else {
                i += 1;
            }
        } else {
            out.push(toks[i].clone());
            i += 1;
        }
    }
    out
}

/// Expands one use tree (`a::{b, c::d as e}`) into its paths, each with the name it binds.
fn use_tree(toks: &[Tok], i: &mut usize, prefix: &[String], out: &mut Vec<(Vec<String>, String)>) {
    let mut path = prefix.to_vec();
    loop {
        match toks.get(*i) {
            Some(Tok::Ident(s)) if s == "as" => {
                *i += 1;
                if let Some(Tok::Ident(alias)) = toks.get(*i) {
                    out.push((path.clone(), alias.clone()));
                    *i += 1;
                }
                return;
            }
            Some(Tok::Ident(s)) => {
                path.push(s.clone());
                *i += 1;
            }
            Some(Tok::Sep) => *i += 1,
            Some(Tok::Punct('{')) => {
                *i += 1;
                while !matches!(toks.get(*i), Some(Tok::Punct('}')) | None) {
                    use_tree(toks, i, &path, out);
                    if toks.get(*i) == Some(&Tok::Punct(',')) {
                        *i += 1;
                    }
                }
                *i += 1;
                return;
            }
            Some(Tok::Punct('*')) => {
                *i += 1;
                out.push((path, String::new()));
                return;
            }
            _ => {
                let name = match path.last() {
                    Some(last) if last == "self" => {
                        path.pop();
                        path.last().cloned().unwrap_or_default()
                    }
                    Some(last) => last.clone(),
                    None => String::new(),
                };
                out.push((path, name));
                return;
            }
        }
    }
}

struct Crate {
    /// Each module of the crate and the file that holds it.
    files: BTreeMap<Module, PathBuf>,
}

impl Crate {
    fn read(src: &Path) -> Crate {
        let mut files = BTreeMap::new();
        let mut dirs = vec![src.to_path_buf()];
        while let Some(dir) = dirs.pop() {
            for entry in fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                    continue;
                }
                let rel = path.strip_prefix(src).unwrap();
                let name = rel.file_name().unwrap().to_str().unwrap();
                if !name.ends_with(".rs") || name == "tests.rs" || rel == Path::new("main.rs") {
                    continue;
                }
                let mut module: Module = rel
                    .with_extension("")
                    .iter()
                    .map(|p| p.to_str().unwrap().to_owned())
                    .collect();
                if matches!(name, "mod.rs" | "lib.rs") {
                    module.pop();
                }
                files.insert(module, path);
            }
        }
        Crate { files }
    }

    /// The file a path names, relative to `at`: the longest module prefix of the path.
    fn resolve(
        &self,
        at: &Module,
        aliases: &BTreeMap<String, Module>,
        path: &[String],
    ) -> Option<Module> {
        let (first, rest) = path.split_first()?;
        let mut base = match first.as_str() {
            "crate" => Vec::new(),
            "self" => at.clone(),
            "super" => at[..at.len().checked_sub(1)?].to_vec(),
            name => {
                let child: Module = at.iter().cloned().chain([name.to_owned()]).collect();
                if self.files.contains_key(&child) {
                    child
                } else {
                    aliases.get(name)?.clone()
                }
            }
        };
        let mut rest = rest.iter();
        for seg in rest.by_ref() {
            if seg == "super" {
                base.pop();
                continue;
            }
            let deeper: Module = base.iter().cloned().chain([seg.clone()]).collect();
            if !self.files.contains_key(&deeper) {
                break;
            }
            base = deeper;
        }
        Some(base)
    }

    /// Who imports whom, file by file.
    fn edges(&self) -> BTreeMap<Module, BTreeSet<Module>> {
        let mut edges = BTreeMap::new();
        for (module, file) in &self.files {
            let toks = without_tests(tokens(&fs::read_to_string(file).unwrap()));
            let mut uses = Vec::new();
            let mut rest = Vec::new();
            let mut i = 0;
            while i < toks.len() {
                if toks[i] == Tok::Ident("use".into()) {
                    i += 1;
                    use_tree(&toks, &mut i, &[], &mut uses);
                    while i < toks.len() && toks[i] != Tok::Punct(';') {
                        i += 1;
                    }
                } else {
                    rest.push(toks[i].clone());
                }
                i += 1;
            }
            let none = BTreeMap::new();
            let mut aliases = BTreeMap::new();
            let mut to: BTreeSet<Module> = BTreeSet::new();
            for (path, name) in &uses {
                if let Some(target) = self.resolve(module, &none, path) {
                    if self.files.contains_key(&target) && target.last() == path.last() {
                        aliases.insert(name.clone(), target.clone());
                    }
                    to.insert(target);
                }
            }
            // Paths in code: `crate::x::f()`, `super::y::T`, `routes::telegram::router()`.
            let mut i = 0;
            while i < rest.len() {
                let mut path = Vec::new();
                while let Some(Tok::Ident(s)) = rest.get(i) {
                    path.push(s.clone());
                    if rest.get(i + 1) != Some(&Tok::Sep) {
                        break;
                    }
                    i += 2;
                }
                if path.len() > 1
                    && let Some(target) = self.resolve(module, &aliases, &path)
                {
                    to.insert(target);
                }
                i += 1;
            }
            // A file using what its folder's `mod.rs` (or the crate root) defines is the module
            // tree itself, not an import between files: a folder and its files are one unit.
            to.retain(|m| self.files.contains_key(m) && !module.starts_with(m));
            edges.insert(module.clone(), to);
        }
        edges
    }
}

/// One loop of the graph, if it has any.
fn a_cycle(edges: &BTreeMap<Module, BTreeSet<Module>>) -> Option<Vec<Module>> {
    fn visit(
        m: &Module,
        edges: &BTreeMap<Module, BTreeSet<Module>>,
        done: &mut BTreeSet<Module>,
        stack: &mut Vec<Module>,
    ) -> Option<Vec<Module>> {
        if let Some(at) = stack.iter().position(|s| s == m) {
            return Some(stack[at..].iter().cloned().chain([m.clone()]).collect());
        }
        if done.contains(m) {
            return None;
        }
        stack.push(m.clone());
        for next in edges.get(m).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, done, stack) {
                return Some(cycle);
            }
        }
        stack.pop();
        done.insert(m.clone());
        None
    }
    let mut done = BTreeSet::new();
    edges
        .keys()
        .find_map(|m| visit(m, edges, &mut done, &mut Vec::new()))
}

fn name(m: &Module) -> String {
    if m.is_empty() {
        "crate".into()
    } else {
        m.join("::")
    }
}

/// The workspace's crates, by folder (a new crate belongs here).
const CRATES: &[&str] = &["api", "worker", "shared", "loadtests", "testkit", "botapi"];

fn graph(krate: &str) -> BTreeMap<Module, BTreeSet<Module>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    Crate::read(&root.join(krate).join("src")).edges()
}

#[test]
fn the_modules_import_each_other_without_loops() {
    let mut loops = Vec::new();
    for krate in CRATES {
        let edges = graph(krate);
        assert!(!edges.is_empty(), "{krate}: no modules read");
        if let Some(cycle) = a_cycle(&edges) {
            let shown: Vec<String> = cycle.iter().map(name).collect();
            loops.push(format!("{krate}: {}", shown.join(" -> ")));
        }
    }
    assert!(
        loops.is_empty(),
        "modules import each other in a loop:\n{}",
        loops.join("\n")
    );
}

#[test]
fn the_graph_sees_imports_of_every_shape() {
    let edges = graph("api");
    let has = |from: &str, to: &str| {
        let m = |s: &str| -> Module {
            s.split("::")
                .filter(|p| !p.is_empty())
                .map(String::from)
                .collect()
        };
        edges.get(&m(from)).is_some_and(|t| t.contains(&m(to)))
    };
    // `use crate::{.., state::AppState}`, `use super::{..}`, and `routes::telegram::router()`
    // after `use crate::{routes, ..}`.
    assert!(has("routes::telegram", "state"));
    assert!(has("routes::hooks", "routes::admit"));
    assert!(has("startup", "routes::telegram"));
    assert!(has("startup", "state"));
}

#[test]
fn a_loop_is_found() {
    let m = |s: &str| -> Module { vec![s.to_owned()] };
    let edges = BTreeMap::from([
        (m("a"), BTreeSet::from([m("b")])),
        (m("b"), BTreeSet::from([m("c")])),
        (m("c"), BTreeSet::from([m("a")])),
    ]);
    assert_eq!(a_cycle(&edges).map(|c| c.len()), Some(4));
    let edges = BTreeMap::from([
        (m("a"), BTreeSet::from([m("b")])),
        (m("b"), BTreeSet::new()),
    ]);
    assert_eq!(a_cycle(&edges), None);
}
