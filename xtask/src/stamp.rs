//! The build id: a hash of every file of the built site, written into `index.html` so that a
//! deploy can never mix files of two builds.
//!
//! trunk names the shell's script, wasm and stylesheet by their content hash. The lab modules,
//! the workers and their loader keep fixed names (the page finds them by name), so the page
//! loads each of them with `?v=<build id>`: `www/boot.js` reads the id from its `<script>` tag
//! (`data-build`) and passes it on to every lab module and worker it starts, and
//! `www/worker-loader.js` to the worker it loads. A cached file of an older build has another
//! URL and is never used with this page.

use std::{fs, path::Path};

use crate::Failure;

/// 64-bit FNV-1a: small, stable across platforms and Rust versions, enough to tell builds apart.
fn fnv1a(hash: &mut u64, bytes: &[u8]) {
    for &b in bytes {
        *hash ^= u64::from(b);
        *hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
}

fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            files(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

/// Stamps `dist/index.html` with the build id of everything else in `dist/`; returns the id.
pub fn stamp(dist: &Path) -> Result<String, Failure> {
    let fail = |what: &str, e: std::io::Error| Failure(format!("stamping the build: {what}: {e}"));
    let mut all = Vec::new();
    files(dist, &mut all).map_err(|e| fail("listing dist/", e))?;
    all.sort();
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    for path in all.iter().filter(|p| p.file_name().is_some_and(|n| n != "index.html")) {
        let rel = path.strip_prefix(dist).unwrap_or(path).to_string_lossy().replace('\\', "/");
        fnv1a(&mut hash, rel.as_bytes());
        fnv1a(&mut hash, &fs::read(path).map_err(|e| fail(&rel, e))?);
    }
    let id = format!("{:012x}", hash >> 16);
    let index = dist.join("index.html");
    let html = fs::read_to_string(&index).map_err(|e| fail("reading index.html", e))?;
    let tag = "<script type=\"module\" src=";
    let Some(at) = html.find(tag) else {
        return Err(Failure("stamping the build: index.html has no boot script (trunk.toml's pattern_script)".into()));
    };
    let stamped = format!("{}<script data-build=\"{id}\" type=\"module\" src={}", &html[..at], &html[at + tag.len()..]);
    // The files index.html names by a fixed name (the boot script, icons) get the id too.
    let stamped = stamped
        .replace("src=\"./boot.js\"", &format!("src=\"./boot.js?v={id}\""))
        .replace("href=\"./icons/favicon.svg\"", &format!("href=\"./icons/favicon.svg?v={id}\""))
        .replace("href=\"icons/favicon.svg\"", &format!("href=\"icons/favicon.svg?v={id}\""));
    fs::write(&index, stamped).map_err(|e| fail("writing index.html", e))?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_follows_every_file_and_lands_in_index_html() {
        let dir = std::env::temp_dir().join(format!("softplay-stamp-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("icons")).unwrap();
        let html = "<head><link rel=\"icon\" href=\"./icons/favicon.svg\"><script type=\"module\" src=\"./boot.js\" data-js=\"./a.js\"></script></head>";
        let write = |worker: &str| {
            fs::write(dir.join("index.html"), html).unwrap();
            fs::write(dir.join("softplay-worker.js"), worker).unwrap();
            fs::write(dir.join("icons/favicon.svg"), "<svg/>").unwrap();
            stamp(&dir).unwrap_or_else(|Failure(why)| panic!("{why}"))
        };
        let a = write("one");
        let stamped = fs::read_to_string(dir.join("index.html")).unwrap();
        assert!(stamped.contains(&format!("data-build=\"{a}\"")), "{stamped}");
        assert!(stamped.contains(&format!("src=\"./boot.js?v={a}\"")), "{stamped}");
        assert!(stamped.contains(&format!("favicon.svg?v={a}")), "{stamped}");
        assert_eq!(write("one"), a, "the same files give the same id");
        assert_ne!(write("two"), a, "a changed worker changes the id");
        let _ = fs::remove_dir_all(&dir);
    }
}
