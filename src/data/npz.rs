//! NumPy `.npz` files: a zip archive of `.npy` arrays, read and written without Python.
//!
//! Reading handles what `np.savez` and `np.savez_compressed` write: stored or deflated entries, zip64
//! extra fields (numpy forces them), little-endian or byte-order-free dtypes, C order. Writing makes
//! stored entries with `.npy` version 1.0 headers. Every problem is an [`InputError`] naming the file,
//! the entry and byte offset, and what was expected; sizes in headers are checked against the data
//! before anything is allocated from them.

use std::io::Read;
use std::path::Path;

use anyhow::Result;

use crate::error::InputError;

/// Element type of an array, as `.npy` `descr` names it (`|u1`, `<f4`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    U8,
    I8,
    U16,
    I16,
    U32,
    I32,
    U64,
    I64,
    F32,
    F64,
}

impl DType {
    const ALL: [(DType, &'static str); 10] = [
        (DType::U8, "u1"),
        (DType::I8, "i1"),
        (DType::U16, "u2"),
        (DType::I16, "i2"),
        (DType::U32, "u4"),
        (DType::I32, "i4"),
        (DType::U64, "u8"),
        (DType::I64, "i8"),
        (DType::F32, "f4"),
        (DType::F64, "f8"),
    ];

    fn code(self) -> &'static str {
        DType::ALL.iter().find(|(d, _)| *d == self).map(|(_, c)| *c).unwrap_or("?")
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        self.code()[1..].parse().unwrap_or(1)
    }

    pub fn is_float(self) -> bool {
        matches!(self, DType::F32 | DType::F64)
    }

    /// The `descr` string of this dtype in little-endian order.
    pub fn descr(self) -> String {
        let order = if self.size() == 1 { "|" } else { "<" };
        format!("{order}{}", self.code())
    }
}

/// One array: dtype, shape and its raw little-endian bytes (C order).
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    pub dtype: DType,
    pub shape: Vec<usize>,
    pub data: Vec<u8>,
}

impl Array {
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn from_f32(shape: Vec<usize>, values: &[f32]) -> Array {
        Array { dtype: DType::F32, shape, data: values.iter().flat_map(|v| v.to_le_bytes()).collect() }
    }

    pub fn from_i64(shape: Vec<usize>, values: &[i64]) -> Array {
        Array { dtype: DType::I64, shape, data: values.iter().flat_map(|v| v.to_le_bytes()).collect() }
    }

    pub fn from_u8(shape: Vec<usize>, values: &[u8]) -> Array {
        Array { dtype: DType::U8, shape, data: values.to_vec() }
    }

    /// Element `i` as f64 (every supported dtype converts exactly or, for 64-bit integers, nearly).
    pub fn get_f64(&self, i: usize) -> f64 {
        let s = self.dtype.size();
        let b = &self.data[i * s..(i + 1) * s];
        let mut w = [0u8; 8];
        w[..s].copy_from_slice(b);
        match self.dtype {
            DType::U8 => f64::from(b[0]),
            DType::I8 => f64::from(b[0] as i8),
            DType::U16 => f64::from(u16::from_le_bytes([b[0], b[1]])),
            DType::I16 => f64::from(i16::from_le_bytes([b[0], b[1]])),
            DType::U32 => f64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            DType::I32 => f64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            DType::U64 => u64::from_le_bytes(w) as f64,
            DType::I64 => i64::from_le_bytes(w) as f64,
            DType::F32 => f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            DType::F64 => f64::from_le_bytes(w),
        }
    }
}

const NPY_MAGIC: &[u8] = b"\x93NUMPY";

