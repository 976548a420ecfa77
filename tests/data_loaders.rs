//! Dataset loaders: IDX (raw and gzip), CIFAR-10 batches, the digits CSV, `load_dataset`, the embedded
//! dataset, and (when present under `data/` or `$PPDL_DATA_DIR`) the real MNIST / Fashion-MNIST / digits.

use std::io::Write;
use std::path::{Path, PathBuf};

use ppdl::data::load::{check_present, load_dataset, DatasetKind};
use ppdl::data::{cifar, digits, embedded, idx, ImageShape};
use ppdl::error::exit_code;
use proptest::prelude::*;
use sha2::{Digest, Sha256};

// ---------- helpers ----------

fn idx_images(count: u32, rows: u32, cols: u32, pixels: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    for x in [0x803, count, rows, cols] {
        v.extend_from_slice(&u32::to_be_bytes(x));
    }
    v.extend_from_slice(pixels);
    v
}

fn idx_labels(labels: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&0x801u32.to_be_bytes());
    v.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    v.extend_from_slice(labels);
    v
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// The error's message; asserts that it is an `InputError` (exit code 2).
fn input_err<T: std::fmt::Debug>(r: anyhow::Result<T>) -> String {
    let e = r.expect_err("expected an error");
    assert_eq!(exit_code(&e), 2, "expected an InputError, got: {e:#}");
    format!("{e:#}")
}

fn assert_has(msg: &str, parts: &[&str]) {
    for p in parts {
        assert!(msg.contains(p), "message {msg:?} lacks {p:?}");
    }
}

/// 3 images of 2x3 with pixels 0..18 and labels 2, 0, 9.
fn small_idx() -> (Vec<u8>, Vec<u8>) {
    let pixels: Vec<u8> = (0..18).map(|i| i * 14).collect();
    (idx_images(3, 2, 3, &pixels), idx_labels(&[2, 0, 9]))
}

// ---------- IDX ----------

#[test]
fn idx_raw_and_gzip_read_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let (images, labels) = small_idx();
    for (suffix, imgs, labs) in [("", images.clone(), labels.clone()), (".gz", gz(&images), gz(&labels))] {
        let ip = write(dir.path(), &format!("img{suffix}"), &imgs);
        let lp = write(dir.path(), &format!("lab{suffix}"), &labs);
        let (shape, px) = idx::read_images(&ip).unwrap();
        assert_eq!(shape, ImageShape { height: 2, width: 3, channels: 1 });
        assert_eq!(px, (0..18).map(|i| i * 14).collect::<Vec<u8>>());
        assert_eq!(idx::read_labels(&lp).unwrap(), vec![2, 0, 9]);
        let (shape2, px2, y) = idx::read_pair(&ip, &lp, 10).unwrap();
        assert_eq!((shape2, px2, y), (shape, px, vec![2, 0, 9]));
    }
}

#[test]
fn idx_empty_file_with_zero_count_is_fine_for_the_parser() {
    let (shape, px) = idx::parse_images(&idx_images(0, 28, 28, &[]), Path::new("e")).unwrap();
    assert_eq!((shape.height, px.len()), (28, 0));
    assert!(idx::parse_labels(&idx_labels(&[]), Path::new("e")).unwrap().is_empty());
}

#[test]
fn idx_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("nope-idx3-ubyte");
    assert_has(&input_err(idx::read_images(&p)), &["nope-idx3-ubyte", "not found"]);
    assert_has(&input_err(idx::read_labels(&p)), &["nope-idx3-ubyte", "not found"]);
}

