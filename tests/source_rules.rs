//! Rules about the source itself that a reviewer would otherwise have to remember.
//!
//! Every path icg-renew is given or finds goes through `fsx` (its resolver walks from `/` and then works
//! through held descriptors), so `std::fs::` appears in `src/` only inside `src/fsx/`, in test modules, and
//! in the few places listed below, each with the reason it is not a path from outside.

use std::path::Path;

/// Files allowed to use `std::fs::` outside their tests, and why.
const ALLOWED: &[(&str, &str)] = &[
    (
        "src/sandbox.rs",
        "builds a throwaway installation in a directory the running user chose and must own (refused when not empty)",
    ),
    (
        "src/invocation.rs",
        "finds this binary (current_exe, PATH) to name it in printed commands; opens nothing",
    ),
    (
        "src/commands/demo.rs",
        "a private temporary directory of its own (tempfile), mode 0700",
    ),
];

fn rust_files(dir: &Path, found: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

#[test]
fn no_path_from_outside_is_opened_with_std_fs_outside_fsx() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    let mut offenders = Vec::new();
    for file in &files {
        let relative = file
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if relative.starts_with("src/fsx/") || ALLOWED.iter().any(|(f, _)| *f == relative) {
            continue;
        }
        let text = std::fs::read_to_string(file).unwrap();
        // Test modules (the rest of the file after `#[cfg(test)]`) make their own fixtures.
        let code = text.split("#[cfg(test)]").next().unwrap();
        for (number, line) in code.lines().enumerate() {
            // Holding an open `File` is fine; acting on a path is what must go through fsx.
            let line = line.trim();
            if line.contains("std::fs::") && !line.starts_with("//") && line != "use std::fs::File;"
            {
                offenders.push(format!("{relative}:{}: {line}", number + 1));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "std::fs outside fsx (route the path through fsx::resolve, or add the file to ALLOWED with the reason):\n{}",
        offenders.join("\n")
    );
    for (file, _) in ALLOWED {
        assert!(root.join(file).exists(), "{file} is allowed but gone");
    }
}