/// Parses one `.npy` file; `place` (e.g. `data.npz: entry x_train.npy`) prefixes messages.
pub fn parse_npy(bytes: &[u8], place: &str) -> Result<Array> {
    let bad = |offset: usize, what: String| -> anyhow::Error {
        InputError::new(format!("{place}: at byte {offset}: {what}")).into()
    };
    if !bytes.starts_with(NPY_MAGIC) {
        return Err(bad(0, "expected the .npy signature \\x93NUMPY".into()));
    }
    let (header_len, start): (usize, usize) = match bytes.get(6) {
        Some(1) if bytes.len() >= 10 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        Some(2 | 3) if bytes.len() >= 12 => {
            (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12)
        }
        Some(v @ (1..=3)) => return Err(bad(bytes.len(), format!("file ends inside the version {v} header"))),
        other => return Err(bad(6, format!("expected .npy format version 1, 2 or 3, got {other:?}"))),
    };
    let end = start.checked_add(header_len).filter(|&e| e <= bytes.len()).ok_or_else(|| {
        bad(start, format!("header of {header_len} bytes runs past the end of the data ({} bytes)", bytes.len()))
    })?;
    let header = std::str::from_utf8(&bytes[start..end])
        .map_err(|_| bad(start, "expected an ASCII header (a Python dict literal)".into()))?;
    let descr = dict_value(header, "descr").ok_or_else(|| bad(start, "header lacks 'descr'".into()))?;
    let descr = descr.trim_matches(|c| c == '\'' || c == '"');
    let dtype = parse_descr(descr).ok_or_else(|| {
        bad(
            start,
            format!(
                "dtype {descr:?} is not supported: expected a little-endian integer or float (|u1, <i8, <f4, <f8, ...)"
            ),
        )
    })?;
    match dict_value(header, "fortran_order") {
        Some("False") => {}
        Some("True") => {
            return Err(bad(start, "array is in Fortran order: expected C order (np.ascontiguousarray)".into()))
        }
        _ => return Err(bad(start, "header lacks 'fortran_order': False".into())),
    }
    let shape_text = dict_value(header, "shape").ok_or_else(|| bad(start, "header lacks 'shape'".into()))?;
    let shape =
        parse_shape(shape_text).ok_or_else(|| bad(start, format!("shape {shape_text} is not a tuple of integers")))?;
    let count = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    let need = count.and_then(|c| c.checked_mul(dtype.size()));
    let have = bytes.len() - end;
    match need {
        Some(n) if n == have => {}
        Some(n) => {
            return Err(bad(end, format!("shape {shape:?} of {} needs {n} data bytes, found {have}", dtype.descr())))
        }
        None => return Err(bad(start, format!("shape {shape:?} is too large"))),
    }
    Ok(Array { dtype, shape, data: bytes[end..].to_vec() })
}

/// The text of `'key': VALUE` in a Python dict literal, up to the next top-level comma.
fn dict_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let at = header.find(&format!("'{key}'")).or_else(|| header.find(&format!("\"{key}\"")))?;
    let rest = header[at + key.len() + 2..].trim_start().strip_prefix(':')?.trim_start();
    if rest.starts_with('(') {
        return rest.find(')').map(|e| &rest[..=e]);
    }
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    Some(rest[..end].trim())
}

fn parse_descr(descr: &str) -> Option<DType> {
    let (order, code) = descr.split_at_checked(1)?;
    let (dtype, _) = DType::ALL.iter().find(|(_, c)| *c == code)?;
    let ok = match order {
        "<" => true,
        "|" => dtype.size() == 1,
        "=" => cfg!(target_endian = "little"),
        _ => false,
    };
    ok.then_some(*dtype)
}

fn parse_shape(text: &str) -> Option<Vec<usize>> {
    let inner = text.strip_prefix('(')?.strip_suffix(')')?;
    inner.split(',').map(str::trim).filter(|s| !s.is_empty()).map(|s| s.trim_end_matches('L').parse().ok()).collect()
}

/// The `.npy` bytes of `array` (format version 1.0, header padded to a multiple of 64 bytes).
pub fn write_npy(array: &Array) -> Vec<u8> {
    let dims: Vec<String> = array.shape.iter().map(|d| d.to_string()).collect();
    let shape = if dims.len() == 1 { format!("({},)", dims[0]) } else { format!("({})", dims.join(", ")) };
    let mut header = format!("{{'descr': '{}', 'fortran_order': False, 'shape': {shape}, }}", array.dtype.descr());
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + array.data.len());
    out.extend_from_slice(NPY_MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(&array.data);
    out
}

/// Reads every array of an `.npz` file, by name without `.npy`, in archive order.
pub fn read_npz(path: &Path) -> Result<Vec<(String, Array)>> {
    parse_npz(&super::read_file(path)?, path)
}

