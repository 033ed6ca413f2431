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
/// Each saved file's `[size in bytes, step]`, by name.
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

/// A JS value's property as text ("" when it has none).
fn prop(v: &JsValue, key: &str) -> String {
    js_sys::Reflect::get(v, &key.into()).ok().and_then(|s| s.as_string()).unwrap_or_default()
}

/// Waits for `target` to fire `ok`; when it fires `bad` instead, fails with the name and
/// message of its `error` (`QuotaExceededError`, …).
async fn event(target: &web_sys::EventTarget, ok: &str, bad: &str) -> Result<(), (String, String)> {
    let promise = js_sys::Promise::new(&mut |resolve, reject| {
        let failed = target.clone();
        let on_bad = Closure::once_into_js(move || {
            let _ = reject.call1(&JsValue::NULL, &js_sys::Reflect::get(&failed, &"error".into()).unwrap_or_default());
        });
        let on_ok = Closure::once_into_js(move || {
            let _ = resolve.call0(&JsValue::NULL);
        });
        let _ = target.add_event_listener_with_callback(ok, on_ok.unchecked_ref());
        let _ = target.add_event_listener_with_callback(bad, on_bad.unchecked_ref());
    });
    JsFuture::from(promise).await.map(|_| ()).map_err(|e| (prop(&e, "name"), prop(&e, "message")))
}

/// A request's result once it succeeds.
async fn result(request: Result<IdbRequest, JsValue>) -> Result<JsValue, String> {
    let request = request.map_err(|e| prop(&e, "message"))?;
    event(&request, "success", "error").await.map_err(|(name, message)| format!("{name}: {message}"))?;
    request.result().map_err(|e| prop(&e, "message"))
}

async fn db() -> Result<IdbDatabase, String> {
    if let Some(db) = CONNECTION.with(|c| c.borrow().clone()) {
        return Ok(db);
    }
    let factory = web_sys::window()
        .and_then(|w| w.indexed_db().ok().flatten())
        .ok_or("this browser has no IndexedDB (a private window may turn it off)")?;
    let request = factory.open_with_u32(DB, DB_VERSION).map_err(|e| prop(&e, "message"))?;
    let upgrade = request.clone();
    let on_upgrade = Closure::once_into_js(move |ev: web_sys::IdbVersionChangeEvent| {
        if let Ok(db) = upgrade.result().and_then(|r| r.dyn_into::<IdbDatabase>()) {
            for (version, store) in [(1.0, STORE), (2.0, SIZES)] {
                if ev.old_version() < version {
                    let _ = db.create_object_store(store);
                }
            }
        }
    });
    request.set_onupgradeneeded(Some(on_upgrade.unchecked_ref()));
    let db: IdbDatabase = result(Ok((*request).clone())).await?.unchecked_into();
    // Another tab with a newer page upgrades the database: let it, and open again next time.
    let closing = db.clone();
    let on_change = Closure::once_into_js(move || {
        closing.close();
        CONNECTION.with(|c| *c.borrow_mut() = None);
    });
    db.set_onversionchange(Some(on_change.unchecked_ref()));
    CONNECTION.with(|c| *c.borrow_mut() = Some(db.clone()));
    Ok(db)
}

async fn transaction(mode: IdbTransactionMode) -> Result<IdbTransaction, String> {
    let stores = js_sys::Array::of2(&STORE.into(), &SIZES.into());
    db().await?.transaction_with_str_sequence_and_mode(&stores, mode).map_err(|e| prop(&e, "message"))
}

fn megabytes(bytes: f64) -> String {
    if bytes >= 1e9 {
        format!("{:.1} GB", bytes / 1e9)
    } else {
        format!("{:.1} MB", bytes / 1e6)
    }
}