#[test]
fn idx_wrong_magic() {
    let (images, labels) = small_idx();
    let m = input_err(idx::parse_images(&labels, Path::new("train-images.bin")));
    assert_has(&m, &["train-images.bin", "at byte 0", "expected 0x00000803", "found 0x00000801", "labels file"]);
    let m = input_err(idx::parse_labels(&images, Path::new("lab.bin")));
    assert_has(&m, &["lab.bin", "at byte 0", "expected 0x00000801", "found 0x00000803"]);
    let m = input_err(idx::parse_images(b"PK\x03\x04 not idx at all", Path::new("x.zip")));
    assert_has(&m, &["x.zip", "at byte 0", "expected 0x00000803", "found 0x504b0304"]);
    // same inside gzip: the offset is said to be in the decompressed data
    let m = input_err(idx::parse_images(&gz(&labels), Path::new("i.gz")));
    assert_has(&m, &["i.gz", "at byte 0 of the decompressed data", "expected 0x00000803"]);
}

#[test]
fn idx_header_truncated() {
    let (images, labels) = small_idx();
    let m = input_err(idx::parse_images(&images[..10], Path::new("img")));
    assert_has(&m, &["img", "at byte 10", "header truncated", "16-byte", "found only 10 bytes"]);
    let m = input_err(idx::parse_labels(&labels[..6], Path::new("lab")));
    assert_has(&m, &["lab", "at byte 6", "header truncated", "8-byte", "found only 6 bytes"]);
    let m = input_err(idx::parse_images(&[], Path::new("empty")));
    assert_has(&m, &["empty", "at byte 0", "header truncated", "found only 0 bytes"]);
    let m = input_err(idx::parse_images(&[0, 0], Path::new("two")));
    assert_has(&m, &["two", "at byte 2", "header truncated"]);
}

#[test]
fn idx_data_truncated() {
    let (images, labels) = small_idx();
    let m = input_err(idx::parse_images(&images[..16 + 7], Path::new("img")));
    assert_has(&m, &["img", "at byte 23", "expected 18 bytes of pixel data", "found 7"]);
    let m = input_err(idx::parse_labels(&labels[..9], Path::new("lab")));
    assert_has(&m, &["lab", "at byte 9", "expected 3 bytes of label data", "found 1"]);
    let m = input_err(idx::parse_images(&gz(&images[..20]), Path::new("img.gz")));
    assert_has(&m, &["img.gz", "at byte 20 of the decompressed data", "expected 18 bytes of pixel data", "found 4"]);
}

