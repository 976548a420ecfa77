//! The two parties and what crosses between them.
//!
//! The trust boundary is carried by types: only [`Customer`] holds the [`SecretKey`]; what it hands the
//! provider ([`EncodedInputs`], [`EncodedTrainingSet`]) can be made only by encoding (a provider that runs
//! as its own process rebuilds [`EncodedInputs`] from the bytes it received, `ppdl provider`), and the provider
//! side of the code (trainers, model serving) takes only [`TrainingSet`] views and returns raw scores.
//! Accuracy on the test set is judged by a [`Judge`] the customer makes: it decodes the provider's
//! scores with the secret label assignment and compares with the true labels the provider never sees.

use std::sync::Mutex;
use std::time::Instant;

use rand_chacha::ChaCha20Rng;

use crate::config::PrivacyConfig;
use crate::data::{ImageShape, Split};

use super::key::{KeyContext, KeyFile, SecretKey};
use super::labels::{argmax_rows, LabelCodec};
use super::transforms::{self, Transform, TransformLabel};

/// What any trainer sees: inputs, integer targets and the number of outputs. The baseline makes one
/// from raw data, the private arm from an [`EncodedTrainingSet`].
#[derive(Debug, Clone, Copy)]
pub struct TrainingSet<'a> {
    pub images: &'a [f32],
    pub targets: &'a [u16],
    pub features: usize,
    pub outputs: usize,
    /// An InstaHide arm: `images` and `targets` are the customer's raw private set, and what the
    /// model trains on is re-mixed from them at the start of every epoch (soft targets).
    pub redraw: Option<&'a super::instahide::InstaHide>,
}

impl TrainingSet<'_> {
    pub fn len(&self) -> usize {
        self.targets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }
}

/// Inputs encoded by a customer. Fields are private: only encoding makes one.
#[derive(Debug, Clone)]
pub struct EncodedInputs {
    images: Vec<f32>,
    features: usize,
}

impl EncodedInputs {
    pub fn images(&self) -> &[f32] {
        &self.images
    }

    pub fn features(&self) -> usize {
        self.features
    }

    pub fn len(&self) -> usize {
        self.images.len() / self.features
    }

    pub fn is_empty(&self) -> bool {
        self.images.is_empty()
    }

    /// Bytes that cross the wire for these inputs (f32 each).
    pub fn wire_bytes(&self) -> usize {
        self.images.len() * 4
    }
}

impl EncodedInputs {
    /// What a provider running as its own process rebuilds from the bytes it received (`ppdl provider`):
    /// it holds those bytes and nothing else. The customer side makes encoded inputs only by encoding.
    pub fn received(images: Vec<f32>, features: usize) -> Self {
        assert!(features > 0 && images.len().is_multiple_of(features), "received inputs are whole rows");
        EncodedInputs { images, features }
    }
}

/// sha256 digests of what the provider receives, the one definition (little-endian f32 inputs and u16
/// codes, row-major, samples in dataset order): a run's `provider/ARM/encoded-data.json`, a provider
/// package's manifest, and `ppdl export`'s check all use it, so they can be compared with each other.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WireDigests {
    pub train_inputs_sha256: String,
    pub train_codes_sha256: String,
    pub test_inputs_sha256: String,
}

impl WireDigests {
    pub fn of(train_inputs: &[f32], train_codes: &[u16], test_inputs: &[f32]) -> Self {
        WireDigests {
            train_inputs_sha256: sha256_f32(train_inputs),
            train_codes_sha256: sha256_u16(train_codes),
            test_inputs_sha256: sha256_f32(test_inputs),
        }
    }

    /// The digests of an encoded training set and encoded test inputs.
    pub fn of_encoded(train: &EncodedTrainingSet, test: &[f32]) -> Self {
        Self::of(train.inputs().images(), train.codes(), test)
    }
}

/// sha256 of f32 values as little-endian bytes.
pub fn sha256_f32(values: &[f32]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    values.chunks(4096).for_each(|c| h.update(c.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>()));
    hex::encode(h.finalize())
}

/// sha256 of u16 values as little-endian bytes.
pub fn sha256_u16(values: &[u16]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    values.iter().for_each(|c| h.update(c.to_le_bytes()));
    hex::encode(h.finalize())
}

/// The encoded training set: encoded inputs and secret output codes.
#[derive(Debug, Clone)]
pub struct EncodedTrainingSet {
    inputs: EncodedInputs,
    codes: Vec<u16>,
    outputs: usize,
}