const EOCD_SIG: u32 = 0x0605_4b50;
const ZIP64_EOCD_SIG: u32 = 0x0606_4b50;
const CENTRAL_SIG: u32 = 0x0201_4b50;
const LOCAL_SIG: u32 = 0x0403_4b50;

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}
fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}
fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// [`read_npz`] on in-memory bytes; `path` is used in messages.
pub fn parse_npz(bytes: &[u8], path: &Path) -> Result<Vec<(String, Array)>> {
    let bad =
        |offset: usize, what: String| -> anyhow::Error { InputError::at_offset(path, offset as u64, what).into() };
    let truncated = |offset: usize, what: &str| {
        bad(offset, format!("file ends inside {what}: expected a whole zip archive (.npz)"))
    };
    // End of central directory: the last signature within the final 64 KiB + 22 bytes.
    let lowest = bytes.len().saturating_sub(65_557);
    let eocd = (lowest..bytes.len().saturating_sub(21))
        .rev()
        .find(|&i| u32_at(bytes, i) == Some(EOCD_SIG))
        .ok_or_else(|| bad(bytes.len(), "no zip end-of-central-directory record: expected a .npz (zip) file".into()))?;
    let mut entries = u64::from(u16_at(bytes, eocd + 10).unwrap_or(0));
    let mut cd_offset = u64::from(u32_at(bytes, eocd + 16).unwrap_or(0));
    if entries == 0xFFFF || cd_offset == 0xFFFF_FFFF {
        // zip64: the locator sits just before the EOCD and points at the zip64 EOCD record.
        let loc = eocd.checked_sub(20).ok_or_else(|| truncated(0, "the zip64 locator"))?;
        let rec = u64_at(bytes, loc + 8).ok_or_else(|| truncated(loc, "the zip64 locator"))? as usize;
        if u32_at(bytes, rec) != Some(ZIP64_EOCD_SIG) {
            return Err(bad(rec, "expected the zip64 end-of-central-directory record".into()));
        }
        entries = u64_at(bytes, rec + 32).ok_or_else(|| truncated(rec, "the zip64 record"))?;
        cd_offset = u64_at(bytes, rec + 48).ok_or_else(|| truncated(rec, "the zip64 record"))?;
    }
    let mut at = usize::try_from(cd_offset).unwrap_or(usize::MAX);
    let mut out = Vec::new();
    for _ in 0..entries {
        if u32_at(bytes, at) != Some(CENTRAL_SIG) {
            return Err(bad(at, "expected a zip central directory entry (PK\\x01\\x02)".into()));
        }
        let field16 = |o: usize| u16_at(bytes, at + o).ok_or_else(|| truncated(at, "a central directory entry"));
        let field32 = |o: usize| u32_at(bytes, at + o).ok_or_else(|| truncated(at, "a central directory entry"));
        let method = field16(10)?;
        let crc = field32(16)?;
        let mut compressed = u64::from(field32(20)?);
        let mut size = u64::from(field32(24)?);
        let (name_len, extra_len, comment_len) = (field16(28)? as usize, field16(30)? as usize, field16(32)? as usize);
        let mut local = u64::from(field32(42)?);
        let name_at = at + 46;
        let name_bytes = bytes.get(name_at..name_at + name_len).ok_or_else(|| truncated(name_at, "an entry name"))?;
        let name = String::from_utf8_lossy(name_bytes).into_owned();
        let extra = bytes
            .get(name_at + name_len..name_at + name_len + extra_len)
            .ok_or_else(|| truncated(at, "an extra field"))?;
        // zip64 extra field: the 64-bit values of whichever fields are 0xFFFFFFFF, in this order.
        let mut e = 0;
        while e + 4 <= extra.len() {
            let (id, len) = (u16_at(extra, e).unwrap_or(0), usize::from(u16_at(extra, e + 2).unwrap_or(0)));
            if id == 1 {
                let mut v = e + 4;
                for field in [&mut size, &mut compressed, &mut local] {
                    if *field == 0xFFFF_FFFF && v + 8 <= (e + 4 + len).min(extra.len()) {
                        *field = u64_at(extra, v).unwrap_or(0);
                        v += 8;
                    }
                }
            }
            e += 4 + len;
        }
        let place = format!("{}: entry {name}", path.display());
        let local = usize::try_from(local).unwrap_or(usize::MAX);
        if u32_at(bytes, local) != Some(LOCAL_SIG) {
            return Err(bad(local, format!("entry {name}: expected a zip local file header (PK\\x03\\x04)")));
        }
        let data_at =
            (|| Some(local + 30 + usize::from(u16_at(bytes, local + 26)?) + usize::from(u16_at(bytes, local + 28)?)))()
                .ok_or_else(|| truncated(local, "a local file header"))?;
        let data =
            usize::try_from(compressed).ok().and_then(|c| bytes.get(data_at..data_at.checked_add(c)?)).ok_or_else(
                || bad(data_at, format!("entry {name}: {compressed} compressed bytes run past the end of the file")),
            )?;
        let raw: Vec<u8> = match method {
            0 => data.to_vec(),
            8 => {
                let mut out = Vec::new();
                flate2::read::DeflateDecoder::new(data)
                    .take(size.min(super::MAX_DECOMPRESSED_BYTES) + 1)
                    .read_to_end(&mut out)
                    .map_err(|e| bad(data_at, format!("entry {name}: not a valid deflate stream: {e}")))?;
                out
            }
            m => {
                return Err(bad(
                    at + 10,
                    format!("entry {name}: compression method {m}: expected 0 (stored) or 8 (deflate)"),
                ))
            }
        };
        if raw.len() as u64 != size {
            return Err(bad(data_at, format!("entry {name}: holds {} bytes, the directory says {size}", raw.len())));
        }
        let mut c = flate2::Crc::new();
        c.update(&raw);
        if c.sum() != crc {
            return Err(bad(
                data_at,
                format!("entry {name}: CRC-32 {:08x} does not match the directory's {crc:08x}", c.sum()),
            ));
        }
        if let Some(stem) = name.strip_suffix(".npy") {
            out.push((stem.to_string(), parse_npy(&raw, &place)?));
        }
        at = name_at + name_len + extra_len + comment_len;
    }
    Ok(out)
}

