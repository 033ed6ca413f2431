//! Turns each lab's content file (`src/labs/<lab>/content/<lab>.toml`: descriptions, formulas,
//! papers, task texts, presets) into Rust items, which the lab's `content` module includes. The
//! page carries only the resulting strings; the TOML reader runs here, at build time.
//!
//! What each file holds is declared once, in [`FILES`]. A missing, empty, unknown or
//! mistyped entry stops the build with the file and entry named; a variant of a setting with
//! no entry stops it too, since each table becomes an exhaustive `match`.

use std::{env, fmt::Write, fs, path::Path};

use toml::{Table, Value};

/// One lab's content file and what it holds.
struct File {
    lab: &'static str,
    items: &'static [Item],
}

enum Item {
    /// `key = "…"`: `pub const KEY: &str`.
    Text(&'static str),
    /// `[table.Variant]` for every variant of the enum `of`, each with `fields`:
    /// `pub fn function(v: of) -> into`, a `match` over the variants.
    Each { table: &'static str, function: &'static str, of: &'static str, into: &'static str, fields: &'static [Field] },
    /// `[table]` of `Variant = "…"` for every variant of `of`: `pub fn function(v: of) -> &str`.
    EachText { table: &'static str, function: &'static str, of: &'static str },
    /// `[presets.name]` with `label`, `about` and `links` (each `?page=<lab>&…`): `pub mod
    /// presets` with a `crate::content::Preset` const per preset (`NAME`) and `ALL`.
    Presets,
}

/// A field of an [`Item::Each`] entry: a string, or an `Option` of one when `optional`.
struct Field {
    name: &'static str,
    optional: bool,
}

const fn required(name: &'static str) -> Field {
    Field { name, optional: false }
}

const fn optional(name: &'static str) -> Field {
    Field { name, optional: true }
}

const FILES: &[File] = &[
    File {
        lab: "attention",
        items: &[
            Item::Text("title"),
            Item::Text("intro"),
            Item::Each {
                table: "variants",
                function: "about",
                of: "AttentionVariant",
                into: "About",
                fields: &[required("formula"), required("text"), required("paper"), required("link")],
            },
        ],
    },
    File {
        lab: "activations",
        items: &[
            Item::Text("title"),
            Item::Text("intro"),
            Item::Each {
                table: "functions",
                function: "function",
                of: "Activation",
                into: "Function",
                fields: &[required("formula"), optional("paper"), optional("parameters")],
            },
        ],
    },
    File {
        lab: "alignment",
        items: &[
            Item::Text("title"),
            Item::Text("intro"),
            Item::Each {
                table: "losses",
                function: "loss",
                of: "AlignmentLoss",
                into: "Loss",
                fields: &[required("formula"), required("paper")],
            },
            Item::EachText { table: "methods", function: "method", of: "NashMethod" },
        ],
    },
    File {
        lab: "model",
        items: &[
            Item::Text("title"),
            Item::Text("intro"),
            Item::Each {
                table: "tasks",
                function: "task",
                of: "Task",
                into: "TaskText",
                fields: &[required("asks"), required("perfect")],
            },
            Item::Presets,
        ],
    },
];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let out = Path::new(&env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("content");
    fs::create_dir_all(&out).expect("OUT_DIR is writable");
    for file in FILES {
        let path = format!("src/labs/{}/content/{}.toml", file.lab, file.lab);
        println!("cargo:rerun-if-changed={path}");
        let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: cannot read it: {e}"));
        let table: Table = text.parse().unwrap_or_else(|e| panic!("{path}: not valid TOML: {e}"));
        let rust = Reader { path: &path, lab: file.lab }.file(&table, file.items);
        fs::write(out.join(format!("{}.rs", file.lab)), rust).expect("OUT_DIR is writable");
    }
}

/// Reads one file, naming it in every error.
struct Reader<'a> {
    path: &'a str,
    lab: &'a str,
}

impl Reader<'_> {
    fn fail(&self, what: String) -> ! {
        panic!("{}: {what}", self.path)
    }

    fn file(&self, table: &Table, items: &[Item]) -> String {
        let names: Vec<&str> = items.iter().map(item_key).collect();
        if let Some(unknown) = table.keys().find(|k| !names.contains(&k.as_str())) {
            self.fail(format!("`{unknown}` is not an entry this file holds (it holds {})", names.join(", ")));
        }
        let mut rust = format!("// Made by build.rs from {}; edit that file, not this one.\n", self.path);
        for item in items {
            let key = item_key(item);
            let value = table.get(key).unwrap_or_else(|| self.fail(format!("`{key}` is missing")));
            match item {
                Item::Text(key) => {
                    let text = self.text(value, key);
                    let _ = writeln!(rust, "pub const {}: &str = {text:?};", key.to_uppercase());
                }
                Item::Each { table, function, of, into, fields } => {
                    let _ = writeln!(rust, "/// `[{table}.*]` of the content file.\npub fn {function}(v: {of}) -> {into} {{\n    match v {{");
                    for (variant, entry) in self.entries(value, table) {
                        let where_ = format!("[{table}.{variant}]");
                        let Value::Table(entry) = entry else { self.fail(format!("{where_} must be a table")) };
                        if let Some(unknown) = entry.keys().find(|k| !fields.iter().any(|f| f.name == k.as_str())) {
                            self.fail(format!("{where_} has `{unknown}`, which is not one of its fields"));
                        }
                        let _ = write!(rust, "        {of}::{variant} => {into} {{");
                        for field in *fields {
                            let at = format!("{where_} {}", field.name);
                            let value = match (entry.get(field.name), field.optional) {
                                (Some(v), false) => format!("{:?}", self.text(v, &at)),
                                (Some(v), true) => format!("Some({:?})", self.text(v, &at)),
                                (None, true) => "None".to_string(),
                                (None, false) => self.fail(format!("{where_} has no `{}`", field.name)),
                            };
                            let _ = write!(rust, " {}: {value},", field.name);
                        }
                        rust.push_str(" },\n");
                    }
                    rust.push_str("    }\n}\n");
                }
                Item::EachText { table, function, of } => {
                    let _ = writeln!(rust, "/// `[{table}]` of the content file.\npub fn {function}(v: {of}) -> &'static str {{\n    match v {{");
                    for (variant, text) in self.entries(value, table) {
                        let text = self.text(text, &format!("[{table}] {variant}"));
                        let _ = writeln!(rust, "        {of}::{variant} => {text:?},");
                    }
                    rust.push_str("    }\n}\n");
                }
                Item::Presets => rust.push_str(&self.presets(value)),
            }
        }
        rust
    }

    /// A non-empty string.
    fn text(&self, value: &Value, at: &str) -> String {
        match value {
            Value::String(s) if !s.trim().is_empty() => s.clone(),
            Value::String(_) => self.fail(format!("{at} is empty")),
            _ => self.fail(format!("{at} must be a string")),
        }
    }

    /// The entries of a table named after Rust variants (or consts).
    fn entries<'v>(&self, value: &'v Value, table: &str) -> Vec<(&'v str, &'v Value)> {
        let Value::Table(entries) = value else { self.fail(format!("`{table}` must be a table")) };
        if entries.is_empty() {
            self.fail(format!("[{table}] has no entries"));
        }
        entries
            .iter()
            .map(|(name, v)| {
                let ident = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if !ident {
                    self.fail(format!("[{table}.{name}]: an entry is named after a variant, as in Rust"));
                }
                (name.as_str(), v)
            })
            .collect()
    }