#[test]
fn idx_huge_counts_are_rejected_without_allocating() {
    let m = input_err(idx::parse_images(&idx_images(u32::MAX, u32::MAX, u32::MAX, &[1, 2, 3]), Path::new("big")));
    assert_has(&m, &["big", "at byte 19", "expected 79228162458924105385300197375 bytes of pixel data", "found 3"]);
    let mut labels = idx_labels(&[1, 2]);
    labels[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
    let m = input_err(idx::parse_labels(&labels, Path::new("big")));
    assert_has(&m, &["big", "expected 4294967295 bytes of label data", "found 2"]);
}

#[test]
fn idx_zero_sized_images_are_rejected() {
    let m = input_err(idx::parse_images(&idx_images(5, 0, 28, &[]), Path::new("z")));
    assert_has(&m, &["z", "at byte 8", "0x28", "expected at least 1 row"]);
}

#[test]
fn idx_trailing_garbage() {
    let (mut images, mut labels) = small_idx();
    images.extend_from_slice(b"xyz");
    let m = input_err(idx::parse_images(&images, Path::new("img")));
    assert_has(&m, &["img", "at byte 34", "3 bytes of trailing garbage", "18 bytes of pixel data"]);
    labels.push(0);
    let m = input_err(idx::parse_labels(&labels, Path::new("lab")));
    assert_has(&m, &["lab", "at byte 11", "1 bytes of trailing garbage"]);
}

#[test]
fn idx_pair_count_mismatch_and_label_range() {
    let (images, _) = small_idx();
    let m = input_err(idx::parse_pair(&images, Path::new("imgs"), &idx_labels(&[1, 2]), Path::new("labs"), 10));
    assert_has(&m, &["labs", "has 2 labels", "imgs has 3 images", "expected one label per image"]);
    let m = input_err(idx::parse_pair(&images, Path::new("imgs"), &idx_labels(&[1, 2, 10]), Path::new("labs"), 10));
    assert_has(&m, &["labs", "at byte 10", "label 10 of sample 2", "expected a class index 0..=9"]);
    let m = input_err(idx::parse_pair(&images, Path::new("imgs"), &gz(&idx_labels(&[7, 2, 1])), Path::new("l.gz"), 5));
    assert_has(&m, &["l.gz", "at byte 8 of the decompressed data", "label 7 of sample 0", "0..=4"]);
    // files on disk
    let dir = tempfile::tempdir().unwrap();
    let ip = write(dir.path(), "i", &images);
    let lp = write(dir.path(), "l", &idx_labels(&[1]));
    assert_has(&input_err(idx::read_pair(&ip, &lp, 10)), &["has 1 labels", "has 3 images"]);
}

#[test]
fn corrupt_gzip_is_an_input_error() {
    let (images, _) = small_idx();
    let mut g = gz(&images);
    let n = g.len();
    g.truncate(n - 10);
    assert_has(&input_err(idx::parse_images(&g, Path::new("cut.gz"))), &["cut.gz", "gzip"]);
    assert_has(&input_err(idx::parse_images(&[0x1f, 0x8b, 0, 0], Path::new("bad.gz"))), &["bad.gz", "gzip"]);
}

// ---------- CIFAR-10 ----------

/// `n` records; record r has label `r % 10`, and pixel (row, col) of channel c has value
/// `(r * 7 + c * 50 + row * 3 + col) % 256`.
fn cifar_batch(n: usize) -> Vec<u8> {
    let mut v = Vec::new();
    for r in 0..n {
        v.push((r % 10) as u8);
        for c in 0..3 {
            for row in 0..32 {
                for col in 0..32 {
                    v.push(((r * 7 + c * 50 + row * 3 + col) % 256) as u8);
                }
            }
        }
    }
    v
}

#[test]
fn cifar_channel_last_conversion_pixel_by_pixel() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = cifar_batch(4);
    for (name, data) in [("data_batch_1.bin", bytes.clone()), ("b.bin.gz", gz(&bytes))] {
        let (px, labels) = cifar::read_batch(&write(dir.path(), name, &data)).unwrap();
        assert_eq!(labels, vec![0, 1, 2, 3]);
        assert_eq!(px.len(), 4 * 3072);
        for r in 0..4 {
            for row in 0..32 {
                for col in 0..32 {
                    for c in 0..3 {
                        let got = px[r * 3072 + (row * 32 + col) * 3 + c];
                        let input = bytes[r * 3073 + 1 + c * 1024 + row * 32 + col];
                        assert_eq!(got, input, "record {r} row {row} col {col} channel {c}");
                        assert_eq!(got, ((r * 7 + c * 50 + row * 3 + col) % 256) as u8);
                    }
                }
            }
        }
    }
}

#[test]
fn cifar_errors() {
    let bytes = cifar_batch(3);
    let m = input_err(cifar::parse_batch(&bytes[..2 * 3073 + 100], Path::new("data_batch_2.bin")));
    assert_has(&m, &["data_batch_2.bin", "at byte 6146", "incomplete record 2", "expected 3073 bytes", "found 100"]);
    let mut bad = bytes.clone();
    bad[3073] = 10;
    let m = input_err(cifar::parse_batch(&bad, Path::new("test_batch.bin")));
    assert_has(&m, &["test_batch.bin", "at byte 3073", "label 10 of record 1", "expected 0..=9"]);
    let m = input_err(cifar::parse_batch(&[], Path::new("e.bin")));
    assert_has(&m, &["e.bin", "empty", "3073"]);
    let dir = tempfile::tempdir().unwrap();
    assert_has(&input_err(cifar::read_batch(&dir.path().join("data_batch_9.bin"))), &["data_batch_9.bin", "not found"]);
}

// ---------- digits ----------

fn digits_line(seed: usize, label: usize) -> String {
    let mut fields: Vec<String> = (0..64).map(|i| ((seed + i) % 17).to_string()).collect();
    fields.push(label.to_string());
    fields.join(",")
}

