//! Checkpoints: a run's weights as a safetensors file (download, upload), or kept in this
//! browser (IndexedDB). A checkpoint carries its run's settings (the lab's link) in its
//! metadata, so that loading it rebuilds the same model; a bad or mismatched file is named
//! and nothing else changes.

use std::{cell::RefCell, collections::BTreeMap, collections::HashMap};

use leptos::prelude::*;
use softplay_kernels::model::checkpoint;
use softplay_worker::model::ModelRequest;
use wasm_bindgen::{prelude::*, JsCast};
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbDatabase, IdbRequest, IdbTransaction, IdbTransactionMode};

use super::{client::Trainer, spec_of, Lab};
use crate::{
    components::export::{download_bytes, slug},
    labs::model::settings::ModelConfig,
    state::lab::decode_lab,
};

/// The metadata key of the run's settings (the lab's URL query).
pub const CONFIG_KEY: &str = "softplay.config";
const STEP_KEY: &str = "softplay.step";
const DB: &str = "softplay";
const STORE: &str = "checkpoints";

#[derive(Clone)]
enum Action {
    Download,
    Save,
}

thread_local! {
    /// What to do with the parameters of a run when the worker sends them.
    static PENDING: RefCell<HashMap<u32, Action>> = RefCell::new(HashMap::new());
    /// The list of saved checkpoints, refreshed after every change.
    static SAVED: RefCell<Option<RwSignal<Vec<Saved>>>> = const { RefCell::new(None) };
}

#[derive(Clone, Debug, PartialEq)]
pub struct Saved {
    pub name: String,
    pub bytes: usize,
    pub step: u32,
}

fn ask(lab: Lab, id: u32, action: Action) {
    PENDING.with(|p| p.borrow_mut().insert(id, action));
    if let Err(e) = Trainer::get().send(&ModelRequest::Export { run: id }) {
        lab.error.set(Some(e));
    }
}

pub fn download(lab: Lab, id: u32) {
    ask(lab, id, Action::Download);
}

pub fn save(lab: Lab, id: u32) {
    ask(lab, id, Action::Save);
}

/// The file name of a run's checkpoint.
fn file_name(lab: Lab, id: u32, step: u32) -> String {
    let name = lab.runs.with_untracked(|r| r.iter().find(|r| r.id == id).map(|r| r.name.clone())).unwrap_or_default();
    format!("softplay-model-{}-run{id}-step{step}.safetensors", slug(&name))
}

/// The worker sent a run's parameters: write the checkpoint and do what was asked.
pub fn exported(lab: Lab, id: u32, params: Vec<f32>, step: u32) {
    let Some(action) = PENDING.with(|p| p.borrow_mut().remove(&id)) else { return };
    let Some(config) = lab.runs.with_untracked(|r| r.iter().find(|r| r.id == id).map(|r| r.config.clone())) else {
        return;
    };
    let spec = match spec_of(&config) {
        Ok(s) => s,
        Err(e) => return lab.error.set(Some(e)),
    };
    let meta = BTreeMap::from([
        (CONFIG_KEY.to_string(), crate::state::lab::encode_lab("model", &config)),
        (STEP_KEY.to_string(), step.to_string()),
    ]);
    let bytes = checkpoint::write(&spec.config(), &params, &meta);
    let name = file_name(lab, id, step);
    match action {
        Action::Download => {
            if let Err(e) = download_bytes(&bytes, "application/octet-stream", &name) {
                lab.error.set(Some(format!("could not download {name}: {e}")));
            }
        }
        Action::Save => leptos::task::spawn_local(async move {
            // The first save asks the browser to keep this site's storage (`persist()`).
            let first = PERSISTED.with(|p| p.borrow().is_some_and(|p| p.get_untracked() != Some(true)));
            match put(&name, &bytes, step).await {
                Ok(()) => {
                    lab.error.set(None);
                    lab.info.set(Some(format!("Saved {name} in this browser ({}).", megabytes(bytes.len() as f64))));
                    refresh(lab).await;
                    if first {
                        storage_figures(true).await;
                    }
                }
                Err(e) => {
                    lab.info.set(None);
                    lab.error.set(Some(format!("could not save {name} in this browser: {e}")));
                    refresh(lab).await;
                }
            }
        }),
    }
}