    fn presets(&self, value: &Value) -> String {
        let page = format!("?page={}", self.lab);
        let mut rust = String::from(
            "/// `[presets.*]` of the content file.\npub mod presets {\n    use crate::content::Preset;\n",
        );
        let mut all = Vec::new();
        for (name, preset) in self.entries(value, "presets") {
            let at = format!("[presets.{name}]");
            let Value::Table(preset) = preset else { self.fail(format!("{at} must be a table")) };
            if let Some(unknown) = preset.keys().find(|k| !["label", "about", "links"].contains(&k.as_str())) {
                self.fail(format!("{at} has `{unknown}`: a preset has a label, about and links"));
            }
            let field = |key: &str| {
                preset
                    .get(key)
                    .map(|v| self.text(v, &format!("{at} {key}")))
                    .unwrap_or_else(|| self.fail(format!("{at} has no `{key}`")))
            };
            let (label, about) = (field("label"), field("about"));
            let links: Vec<String> = match preset.get("links") {
                Some(Value::Array(links)) if !links.is_empty() => {
                    links.iter().map(|l| self.text(l, &format!("{at} links"))).collect()
                }
                _ => self.fail(format!("{at} needs `links`, a list of one or more links")),
            };
            if let Some(bad) = links.iter().find(|l| *l != &page && !l.starts_with(&format!("{page}&"))) {
                self.fail(format!("{at}: the link {bad:?} must start with {page:?}"));
            }
            let name_const = name.to_uppercase();
            let _ = writeln!(
                rust,
                "    pub const {name_const}: Preset = Preset {{ name: {name:?}, label: {label:?}, about: {about:?}, links: &{links:?} }};"
            );
            all.push(name_const);
        }
        let _ = writeln!(
            rust,
            "    /// Every preset, in the file's order.\n    pub static ALL: &[Preset] = &[{}];\n}}",
            all.join(", ")
        );
        rust
    }
}

fn item_key(item: &Item) -> &'static str {
    match item {
        Item::Text(key) => key,
        Item::Each { table, .. } | Item::EachText { table, .. } => table,
        Item::Presets => "presets",
    }
}
