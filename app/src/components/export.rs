//! Exports: CSV of the data behind a chart or heatmap, SVG of a vector chart, PNG of either.
//! Everything is made in the page and handed to the browser as a download; nothing leaves it.

use wasm_bindgen::{prelude::*, JsCast};
use web_sys::{Blob, BlobPropertyBag, HtmlAnchorElement, HtmlCanvasElement, HtmlImageElement, Url};

/// A file name part from free text: lower case, `a-z0-9.-` only, runs of anything else as `-`.
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() || c == '.' {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// A CSV field: quoted when it holds a comma, quote or line break.
pub fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// A number for a CSV: the shortest text that reads back as the same value; `NaN`, `inf` and
/// `-inf` spelled out (a broken value is data here, not a missing one).
pub fn csv_number(x: f64) -> String {
    if x.is_nan() {
        "NaN".into()
    } else if x.is_infinite() {
        if x > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        }
    } else {
        format!("{x}")
    }
}

/// Same for an f32: its own shortest form, so that `0.1f32` is written `0.1`.
pub fn csv_number32(x: f32) -> String {
    if x.is_finite() {
        format!("{x}")
    } else {
        csv_number(x as f64)
    }
}

fn blob_of(content: &str, mime: &str) -> Result<Blob, JsValue> {
    let options = BlobPropertyBag::new();
    options.set_type(mime);
    let parts = js_sys::Array::of1(&JsValue::from_str(content));
    Blob::new_with_str_sequence_and_options(&parts, &options)
}

fn click_download(url: &str, file_name: &str) -> Result<(), JsValue> {
    let document = web_sys::window().and_then(|w| w.document()).ok_or("no document")?;
    let a: HtmlAnchorElement = document.create_element("a")?.dyn_into()?;
    a.set_href(url);
    a.set_download(file_name);
    a.set_hidden(true);
    document.body().ok_or("no body")?.append_child(&a)?;
    a.click();
    a.remove();
    Ok(())
}

fn download_blob(blob: &Blob, file_name: &str) -> Result<(), JsValue> {
    let url = Url::create_object_url_with_blob(blob)?;
    let result = click_download(&url, file_name);
    // Revoke later: the download reads the URL after this task.
    let revoke = Closure::once_into_js(move || {
        let _ = Url::revoke_object_url(&url);
    });
    if let Some(w) = web_sys::window() {
        let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(revoke.unchecked_ref(), 60_000);
    }
    result
}

/// Downloads text as a file.
pub fn download_text(content: &str, mime: &str, file_name: &str) -> Result<(), String> {
    blob_of(content, mime).and_then(|b| download_blob(&b, file_name)).map_err(|e| format!("{e:?}"))
}

/// Downloads bytes as a file.
pub fn download_bytes(bytes: &[u8], mime: &str, file_name: &str) -> Result<(), String> {
    let options = BlobPropertyBag::new();
    options.set_type(mime);
    let array = js_sys::Uint8Array::from(bytes);
    let parts = js_sys::Array::of1(&array);
    Blob::new_with_u8_array_sequence_and_options(&parts, &options)
        .and_then(|b| download_blob(&b, file_name))
        .map_err(|e| format!("{e:?}"))
}

/// Downloads what a canvas shows, as PNG.
pub fn download_canvas_png(canvas: &HtmlCanvasElement, file_name: &str) -> Result<(), String> {
    let name = file_name.to_string();
    let callback = Closure::once_into_js(move |blob: Option<Blob>| {
        if let Some(blob) = blob {
            let _ = download_blob(&blob, &name);
        }
    });
    canvas.to_blob(callback.unchecked_ref()).map_err(|e| format!("{e:?}"))
}

/// Renders an SVG document onto a canvas at `scale`× on a `background` colour and downloads
/// it as PNG.
pub fn download_svg_as_png(
    svg: &str,
    width: f64,
    height: f64,
    background: &str,
    file_name: &str,
) -> Result<(), String> {
    let err = |e: JsValue| format!("{e:?}");
    let blob = blob_of(svg, "image/svg+xml").map_err(err)?;
    let url = Url::create_object_url_with_blob(&blob).map_err(err)?;
    let image = HtmlImageElement::new().map_err(err)?;
    let (name, background, img, src) = (file_name.to_string(), background.to_string(), image.clone(), url.clone());
    let failed_url = url.clone();
    let onload = Closure::once_into_js(move || {
        let scale = 2.0;
        let document = web_sys::window().and_then(|w| w.document());
        let Some(canvas) =
            document.and_then(|d| d.create_element("canvas").ok()).and_then(|c| c.dyn_into::<HtmlCanvasElement>().ok())
        else {
            return;
        };
        canvas.set_width((width * scale) as u32);
        canvas.set_height((height * scale) as u32);
        if let Some(ctx) =
            canvas.get_context("2d").ok().flatten().and_then(|c| c.dyn_into::<web_sys::CanvasRenderingContext2d>().ok())
        {
            ctx.set_fill_style_str(&background);
            ctx.fill_rect(0.0, 0.0, width * scale, height * scale);
            let _ = ctx.draw_image_with_html_image_element_and_dw_and_dh(&img, 0.0, 0.0, width * scale, height * scale);
        }
        let _ = Url::revoke_object_url(&url);
        let _ = download_canvas_png(&canvas, &name);
    });
    image.set_onload(Some(onload.unchecked_ref()));
    let onerror = Closure::once_into_js(move || {
        let _ = Url::revoke_object_url(&failed_url);
        web_sys::console::error_1(&"the chart could not be drawn as an image for the PNG export".into());
    });
    image.set_onerror(Some(onerror.unchecked_ref()));
    image.set_src(&src);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_fields_are_safe() {
        assert_eq!(slug("Softplus, length-scaled (LSSA)"), "softplus-length-scaled-lssa");
        assert_eq!(slug("n = 128 · d = 32"), "n-128-d-32");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_number(f64::NAN), "NaN");
        assert_eq!(csv_number(f64::NEG_INFINITY), "-inf");
        assert_eq!(csv_number32(0.1), "0.1");
    }
}
