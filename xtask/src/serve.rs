//! A small static file server for `dist/`: GET and HEAD, files only, under a base path
//! (`/` or `/softplay/`), with no rewrite rules — what a plain static host does. Loopback only.

use std::{
    fs,
    io::{BufRead, BufReader, Write},
    net::{TcpListener, TcpStream},
    path::{Component, Path, PathBuf},
    thread,
};

use crate::{Failure, Step};

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "json" => "application/json",
        "webmanifest" => "application/manifest+json",
        "txt" => "text/plain; charset=utf-8",
        "safetensors" | "bin" => "application/octet-stream",
        _ => "application/octet-stream",
    }
}

/// `%XX` escapes decoded, as static hosts do for file names; `None` if they are not UTF-8.
fn percent_decode(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Maps a request path to a file under `dir`, or `None` (outside the base, or escaping `dir`).
fn resolve(dir: &Path, base: &str, request_path: &str) -> Option<PathBuf> {
    let path = percent_decode(request_path.split(['?', '#']).next().unwrap_or(""))?;
    let path = path.as_str();
    let rest = path.strip_prefix(base.trim_end_matches('/'))?;
    let rest = rest.strip_prefix('/').unwrap_or(rest);
    if !path.starts_with(base) && !rest.is_empty() {
        return None;
    }
    let mut file = dir.to_path_buf();
    for part in Path::new(rest).components() {
        match part {
            Component::Normal(p) => file.push(p),
            Component::CurDir => {}
            _ => return None,
        }
    }
    if file.is_dir() {
        file.push("index.html");
    }
    Some(file)
}

fn respond(mut stream: TcpStream, dir: &Path, base: &str) {
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    // Drain the headers.
    let mut line = String::new();
    while reader.read_line(&mut line).map(|n| n > 2).unwrap_or(false) {
        line.clear();
    }
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
    let head_only = method == "HEAD";
    // Like static hosts, send the base without its slash to the base with it, so relative
    // asset URLs resolve inside it.
    if base != "/" && target.split(['?', '#']).next() == Some(base.trim_end_matches('/')) {
        let query = target.find('?').map(|i| &target[i..]).unwrap_or("");
        let _ = stream.write_all(
            format!("HTTP/1.1 301 Moved Permanently\r\nLocation: {base}{query}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        );
        return;
    }
    let (status, file) = match method {
        "GET" | "HEAD" => match resolve(dir, base, target).filter(|f| f.is_file()) {
            Some(f) => ("200 OK", Some(f)),
            None => ("404 Not Found", None),
        },
        _ => ("405 Method Not Allowed", None),
    };
    let (body, kind) = match &file {
        Some(f) => (fs::read(f).unwrap_or_default(), content_type(f)),
        None => (format!("{status}\n").into_bytes(), "text/plain; charset=utf-8"),
    };
    let header = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nCache-Control: no-cache\r\n\
         X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(header.as_bytes());
    if !head_only {
        let _ = stream.write_all(&body);
    }
}

/// A server running on a background thread (for the end-to-end tests).
pub struct Server {
    pub port: u16,
}

impl Server {
    pub fn start(dir: &Path, port: u16, base: &str) -> Result<Server, Failure> {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .map_err(|e| Failure(format!("cannot listen on 127.0.0.1:{port}: {e} (is another server running?)")))?;
        let port = listener.local_addr().map_err(|e| Failure(e.to_string()))?.port();
        let (dir, base) = (dir.to_path_buf(), normalise_base(base));
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (dir, base) = (dir.clone(), base.clone());
                thread::spawn(move || respond(stream, &dir, &base));
            }
        });
        Ok(Server { port })
    }
}

fn normalise_base(base: &str) -> String {
    let trimmed = base.trim_matches('/');
    if trimmed.is_empty() {
        "/".into()
    } else {
        format!("/{trimmed}/")
    }
}

pub fn serve_forever(dir: &Path, port: u16, base: &str) -> Step {
    let server = Server::start(dir, port, base)?;
    println!("Serving {} at http://127.0.0.1:{}{} (Ctrl-C stops)", dir.display(), server.port, normalise_base(base));
    loop {
        thread::park();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_only_inside_the_base_and_the_directory() {
        let dir = Path::new("/srv/dist");
        assert_eq!(resolve(dir, "/softplay/", "/softplay/app.js?x=1"), Some(dir.join("app.js")));
        assert_eq!(resolve(dir, "/softplay/", "/other/app.js"), None);
        assert_eq!(resolve(dir, "/softplay/", "/softplay/../secret"), None);
        assert_eq!(resolve(dir, "/", "/icons/a.svg"), Some(dir.join("icons/a.svg")));
        assert_eq!(resolve(dir, "/softplay/", "/softplayx/a.js"), None);
        assert_eq!(resolve(dir, "/", "/a%20b.js"), Some(dir.join("a b.js")));
        assert_eq!(resolve(dir, "/softplay/", "/softplay/%2e%2e/secret"), None, "escaped .. stays out");
    }
}
