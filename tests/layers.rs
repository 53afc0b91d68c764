//! The pure cores stay pure (issue 19, item 4): `src/rules/` and `src/lifecycle/` do no I/O and
//! import nothing from the request path. They name only each other and the leaves below them
//! (`error`, `escape`, `cidr`); no async runtime, HTTP client or server, socket, TLS, file or
//! process. A failure names the file, the line and the import, and what to do instead.
//!
//! Checked as text, line by line (comments skipped), so that a `use` added anywhere in those
//! folders, in a test module too, fails here before review.

use std::path::{Path, PathBuf};

/// The pure cores.
const CORES: [&str; 2] = ["src/rules", "src/lifecycle"];

/// What a pure core may name inside the crate.
const ALLOWED_CRATE_MODULES: [&str; 5] = ["rules", "lifecycle", "error", "escape", "cidr"];

/// Paths that mean I/O or the request path, wherever they appear in a line of code.
const FORBIDDEN: [&str; 16] = [
    "tokio",
    "hyper::",
    "hyper_util",
    "h2::",
    "rustls",
    "socket2",
    "reqwest",
    "std::fs",
    "std::process",
    "std::io::stdin",
    "TcpStream",
    "TcpListener",
    "UdpSocket",
    "File::open",
    "File::create",
    "OpenOptions",
];

/// Every forbidden use in one file's text, as "path:line: `code` (why)".
fn violations(path: &str, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = line.trim();
        if code.starts_with("//") {
            continue;
        }
        let code = code.split(" //").next().unwrap_or(code);
        for word in FORBIDDEN {
            if code.contains(word) {
                out.push(format!(
                    "{path}:{}: `{code}` does I/O or reaches the request path ({word}); do it in src/proxy/ and pass plain values in",
                    n + 1
                ));
            }
        }
        for (i, _) in code.match_indices("crate::") {
            let module: String = code[i + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !ALLOWED_CRATE_MODULES.contains(&module.as_str()) {
                out.push(format!(
                    "{path}:{}: `{code}` imports crate::{module}, above the pure core; a pure core may name only {ALLOWED_CRATE_MODULES:?}",
                    n + 1
                ));
            }
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn the_pure_cores_import_no_io_and_nothing_from_the_request_path() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for core in CORES {
        rust_files(&root.join(core), &mut files);
    }
    assert!(files.len() > 20, "found only {} files", files.len());
    let mut found = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read source");
        let shown = file
            .strip_prefix(root)
            .unwrap_or(file)
            .display()
            .to_string();
        found.extend(violations(&shown, &text));
    }
    assert!(found.is_empty(), "\n{}\n", found.join("\n"));
    println!(
        "{} files in {CORES:?}: no I/O, no request path",
        files.len()
    );
}

#[test]
fn a_forbidden_import_is_reported_with_its_file_and_line() {
    let text = "//! A pure file.\nuse crate::rules::Rule;\n// use tokio::net::TcpStream;\nuse crate::proxy::app::App;\nasync fn f() { tokio::time::sleep(d).await }\n";
    let found = violations("src/rules/x.rs", text);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found[0]
        .starts_with("src/rules/x.rs:4: `use crate::proxy::app::App;` imports crate::proxy"));
    assert!(found[1].starts_with("src/rules/x.rs:5: ") && found[1].contains("(tokio)"));
}
