//! f32 arrays as little-endian bytes in serde (feature `serde`): `#[serde(with =
//! "crate::f32_bytes")]` on a `Vec<f32>` field. Through `serde-wasm-bindgen` an array becomes
//! one `Uint8Array` that postMessage copies at once, instead of an array of JS numbers built
//! one value at a time (the worker's messages carry up to millions of values); the worker's
//! `protocol::F32s` is the same form as a type of its own.

use std::fmt;

use serde::{de, Deserializer, Serializer};

/// Writes `values` as one byte string, little-endian: on a little-endian machine (wasm32 always
/// is) the values' own memory, with no copy here (the serializer makes the one copy it needs);
/// a heatmap's answer carries millions of values per redraw.
pub fn serialize<S: Serializer>(values: &[f32], serializer: S) -> Result<S::Ok, S::Error> {
    if cfg!(target_endian = "little") {
        // SAFETY: the pointer and length cover exactly the `values.len() * 4` initialised bytes
        // of the slice, which stays borrowed (alive, unchanged) while the view is used; `u8`
        // has no alignment requirement and every byte of an f32 is a valid `u8`; on a
        // little-endian machine those bytes are the values' little-endian form.
        let bytes = unsafe { std::slice::from_raw_parts(values.as_ptr().cast::<u8>(), std::mem::size_of_val(values)) };
        serializer.serialize_bytes(bytes)
    } else {
        let bytes: Vec<u8> = values.iter().flat_map(|x| x.to_le_bytes()).collect();
        serializer.serialize_bytes(&bytes)
    }
}

/// Reads a byte string (or a sequence of bytes, as JSON writes one) of whole f32 values.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<f32>, D::Error> {
    struct Bytes;
    impl<'de> de::Visitor<'de> for Bytes {
        type Value = Vec<f32>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("f32 values as bytes (a multiple of 4)")
        }
        fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Vec<f32>, E> {
            if !v.len().is_multiple_of(4) {
                return Err(E::custom(format!("{} bytes are not whole f32 values", v.len())));
            }
            Ok(from_le_bytes(v))
        }
        fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Vec<f32>, E> {
            self.visit_bytes(&v)
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<f32>, A::Error> {
            let mut bytes = Vec::new();
            while let Some(b) = seq.next_element::<u8>()? {
                bytes.push(b);
            }
            self.visit_bytes(&bytes)
        }
    }
    deserializer.deserialize_byte_buf(Bytes)
}

/// Little-endian bytes to f32 values (`bytes.len()` a multiple of 4). One copy of memory where
/// the machine is little-endian (wasm32 always is): the page decodes a million values per
/// heatmap redraw, in a build optimised for size where a per-value loop is slow.
fn from_le_bytes(bytes: &[u8]) -> Vec<f32> {
    let mut out = vec![0.0f32; bytes.len() / 4];
    if cfg!(target_endian = "little") {
        // SAFETY: `out` holds exactly `bytes.len()` bytes (`bytes.len()` is a multiple of 4,
        // checked by the caller), the two allocations do not overlap, `u8` has no alignment
        // requirement, and every bit pattern is a valid f32; on a little-endian machine the
        // bytes are the values' own representation.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), out.as_mut_ptr().cast::<u8>(), out.len() * 4) };
    } else {
        for (x, c) in out.iter_mut().zip(bytes.chunks_exact(4)) {
            *x = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        }
    }
    out
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn f32_bytes_round_trip() {
        let x = [0.0f32, -1.5, f32::MAX, f32::MIN_POSITIVE, f32::INFINITY, 1e-40];
        let bytes: Vec<u8> = x.iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(from_le_bytes(&bytes), x.to_vec());
        let nan = from_le_bytes(&f32::NAN.to_le_bytes());
        assert!(nan[0].is_nan());
    }

    #[test]
    fn a_field_travels_as_bytes_and_back() {
        #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
        struct Curve {
            #[serde(with = "crate::f32_bytes")]
            y: Vec<f32>,
        }
        let curve = Curve { y: vec![1.0, -0.25] };
        let json = serde_json::to_string(&curve).unwrap();
        assert_eq!(json, r#"{"y":[0,0,128,63,0,0,128,190]}"#);
        assert_eq!(serde_json::from_str::<Curve>(&json).unwrap(), curve);
        assert!(serde_json::from_str::<Curve>(r#"{"y":[0,0,128]}"#).unwrap_err().to_string().contains("3 bytes"));
    }
}