impl EncodedTrainingSet {
    pub fn view(&self) -> TrainingSet<'_> {
        TrainingSet {
            images: &self.inputs.images,
            targets: &self.codes,
            features: self.inputs.features,
            outputs: self.outputs,
            redraw: None,
        }
    }

    pub fn inputs(&self) -> &EncodedInputs {
        &self.inputs
    }

    pub fn codes(&self) -> &[u16] {
        &self.codes
    }
}

/// Targets for the baseline arm: true classes, plainly.
pub fn plain_targets(split: &Split) -> Vec<u16> {
    split.labels.iter().map(|&l| l as u16).collect()
}

/// Accuracy and loss of a set of test scores, as the customer measures them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evaluation {
    pub accuracy: f64,
    /// Mean negative log-likelihood of the true class under the decoded class probabilities.
    pub loss: f64,
}

/// Scores a provider's test-set outputs against labels the provider never sees. Its fields are
/// private: the provider side can call it but cannot read the labels or the label assignment.
pub struct Judge {
    codec: LabelCodec,
    labels: Vec<u8>,
}

impl Judge {
    /// Baseline arm: outputs are the classes themselves.
    pub fn plain(labels: &[u8], classes: usize) -> Self {
        Judge { codec: LabelCodec::identity(classes), labels: labels.to_vec() }
    }

    /// Decode `scores` (n rows of the model's outputs) and compare with the hidden labels.
    pub fn evaluate(&self, scores: &[f32]) -> Evaluation {
        let probs = self.codec.decode(scores);
        let predicted = argmax_rows(&probs, self.codec.classes);
        let n = self.labels.len().max(1) as f64;
        let hits = predicted.iter().zip(&self.labels).filter(|(p, l)| **p == **l as usize).count();
        let nll: f64 = probs
            .chunks_exact(self.codec.classes)
            .zip(&self.labels)
            .map(|(row, &l)| -(row[l as usize].max(1e-12) as f64).ln())
            .sum();
        Evaluation { accuracy: hits as f64 / n, loss: nll / n }
    }
}

/// Where the customer's encoding time went (see [`Customer::encode_training_set_timed`]).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EncodeTimings {
    /// Seconds per configured transform, in order.
    pub per_transform_seconds: Vec<f64>,
    /// Seconds spent encoding the labels.
    pub labels_seconds: f64,
    /// Everything, copying the inputs included.
    pub total_seconds: f64,
}

/// The data owner: holds the key, encodes inputs and labels, decodes the provider's scores.
pub struct Customer {
    key: SecretKey,
    privacy: PrivacyConfig,
    dataset: String,
    shape: ImageShape,
    /// The shape each transform receives, then the encoded shape ([`transforms::shapes`]).
    shapes: Vec<ImageShape>,
    transforms: Vec<Box<dyn Transform>>,
    /// Seconds spent building each transform from the key (e.g. generating Q for orthogonal-mix).
    setup_seconds: Vec<f64>,
    codec: LabelCodec,
    /// Per-sample randomness (label-splitting choices, per-sample noise), itself keyed.
    fresh: Mutex<ChaCha20Rng>,
}