fn digits_csv(n: usize) -> String {
    (0..n).map(|r| digits_line(r, r % 10) + "\n").collect()
}

#[test]
fn digits_plain_and_gzip() {
    let dir = tempfile::tempdir().unwrap();
    let text = digits_csv(5);
    for (name, data) in [("d.csv", text.as_bytes().to_vec()), ("d.csv.gz", gz(text.as_bytes()))] {
        let (px, labels) = digits::read_csv(&write(dir.path(), name, &data)).unwrap();
        assert_eq!(labels, vec![0, 1, 2, 3, 4]);
        assert_eq!(px.len(), 5 * 64);
        for r in 0..5 {
            for i in 0..64 {
                assert_eq!(px[r * 64 + i] as usize, (r + i) % 17);
            }
        }
    }
    // CRLF, blank lines, spaces, and no final newline are accepted
    let crlf = format!("{}\r\n\r\n {} \r\n{}", digits_line(0, 1), digits_line(1, 2), digits_line(2, 3));
    let (_, labels) = digits::parse_csv(crlf.as_bytes(), Path::new("crlf.csv")).unwrap();
    assert_eq!(labels, vec![1, 2, 3]);
    assert_eq!(digits::split_sizes(1797), (1437, 360));
}

#[test]
fn digits_errors() {
    let p = Path::new("digits.csv");
    let short = format!("{}\n{}\n", digits_line(0, 0), digits_line(1, 1).rsplit_once(',').unwrap().0);
    assert_has(
        &input_err(digits::parse_csv(short.as_bytes(), p)),
        &["digits.csv", "line 2", "expected 65", "found 64"],
    );

    let mut fields: Vec<String> = digits_line(0, 0).split(',').map(String::from).collect();
    fields[4] = "17".into();
    let text = format!("{}\n{}\n{}\n", digits_line(0, 0), digits_line(0, 0), fields.join(","));
    let m = input_err(digits::parse_csv(text.as_bytes(), p));
    assert_has(&m, &["digits.csv", "line 3, column 5", "expected a pixel value, an integer 0..=16", "found \"17\""]);

    fields[4] = "x1".into();
    let m = input_err(digits::parse_csv(gz(fields.join(",").as_bytes()).as_slice(), Path::new("d.csv.gz")));
    assert_has(&m, &["d.csv.gz", "line 1, column 5", "found \"x1\""]);

    let bad_label = digits_line(3, 10);
    let m = input_err(digits::parse_csv(bad_label.as_bytes(), p));
    assert_has(&m, &["line 1, column 65", "expected a label, an integer 0..=9", "found \"10\""]);

    let header = format!("{}\n{}", (0..65).map(|i| format!("c{i}")).collect::<Vec<_>>().join(","), digits_line(0, 0));
    assert_has(&input_err(digits::parse_csv(header.as_bytes(), p)), &["line 1, column 1", "no header line"]);

    let mut bin = digits_line(0, 0).into_bytes();
    bin.extend_from_slice(b"\n1,\xff\xfe");
    assert_has(&input_err(digits::parse_csv(&bin, p)), &["digits.csv", "line 2", "not valid UTF-8"]);

    assert_has(&input_err(digits::parse_csv(b"\n\n", p)), &["digits.csv", "no samples"]);
}

