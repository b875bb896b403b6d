//! The crate's layers, checked: every `crate::…` path of every file of
//! `shared/src/` names its own module or one it may build on, bottom up:
//!
//!   domain ← ports ← service ← inbound
//!                  ← adapters (the ports' implementations: not the service)
//!   startup (wires them all) ← lib.rs
//!
//! `inbound` and `adapters` are side by side: neither imports the other.
//! `SHARED_SRC=<dir>` checks another tree (an older commit's, say).
//!
//! Read with a small lexer rather than `syn`: line numbers from `syn` need
//! proc-macro2's `span-locations`, which would rebuild every proc macro of
//! the workspace for the test profile.

use std::path::{Path, PathBuf};

const LAYERS: [&str; 6] = ["domain", "ports", "service", "inbound", "adapters", "startup"];

/// What a top-level module (or `lib.rs`) may import besides itself; `None`
/// for a module that is in no layer.
fn allowed(module: &str) -> Option<&'static [&'static str]> {
    match module {
        "domain" => Some(&[]),
        "ports" => Some(&["domain"]),
        "service" => Some(&["domain", "ports"]),
        "inbound" => Some(&["domain", "ports", "service"]),
        "adapters" => Some(&["domain", "ports"]),
        "startup" => Some(&["domain", "ports", "service", "inbound", "adapters"]),
        "lib" => Some(&LAYERS),
        _ => None,
    }
}

/// The layer a crate-root name belongs to: a module, or what `lib.rs`
/// re-exports from one.
fn module_of(name: &str) -> &str {
    match name {
        "Error" | "Result" => "service",
        other => other,
    }
}

/// One import that breaks the layering: where, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Violation {
    file: String,
    line: usize,
    what: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.what)
    }
}

/// The code without its comments, string and char literals (each replaced
/// by spaces, newlines kept): what is left can only be code.
fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    while i < chars.len() {
        let (c, next) = (chars[i], chars.get(i + 1).copied());
        let end = if c == '/' && next == Some('/') {
            chars[i..].iter().position(|&c| c == '\n').map_or(chars.len(), |n| i + n)
        } else if c == '/' && next == Some('*') {
            (i + 2..chars.len()).find(|&j| chars[j - 1] == '*' && chars[j] == '/').map_or(chars.len(), |j| j + 1)
        } else if c == 'r' && (next == Some('"') || next == Some('#')) && !ident_char(chars.get(i.wrapping_sub(1))) {
            raw_string_end(&chars, i)
        } else if c == '"' {
            quoted_end(&chars, i, '"')
        } else if c == '\'' && (chars.get(i + 2) == Some(&'\'') || next == Some('\\')) {
            quoted_end(&chars, i, '\'')
        } else {
            out.push(c);
            i += 1;
            continue;
        };
        out.extend(chars[i..end].iter().map(|&c| blank(c)));
        i = end;
    }
    out
}

fn ident_char(c: Option<&char>) -> bool {
    c.is_some_and(|c| c.is_alphanumeric() || *c == '_')
}

/// Past the closing quote of a literal opened at `start`, escapes skipped.
fn quoted_end(chars: &[char], start: usize, quote: char) -> usize {
    let mut j = start + 1;
    while j < chars.len() {
        match chars[j] {
            '\\' => j += 2,
            c if c == quote => return j + 1,
            _ => j += 1,
        }
    }
    chars.len()
}

/// Past the end of `r"…"`, `r#"…"#`, …; a plain identifier starting with
/// `r` is not one (then only the `r` is consumed, as code would be).
fn raw_string_end(chars: &[char], start: usize) -> usize {
    let hashes = chars[start + 1..].iter().take_while(|&&c| c == '#').count();
    if chars.get(start + 1 + hashes) != Some(&'"') {
        return start + 1;
    }
    let closing: Vec<char> = std::iter::once('"').chain(std::iter::repeat_n('#', hashes)).collect();
    let body = start + 2 + hashes;
    (body..chars.len()).find(|&j| chars[j..].starts_with(&closing)).map_or(chars.len(), |j| j + closing.len())
}

/// The top-level names after each `crate::` of `code`, with their lines:
/// `crate::a::b` names `a`, `crate::{a::b, c}` names `a` and `c`.
fn crate_paths(code: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        if ident_char(code[..at].chars().last().as_ref()) {
            continue; // `my_crate::` or the like
        }
        let line = code[..at].matches('\n').count() + 1;
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            found.extend(group_names(group).into_iter().map(|name| (line, name)));
        } else {
            found.push((line, leading_ident(rest)));
        }
    }
    found
}

