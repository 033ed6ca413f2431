//! The house rules the layout keeps (docs/ARCHITECTURE.md), checked by `cargo test -p xtask`:
//! no source file of the page or the kernels over 600 lines, tests and fixtures aside.

#[cfg(test)]
mod tests {
    use std::{fs, path::Path};

    const MAX_LINES: usize = 600;

    fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in fs::read_dir(dir).expect("a source folder") {
            let path = entry.expect("a folder entry").path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
            if path.is_dir() {
                if name != "tests" && name != "fixtures" {
                    rust_files(&path, out);
                }
            } else if name.ends_with(".rs") && name != "tests.rs" {
                out.push(path);
            }
        }
    }

    #[test]
    fn no_source_file_is_over_600_lines() {
        let root = crate::root();
        let mut files = Vec::new();
        for dir in ["app/src", "app/worker/src", "kernels/src"] {
            rust_files(&root.join(dir), &mut files);
        }
        assert!(files.len() > 50, "found only {} files", files.len());
        let long: Vec<String> = files
            .iter()
            .filter_map(|f| {
                let lines = fs::read_to_string(f).expect("a source file").lines().count();
                (lines > MAX_LINES).then(|| format!("{} ({lines} lines)", f.strip_prefix(&root).unwrap_or(f).display()))
            })
            .collect();
        assert!(long.is_empty(), "over {MAX_LINES} lines: {long:?}");
    }
}