/// Loads a checkpoint file as a new run; an error names what is wrong and changes nothing.
pub fn load_bytes(lab: Lab, bytes: &[u8], name: &str) {
    lab.error.set(None);
    match read(bytes, lab.config.get_untracked()) {
        Ok((config, params, step, note)) => match lab.add_run(config, Some(params), Some(name.to_string())) {
            Ok(id) => {
                lab.runs.update(|r| {
                    if let Some(r) = r.iter_mut().find(|r| r.id == id) {
                        r.step = step;
                        r.total = step;
                    }
                });
                lab.info.set(Some(format!("Loaded {name} as run #{id} (step {step}).{note}")));
            }
            Err(e) => lab.error.set(Some(format!("“{name}”: {e}. Nothing was loaded."))),
        },
        Err(e) => lab
            .error
            .set(Some(format!("“{name}” could not be loaded: {e}. Nothing was loaded; your runs are unchanged."))),
    }
}

/// The settings, parameters and step of a checkpoint. A file without the lab's settings is
/// read with the current settings.
fn read(bytes: &[u8], current: ModelConfig) -> Result<(ModelConfig, Vec<f32>, u32, String), String> {
    let ck = checkpoint::read(bytes)?;
    let (config, note) = match ck.metadata.get(CONFIG_KEY) {
        Some(query) => {
            let (config, notices) = decode_lab::<ModelConfig>(query);
            if notices.is_empty() {
                (config, String::new())
            } else {
                let n: Vec<String> = notices.into_iter().map(|n| n.0).collect();
                (config, format!(" Its settings: {}", n.join("; ")))
            }
        }
        None => (current, " The file has no settings of this lab: it was read with the current settings.".into()),
    };
    let spec = spec_of(&config)?;
    let params = ck.params_for(&spec.config())?;
    let step = ck.metadata.get(STEP_KEY).and_then(|s| s.parse().ok()).unwrap_or(0);
    Ok((config, params, step, note))
}

// ---- IndexedDB ----
//
// One connection, opened once and closed when another tab upgrades the database. Two stores:
// the files, and beside them each file's size and step, so that the list reads no file. A save
// writes both in one transaction and counts as done only when that transaction commits.

const DB_VERSION: u32 = 2;
/// Each saved file's size in bytes and step, by name.
const SIZES: &str = "checkpoint-sizes";

thread_local! {
    static CONNECTION: RefCell<Option<IdbDatabase>> = const { RefCell::new(None) };
    /// Whether the browser keeps this site's storage until the person clears it (asked on the
    /// first save); `None` until known.
    static PERSISTED: RefCell<Option<RwSignal<Option<bool>>>> = const { RefCell::new(None) };
    static USAGE: RefCell<Option<RwSignal<Usage>>> = const { RefCell::new(None) };
}

/// Bytes this site stores and the most the browser allows it, when the browser says.
type Usage = Option<(f64, f64)>;

fn js_error(e: JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.dyn_ref::<web_sys::DomException>().map(|e| format!("{}: {}", e.name(), e.message())))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| format!("{e:?}"))
}

/// Resolves with a request's result when it succeeds.
async fn done(request: &IdbRequest) -> Result<JsValue, String> {
    let promise = js_sys::Promise::new(&mut |resolve, reject| {
        let ok = request.clone();
        let on_ok = Closure::once_into_js(move || {
            let _ = resolve.call1(&JsValue::NULL, &ok.result().unwrap_or(JsValue::UNDEFINED));
        });
        let bad = request.clone();
        let on_err = Closure::once_into_js(move || {
            let why = bad.error().ok().flatten().map(|e| format!("{}: {}", e.name(), e.message()));
            let _ = reject.call1(&JsValue::NULL, &why.unwrap_or_else(|| "unknown error".into()).into());
        });
        request.set_onsuccess(Some(on_ok.unchecked_ref()));
        request.set_onerror(Some(on_err.unchecked_ref()));
    });
    JsFuture::from(promise).await.map_err(js_error)
}

/// Why a transaction did not commit: the name of its error (`QuotaExceededError`, …) and its
/// message.
struct Aborted {
    name: String,
    message: String,
}