/// The bytes of an `.npz` (uncompressed zip) holding `arrays` as `NAME.npy`. An entry over 4 GiB is
/// refused (no zip64 writing).
pub fn write_npz(arrays: &[(&str, &Array)]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, array) in arrays {
        let npy = write_npy(array);
        let name = format!("{name}.npy");
        let size = u32::try_from(npy.len())
            .map_err(|_| anyhow::anyhow!("array {name} is over 4 GiB: too large for .npz export"))?;
        let offset = u32::try_from(out.len()).map_err(|_| anyhow::anyhow!("export over 4 GiB: too large for .npz"))?;
        let mut c = flate2::Crc::new();
        c.update(&npy);
        let common = |v: &mut Vec<u8>| {
            v.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0x21, 0]); // version, flags, stored, time, date (1980-01-01)
            v.extend_from_slice(&c.sum().to_le_bytes());
            v.extend_from_slice(&size.to_le_bytes());
            v.extend_from_slice(&size.to_le_bytes());
            v.extend_from_slice(&(name.len() as u16).to_le_bytes());
            v.extend_from_slice(&0u16.to_le_bytes());
        };
        out.extend_from_slice(&LOCAL_SIG.to_le_bytes());
        common(&mut out);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&npy);
        central.extend_from_slice(&CENTRAL_SIG.to_le_bytes());
        central.extend_from_slice(&[20, 0]);
        common(&mut central);
        central.extend_from_slice(&[0; 8]); // comment length, disk, internal and external attributes
        central.extend_from_slice(&[0; 2]);
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let cd_offset = u32::try_from(out.len()).map_err(|_| anyhow::anyhow!("export over 4 GiB: too large for .npz"))?;
    out.extend_from_slice(&central);
    out.extend_from_slice(&EOCD_SIG.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&(arrays.len() as u16).to_le_bytes());
    out.extend_from_slice(&(arrays.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&[0; 2]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npz_round_trip() {
        let x = Array::from_f32(vec![2, 3], &[0.0, 0.5, 1.0, 0.25, 0.75, 1.0]);
        let y = Array::from_i64(vec![2], &[3, 7]);
        let bytes = write_npz(&[("x", &x), ("y", &y)]).unwrap();
        let back = parse_npz(&bytes, Path::new("t.npz")).unwrap();
        assert_eq!(back, vec![("x".to_string(), x), ("y".to_string(), y)]);
    }

    /// Made by Python's zipfile the way np.savez / np.savez_compressed write (zip64 extra fields).
    #[test]
    fn reads_archives_as_numpy_writes_them() {
        for seed in ["savez-stored-zip64.npz", "savez-compressed.npz"] {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/npz").join(seed);
            let arrays = read_npz(&path).unwrap();
            let names: Vec<&str> = arrays.iter().map(|(n, _)| n.as_str()).collect();
            assert_eq!(names, ["x_train", "y_train", "x_test", "y_test"], "{seed}");
            assert_eq!(arrays[2].1.get_f64(1), 0.5);
        }
    }

    #[test]
    fn npy_header_as_numpy_writes_it() {
        let header = b"{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2, 1), }      \n";
        let mut npy = b"\x93NUMPY\x01\x00".to_vec();
        npy.extend_from_slice(&(header.len() as u16).to_le_bytes());
        npy.extend_from_slice(header);
        npy.extend_from_slice(&[1, 2, 3, 4]);
        let a = parse_npy(&npy, "t").unwrap();
        assert_eq!((a.dtype, a.shape.clone()), (DType::U8, vec![2, 2, 1]));
        let err = parse_npy(&npy[..npy.len() - 1], "t").unwrap_err().to_string();
        assert!(err.contains("needs 4 data bytes, found 3"), "{err}");
    }
}