impl Customer {
    pub fn new(key: SecretKey, privacy: &PrivacyConfig, dataset: &str, shape: ImageShape, classes: usize) -> Self {
        let shapes = transforms::shapes(&privacy.transforms, shape);
        let (transforms, setup_seconds) = privacy
            .transforms
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let start = Instant::now();
                let built = transforms::build(t, i, &key, shapes[i]);
                (built, start.elapsed().as_secs_f64())
            })
            .unzip();
        let codec = LabelCodec::random(
            classes,
            privacy.codes_per_class,
            privacy.label_permutation,
            &mut key.stream("labels/assignment"),
        );
        let fresh = Mutex::new(key.stream("fresh/per-sample"));
        Customer {
            key,
            privacy: privacy.clone(),
            dataset: dataset.to_string(),
            shape,
            shapes,
            transforms,
            setup_seconds,
            codec,
            fresh,
        }
    }

    pub fn key_context(&self) -> KeyContext<'_> {
        KeyContext {
            dataset: &self.dataset,
            shape: self.shape,
            classes: self.codec.classes,
            transforms: &self.privacy.transforms,
            label_permutation: self.privacy.label_permutation,
            codes_per_class: self.privacy.codes_per_class,
        }
    }

    pub fn key_file(&self) -> KeyFile {
        KeyFile::new(&self.key, &self.key_context())
    }

    pub fn fingerprint(&self) -> String {
        self.key.fingerprint()
    }

    pub fn codec(&self) -> &LabelCodec {
        &self.codec
    }

    pub fn shape(&self) -> ImageShape {
        self.shape
    }

    /// The shape of the encoded images: what the provider receives and its model takes (the raw
    /// shape unless a transform changes it, as `le` does).
    pub fn encoded_shape(&self) -> ImageShape {
        *self.shapes.last().expect("starts with the raw shape")
    }

    /// Model outputs the provider must offer (C * codes_per_class).
    pub fn outputs(&self) -> usize {
        self.codec.outputs()
    }

    /// `T_K(x)` for a batch of raw images.
    pub fn encode_inputs(&self, images: &[f32]) -> EncodedInputs {
        self.encode_inputs_timed(images).0
    }

    /// `T_K(x)` and the seconds each transform took, in order (for the overhead analysis).
    pub fn encode_inputs_timed(&self, images: &[f32]) -> (EncodedInputs, Vec<f64>) {
        // Zeroed pages are mapped lazily, so the first write's page faults are shared by the threads
        // that write. The first transform reads `images` and writes `out` in one pass (so its time
        // includes producing the copy); the others work in place, except one that changes the shape,
        // which writes a new buffer of its encoded size.
        let n = images.len() / self.shape.features().max(1);
        let mut out = vec![0f32; n * self.shapes.get(1).unwrap_or(&self.shape).features()];
        let mut fresh = self.fresh.lock().expect("customer rng");
        let seconds = self
            .transforms
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let start = Instant::now();
                if i == 0 {
                    t.encode_into(images, &mut out, &mut fresh);
                } else if self.shapes[i + 1] != self.shapes[i] {
                    let mut next = vec![0f32; n * self.shapes[i + 1].features()];
                    t.encode_into(&out, &mut next, &mut fresh);
                    out = next;
                } else {
                    t.encode(&mut out, &mut fresh);
                }
                start.elapsed().as_secs_f64()
            })
            .collect();
        if self.transforms.is_empty() {
            out.copy_from_slice(images);
        }
        (EncodedInputs { images: out, features: self.encoded_shape().features() }, seconds)
    }

    /// Whether encoding inputs draws fresh randomness (per-sample noise): then each call to
    /// [`encode_inputs`](Self::encode_inputs) gives different encodings, taken in turn from the
    /// customer's keyed stream.
    pub fn draws_fresh_input_noise(&self) -> bool {
        transforms::draws_fresh_noise(&self.privacy.transforms)
    }

    /// The configured transforms' labels, in order (e.g. `block-shuffle(b=4,flip)`).
    pub fn transform_labels(&self) -> Vec<String> {
        self.privacy.transforms.iter().map(|t| t.label()).collect()
    }

    /// Seconds spent building each transform from the key when this customer was made.
    pub fn transform_setup_seconds(&self) -> &[f64] {
        &self.setup_seconds
    }

    /// Undo the transforms where they are invertible (None if some transform is not).
    pub fn decode_inputs(&self, encoded: &[f32]) -> Option<Vec<f32>> {
        let n = encoded.len() / self.encoded_shape().features().max(1);
        let mut out = encoded.to_vec();
        for (i, t) in self.transforms.iter().enumerate().rev() {
            let decoded = if self.shapes[i] != self.shapes[i + 1] {
                let mut back = vec![0f32; n * self.shapes[i].features()];
                t.decode_into(&out, &mut back).then_some(back)
            } else {
                t.decode(&mut out).then_some(out)
            };
            out = decoded?;
        }
        Some(out)
    }

    /// `(T_K(x), pi(y))` for a whole training split.
    pub fn encode_training_set(&self, split: &Split) -> EncodedTrainingSet {
        self.encode_training_set_timed(split).0
    }

    /// [`encode_training_set`](Self::encode_training_set) with its timings.
    pub fn encode_training_set_timed(&self, split: &Split) -> (EncodedTrainingSet, EncodeTimings) {
        let start = Instant::now();
        let (inputs, per_transform_seconds) = self.encode_inputs_timed(&split.images);
        let labels_start = Instant::now();
        let mut fresh = self.fresh.lock().expect("customer rng");
        let codes = split.labels.iter().map(|&y| self.codec.encode(y, &mut fresh)).collect();
        drop(fresh);
        let timings = EncodeTimings {
            per_transform_seconds,
            labels_seconds: labels_start.elapsed().as_secs_f64(),
            total_seconds: start.elapsed().as_secs_f64(),
        };
        (EncodedTrainingSet { inputs, codes, outputs: self.outputs() }, timings)
    }

    /// Class probabilities from the provider's scores (n rows of `outputs()`).
    pub fn decode_scores(&self, scores: &[f32]) -> Vec<f32> {
        self.codec.decode(scores)
    }

    /// A judge for the test split: decodes scores with the secret label assignment.
    pub fn judge(&self, labels: &[u8]) -> Judge {
        Judge { codec: self.codec.clone(), labels: labels.to_vec() }
    }
}