/// Resolves when `tx` commits; fails with its error when it aborts.
async fn committed(tx: &IdbTransaction) -> Result<(), Aborted> {
    let promise = js_sys::Promise::new(&mut |resolve, reject| {
        let on_complete = Closure::once_into_js(move || {
            let _ = resolve.call0(&JsValue::NULL);
        });
        let bad = tx.clone();
        let on_abort = Closure::once_into_js(move || {
            let (name, message) = match bad.error() {
                Some(e) => (e.name(), e.message()),
                None => ("AbortError".into(), "the transaction was aborted".into()),
            };
            let _ = reject.call1(&JsValue::NULL, &js_sys::Array::of2(&name.into(), &message.into()));
        });
        tx.set_oncomplete(Some(on_complete.unchecked_ref()));
        tx.set_onabort(Some(on_abort.unchecked_ref()));
    });
    JsFuture::from(promise).await.map(|_| ()).map_err(|e| {
        let parts: js_sys::Array = e.unchecked_into();
        Aborted {
            name: parts.get(0).as_string().unwrap_or_default(),
            message: parts.get(1).as_string().unwrap_or_default(),
        }
    })
}

async fn db() -> Result<IdbDatabase, String> {
    if let Some(db) = CONNECTION.with(|c| c.borrow().clone()) {
        return Ok(db);
    }
    let factory = web_sys::window()
        .and_then(|w| w.indexed_db().ok().flatten())
        .ok_or("this browser has no IndexedDB (a private window may turn it off)")?;
    let request = factory.open_with_u32(DB, DB_VERSION).map_err(js_error)?;
    let upgrade = request.clone();
    let on_upgrade = Closure::once_into_js(move |ev: web_sys::IdbVersionChangeEvent| {
        if let Ok(db) = upgrade.result().and_then(|r| r.dyn_into::<IdbDatabase>()) {
            if ev.old_version() < 1.0 {
                let _ = db.create_object_store(STORE);
            }
            if ev.old_version() < 2.0 {
                let _ = db.create_object_store(SIZES);
            }
        }
    });
    request.set_onupgradeneeded(Some(on_upgrade.unchecked_ref()));
    let db = done(&request).await?.dyn_into::<IdbDatabase>().map_err(|_| "IndexedDB did not open".to_string())?;
    // Another tab with a newer page upgrades the database: let it, and open again next time.
    let closing = db.clone();
    let on_change = Closure::<dyn FnMut()>::new(move || {
        closing.close();
        CONNECTION.with(|c| *c.borrow_mut() = None);
    });
    db.set_onversionchange(Some(on_change.as_ref().unchecked_ref()));
    on_change.forget();
    CONNECTION.with(|c| *c.borrow_mut() = Some(db.clone()));
    Ok(db)
}

async fn transaction(mode: IdbTransactionMode) -> Result<IdbTransaction, String> {
    let db = db().await?;
    let stores = js_sys::Array::of2(&STORE.into(), &SIZES.into());
    db.transaction_with_str_sequence_and_mode(&stores, mode).map_err(js_error)
}

fn megabytes(bytes: f64) -> String {
    if bytes >= 1e9 {
        format!("{:.1} GB", bytes / 1e9)
    } else {
        format!("{:.1} MB", bytes / 1e6)
    }
}

/// Stores a checkpoint; `Ok` only once the transaction has committed. The error says what the
/// browser refused and what to do.
async fn put(name: &str, bytes: &[u8], step: u32) -> Result<(), String> {
    let tx = transaction(IdbTransactionMode::Readwrite).await?;
    let size = Saved { name: name.to_string(), bytes: bytes.len(), step };
    let write = || -> Result<(), JsValue> {
        tx.object_store(STORE)?.put_with_key(&js_sys::Uint8Array::from(bytes), &name.into())?;
        tx.object_store(SIZES)?.put_with_key(&size.to_js(), &name.into())?;
        Ok(())
    };
    if let Err(e) = write() {
        let _ = tx.abort();
        return Err(format!(
            "the browser refused to store it ({}); the run is still here — download it instead",
            js_error(e)
        ));
    }
    committed(&tx).await.map_err(|a| {
        let size = megabytes(bytes.len() as f64);
        if a.name == "QuotaExceededError" {
            format!(
                "the browser refused to store {size}: its storage for this site is full; the run is still here — \
                 download it instead, or delete checkpoints saved here"
            )
        } else {
            format!(
                "the browser did not store {size} ({}: {}); the run is still here — download it instead",
                a.name, a.message
            )
        }
    })
}

