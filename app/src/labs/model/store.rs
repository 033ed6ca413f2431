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
use web_sys::{IdbDatabase, IdbRequest, IdbTransactionMode};

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
            match put(&name, &bytes).await {
                Ok(()) => {
                    lab.info.set(Some(format!("Saved {name} in this browser.")));
                    refresh(lab).await;
                }
                Err(e) => lab.error.set(Some(format!("could not save {name} in this browser: {e}"))),
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

/// Resolves with a request's result when it succeeds.
async fn done(request: &IdbRequest) -> Result<JsValue, String> {
    let promise = js_sys::Promise::new(&mut |resolve, reject| {
        let ok = request.clone();
        let on_ok = Closure::once_into_js(move || {
            let _ = resolve.call1(&JsValue::NULL, &ok.result().unwrap_or(JsValue::UNDEFINED));
        });
        let bad = request.clone();
        let on_err = Closure::once_into_js(move || {
            let why = js_sys::Reflect::get(&bad, &"error".into())
                .ok()
                .and_then(|e| js_sys::Reflect::get(&e, &"message".into()).ok())
                .and_then(|m| m.as_string())
                .unwrap_or_else(|| "unknown error".into());
            let _ = reject.call1(&JsValue::NULL, &why.into());
        });
        request.set_onsuccess(Some(on_ok.unchecked_ref()));
        request.set_onerror(Some(on_err.unchecked_ref()));
    });
    JsFuture::from(promise).await.map_err(|e| e.as_string().unwrap_or_else(|| format!("{e:?}")))
}

async fn open() -> Result<IdbDatabase, String> {
    let factory = web_sys::window()
        .and_then(|w| w.indexed_db().ok().flatten())
        .ok_or("this browser has no IndexedDB (a private window may turn it off)")?;
    let request = factory.open_with_u32(DB, 1).map_err(|e| format!("{e:?}"))?;
    let upgrade = request.clone();
    let on_upgrade = Closure::once_into_js(move || {
        if let Ok(db) = upgrade.result().and_then(|r| r.dyn_into::<IdbDatabase>()) {
            let _ = db.create_object_store(STORE);
        }
    });
    request.set_onupgradeneeded(Some(on_upgrade.unchecked_ref()));
    done(&request).await?.dyn_into::<IdbDatabase>().map_err(|_| "IndexedDB did not open".into())
}

async fn store(mode: IdbTransactionMode) -> Result<web_sys::IdbObjectStore, String> {
    let db = open().await?;
    let tx = db.transaction_with_str_and_mode(STORE, mode).map_err(|e| format!("{e:?}"))?;
    tx.object_store(STORE).map_err(|e| format!("{e:?}"))
}

async fn put(name: &str, bytes: &[u8]) -> Result<(), String> {
    let s = store(IdbTransactionMode::Readwrite).await?;
    let value = js_sys::Uint8Array::from(bytes);
    done(&s.put_with_key(&value, &name.into()).map_err(|e| format!("{e:?}"))?).await.map(|_| ())
}

async fn get(name: &str) -> Result<Vec<u8>, String> {
    let s = store(IdbTransactionMode::Readonly).await?;
    let v = done(&s.get(&name.into()).map_err(|e| format!("{e:?}"))?).await?;
    v.dyn_into::<js_sys::Uint8Array>()
        .map(|a| a.to_vec())
        .map_err(|_| format!("{name} is not in this browser any more"))
}

async fn remove(name: &str) -> Result<(), String> {
    let s = store(IdbTransactionMode::Readwrite).await?;
    done(&s.delete(&name.into()).map_err(|e| format!("{e:?}"))?).await.map(|_| ())
}

async fn list() -> Result<Vec<Saved>, String> {
    let s = store(IdbTransactionMode::Readonly).await?;
    let keys: js_sys::Array = done(&s.get_all_keys().map_err(|e| format!("{e:?}"))?).await?.unchecked_into();
    let values: js_sys::Array = done(&s.get_all().map_err(|e| format!("{e:?}"))?).await?.unchecked_into();
    Ok(keys
        .iter()
        .zip(values.iter())
        .filter_map(|(k, v)| {
            let name = k.as_string()?;
            let bytes = v.dyn_into::<js_sys::Uint8Array>().ok()?;
            Some(Saved { name, bytes: bytes.length() as usize })
        })
        .collect())
}

async fn refresh(lab: Lab) {
    let Some(saved) = SAVED.with(|s| *s.borrow()) else { return };
    match list().await {
        Ok(l) => saved.set(l),
        Err(e) => lab.error.set(Some(format!("could not read the checkpoints saved in this browser: {e}"))),
    }
}

#[component]
pub fn Checkpoints() -> impl IntoView {
    let lab = expect_context::<Lab>();
    let saved = RwSignal::new(Vec::<Saved>::new());
    SAVED.with(|s| *s.borrow_mut() = Some(saved));
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
            <Show when=move || saved.with(|s| !s.is_empty()) fallback=|| view! { <p class="hint">"None yet."</p> }>
                <div class="table-scroll" tabindex="0" role="region" aria-label="Saved checkpoints">
                    <table class="data" data-testid="saved-table">
                        <thead><tr><th scope="col">"Name"</th><th scope="col">"Size"</th><th scope="col">"Actions"</th></tr></thead>
                        <tbody>
                            <For each=move || saved.get() key=|s| s.name.clone() let:s>
                                {
                                    let (load_name, del_name) = (s.name.clone(), s.name.clone());
                                    view! {
                                        <tr>
                                            <td>{s.name.clone()}</td>
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
