//! The shape of the code, checked: no import circle between the files (modules) of a service crate
//! (Cargo already refuses one between crates), the contexts in their allowed order, and no
//! function linking a heavy crate it does not call (RouterOS, PDF, CSV), read from `Cargo.lock`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The service crates, bottom first: each may use only crates before it.
const CONTEXTS: &[&str] =
    &["kernel", "identity", "network", "crm", "billing", "subscriptions", "payments", "provisioning", "cycles", "jobs"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// A file's module path inside its crate (`projections::dashboard`; `lib.rs` and `mod.rs` name
/// their folder).
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel.iter().map(|s| s.to_string_lossy().to_string()).collect();
    if matches!(parts.last().map(String::as_str), Some("lib" | "mod")) {
        parts.pop();
    }
    parts.join("::")
}

/// The modules a file names through `crate::...`, outside comments (a `use crate::{a, b}` group
/// included), resolved to the longest known module path.
fn crate_refs(text: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let code: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
        .replace(['\n', ' '], "");
    let mut refs = BTreeSet::new();
    let mut resolve = |path: &str| {
        let segs: Vec<&str> = path.split("::").collect();
        for n in (1..=segs.len()).rev() {
            let m = segs[..n].join("::");
            if modules.contains(&m) {
                refs.insert(m);
                return;
            }
        }
    };
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let inner = &group[..group.find('}').unwrap_or(group.len())];
            for item in inner.split(',') {
                resolve(item);
            }
        } else {
            let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')).unwrap_or(rest.len());
            resolve(&rest[..end]);
        }
    }
    refs
}