async fn get(name: &str) -> Result<Vec<u8>, String> {
    let tx = transaction(IdbTransactionMode::Readonly).await?;
    let v = done(&tx.object_store(STORE).map_err(js_error)?.get(&name.into()).map_err(js_error)?).await?;
    v.dyn_into::<js_sys::Uint8Array>()
        .map(|a| a.to_vec())
        .map_err(|_| format!("{name} is not in this browser any more"))
}

async fn remove(name: &str) -> Result<(), String> {
    let tx = transaction(IdbTransactionMode::Readwrite).await?;
    tx.object_store(STORE).and_then(|s| s.delete(&name.into())).map_err(js_error)?;
    tx.object_store(SIZES).and_then(|s| s.delete(&name.into())).map_err(js_error)?;
    committed(&tx).await.map_err(|a| format!("{}: {}", a.name, a.message))
}

impl Saved {
    fn to_js(&self) -> JsValue {
        let o = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&o, &"bytes".into(), &(self.bytes as f64).into());
        let _ = js_sys::Reflect::set(&o, &"step".into(), &self.step.into());
        o.into()
    }

    fn from_js(name: String, v: &JsValue) -> Option<Saved> {
        let number = |key: &str| js_sys::Reflect::get(v, &key.into()).ok().and_then(|n| n.as_f64());
        Some(Saved { name, bytes: number("bytes")? as usize, step: number("step").unwrap_or(0.0) as u32 })
    }
}

/// The saved checkpoints, from their sizes alone. A file saved by an older page (no size
/// beside it) is measured once and its size written.
async fn list() -> Result<Vec<Saved>, String> {
    let tx = transaction(IdbTransactionMode::Readonly).await?;
    let (files, sizes) = (tx.object_store(STORE).map_err(js_error)?, tx.object_store(SIZES).map_err(js_error)?);
    let names: js_sys::Array = done(&files.get_all_keys().map_err(js_error)?).await?.unchecked_into();
    let size_names: js_sys::Array = done(&sizes.get_all_keys().map_err(js_error)?).await?.unchecked_into();
    let size_values: js_sys::Array = done(&sizes.get_all().map_err(js_error)?).await?.unchecked_into();
    let mut known: HashMap<String, Saved> = size_names
        .iter()
        .zip(size_values.iter())
        .filter_map(|(k, v)| Saved::from_js(k.as_string()?, &v).map(|s| (s.name.clone(), s)))
        .collect();
    let mut out = Vec::new();
    for name in names.iter().filter_map(|k| k.as_string()) {
        match known.remove(&name) {
            Some(s) => out.push(s),
            None => {
                let bytes = get(&name).await?;
                let step = checkpoint::read(&bytes)
                    .ok()
                    .and_then(|c| c.metadata.get(STEP_KEY).and_then(|s| s.parse().ok()))
                    .unwrap_or(0);
                let s = Saved { name: name.clone(), bytes: bytes.len(), step };
                let tx = transaction(IdbTransactionMode::Readwrite).await?;
                tx.object_store(SIZES).and_then(|st| st.put_with_key(&s.to_js(), &name.into())).map_err(js_error)?;
                let _ = committed(&tx).await;
                out.push(s);
            }
        }
    }
    Ok(out)
}

/// The browser's own figures: bytes used and allowed, whether it keeps them.
async fn storage_figures(ask_to_keep: bool) {
    let Some(storage) = web_sys::window().map(|w| w.navigator().storage()) else { return };
    if let Ok(estimate) = storage.estimate() {
        if let Ok(e) = JsFuture::from(estimate).await {
            let number = |key: &str| js_sys::Reflect::get(&e, &key.into()).ok().and_then(|n| n.as_f64());
            if let (Some(used), Some(quota), Some(usage)) =
                (number("usage"), number("quota"), USAGE.with(|u| *u.borrow()))
            {
                usage.set(Some((used, quota)));
            }
        }
    }
    let asked = if ask_to_keep { storage.persist() } else { storage.persisted() };
    if let Ok(p) = asked {
        if let Ok(kept) = JsFuture::from(p).await {
            if let Some(persisted) = PERSISTED.with(|p| *p.borrow()) {
                persisted.set(kept.as_bool());
            }
        }
    }
}

async fn refresh(lab: Lab) {
    let Some(saved) = SAVED.with(|s| *s.borrow()) else { return };
    match list().await {
        Ok(l) => saved.set(l),
        Err(e) => lab.error.set(Some(format!("could not read the checkpoints saved in this browser: {e}"))),
    }
    storage_figures(false).await;
}

