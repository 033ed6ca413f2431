//! The build id: a hash of every file of the built site, written into `index.html` so that a
//! deploy can never mix files of two builds.
//!
//! trunk names the shell's script, wasm and stylesheet by their content hash. The lab modules,
//! the workers and their loader keep fixed names (the page finds them by name), so the page
//! loads each of them with `?v=<build id>`: `www/boot.js` reads the id from its `<script>` tag
//! (`data-build`) and passes it on to every lab module and worker it starts, and
//! `www/worker-loader.js` to the worker it loads. A cached file of an older build has another
//! URL and is never used with this page.
//!
//! Beside it, two files for the offline copy (`www/sw.js`): `precache.json` (the build's id and
//! every file the service worker caches, the page itself as `./`) and `build.json` (the id
//! alone, which a page asks the network for to learn that the site has a newer build). Both are
//! made from the id, so they are not part of it.

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

/// Files that are written from the build id, not hashed into it.
const DERIVED: [&str; 3] = ["index.html", "precache.json", "build.json"];

/// Stamps `dist/index.html` with the build id of everything else in `dist/`, and writes
/// `precache.json` and `build.json`; returns the id.
pub fn stamp(dist: &Path) -> Result<String, Failure> {
    let fail = |what: &str, e: std::io::Error| Failure(format!("stamping the build: {what}: {e}"));
    let mut all = Vec::new();
    files(dist, &mut all).map_err(|e| fail("listing dist/", e))?;
    all.sort();
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    let rel = |path: &Path| path.strip_prefix(dist).unwrap_or(path).to_string_lossy().replace('\\', "/");
    let hashed: Vec<(String, &std::path::PathBuf)> =
        all.iter().map(|p| (rel(p), p)).filter(|(file, _)| !DERIVED.contains(&file.as_str())).collect();
    for (file, path) in &hashed {
        fnv1a(&mut hash, file.as_bytes());
        fnv1a(&mut hash, &fs::read(path).map_err(|e| fail(file, e))?);
    }
    let id = format!("{:012x}", hash >> 16);
    // The service worker caches every file but itself, and the page as the folder's URL.
    let cached: Vec<String> = std::iter::once("./")
        .chain(hashed.iter().map(|(file, _)| file.as_str()).filter(|file| *file != "sw.js"))
        .map(|file| format!("\"{file}\""))
        .collect();
    let precache = format!("{{\"build\": \"{id}\", \"files\": [{}]}}\n", cached.join(", "));
    fs::write(dist.join("precache.json"), precache).map_err(|e| fail("writing precache.json", e))?;
    fs::write(dist.join("build.json"), format!("{{\"build\": \"{id}\"}}\n"))
        .map_err(|e| fail("writing build.json", e))?;
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
        .replace("href=\"icons/favicon.svg\"", &format!("href=\"icons/favicon.svg?v={id}\""))
        .replace("href=\"./manifest.webmanifest\"", &format!("href=\"./manifest.webmanifest?v={id}\""))
        .replace("href=\"manifest.webmanifest\"", &format!("href=\"manifest.webmanifest?v={id}\""));
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
        let precache = fs::read_to_string(dir.join("precache.json")).unwrap();
        assert_eq!(
            precache,
            format!("{{\"build\": \"{a}\", \"files\": [\"./\", \"icons/favicon.svg\", \"softplay-worker.js\"]}}\n")
        );
        assert_eq!(fs::read_to_string(dir.join("build.json")).unwrap(), format!("{{\"build\": \"{a}\"}}\n"));
        assert_eq!(write("one"), a, "the same files give the same id (precache.json and build.json aside)");
        assert_ne!(write("two"), a, "a changed worker changes the id");
        let _ = fs::remove_dir_all(&dir);
    }
}
