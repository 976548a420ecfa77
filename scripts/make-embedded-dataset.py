#!/usr/bin/env python3
"""Make ppdl's embedded default dataset: a subset of Fashion-MNIST (MIT, Zalando SE 2017).

    scripts/make-embedded-dataset.py [SOURCE_DIR] [OUT_DIR]

SOURCE_DIR (default: data/fashion-mnist, as written by `scripts/fetch-data.sh fashion`) must hold the four
gzip IDX files of the Debian package dataset-fashion-mnist=0.0~git20200523.55506a9-1; their hashes are
checked. OUT_DIR (default: assets/fashion-mnist-subset) receives the first 6,000 training and the first
1,000 test samples as gzip IDX files, with the header counts rewritten.

Only the Python standard library is used. The gzip files are written with compresslevel 9, mtime 0 and no
file name, so they are byte-for-byte reproducible with the same zlib; the decompressed content is
reproducible with any zlib and is checked against pinned hashes below.
"""

import gzip
import hashlib
import os
import struct
import sys

TRAIN_N = 6000
TEST_N = 1000

# name -> (sha256 of the .gz as shipped, sha256 of its decompressed content)
SOURCE = {
    "train-images-idx3-ubyte.gz": (
        "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    ),
    "train-labels-idx1-ubyte.gz": (
        "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    ),
    "t10k-images-idx3-ubyte.gz": (
        "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    ),
    "t10k-labels-idx1-ubyte.gz": (
        "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    ),
}

# sha256 of the decompressed output files (independent of the zlib version).
EXPECTED_OUT_RAW = {
    "train-images-idx3-ubyte.gz": "6dded81672539b5d148c1a85358069d1808c316dc6f6c0abfd12ba3ced5dd394",
    "train-labels-idx1-ubyte.gz": "d7c464914ae4b919728c5c99c3cdde5a0259febf1e99ddc6927a15768731d7dc",
    "t10k-images-idx3-ubyte.gz": "7a6d8e07ea021ec5bc73135ebd0a5770799557ec6f8242d8749c4f32a3cf4643",
    "t10k-labels-idx1-ubyte.gz": "b40abac7ec8228f434940f579deb7cf7b6e3103b5274cb91d1545771f5ef1c8b",
}


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def fail(msg):
    print("make-embedded-dataset: " + msg, file=sys.stderr)
    sys.exit(1)


def read_source(src, name):
    path = os.path.join(src, name)
    try:
        with open(path, "rb") as f:
            packed = f.read()
    except OSError as e:
        fail(f"{path}: {e} (fetch it with `scripts/fetch-data.sh fashion`)")
    want_gz, want_raw = SOURCE[name]
    if sha256(packed) != want_gz:
        fail(f"hash mismatch for {path}: expected {want_gz}, got {sha256(packed)}")
    raw = gzip.decompress(packed)
    if sha256(raw) != want_raw:
        fail(f"hash mismatch for decompressed {path}: expected {want_raw}, got {sha256(raw)}")
    return raw


def subset_images(raw, n):
    magic, count, rows, cols = struct.unpack(">IIII", raw[:16])
    assert magic == 0x803 and count >= n, (magic, count)
    return struct.pack(">IIII", magic, n, rows, cols) + raw[16 : 16 + n * rows * cols]


def subset_labels(raw, n):
    magic, count = struct.unpack(">II", raw[:8])
    assert magic == 0x801 and count >= n, (magic, count)
    return struct.pack(">II", magic, n) + raw[8 : 8 + n]


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "data", "fashion-mnist")
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(root, "assets", "fashion-mnist-subset")
    os.makedirs(out, exist_ok=True)
    jobs = [
        ("train-images-idx3-ubyte.gz", subset_images, TRAIN_N),
        ("train-labels-idx1-ubyte.gz", subset_labels, TRAIN_N),
        ("t10k-images-idx3-ubyte.gz", subset_images, TEST_N),
        ("t10k-labels-idx1-ubyte.gz", subset_labels, TEST_N),
    ]
    for name, cut, n in jobs:
        raw = cut(read_source(src, name), n)
        want = EXPECTED_OUT_RAW[name]
        if sha256(raw) != want:
            fail(f"decompressed subset {name}: expected sha256 {want}, got {sha256(raw)}")
        packed = gzip.compress(raw, compresslevel=9, mtime=0)
        with open(os.path.join(out, name), "wb") as f:
            f.write(packed)
        print(f"{sha256(packed)}  {name}  {len(packed):>9} B   (decompressed {sha256(raw)}, {len(raw)} B)")


if __name__ == "__main__":
    main()