/// A circle in the graph, if any (depth-first search with colours).
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(n.to_string(), 1);
        stack.push(n.to_string());
        for m in graph.get(n).into_iter().flatten() {
            match state.get(m).copied().unwrap_or(0) {
                1 => {
                    let from = stack.iter().position(|s| s == m).unwrap();
                    let mut circle = stack[from..].to_vec();
                    circle.push(m.clone());
                    return Some(circle);
                }
                0 => {
                    if let Some(c) = visit(m, graph, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(n.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for n in graph.keys() {
        if state.get(n).copied().unwrap_or(0) == 0
            && let Some(c) = visit(n, graph, &mut state, &mut vec![])
        {
            return Some(c);
        }
    }
    None
}

fn module_graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = vec![];
    rust_files(src, &mut files);
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(src, f)).filter(|m| !m.is_empty()).collect();
    let mut graph = BTreeMap::new();
    for f in &files {
        let me = module_of(src, f);
        if me.is_empty() {
            continue; // lib.rs declares and re-exports; it is not a use case
        }
        let text = std::fs::read_to_string(f).unwrap();
        // A parent module's declarations of its children are not uses.
        let refs: BTreeSet<String> = crate_refs(&text, &modules)
            .into_iter()
            .filter(|m| *m != me && !m.starts_with(&format!("{me}::")))
            .collect();
        graph.insert(me, refs);
    }
    graph
}

#[test]
fn the_cycle_finder_finds_a_circle_and_passes_a_tree() {
    let g = |edges: &[(&str, &str)]| {
        let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (a, b) in edges {
            g.entry(a.to_string()).or_default().insert(b.to_string());
            g.entry(b.to_string()).or_default();
        }
        g
    };
    assert_eq!(find_cycle(&g(&[("a", "b"), ("b", "c"), ("a", "c")])), None);
    let c = find_cycle(&g(&[("a", "b"), ("b", "c"), ("c", "a")])).expect("a circle");
    assert_eq!(c.first(), c.last());
    let modules: BTreeSet<String> = ["books", "projections", "projections::usage"].map(String::from).into();
    let refs = crate_refs(
        "use crate::books::Books;\n// crate::nope\nuse crate::{projections::usage::stage, books};\nlet x = crate::projections::dashboard::f();",
        &modules,
    );
    assert_eq!(refs, ["books", "projections", "projections::usage"].map(String::from).into());
}

#[test]
fn no_service_crate_has_an_import_circle_between_its_files() {
    for ctx in CONTEXTS {
        let graph = module_graph(&root().join("shared/services").join(ctx).join("src"));
        assert!(graph.len() > 1 || *ctx == "payments", "{ctx}: its modules were not found");
        if let Some(circle) = find_cycle(&graph) {
            panic!("{ctx}: import circle {}", circle.join(" -> "));
        }
    }
}

/// `Cargo.lock`: each package's direct dependencies by name.
fn lock_graph() -> BTreeMap<String, BTreeSet<String>> {
    let text = std::fs::read_to_string(root().join("Cargo.lock")).unwrap();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for block in text.split("[[package]]").skip(1) {
        let name = block.lines().find_map(|l| l.strip_prefix("name = \"")).unwrap().trim_end_matches('"').to_string();
        let deps: BTreeSet<String> = match block.find("dependencies = [") {
            Some(i) => block[i..]
                .lines()
                .skip(1)
                .take_while(|l| !l.starts_with(']'))
                .map(|l| l.trim().trim_matches(|c| c == '"' || c == ',').split(' ').next().unwrap().to_string())
                .collect(),
            None => BTreeSet::new(),
        };
        graph.entry(name).or_default().extend(deps);
    }
    graph
}

#[test]
fn the_contexts_depend_only_downwards() {
    let lock = lock_graph();
    // The reading itself: known edges are seen (else every check below would pass on nothing).
    assert!(lock["jobs"].contains("subscriptions") && lock["billing"].contains("crm"), "Cargo.lock not read");
    for (i, ctx) in CONTEXTS.iter().enumerate() {
        let deps = &lock[*ctx];
        for above in &CONTEXTS[i + 1..] {
            assert!(!deps.contains(*above), "{ctx} depends on {above}, a context above it");
        }
    }
}

/// The packages a function links, as `cargo tree` resolves its features for it alone.
fn linked(function: &str) -> BTreeSet<String> {
    let out = std::process::Command::new(env!("CARGO"))
        .args(["tree", "--offline", "-q", "-p", function, "-e", "normal", "--prefix", "none", "--format", "{p}"])
        .current_dir(root())
        .output()
        .expect("cargo tree runs");
    assert!(out.status.success(), "cargo tree -p {function}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| l.split_whitespace().next()).map(String::from).collect()
}

#[test]
fn functions_link_only_the_heavy_crates_they_call() {
    let heavy = ["routeros", "mikrotik-rs", "printpdf", "csv"];
    let allowed: BTreeMap<&str, &[&str]> = BTreeMap::from([
        ("worker-provisioning", &["routeros", "mikrotik-rs"][..]),
        ("api-invoices", &["printpdf"][..]),
        // A subscriber's invoice PDF.
        ("api-portal", &["printpdf"][..]),
        // Voucher cards (PDF) and their CSV.
        ("api-vouchers", &["printpdf", "csv"][..]),
        // An invoice e-mailed to its customer carries its PDF.
        ("worker-notifications", &["printpdf"][..]),
        // The OpenAPI document is assembled from every API function's library.
        ("api-openapi", &["printpdf", "csv"][..]),
        // CSV in and out: router import and unknown-accounts export, report exports, customer imports.
        ("api-routers", &["csv"][..]),
        ("api-reports", &["csv"][..]),
        ("api-payments", &["csv"][..]),
        ("api-imports", &["csv"][..]),
        ("api-subscriptions", &["csv"][..]),
        ("worker-imports", &["csv"][..]),
        // The stock valuation as CSV or XLSX.
        ("api-inventory", &["csv"][..]),
    ]);
    let mut checked = 0;
    for f in std::fs::read_dir(root().join("functions")).unwrap() {
        let name = f.unwrap().file_name().to_string_lossy().to_string();
        let linked = linked(&name);
        assert!(linked.contains(name.as_str()), "{name}: cargo tree did not list the function itself");
        let ok = allowed.get(name.as_str()).copied().unwrap_or(&[]);
        for h in heavy {
            assert!(!linked.contains(h) || ok.contains(&h), "{name} links {h}");
        }
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} functions found");
    assert!(linked("worker-provisioning").contains("routeros"), "the check sees what a function links");
}