// ---------- never panic ----------

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn parsers_never_panic_on_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let p = Path::new("fuzz");
        let _ = idx::parse_images(&bytes, p);
        let _ = idx::parse_labels(&bytes, p);
        let _ = cifar::parse_batch(&bytes, p);
        let _ = digits::parse_csv(&bytes, p);
        let _ = idx::parse_images(&gz(&bytes), p);
    }

    #[test]
    fn parsers_never_panic_on_mutated_files(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
        which in 0usize..4,
    ) {
        let (images, labels) = small_idx();
        let mut data = match which {
            0 => images.clone(),
            1 => labels.clone(),
            2 => cifar_batch(2),
            _ => digits_csv(3).into_bytes(),
        };
        for (i, b) in edits {
            let i = i.index(data.len());
            data[i] = b;
        }
        let p = Path::new("fuzz");
        let full = data.clone();
        data.truncate(cut.index(data.len() + 1));
        for d in [&full, &data] {
            let _ = idx::parse_images(d, p);
            let _ = idx::parse_labels(d, p);
            let _ = idx::parse_pair(d, p, &labels, p, 10);
            let _ = idx::parse_pair(&images, p, d, p, 10);
            let _ = cifar::parse_batch(d, p);
            let _ = digits::parse_csv(d, p);
        }
        // whatever fails must fail as an InputError
        if let Err(e) = idx::parse_pair(&full, p, &labels, p, 10) { prop_assert_eq!(exit_code(&e), 2); }
        if let Err(e) = cifar::parse_batch(&data, p) { prop_assert_eq!(exit_code(&e), 2); }
        if let Err(e) = digits::parse_csv(&data, p) { prop_assert_eq!(exit_code(&e), 2); }
    }
}

// ---------- load_dataset ----------

#[test]
fn kind_names_serde_and_parse() {
    for (kind, name) in [
        (DatasetKind::Embedded, "embedded"),
        (DatasetKind::Mnist, "mnist"),
        (DatasetKind::FashionMnist, "fashion-mnist"),
        (DatasetKind::Digits, "digits"),
        (DatasetKind::Cifar10, "cifar10"),
    ] {
        assert_eq!(kind.name(), name);
        assert_eq!(kind.to_string(), name);
        assert_eq!(serde_json::to_string(&kind).unwrap(), format!("\"{name}\""));
        assert_eq!(serde_json::from_str::<DatasetKind>(&format!("\"{name}\"")).unwrap(), kind);
        assert_eq!(name.parse::<DatasetKind>().unwrap(), kind);
    }
    assert!(serde_json::from_str::<DatasetKind>("\"fashion_mnist\"").is_err());
    let e = "cifar".parse::<DatasetKind>().unwrap_err();
    assert_has(&e.message, &["\"cifar\"", "embedded, mnist, fashion-mnist, digits, cifar10"]);
}

fn write_idx_dir(dir: &Path, gzip: bool, n_train: u32, n_test: u32) {
    let suffix = if gzip { ".gz" } else { "" };
    let enc = |b: Vec<u8>| if gzip { gz(&b) } else { b };
    for (prefix, n) in [("train", n_train), ("t10k", n_test)] {
        let pixels: Vec<u8> = (0..n * 4).map(|i| if i % 4 == 0 { 255 } else { (i % 256) as u8 }).collect();
        let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
        write(dir, &format!("{prefix}-images-idx3-ubyte{suffix}"), &enc(idx_images(n, 2, 2, &pixels)));
        write(dir, &format!("{prefix}-labels-idx1-ubyte{suffix}"), &enc(idx_labels(&labels)));
    }
}

