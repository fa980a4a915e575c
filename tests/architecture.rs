//! The crate's layout rules, checked on its source so they cannot drift:
//!
//! - no module imports from a module that imports it (every file is a
//!   module; an edge is any `crate::…` or `super::…` path in its code, a
//!   re-export included);
//! - the crate root re-exports at most 15 items (the headline types);
//! - nothing under `src/policy/` is `async` (evaluation is pure; awaiting
//!   lives in the router).
//!
//! Test modules (`#[cfg(test)]` to the end of a file) and comments are left
//! out: they are not part of the library's structure.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `src/`, by module path (`pool::step`, `lib` → ``).
fn modules() -> BTreeMap<String, String> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    files
        .into_iter()
        .map(|f| {
            let rel = f.strip_prefix(&src).unwrap().with_extension("");
            let mut parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
                parts.pop();
            }
            (
                parts.join("::"),
                library_code(&std::fs::read_to_string(&f).unwrap()),
            )
        })
        .collect()
}

/// The file's code without comments and without its trailing test module.
fn library_code(text: &str) -> String {
    let end = text.find("#[cfg(test)]").unwrap_or(text.len());
    text[..end]
        .lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The modules a file's code refers to, resolved to the longest module path
/// that exists.
fn references(module: &str, code: &str, all: &BTreeMap<String, String>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let bytes = code.as_bytes();
    for (start, head) in [("crate::", true), ("super::", false)]
        .iter()
        .flat_map(|(pat, abs)| code.match_indices(pat).map(move |(i, _)| (i, *abs)))
    {
        // Skip identifiers that merely end in `crate`/`super`.
        if start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_') {
            continue;
        }
        let rest = &code[start..];
        let path: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        let mut segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
        let mut base: Vec<String> = if head {
            segments.remove(0); // `crate`
            Vec::new()
        } else {
            let mut parent: Vec<String> = module.split("::").map(str::to_owned).collect();
            while segments.first() == Some(&"super") {
                segments.remove(0);
                parent.pop();
            }
            parent
        };
        let mut found = base.join("::");
        for s in segments {
            base.push(s.to_owned());
            let candidate = base.join("::");
            if all.contains_key(&candidate) {
                found = candidate;
            } else {
                break;
            }
        }
        // Also count a `use crate::x::{a, b}` group: each name may be a module.
        if let Some(group) = rest[path.len()..].strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            for name in group
                .split(',')
                .map(|n| n.trim().split("::").next().unwrap_or(""))
            {
                let candidate = if found.is_empty() {
                    name.to_owned()
                } else {
                    format!("{found}::{name}")
                };
                if all.contains_key(&candidate) {
                    out.insert(candidate);
                }
            }
        }
        if found != module {
            out.insert(found);
        }
    }
    // `use child::…` inside a module file refers to its own submodules.
    for stmt in code.split(';') {
        let Some(i) = stmt.find("use ") else { continue };
        let path = stmt[i + 4..].trim_start();
        let first = path.split("::").next().unwrap_or("");
        let candidate = if module.is_empty() {
            first.to_owned()
        } else {
            format!("{module}::{first}")
        };
        if !first.is_empty() && all.contains_key(&candidate) {
            out.insert(candidate);
        }
    }
    out.remove(module);
    out
}

#[test]
fn no_module_imports_from_a_module_that_imports_it() {
    let all = modules();
    let graph: BTreeMap<&str, BTreeSet<String>> = all
        .iter()
        .map(|(m, code)| (m.as_str(), references(m, code, &all)))
        .collect();
    // The graph must be a DAG: report the first cycle found, as a path.
    fn visit<'a>(
        m: &'a str,
        graph: &'a BTreeMap<&str, BTreeSet<String>>,
        state: &mut BTreeMap<&'a str, u8>,
        stack: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        match state.get(m) {
            Some(2) => return None,
            Some(1) => {
                let at = stack.iter().position(|s| *s == m).unwrap_or(0);
                let mut cycle: Vec<String> = stack[at..].iter().map(|s| (*s).to_owned()).collect();
                cycle.push(m.to_owned());
                return Some(cycle);
            }
            _ => {}
        }
        state.insert(m, 1);
        stack.push(m);
        for next in graph.get(m).into_iter().flatten() {
            if let Some((k, _)) = graph.get_key_value(next.as_str()) {
                if let Some(c) = visit(k, graph, state, stack) {
                    return Some(c);
                }
            }
        }
        stack.pop();
        state.insert(m, 2);
        None
    }
    let mut state = BTreeMap::new();
    for m in graph.keys() {
        let cycle = visit(m, &graph, &mut state, &mut Vec::new());
        assert!(
            cycle.is_none(),
            "import cycle: {}",
            cycle.unwrap_or_default().join(" → ")
        );
    }
    // The check sees real edges (so a broken parser cannot pass vacuously).
    assert!(
        graph["router::pipeline"].contains("facts"),
        "{:?}",
        graph["router::pipeline"]
    );
    assert!(graph["policy::eval"].contains("pool::rotation"));
    assert!(graph[""].contains("lead"));
    let edges: usize = graph.values().map(BTreeSet::len).sum();
    assert!(edges > 60, "only {edges} edges found");
}

#[test]
fn the_root_re_exports_at_most_fifteen_items() {
    let all = modules();
    let root = &all[""];
    let mut items = Vec::new();
    for stmt in root.split(';') {
        let stmt = stmt.trim();
        if let Some(path) = stmt.strip_prefix("pub use ") {
            match (path.find('{'), path.rfind('}')) {
                (Some(a), Some(b)) => items.extend(
                    path[a + 1..b]
                        .split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned),
                ),
                _ => items.push(path.rsplit("::").next().unwrap_or(path).to_owned()),
            }
        }
    }
    assert!(items.len() >= 10, "parsed {items:?}");
    assert!(
        items.len() <= 15,
        "{} root re-exports: {items:?}",
        items.len()
    );
}

#[test]
fn nothing_under_policy_is_async() {
    for (m, code) in modules() {
        if m == "policy" || m.starts_with("policy::") {
            for word in ["async ", ".await"] {
                assert!(
                    !code.contains(word),
                    "`{word}` in src/{}",
                    m.replace("::", "/")
                );
            }
        }
    }
}
