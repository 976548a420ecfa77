//! Named arrays in a file for outside tools and for the two parties' file exchange: an uncompressed
//! `.npz` ([`super::npz`]) or a `.safetensors` file (an 8-byte little-endian header length, a JSON
//! header naming each tensor's dtype, shape and byte range, then the data). One writer and one reader
//! for both, used by `ppdl export` and `ppdl customer`/`ppdl provider`.

use std::path::Path;

use anyhow::Result;

use super::npz::{self, Array, DType};
use crate::error::InputError;

/// The file format written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ArrayFormat {
    #[default]
    Npz,
    Safetensors,
}

/// The bytes of a file holding `arrays` in `format`, in the given order.
pub fn to_bytes(format: ArrayFormat, arrays: &[(&str, &Array)]) -> Result<Vec<u8>> {
    match format {
        ArrayFormat::Npz => npz::write_npz(arrays),
        ArrayFormat::Safetensors => Ok(safetensors_bytes(arrays)),
    }
}

/// Every array of an `.npz` or `.safetensors` file (told apart by their first bytes), in file order.
pub fn read(path: &Path) -> Result<Vec<(String, Array)>> {
    let bytes = super::read_file(path)?;
    if bytes.starts_with(b"PK") {
        npz::parse_npz(&bytes, path)
    } else {
        parse_safetensors(&bytes, path)
    }
}

/// Safetensors' name of a dtype this module writes.
fn safetensors_dtype(dtype: DType) -> &'static str {
    match dtype {
        DType::F32 => "F32",
        DType::I64 => "I64",
        DType::U8 => "U8",
        other => unreachable!("ppdl writes no {other:?} arrays"),
    }
}

fn safetensors_bytes(arrays: &[(&str, &Array)]) -> Vec<u8> {
    let mut header = serde_json::Map::new();
    let mut offset = 0;
    for (name, a) in arrays {
        header.insert(
            name.to_string(),
            serde_json::json!({
                "dtype": safetensors_dtype(a.dtype),
                "shape": a.shape,
                "data_offsets": [offset, offset + a.data.len()]
            }),
        );
        offset += a.data.len();
    }
    let mut text = serde_json::Value::Object(header).to_string();
    while !text.len().is_multiple_of(8) {
        text.push(' ');
    }
    let mut out = (text.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(text.as_bytes());
    arrays.iter().for_each(|(_, a)| out.extend_from_slice(&a.data));
    out
}

/// Reads what [`safetensors_bytes`] writes (and any safetensors file of F32, I64 or U8 tensors).
fn parse_safetensors(bytes: &[u8], path: &Path) -> Result<Vec<(String, Array)>> {
    let bad =
        |offset: usize, what: String| -> anyhow::Error { InputError::at_offset(path, offset as u64, what).into() };
    let len = bytes.get(..8).map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes"))).ok_or_else(|| {
        bad(0, "file ends inside the 8-byte header length: expected a .npz or .safetensors file".into())
    })?;
    let start = 8usize;
    let end = usize::try_from(len).ok().and_then(|l| start.checked_add(l)).filter(|&e| e <= bytes.len()).ok_or_else(
        || bad(0, format!("header length {len} runs past the end of the file ({} bytes): expected a .npz or .safetensors file", bytes.len())),
    )?;
    let header: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&bytes[start..end])
        .map_err(|e| bad(start, format!("the header is not a JSON object: {e}")))?;
    let data = &bytes[end..];
    let mut out = Vec::new();
    for (name, entry) in header {
        if name == "__metadata__" {
            continue;
        }
        let field = |f: &str| entry.get(f).ok_or_else(|| bad(start, format!("tensor `{name}`: no `{f}` field")));
        let dtype = match field("dtype")?.as_str() {
            Some("F32") => DType::F32,
            Some("I64") => DType::I64,
            Some("U8") => DType::U8,
            other => return Err(bad(start, format!("tensor `{name}`: dtype {other:?}: expected F32, I64 or U8"))),
        };
        let numbers = |f: &str| -> Result<Vec<usize>> {
            field(f)?
                .as_array()
                .and_then(|a| a.iter().map(|v| v.as_u64().and_then(|v| usize::try_from(v).ok())).collect())
                .ok_or_else(|| bad(start, format!("tensor `{name}`: `{f}` must be a list of non-negative integers")))
        };
        let shape = numbers("shape")?;
        let offsets = numbers("data_offsets")?;
        let [from, to] = offsets[..] else {
            return Err(bad(start, format!("tensor `{name}`: `data_offsets` must be [begin, end]")));
        };
        let expected = shape.iter().try_fold(dtype.size(), |acc, &d| acc.checked_mul(d));
        if from > to || to > data.len() || expected != Some(to - from) {
            return Err(bad(
                end + from.min(data.len()),
                format!(
                    "tensor `{name}`: bytes {from}..{to} of the {} data bytes do not hold a {shape:?} {dtype:?} tensor",
                    data.len()
                ),
            ));
        }
        out.push((from, name, Array { dtype, shape, data: data[from..to].to_vec() }));
    }
    out.sort_by_key(|(from, _, _)| *from);
    Ok(out.into_iter().map(|(_, n, a)| (n, a)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_formats_round_trip() {
        let x = Array::from_f32(vec![2, 3], &[0.0, 0.5, 1.0, 0.25, 0.75, 1.0]);
        let y = Array::from_i64(vec![2], &[3, 7]);
        let dir = std::env::temp_dir().join(format!("ppdl-arrays-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for format in [ArrayFormat::Npz, ArrayFormat::Safetensors] {
            let path = dir.join(format!("{format:?}"));
            std::fs::write(&path, to_bytes(format, &[("x", &x), ("y", &y)]).unwrap()).unwrap();
            assert_eq!(read(&path).unwrap(), vec![("x".to_string(), x.clone()), ("y".to_string(), y.clone())]);
        }
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn truncated_safetensors_is_refused_with_the_offset() {
        let x = Array::from_f32(vec![4], &[1.0; 4]);
        let bytes = safetensors_bytes(&[("x", &x)]);
        let err = parse_safetensors(&bytes[..bytes.len() - 3], Path::new("s.safetensors")).unwrap_err();
        assert!(format!("{err:#}").contains("s.safetensors: at byte"), "{err:#}");
    }
}