#[test]
fn load_idx_folders_raw_and_gzip_with_limits() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw");
    let gzd = dir.path().join("gz");
    std::fs::create_dir_all(&raw).unwrap();
    std::fs::create_dir_all(&gzd).unwrap();
    write_idx_dir(&raw, false, 12, 5);
    write_idx_dir(&gzd, true, 12, 5);
    let a = load_dataset(DatasetKind::Mnist, Some(&raw), None, None).unwrap();
    let b = load_dataset(DatasetKind::FashionMnist, Some(&gzd), None, None).unwrap();
    assert_eq!(a.name, "mnist");
    assert_eq!(b.name, "fashion-mnist");
    assert_eq!((a.train.len(), a.test.len(), a.classes), (12, 5, 10));
    assert_eq!(a.shape, ImageShape { height: 2, width: 2, channels: 1 });
    assert_eq!(a.train.features, 4);
    assert_eq!(a.train.images, b.train.images);
    assert_eq!(a.test.labels, vec![0, 1, 2, 3, 4]);
    assert_eq!(a.train.image(1), &[1.0, 5.0 / 255.0, 6.0 / 255.0, 7.0 / 255.0]);
    assert!(a.train.images.iter().all(|&x| (0.0..=1.0).contains(&x)));

    let c = load_dataset(DatasetKind::Mnist, Some(&raw), Some(3), Some(100)).unwrap();
    assert_eq!((c.train.len(), c.train.images.len(), c.test.len()), (3, 12, 5));
    assert_eq!(c.train.images[..], a.train.images[..12]);

    assert_has(&input_err(load_dataset(DatasetKind::Mnist, Some(&raw), Some(0), None)), &["train_limit", "0"]);
    assert_has(&input_err(load_dataset(DatasetKind::Digits, Some(&raw), None, Some(0))), &["test_limit", "0"]);
    assert_has(&input_err(load_dataset(DatasetKind::Embedded, None, Some(0), None)), &["train_limit"]);

    // The presence check (`ppdl validate`) agrees: every file is there, only names are looked at.
    assert!(check_present(DatasetKind::Mnist, Some(&raw)).is_ok());
    assert!(check_present(DatasetKind::FashionMnist, Some(&gzd)).is_ok());
    assert!(check_present(DatasetKind::Embedded, None).is_ok());

    // a bad label inside a folder surfaces with the file and offset
    write(&raw, "t10k-labels-idx1-ubyte", &idx_labels(&[0, 1, 12, 3, 4]));
    let m = input_err(load_dataset(DatasetKind::Mnist, Some(&raw), None, None));
    assert_has(&m, &["t10k-labels-idx1-ubyte", "at byte 10", "label 12"]);
    // a missing file names itself and how to get it
    std::fs::remove_file(gzd.join("train-labels-idx1-ubyte.gz")).unwrap();
    let m = input_err(load_dataset(DatasetKind::FashionMnist, Some(&gzd), None, None));
    assert_has(&m, &["train-labels-idx1-ubyte", ".gz", "scripts/fetch-data.sh fashion"]);
    // ... and the presence check says the same, word for word
    let p = input_err(check_present(DatasetKind::FashionMnist, Some(&gzd)));
    assert_eq!(p, m);
}

#[test]
fn load_missing_folders_say_how_to_get_them() {
    let dir = tempfile::tempdir().unwrap();
    let nowhere = dir.path().join("nowhere");
    for (kind, hint) in [
        (DatasetKind::Mnist, "scripts/fetch-data.sh mnist"),
        (DatasetKind::FashionMnist, "scripts/fetch-data.sh fashion"),
        (DatasetKind::Digits, "scripts/fetch-data.sh digits"),
        (DatasetKind::Cifar10, "cannot be fetched"),
    ] {
        let m = input_err(load_dataset(kind, Some(&nowhere), None, None));
        assert_has(&m, &["nowhere", "not found", kind.name(), hint]);
    }
    let m = input_err(load_dataset(DatasetKind::Cifar10, Some(&nowhere), None, None));
    assert_has(&m, &["data_batch_1.bin", "data_batch_5.bin", "test_batch.bin", "cifar-10-binary"]);
    // a file where a folder is expected
    let f = write(dir.path(), "file", b"x");
    assert_has(&input_err(load_dataset(DatasetKind::Mnist, Some(&f), None, None)), &["is not a folder"]);
    // default folder, relative to the current directory (only checked where it is absent)
    if !Path::new("data/cifar10").exists() {
        let m = input_err(load_dataset(DatasetKind::Cifar10, None, None, None));
        assert_has(&m, &["data/cifar10", "not found", "cannot be fetched"]);
    }
    let m = input_err(load_dataset(DatasetKind::Embedded, Some(dir.path()), None, None));
    assert_has(&m, &["embedded", "no folder"]);
}