/// The first segment of each item of a `{…}` group, up to its closing brace.
fn group_names(group: &str) -> Vec<String> {
    let (mut depth, mut names, mut item_start) = (0usize, Vec::new(), true);
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => item_start = true,
            c if item_start && !c.is_whitespace() => {
                names.push(leading_ident(&group[i..]));
                item_start = false;
            }
            _ => {}
        }
    }
    names
}

fn leading_ident(text: &str) -> String {
    text.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect()
}

/// What is wrong with one file's imports; `path` is relative to the crate's
/// `src/`.
fn check_file(path: &str, text: &str) -> Vec<Violation> {
    let own = path.split('/').next().unwrap_or(path).trim_end_matches(".rs");
    let Some(may) = allowed(own) else {
        return vec![Violation { file: path.to_owned(), line: 1, what: format!("`{own}` is in no layer") }];
    };
    let mut violations = Vec::new();
    for (line, name) in crate_paths(&code_only(text)) {
        let module = module_of(&name);
        let what = match allowed(module) {
            _ if module == own || may.contains(&module) => continue,
            Some(_) => format!("`{own}` imports `crate::{name}`, which it may not build on"),
            None => format!("`{own}` imports `crate::{name}`, which is in no layer"),
        };
        violations.push(Violation { file: path.to_owned(), line, what });
    }
    violations
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> =
        std::fs::read_dir(dir).expect("a readable folder").map(|e| e.unwrap().path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_layer_imports_one_above_it() {
    let src = std::env::var_os("SHARED_SRC")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 20, "{} holds the crate", src.display());
    let violations: Vec<String> = files
        .iter()
        .flat_map(|file| {
            let relative = file.strip_prefix(&src).unwrap().to_string_lossy().replace('\\', "/");
            check_file(&relative, &std::fs::read_to_string(file).unwrap())
        })
        .map(|v| v.to_string())
        .collect();
    assert!(violations.is_empty(), "layering broken:\n{}", violations.join("\n"));
}

#[test]
fn one_module_layout_throughout() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let beside: Vec<String> = files
        .iter()
        .filter(|f| f.with_extension("").is_dir())
        .map(|f| f.strip_prefix(&src).unwrap().display().to_string())
        .collect();
    assert!(beside.is_empty(), "modules beside their folder (use <folder>/mod.rs): {beside:?}");
}

#[test]
fn the_checker_sees_what_breaks_the_layers() {
    let names =
        |path: &str, text: &str| check_file(path, text).into_iter().map(|v| (v.line, v.what)).collect::<Vec<_>>();
    // The import loop of the code before the layers: domain → error → domain.
    assert_eq!(
        names("domain/message.rs", "use super::text::is_blank;\nuse crate::error::Error;\n"),
        [(2, "`domain` imports `crate::error`, which is in no layer".to_owned())]
    );
    assert_eq!(
        names("ports/admin.rs", "use crate::{\n    domain::ApiKey,\n    service::config::Snapshot,\n};"),
        [(1, "`ports` imports `crate::service`, which it may not build on".to_owned())]
    );
    assert_eq!(names("adapters/s3.rs", "fn f() { crate::inbound::x(); }").len(), 1, "siblings");
    assert_eq!(names("adapters/s3.rs", "use crate::service::Voicemail;").len(), 1, "an adapter needs only its port");
    assert_eq!(names("domain/x.rs", "fn f() -> crate::Result<()> { Ok(()) }").len(), 1, "root re-exports");
    // What may be: below, one's own, comments and strings.
    assert!(
        names("startup/mod.rs", "use crate::adapters::clock;\nuse crate::{domain::E164, ports::Store};").is_empty()
    );
    assert!(names("service/api.rs", "use crate::service::Error; // not crate::startup\n").is_empty());
    assert!(
        names(
            "domain/text.rs",
            "const S: &str = \"crate::service\";\nlet r = r#\"crate::inbound\"#;\n/* crate::adapters */"
        )
        .is_empty()
    );
    assert!(names("domain/x.rs", "let c = '\"'; use crate::domain::E164; // \"").is_empty());
    assert_eq!(names("config.rs", "").len(), 1, "a file in no layer");
}