#[component]
pub fn Checkpoints() -> impl IntoView {
    let lab = expect_context::<Lab>();
    let saved = RwSignal::new(Vec::<Saved>::new());
    let persisted = RwSignal::new(None::<bool>);
    let usage = RwSignal::new(Usage::None);
    SAVED.with(|s| *s.borrow_mut() = Some(saved));
    PERSISTED.with(|p| *p.borrow_mut() = Some(persisted));
    USAGE.with(|u| *u.borrow_mut() = Some(usage));
    let storage_line = move || {
        let used = usage.get().map(|(used, quota)| {
            format!("This site stores {} of the {} this browser allows it.", megabytes(used), megabytes(quota))
        });
        let kept = match persisted.get() {
            Some(true) => " The browser keeps it until you delete it (persistent storage granted).",
            Some(false) => " The browser may clear it when the disk runs low (persistent storage not granted): download what you want to keep.",
            None => "",
        };
        format!("{}{kept}", used.unwrap_or_default())
    };
    leptos::task::spawn_local(refresh(lab));
    let on_file = move |ev: web_sys::Event| {
        let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) else { return };
        let Some(file) = input.files().and_then(|f| f.get(0)) else { return };
        input.set_value("");
        leptos::task::spawn_local(async move {
            let name = file.name();
            match JsFuture::from(file.array_buffer()).await {
                Ok(buffer) => load_bytes(lab, &js_sys::Uint8Array::new(&buffer).to_vec(), &name),
                Err(e) => lab.error.set(Some(format!("could not read “{name}”: {e:?}"))),
            }
        });
    };
    view! {
        <section class="panel" aria-labelledby="checkpoints-title">
            <h2 id="checkpoints-title">"Checkpoints"</h2>
            <p class="hint">
                "Each run's row has Download (a safetensors file of its weights, with its settings in the \
                 metadata) and Save in browser. A loaded checkpoint becomes a new run: swept, ready to inspect. \
                 The optimiser's state is not saved."
            </p>
            <div class="control">
                <label for="upload-checkpoint">"Load a safetensors file"</label>
                <input id="upload-checkpoint" type="file" accept=".safetensors,application/octet-stream"
                    data-testid="upload" on:change=on_file/>
            </div>
            <h3>"Saved in this browser"</h3>
            <p class="hint" data-testid="storage-figures">{storage_line}</p>
            <Show when=move || saved.with(|s| !s.is_empty()) fallback=|| view! { <p class="hint">"None yet."</p> }>
                <div class="table-scroll" tabindex="0" role="region" aria-label="Saved checkpoints">
                    <table class="data" data-testid="saved-table">
                        <thead><tr><th scope="col">"Name"</th><th scope="col">"Step"</th><th scope="col">"Size"</th><th scope="col">"Actions"</th></tr></thead>
                        <tbody>
                            <For each=move || saved.get() key=|s| s.name.clone() let:s>
                                {
                                    let (load_name, del_name) = (s.name.clone(), s.name.clone());
                                    view! {
                                        <tr>
                                            <td>{s.name.clone()}</td>
                                            <td>{s.step}</td>
                                            <td>{format!("{} KB", s.bytes.div_ceil(1024))}</td>
                                            <td class="actions">
                                                <button type="button" class="small" on:click=move |_| {
                                                    let name = load_name.clone();
                                                    leptos::task::spawn_local(async move {
                                                        match get(&name).await {
                                                            Ok(bytes) => load_bytes(lab, &bytes, &name),
                                                            Err(e) => lab.error.set(Some(format!("could not load {name}: {e}"))),
                                                        }
                                                    });
                                                }>"Load"</button>
                                                <button type="button" class="small" on:click=move |_| {
                                                    let name = del_name.clone();
                                                    leptos::task::spawn_local(async move {
                                                        if let Err(e) = remove(&name).await {
                                                            lab.error.set(Some(format!("could not delete {name}: {e}")));
                                                        }
                                                        refresh(lab).await;
                                                    });
                                                }>"Delete"</button>
                                            </td>
                                        </tr>
                                    }
                                }
                            </For>
                        </tbody>
                    </table>
                </div>
            </Show>
        </section>
    }
}