#[test]
fn load_digits_folder_split_and_scaling() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "digits.csv", digits_csv(11).as_bytes());
    let d = load_dataset(DatasetKind::Digits, Some(dir.path()), None, None).unwrap();
    assert_eq!(d.name, "digits");
    assert_eq!(d.shape, ImageShape { height: 8, width: 8, channels: 1 });
    assert_eq!((d.train.len(), d.test.len()), (8, 3)); // test = last ceil(11 / 5)
    assert_eq!(d.test.labels, vec![8, 9, 0]);
    assert_eq!(d.train.image(0)[16], 16.0 / 16.0);
    assert_eq!(d.train.image(0)[8], 0.5);
    assert_eq!(d.test.image(0)[0], 8.0 / 16.0);
    // gz is preferred when both exist; a bad gz then errors with its name
    write(dir.path(), "digits.csv.gz", &gz(b"1,2\n"));
    assert_has(
        &input_err(load_dataset(DatasetKind::Digits, Some(dir.path()), None, None)),
        &["digits.csv.gz", "line 1"],
    );
    let empty = tempfile::tempdir().unwrap();
    assert_has(
        &input_err(load_dataset(DatasetKind::Digits, Some(empty.path()), None, None)),
        &["missing digits.csv.gz", "scripts/fetch-data.sh digits"],
    );
}

#[test]
fn load_cifar_folder_and_subfolder() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("cifar-10-batches-bin");
    std::fs::create_dir_all(&sub).unwrap();
    for (i, f) in cifar::TRAIN_FILES.iter().enumerate() {
        write(&sub, f, &cifar_batch(i + 1)); // 1 + 2 + 3 + 4 + 5 = 15 records
    }
    write(&sub, cifar::TEST_FILE, &cifar_batch(2));
    let d = load_dataset(DatasetKind::Cifar10, Some(dir.path()), None, None).unwrap();
    assert_eq!(d.name, "cifar10");
    assert_eq!(d.shape, ImageShape { height: 32, width: 32, channels: 3 });
    assert_eq!((d.train.len(), d.test.len()), (15, 2));
    assert_eq!(&d.train.labels[..4], &[0, 0, 1, 0]);
    // record 0 of data_batch_2 is sample 1; its pixel (row 1, col 2) channel 2 is (0 + 100 + 3 + 2)
    assert_eq!(d.train.image(1)[(32 + 2) * 3 + 2], 105.0 / 255.0);
    let l = load_dataset(DatasetKind::Cifar10, Some(&sub), Some(2), Some(1)).unwrap();
    assert_eq!((l.train.len(), l.test.len(), l.train.images.len()), (2, 1, 2 * 3072));
    assert_eq!(l.train.images[..], d.train.images[..2 * 3072]);
    // a damaged batch is named with its offset
    write(&sub, "data_batch_3.bin", &cifar_batch(3)[..3073 + 5]);
    let m = input_err(load_dataset(DatasetKind::Cifar10, Some(&sub), None, None));
    assert_has(&m, &["data_batch_3.bin", "at byte 3073", "incomplete record 1"]);
    std::fs::remove_file(sub.join("data_batch_4.bin")).unwrap();
    let m = input_err(load_dataset(DatasetKind::Cifar10, Some(&sub), None, None));
    assert_has(&m, &["lacks data_batch_4.bin", "cannot be fetched"]);
}

// ---------- embedded ----------

#[test]
fn embedded_dataset() {
    let d = embedded::load().unwrap();
    assert_eq!(d.name, "embedded");
    assert_eq!(d.shape, ImageShape { height: 28, width: 28, channels: 1 });
    assert_eq!((d.train.len(), d.test.len(), d.classes), (6000, 1000, 10));
    assert_eq!(d.train.images.len(), 6000 * 784);
    assert_eq!(d.test.images.len(), 1000 * 784);
    for split in [&d.train, &d.test] {
        assert!(split.labels.iter().all(|&l| l < 10));
        let mut seen = [0usize; 10];
        split.labels.iter().for_each(|&l| seen[l as usize] += 1);
        assert!(seen.iter().all(|&n| n > 0), "classes missing: {seen:?}");
        assert!(split.images.iter().all(|&x| (0.0..=1.0).contains(&x)));
        assert!(split.images.contains(&1.0));
    }
    // first labels of Fashion-MNIST: train 9 0 0 3 0, test 9 2 1 1 6
    assert_eq!(&d.train.labels[..5], &[9, 0, 0, 3, 0]);
    assert_eq!(&d.test.labels[..5], &[9, 2, 1, 1, 6]);
    let l = load_dataset(DatasetKind::Embedded, None, Some(100), Some(10)).unwrap();
    assert_eq!((l.name.as_str(), l.train.len(), l.test.len()), ("embedded", 100, 10));
    assert_eq!(l.train.images[..], d.train.images[..100 * 784]);
}

