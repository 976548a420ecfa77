//! The same fixed key gives the same encodings, byte for byte, as the version that recorded these
//! digests: saved keys and fixed-key configs keep producing the data their runs were trained on. The
//! transform lists are written as config TOML, so the test does not depend on how specs are built.

use ppdl::config::PrivacyConfig;
use ppdl::data::{ImageShape, Split};
use ppdl::scheme::{Customer, SecretKey};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use sha2::{Digest, Sha256};

/// (image shape, `transforms = ...` TOML, SHA-256 of the encodings) recorded before the transform registry
/// (etc, pe, le and ele: recorded when they were added).
const CASES: &[((usize, usize, usize), &str, &str)] = &[
    (
        (8, 8, 1),
        r#"[{ kind = "pixel-permutation" }]"#,
        "8d828d5076b1ceb7b6c561756233abd223e0ffe4750b9c6dac6b49efea2b8b87",
    ),
    (
        (8, 8, 1),
        r#"[{ kind = "block-shuffle", block = 2 }]"#,
        "65f2c295bd87d52f28bbdafd138533241e61b140d888e7136674f95bbcce04b2",
    ),
    (
        (8, 8, 1),
        r#"[{ kind = "block-shuffle", block = 4, flip = true }]"#,
        "fe860813adf42e3ee55dd20141109cdb1c0d0bc050cd571e3d86c26bb7cb1f92",
    ),
    (
        (28, 28, 1),
        r#"[{ kind = "block-shuffle", block = 7, flip = true }]"#,
        "49d15b3a5c3ae42cd7f174c3a8abd76ff0c4605b987a78e0cbb983b8e43b97c4",
    ),
    ((8, 8, 1), r#"[{ kind = "orthogonal-mix" }]"#, "5459b4f2af1d9bcf63bf381b0b53e55035c380364f5625fdc452391883126c92"),
    ((8, 8, 1), r#"[{ kind = "separable-mix" }]"#, "448657c5fe9b782ca92a4c4abd8a46e387dd139bd8af01efb61d94ae8ad9da9d"),
    ((6, 6, 3), r#"[{ kind = "separable-mix" }]"#, "5c0f52aa69b01269f07fa2e986608250a64c1034f048e2f4a915aeabbd7c9fd6"),
    ((8, 8, 1), r#"[{ kind = "fast-mix" }]"#, "387ab884ebef01abdc5e762a1995879a037423ae161ca9effbcdc445af227867"),
    (
        (28, 28, 1),
        r#"[{ kind = "fast-mix", rounds = 2 }]"#,
        "2003a3f308523b7893c4d0718ce340d6540aace0e4e7161132c688ee35bf9b58",
    ),
    (
        (8, 8, 1),
        r#"[{ kind = "noise", sigma = 0.1 }]"#,
        "aad464c821d395a4aa23767249a47ef0b2e1b8e1ba9e2a2cda1c78d5e6298c9b",
    ),
    (
        (8, 8, 1),
        r#"[{ kind = "noise", sigma = 0.1, per_sample = true }]"#,
        "4e29647bdfab3442afeafbe65e180dbeb6b4664498c61582a1a1b96437d372f0",
    ),
    (
        (8, 8, 1),
        r#"[{ kind = "block-shuffle", block = 4, flip = true }, { kind = "noise", sigma = 0.05 }, { kind = "pixel-permutation" }]"#,
        "c8865f87141e8d2f6802cd499fe9167fe047fa97687ecf36615ff5dc9b7a2141",
    ),
    (
        (8, 8, 1),
        r#"[{ kind = "fast-mix", rounds = 3 }, { kind = "noise", sigma = 0.2, per_sample = true }]"#,
        "337b63dac5f65d8349ec9db025476d2fd8c5d3935b7033e8497a843a02cdfa59",
    ),
    ((8, 8, 3), r#"[{ kind = "etc", block = 4 }]"#, "507dac0835f98e0248f59f5beb08b15507ff40b2f44c3edf29eb7612a387233c"),
    ((8, 8, 3), r#"[{ kind = "pe" }]"#, "22b680df5af50b4ebdfb4800ba49143897282a1027e9b552cb864a5866d1ca25"),
    (
        (8, 8, 3),
        r#"[{ kind = "pe", per_image = true }]"#,
        "7f1818313ac9fca807c06049749e315555a285e139c0b4aa22340470d1f0c36c",
    ),
    ((8, 8, 1), r#"[{ kind = "le", block = 4 }]"#, "71b0ba79aabe14fd50028dcabac700e3c831b2f83907c0ff9d6188e739987903"),
    ((8, 8, 3), r#"[{ kind = "le", block = 2 }]"#, "ce844b04bf936cdea8aa86ddb9bc2e0ca040f69994d7470adcbb14e860444418"),
    ((8, 8, 3), r#"[{ kind = "ele", block = 4 }]"#, "5e0301c1f8f372804e7038f49541ae1892a02b8d41ea92c4448cbd5907e41406"),
    (
        (8, 8, 1),
        r#"[{ kind = "pixel-permutation" }, { kind = "le", block = 4 }, { kind = "pixel-permutation" }]"#,
        "50db1b26f7e7a27e29f489f85e7c98f513a65ba57daeb50fd3b0c82e1d601e43",
    ),
];

fn digest(shape: ImageShape, transforms: &str) -> String {
    let privacy: PrivacyConfig =
        toml::from_str(&format!("transforms = {transforms}\ncodes_per_class = 2\n")).expect("privacy table");
    let key = SecretKey::from_hex(&"5a".repeat(32)).unwrap();
    let customer = Customer::new(key, &privacy, "digest", shape, 10);
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let n = 6;
    let train = Split {
        images: (0..n * shape.features()).map(|_| rng.gen::<f32>()).collect(),
        labels: (0..n).map(|i| (i % 10) as u8).collect(),
        features: shape.features(),
    };
    let mut h = Sha256::new();
    let set = customer.encode_training_set(&train);
    // A later query continues the customer's keyed per-sample stream.
    let query = customer.encode_inputs(&train.images[..shape.features()]);
    for v in set.inputs().images().iter().chain(query.images()) {
        h.update(v.to_le_bytes());
    }
    for c in set.codes() {
        h.update(c.to_le_bytes());
    }
    hex::encode(h.finalize())
}

#[test]
fn a_fixed_key_gives_the_recorded_encodings_for_every_transform() {
    let mut wrong = Vec::new();
    for &((height, width, channels), transforms, want) in CASES {
        let got = digest(ImageShape { height, width, channels }, transforms);
        if got != want {
            wrong.push(format!("{height}x{width}x{channels} {transforms}: {got}"));
        }
    }
    assert!(wrong.is_empty(), "encodings changed:\n{}", wrong.join("\n"));
}

/// Images of 8-bit values as the loaders make them (p / 255).
fn byte_images(shape: ImageShape, n: usize, seed: u64) -> Vec<f32> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    (0..n * shape.features()).map(|_| f32::from(rng.gen::<u8>()) / 255.0).collect()
}

#[test]
fn le_and_ele_double_the_channels_and_the_key_gives_the_bytes_back_exactly() {
    let cases = [
        ((28, 28, 1), r#"[{ kind = "le" }]"#),
        ((28, 28, 1), r#"[{ kind = "ele" }]"#),
        ((8, 8, 3), r#"[{ kind = "le", block = 2 }]"#),
        ((8, 8, 3), r#"[{ kind = "ele", block = 4 }]"#),
        ((8, 8, 1), r#"[{ kind = "pixel-permutation" }, { kind = "ele", block = 4 }, { kind = "pixel-permutation" }]"#),
    ];
    for ((height, width, channels), transforms) in cases {
        let shape = ImageShape { height, width, channels };
        let privacy: PrivacyConfig = toml::from_str(&format!("transforms = {transforms}")).expect("privacy table");
        let customer = Customer::new(SecretKey::from_hex(&"5a".repeat(32)).unwrap(), &privacy, "t", shape, 10);
        assert_eq!(customer.encoded_shape(), ImageShape { channels: 2 * channels, ..shape }, "{transforms}");
        let raw = byte_images(shape, 5, 7);
        let encoded = customer.encode_inputs(&raw);
        assert_eq!(encoded.features(), 2 * shape.features());
        assert_eq!(encoded.images().len(), 2 * raw.len());
        // Every encoded value is a 4-bit half scaled to [0, 1].
        assert!(encoded.images().iter().all(|v| (v * 15.0 - (v * 15.0).round()).abs() < 1e-5), "{transforms}");
        let decoded = customer.decode_inputs(encoded.images()).expect("invertible");
        assert_eq!(decoded, raw, "{transforms}: the key restores every 8-bit value exactly");
        // Another key does not.
        let other = Customer::new(SecretKey::from_hex(&"a5".repeat(32)).unwrap(), &privacy, "t", shape, 10);
        assert_ne!(other.decode_inputs(encoded.images()).expect("invertible"), raw, "{transforms}");
    }
}

#[test]
fn ele_keys_each_block_differently_where_le_shares_one_key() {
    // A constant image: under LE every block encodes alike (one key, blocks in place); under ELE
    // the blocks differ (a key per block).
    let shape = ImageShape { height: 8, width: 8, channels: 1 };
    let raw = vec![f32::from(0x5cu8) / 255.0; shape.features()];
    let blocks_of = |kind: &str| {
        let privacy: PrivacyConfig =
            toml::from_str(&format!("transforms = [{{ kind = \"{kind}\", block = 4 }}]")).expect("privacy table");
        let customer = Customer::new(SecretKey::from_hex(&"5a".repeat(32)).unwrap(), &privacy, "t", shape, 10);
        let enc = customer.encode_inputs(&raw).images().to_vec();
        let block = |b: usize| -> Vec<f32> {
            let (r0, c0) = ((b / 2) * 4, (b % 2) * 4);
            (0..4).flat_map(|r| enc[((r0 + r) * 8 + c0) * 2..((r0 + r) * 8 + c0 + 4) * 2].to_vec()).collect()
        };
        (0..4).map(block).collect::<Vec<_>>()
    };
    let le = blocks_of("le");
    assert!(le.iter().all(|b| *b == le[0]), "LE: one key for every block");
    let ele = blocks_of("ele");
    assert!(ele.iter().any(|b| *b != ele[0]), "ELE: a key per block");
}

/// The patch vectors (rows of `dim` values) of one encoding, sorted: its multiset of patches.
fn sorted_patches(encoding: &[f32], dim: usize) -> Vec<Vec<u32>> {
    let mut rows: Vec<Vec<u32>> = encoding.chunks_exact(dim).map(|r| r.iter().map(|v| v.to_bits()).collect()).collect();
    rows.sort_unstable();
    rows
}

#[test]
fn neuracrypt_encodes_to_the_patch_grid_and_shuffles_each_encoding_afresh() {
    let shape = ImageShape { height: 28, width: 28, channels: 1 };
    let privacy: PrivacyConfig =
        toml::from_str(r#"transforms = [{ kind = "neuracrypt", patch = 4, dim = 32, depth = 2 }]"#).unwrap();
    let key = || SecretKey::from_hex(&"5a".repeat(32)).unwrap();
    let customer = Customer::new(key(), &privacy, "t", shape, 10);
    assert_eq!(customer.encoded_shape(), ImageShape { height: 7, width: 7, channels: 32 });
    assert!(customer.decode_inputs(&vec![0.0; 49 * 32]).is_none(), "not invertible");
    // The same image twice in one batch: two encodings.
    let one = byte_images(shape, 1, 3);
    let raw = [one.clone(), one.clone(), byte_images(shape, 1, 4)].concat();
    let encoded = customer.encode_inputs(&raw);
    let enc = encoded.images();
    assert_eq!(enc.len(), 3 * 49 * 32);
    let (a, b, c) = (&enc[..1568], &enc[1568..3136], &enc[3136..]);
    assert_ne!(a, b, "each encoding is shuffled with its own permutation");
    assert_eq!(sorted_patches(a, 32), sorted_patches(b, 32), "the same patches, in another order");
    assert_ne!(sorted_patches(a, 32), sorted_patches(c, 32), "another image, other patches");
    // Every patch of the 49 is distinct (each position has its own embedding).
    let mut rows = sorted_patches(a, 32);
    rows.dedup();
    assert_eq!(rows.len(), 49);
    // The same key gives the same encoder (and the same keyed fresh stream); another key another one.
    let again = Customer::new(key(), &privacy, "t", shape, 10).encode_inputs(&raw);
    assert_eq!(again.images(), enc);
    let other = Customer::new(SecretKey::from_hex(&"a5".repeat(32)).unwrap(), &privacy, "t", shape, 10);
    assert_ne!(sorted_patches(&other.encode_inputs(&one).images()[..1568], 32), sorted_patches(a, 32));
}

#[test]
fn neuracrypt_refuses_a_patch_size_that_does_not_divide_the_image() {
    use ppdl::config::TransformSpec;
    use ppdl::scheme::transforms::check_transforms;
    let shape = ImageShape { height: 28, width: 28, channels: 1 };
    let spec = |patch: i64| vec![TransformSpec::new("neuracrypt").with("patch", toml::Value::Integer(patch))];
    for bad in [0, 5, 16] {
        let (field, expected) = check_transforms(&spec(bad), shape, "privacy.transforms").unwrap_err();
        assert_eq!(field, "privacy.transforms[0].patch");
        assert!(expected.contains(&format!("patch size >= 1 that divides the 28x28 image, got {bad}")), "{expected}");
    }
    for good in [1, 2, 4, 7, 14, 28] {
        assert!(check_transforms(&spec(good), shape, "privacy.transforms").is_ok(), "{good}");
    }
    let zero_dim = vec![TransformSpec::new("neuracrypt").with("dim", toml::Value::Integer(0))];
    assert_eq!(check_transforms(&zero_dim, shape, "p").unwrap_err().0, "p[0].dim");
}