/// Writes `(name, value)` pairs into the stores `[STORE, SIZES]` (a `None` value deletes) in
/// one transaction; `Ok` only once it has committed.
async fn write(pairs: [(&str, Option<JsValue>); 2], name: &str) -> Result<(), (String, String)> {
    let tx = transaction(IdbTransactionMode::Readwrite).await.map_err(|e| (String::new(), e))?;
    for (store, value) in pairs {
        let done = tx.object_store(store).and_then(|s| match &value {
            Some(v) => s.put_with_key(v, &name.into()),
            None => s.delete(&name.into()),
        });
        if let Err(e) = done {
            let _ = tx.abort();
            return Err((prop(&e, "name"), prop(&e, "message")));
        }
    }
    event(&tx, "complete", "abort").await
}

/// Stores a checkpoint; `Ok` only once the transaction has committed. The error says what the
/// browser refused and what to do.
async fn put(name: &str, bytes: &[u8], step: u32) -> Result<(), String> {
    let size = Saved { name: name.to_string(), bytes: bytes.len(), step };
    let file = js_sys::Uint8Array::from(bytes).into();
    write([(STORE, Some(file)), (SIZES, Some(size.to_js()))], name).await.map_err(|(error, message)| {
        let size = megabytes(bytes.len() as f64);
        if error == "QuotaExceededError" {
            format!(
                "the browser refused to store {size}: its storage for this site is full; the run is still here — \
                 download it instead, or delete checkpoints saved here"
            )
        } else {
            format!("the browser did not store {size} ({error} {message}); the run is still here — download it instead")
        }
    })
}

async fn get(name: &str) -> Result<Vec<u8>, String> {
    let tx = transaction(IdbTransactionMode::Readonly).await?;
    let v = result(tx.object_store(STORE).and_then(|s| s.get(&name.into()))).await?;
    v.dyn_into::<js_sys::Uint8Array>()
        .map(|a| a.to_vec())
        .map_err(|_| format!("{name} is not in this browser any more"))
}

async fn remove(name: &str) -> Result<(), String> {
    write([(STORE, None), (SIZES, None)], name).await.map_err(|(error, message)| format!("{error} {message}"))
}

impl Saved {
    fn to_js(&self) -> JsValue {
        js_sys::Array::of2(&(self.bytes as f64).into(), &self.step.into()).into()
    }

    fn from_js(name: String, v: &JsValue) -> Saved {
        let a: &js_sys::Array = v.unchecked_ref();
        Saved { name, bytes: a.get(0).as_f64().unwrap_or(0.0) as usize, step: a.get(1).as_f64().unwrap_or(0.0) as u32 }
    }
}

/// The saved checkpoints, from their sizes alone. A file saved by an older page (no size
/// beside it) is measured once and its size written.
async fn list() -> Result<Vec<Saved>, String> {
    let tx = transaction(IdbTransactionMode::Readonly).await?;
    let keys = |store| tx.object_store(store).and_then(|s| s.get_all_keys());
    let names: js_sys::Array = result(keys(STORE)).await?.unchecked_into();
    let size_names: js_sys::Array = result(keys(SIZES)).await?.unchecked_into();
    let sizes: js_sys::Array = result(tx.object_store(SIZES).and_then(|s| s.get_all())).await?.unchecked_into();
    let mut out = Vec::new();
    for name in names.iter().filter_map(|k| k.as_string()) {
        let saved = match size_names.index_of(&name.clone().into(), 0) {
            -1 => {
                let bytes = get(&name).await?;
                let step = checkpoint::read(&bytes)
                    .ok()
                    .and_then(|c| c.metadata.get(STEP_KEY).and_then(|s| s.parse().ok()))
                    .unwrap_or(0);
                let s = Saved { name: name.clone(), bytes: bytes.len(), step };
                let file = js_sys::Uint8Array::from(&bytes[..]).into();
                let _ = write([(STORE, Some(file)), (SIZES, Some(s.to_js()))], &name).await;
                s
            }
            i => Saved::from_js(name, &sizes.get(i as u32)),
        };
        out.push(saved);
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