#[test]
fn embedded_files_match_the_readme_hashes() {
    let readme = include_str!("../assets/fashion-mnist-subset/README.md");
    assert!(include_str!("../assets/fashion-mnist-subset/LICENSE").contains("2017 Zalando SE"));
    let want = [
        ("train-images-idx3-ubyte", "6dded81672539b5d148c1a85358069d1808c316dc6f6c0abfd12ba3ced5dd394"),
        ("train-labels-idx1-ubyte", "d7c464914ae4b919728c5c99c3cdde5a0259febf1e99ddc6927a15768731d7dc"),
        ("t10k-images-idx3-ubyte", "7a6d8e07ea021ec5bc73135ebd0a5770799557ec6f8242d8749c4f32a3cf4643"),
        ("t10k-labels-idx1-ubyte", "b40abac7ec8228f434940f579deb7cf7b6e3103b5274cb91d1545771f5ef1c8b"),
    ];
    for ((name, bytes), (raw_name, raw_sha)) in embedded::FILES.iter().zip(want) {
        assert_eq!(*name, format!("{raw_name}.gz"));
        let mut raw = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(*bytes), &mut raw).unwrap();
        assert_eq!(hex::encode(Sha256::digest(&raw)), raw_sha, "{raw_name}");
        let gz_sha = hex::encode(Sha256::digest(bytes));
        assert!(readme.contains(&gz_sha), "README lacks the sha256 {gz_sha} of {name}");
        assert!(readme.contains(raw_sha), "README lacks {raw_sha}");
    }
}

// ---------- real datasets (only where fetched) ----------

fn real_dir(sub: &str) -> Option<PathBuf> {
    let base = std::env::var_os("PPDL_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("data"));
    let dir = base.join(sub);
    if dir.is_dir() {
        Some(dir)
    } else {
        println!("note: {} absent; skipping the real {sub} check (run scripts/fetch-data.sh)", dir.display());
        None
    }
}

#[test]
fn real_mnist() {
    let Some(dir) = real_dir("mnist") else { return };
    let d = load_dataset(DatasetKind::Mnist, Some(&dir), None, None).unwrap();
    assert_eq!((d.train.len(), d.test.len()), (60_000, 10_000));
    assert_eq!(d.shape, ImageShape { height: 28, width: 28, channels: 1 });
    assert_eq!(&d.train.labels[..5], &[5, 0, 4, 1, 9]);
    assert_eq!(&d.test.labels[..5], &[7, 2, 1, 0, 4]);
}

#[test]
fn real_fashion_mnist_and_embedded_subset() {
    let Some(dir) = real_dir("fashion-mnist") else { return };
    let d = load_dataset(DatasetKind::FashionMnist, Some(&dir), None, None).unwrap();
    assert_eq!((d.train.len(), d.test.len()), (60_000, 10_000));
    let e = embedded::load().unwrap();
    assert_eq!(e.train, d.clone().train.truncated(6000));
    assert_eq!(e.test, d.test.truncated(1000));
}

#[test]
fn real_digits() {
    let Some(dir) = real_dir("digits") else { return };
    let d = load_dataset(DatasetKind::Digits, Some(&dir), None, None).unwrap();
    assert_eq!((d.train.len(), d.test.len()), (1437, 360));
    assert_eq!(d.shape, ImageShape { height: 8, width: 8, channels: 1 });
    assert_eq!(&d.train.labels[..10], &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert!(d.train.images.iter().chain(&d.test.images).all(|&x| (0.0..=1.0).contains(&x)));
}
