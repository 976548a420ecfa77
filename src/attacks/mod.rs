//! Attack-resistance analyses (docs/ARCHITECTURE.md, "Attacks").
//!
//! Every attack has the same shape: (run artifacts the adversary is assumed to hold, adversary
//! knowledge, parameters) -> an [`AttackRecord`] with its figures, a three-level verdict (`protects`,
//! `partial leak`, `broken`) with the rule that decided it, and a one-line finding. Each attack is one
//! file implementing [`registry::Attack`] (name, title, parameters, needs, result kind, verdict rule,
//! run), listed once in [`ATTACKS`]; the file's doc says who the adversary is and what it measures.
//!
//! **Data.** The adversary's auxiliary data is the *adversary half* of the test split (a seeded
//! shuffle, `attacks.aux_fraction` of it); the rest, the *evaluation half*, scores every attack. Both
//! are disjoint from the customer's training data. The provider's own holdings (its model, the
//! encoded training set with its output codes) are what the run produced.
//!
//! **The key.** The simulation needs the customer's key to make what the adversary observes and to
//! score the result; both go through [`oracle::Oracle`]. Each attack file is laid out in three steps
//! (observe, recover, score) and its recovery functions take only observations, never an `Oracle`.
//!
//! **Verdicts.** One rule set for all attacks, in [`verdict`] with each attack's criteria in its
//! own file (and README, "How verdicts are decided"): each attack's deciding metric on the scale from what the adversary has without the
//! attack to what the key holder has, partial leak from a quarter of the way, broken from three
//! quarters; absolute thresholds for the key space (bits) and fine-tuning (points). The deciding metric
//! is shown next to the verdict in every table, view and figure.
//!
//! **Output.** `RUN_DIR/attacks.json`, documented in [`record`]. Progress is reported through
//! [`Event::AttackStarted`], [`Event::AttackProgress`] and [`Event::AttackFinished`]; every attack stops
//! early (returning what it has, `complete = false`) when [`Control::stop_requested`].

pub mod assignment;
pub mod carlini_instahide;
pub mod carlini_neuracrypt;
pub mod fine_tune;
pub mod inversion;
pub mod jigsaw;
pub mod key_space;
pub mod known_plaintext;
pub mod label_frequency;
pub mod label_leak;
pub mod label_leakage;
pub mod linalg;
pub mod metrics;
pub mod model_theft;
pub mod nn;
pub mod oracle;
pub mod recon;
pub mod record;
pub mod registry;
pub mod separable;
pub mod split_inversion;
pub mod split_known_pairs;
pub mod split_theft;
pub mod statistical;
pub mod verdict;
pub mod wrong_key;
pub mod wrong_parts;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sha2::{Digest, Sha256};

pub use crate::results::attacks::{
    AttackFailure, AttackRecord, AttacksFile, Curve, Figure, Level, NotApplicable, Rule, ThreatModel,
    ATTACKS_FORMAT_VERSION,
};
pub use oracle::Oracle;
pub use record::load_file;
pub use registry::{AnyAttack, Attack, Scheme};

/// The attacks, in canonical order (the order of attacks.json, tables and figures). A new attack is a
/// file of this module implementing [`Attack`], its `pub mod` line above and one entry here.
pub static ATTACKS: &[&dyn AnyAttack] = &[
    &key_space::KeySpace,
    &wrong_key::WrongKey,
    &fine_tune::FineTune,
    &model_theft::ModelTheft,
    &known_plaintext::KnownPlaintext,
    &statistical::Statistical,
    &label_frequency::LabelFrequency,
    &label_leakage::LabelLeakage,
    &inversion::Inversion,
    &jigsaw::Jigsaw,
    &split_inversion::SplitInversion,
    &split_known_pairs::SplitKnownPairs,
    &carlini_instahide::CarliniInstaHide,
    &carlini_neuracrypt::CarliniNeuraCrypt,
];

/// The run's events, with the attack record as what a finished attack reports.
pub type Event = crate::train::Event<AttackRecord>;

/// Parameter naming the size of the evaluation half an attack was scored on (for intervals).
pub const EVALUATION_SAMPLES: &str = "evaluation_samples";

use crate::config::{Config, PrivacyConfig, SchemeConfig, SplitConfig, TransformSpec};
use crate::data::{Dataset, ImageShape, Split};
use crate::error::InputError;
use crate::model::split::{network_layers, split_layers, Part, SplitPlan};
use crate::results::RunFolder;
use crate::scheme::key::KeyContext;
use crate::scheme::transforms::{self as scheme_transforms, DescribePrivacy, Structure};
use crate::scheme::{EncodedTrainingSet, KeyFile, SecretKey};
use crate::train::split::SplitSaves;
use crate::train::Control;
use registry::Need;

/// Everything the attacks draw on for one run. Recovery code receives only observations made from
/// it, never the context (which holds the [`Oracle`] of a keyed arm and the customer's parts of a
/// split arm).
pub struct AttackContext<'a> {
    /// The experiment's config. Public to the adversary (Kerckhoffs): the architecture, the transform
    /// list and its parameters, label splitting, the cut. Not the key.
    pub config: &'a Config,
    /// The attacked arm's name.
    pub arm: &'a str,
    /// The attacked arm's architecture (public, as the config is).
    pub arch: crate::config::Arch,
    /// What is attacked: a keyed arm's key or a split arm's cut ([`Self::keyed`], [`Self::split`]).
    pub target: Target<'a>,
    pub shape: ImageShape,
    pub classes: usize,
    /// The adversary half of the test split (labelled raw samples of the customer's distribution).
    pub aux: Split,
    /// The evaluation half: raw truth for scoring, and the customer's queries once encoded.
    pub eval: Split,
    pub aux_description: String,
    /// The provider's trained model: the whole network of a keyed arm, the middle of a split arm
    /// (`provider/ARM/model.safetensors`).
    pub provider_model: PathBuf,
    samples: Option<Samples>,
    /// Trained on first use (scoring only; see [`recon`]). Attacks run side by side share it.
    recogniser: OnceLock<Option<Recogniser>>,
    /// The scheme under a key of the adversary's own, made on first use ([`Self::keyless_input`]).
    own_key: OnceLock<Option<crate::scheme::Customer>>,
    events: &'a Sender<Event>,
    control: &'a Control,
}

/// A classifier the adversary trains on its labelled public raw data (the adversary half); scoring
/// applies it to reconstructions to tell whether their content survives.
struct Recogniser {
    dev: dfdx::prelude::Cpu,
    model: crate::model::arch::Mlp1<dfdx::prelude::Cpu>,
}

/// The run's sample images (samples.json): as the customer has them and, for a keyed arm, as the
/// provider received them.
struct Samples {
    folder: RunFolder,
    /// Flattened raw images.
    raw: Vec<f32>,
    /// Flattened encoded images (keyed arms; empty for split arms).
    encoded: Vec<f32>,
    indices: Vec<usize>,
    /// The attacks' reconstructions, stored in samples.json once the suite ends, in the suite's order
    /// whichever attack finished first ([`AttackContext::store_reconstructions`]).
    pending: Mutex<Vec<crate::results::samples::Reconstruction>>,
}

/// The most attacks of one arm that run at once: each also spreads its products over the pool.
const MOST_ATTACKS_SIDE_BY_SIDE: usize = 4;

/// The stack of each thread that runs attacks side by side.
const ATTACK_STACK_BYTES: usize = 8 << 20;

/// What an attack attacks: a keyed arm or a split arm, with what the simulation holds of each.
pub enum Target<'a> {
    Keyed(Box<KeyedTarget<'a>>),
    Split(SplitTarget<'a>),
    InstaHide(InstaHideTarget<'a>),
}

/// An InstaHide arm: its public parameters and, for the simulation only, the customer's secret (to
/// make the encodings the provider received) and raw private set (to score).
pub struct InstaHideTarget<'a> {
    /// The public parameters (k, the weight cap); the key is `scheme`'s.
    pub settings: &'a crate::config::InstaHideConfig,
    /// The customer's mixing (simulation only).
    pub scheme: crate::scheme::instahide::InstaHide,
    /// The customer's raw private training set (simulation only: ground truth).
    pub train: &'a Split,
    /// Epochs the provider trained for: each gave it one round of encodings.
    pub epochs: usize,
}

/// A keyed arm: its public settings, the key holder, the encoded training set.
pub struct KeyedTarget<'a> {
    /// The keyed settings (public; the key is the oracle's).
    pub privacy: &'a PrivacyConfig,
    /// The key holder (simulation only).
    pub oracle: Oracle,
    provider_train: ProviderTrain<'a>,
}

impl KeyedTarget<'_> {
    /// What the provider holds from training: the encoded training set and its output codes.
    pub fn provider_training_set(&self) -> anyhow::Result<&EncodedTrainingSet> {
        match &self.provider_train {
            ProviderTrain::Given(t) => Ok(t),
            ProviderTrain::Encoded(t) => Ok(t),
            ProviderTrain::None => Err(anyhow::anyhow!("the provider's training set was not prepared")),
        }
    }

    /// The public transform family (known to the adversary; the key is not).
    pub fn family(&self) -> Family {
        Family::of(&self.privacy.transforms)
    }
}

/// A split arm: its public settings and cut, where its three parts are, and the customer's data
/// (simulation only: to make what the provider observes and to score).
pub struct SplitTarget<'a> {
    /// The split settings (public: the cut, the tail, the noise and NoPeek settings).
    pub split: &'a SplitConfig,
    pub plan: SplitPlan,
    /// The trained parts: the customer's head and tail, the provider's middle.
    pub parts: SplitSaves,
    /// The customer's raw training split (customer knowledge, never the provider's).
    pub train: &'a Split,
    arch: crate::config::Arch,
    shape: ImageShape,
    classes: usize,
}

/// The three parts of a split arm, on the CPU.
pub struct SplitParts {
    pub head: Part<dfdx::prelude::Cpu>,
    pub middle: Part<dfdx::prelude::Cpu>,
    pub tail: Part<dfdx::prelude::Cpu>,
}

impl SplitTarget<'_> {
    /// The parts of this architecture and cut, initialised at random from `seed` (the adversary's
    /// own guesses: it knows the architecture, not the weights).
    pub fn fresh_parts(&self, seed: u64) -> SplitParts {
        use dfdx::prelude::*;
        let dev = Cpu::seed_from_u64(seed);
        let (head, middle, tail) = split_layers(network_layers(self.arch, &dev, self.shape, self.classes), self.plan);
        SplitParts { head, middle, tail }
    }

    /// The trained parts as the run saved them (head and tail: the customer's; middle: the provider's).
    pub fn load_parts(&self) -> anyhow::Result<SplitParts> {
        let mut p = self.fresh_parts(0);
        p.head.load(&self.parts.head)?;
        p.middle.load(&self.parts.middle)?;
        p.tail.load(&self.parts.tail)?;
        Ok(p)
    }
}

enum ProviderTrain<'a> {
    Given(&'a EncodedTrainingSet),
    Encoded(EncodedTrainingSet),
    None,
}

impl<'a> AttackContext<'a> {
    /// The context of one arm's attacks: the adversary and evaluation halves of the test split (the
    /// run's sample images kept in the evaluation half) and the arm's samples, the same for every scheme.
    #[allow(clippy::too_many_arguments)]
    fn new(
        config: &'a Config,
        arm: &'a str,
        target: Target<'a>,
        dataset: &Dataset,
        provider_model: PathBuf,
        folder: Option<&RunFolder>,
        events: &'a Sender<Event>,
        control: &'a Control,
    ) -> Self {
        let keyed = matches!(target, Target::Keyed(_));
        let samples = load_samples(folder, arm, dataset, keyed, events);
        let reserved = samples.as_ref().map(|s| s.indices.clone()).unwrap_or_default();
        let (aux, eval, aux_description) =
            split_test(&dataset.test, config.attacks.aux_fraction, config.seed, &reserved);
        AttackContext {
            config,
            arm,
            arch: config.arm_arch(arm),
            target,
            shape: dataset.shape,
            classes: dataset.classes,
            aux,
            eval,
            aux_description,
            provider_model,
            samples,
            recogniser: OnceLock::new(),
            own_key: OnceLock::new(),
            events,
            control,
        }
    }

    /// The kind of arm attacked.
    pub fn scheme(&self) -> Scheme {
        match self.target {
            Target::Keyed(_) => Scheme::Keyed,
            Target::Split(_) => Scheme::Split,
            Target::InstaHide(_) => Scheme::InstaHide,
        }
    }

    /// How many of this arm's attacks run side by side: one per pool thread up to
    /// [`MOST_ATTACKS_SIDE_BY_SIDE`] (their serial parts, such as assignments and SSIM, leave cores
    /// idle), but one at a time where the customer's encodings draw per-sample noise, whose stream
    /// each encoding continues: side by side, which attack got which noise would vary from run to run.
    fn attacks_side_by_side(&self) -> usize {
        match &self.target {
            Target::Keyed(k) if k.oracle.draws_fresh_noise() => 1,
            _ => rayon::current_num_threads().clamp(1, MOST_ATTACKS_SIDE_BY_SIDE),
        }
    }

    /// The InstaHide arm attacked (an error on any other).
    pub fn instahide(&self) -> anyhow::Result<&InstaHideTarget<'a>> {
        match &self.target {
            Target::InstaHide(h) => Ok(h),
            _ => Err(anyhow::anyhow!("`{}` is not an InstaHide arm", self.arm)),
        }
    }

    /// The keyed arm attacked (an error on a split arm: attacks declare their [`Scheme`]s).
    pub fn keyed(&self) -> anyhow::Result<&KeyedTarget<'a>> {
        match &self.target {
            Target::Keyed(k) => Ok(k),
            Target::Split(_) | Target::InstaHide(_) => {
                Err(anyhow::anyhow!("`{}` is a {} arm, not a keyed one", self.arm, self.scheme().name()))
            }
        }
    }

    /// The split arm attacked (an error on a keyed arm).
    pub fn split(&self) -> anyhow::Result<&SplitTarget<'a>> {
        match &self.target {
            Target::Split(s) => Ok(s),
            Target::Keyed(_) | Target::InstaHide(_) => {
                Err(anyhow::anyhow!("`{}` is a {} arm, not a split one", self.arm, self.scheme().name()))
            }
        }
    }

    /// Output codes per class: the keyed arm's label splitting; 1 for a split arm (true labels,
    /// which stay with the customer's tail).
    pub fn codes_per_class(&self) -> usize {
        match &self.target {
            Target::Keyed(k) => k.privacy.codes_per_class,
            Target::Split(_) | Target::InstaHide(_) => 1,
        }
    }

    /// Values of one raw image.
    pub fn features(&self) -> usize {
        self.shape.features()
    }

    /// The shape of what the provider receives and its model takes: a keyed arm's encoded shape
    /// (the raw shape unless a transform changes it, as `le` does), a split arm's raw shape.
    pub fn encoded_shape(&self) -> ImageShape {
        match &self.target {
            Target::Keyed(k) => scheme_transforms::encoded_shape(&k.privacy.transforms, self.shape),
            Target::Split(_) | Target::InstaHide(_) => self.shape,
        }
    }

    /// Values of one encoded image.
    pub fn encoded_features(&self) -> usize {
        self.encoded_shape().features()
    }

    /// Err(why) for an attack that pairs each encoded feature with one raw feature, on an arm whose
    /// encoding changes the shape (for [`registry::Attack::applies`]).
    pub fn same_shape(&self, what: &str) -> Result<(), String> {
        let (raw, enc) = (self.shape, self.encoded_shape());
        if raw == enc {
            return Ok(());
        }
        Err(format!(
            "the encoding changes the image's shape ({}x{}x{} -> {}x{}x{}: no encoded value is one raw value), and {what}",
            raw.height, raw.width, raw.channels, enc.height, enc.width, enc.channels
        ))
    }

    /// How [`Self::keyless_input`] gives raw images to the model, for the record's parameters (None:
    /// as they are).
    pub fn keyless_input_note(&self) -> Option<String> {
        let enc = self.encoded_shape();
        (enc != self.shape).then(|| {
            format!(
                "raw samples encoded under a key of the adversary's own (the public scheme, a key derived from the \
                 run's seed): the model takes {}x{}x{} inputs, raw images do not fit it",
                enc.height, enc.width, enc.channels
            )
        })
    }

    /// Raw images as an adversary without the key can give them to the provider's model: as they
    /// are, or, where the encoding changes the shape (`le`: twice the channels), encoded by the public
    /// scheme under a key of its own making (from the run's seed; never the customer's key).
    pub fn keyless_input<'r>(&self, raw: &'r [f32]) -> std::borrow::Cow<'r, [f32]> {
        if self.encoded_shape() == self.shape {
            return std::borrow::Cow::Borrowed(raw);
        }
        let own = self.own_key.get_or_init(|| {
            let Target::Keyed(k) = &self.target else { return None };
            let mut seed = Sha256::new();
            seed.update(format!("ppdl adversary's own key, seed {}", self.config.seed));
            let key = SecretKey::from_hex(&hex::encode(seed.finalize())).ok()?;
            let dataset = self.config.data.dataset.name();
            Some(crate::scheme::Customer::new(key, k.privacy, dataset, self.shape, self.classes))
        });
        match own {
            Some(customer) => std::borrow::Cow::Owned(customer.encode_inputs(raw).images().to_vec()),
            None => std::borrow::Cow::Borrowed(raw),
        }
    }

    /// What the provider holds from training, for a keyed arm: the encoded training set and its
    /// output codes.
    pub fn provider_training_set(&self) -> anyhow::Result<&EncodedTrainingSet> {
        self.keyed()?.provider_training_set()
    }

    pub fn stop_requested(&self) -> bool {
        self.control.stop_requested()
    }

    /// The encoded sample images of samples.json (flattened), if the run has them: reconstruction
    /// attacks decode them for the figures.
    pub fn samples_encoded(&self) -> Option<&[f32]> {
        self.samples.as_ref().map(|s| s.encoded.as_slice()).filter(|e| !e.is_empty())
    }

    /// The raw sample images of samples.json (flattened), if the run has them: split attacks make
    /// what the provider observed for them and reconstruct them for the figures.
    pub fn samples_raw(&self) -> Option<&[f32]> {
        self.samples.as_ref().map(|s| s.raw.as_slice()).filter(|r| !r.is_empty())
    }

    /// Keep one attack's reconstructions of the sample images (from [`Self::samples_encoded`] or
    /// [`Self::samples_raw`]) for samples.json, where the end of the suite stores them.
    pub fn add_reconstruction(&self, attack: &str, label: String, quality: &metrics::Quality, images: &[f32]) {
        let Some(s) = &self.samples else { return };
        let d = self.features();
        let recon = crate::results::samples::Reconstruction {
            attack: attack.into(),
            label,
            psnr_db: Some(quality.psnr_db),
            ssim: Some(quality.ssim),
            images: images.chunks_exact(d).map(|img| img.iter().map(|v| v.clamp(0.0, 1.0)).collect()).collect(),
        };
        s.pending.lock().expect("reconstructions").push(recon);
    }

    /// Store the reconstructions kept by [`Self::add_reconstruction`] in samples.json, in the order of
    /// `kinds`; failures are logged, not fatal.
    fn store_reconstructions(&self, kinds: &[&dyn AnyAttack]) {
        let Some(s) = &self.samples else { return };
        let mut recons = std::mem::take(&mut *s.pending.lock().expect("reconstructions"));
        if recons.is_empty() {
            return;
        }
        recons.sort_by_key(|r| kinds.iter().position(|k| k.name() == r.attack));
        if let Err(e) = crate::results::samples::add_reconstructions(&s.folder, self.arm, recons) {
            let _ = self.events.send(Event::Log(format!("attacks: reconstructions not stored: {e:#}")));
        }
    }

    /// Accuracy (on the evaluation half's labels) of the recogniser applied to `images`,
    /// reconstructions of the evaluation half or of its first images; None if it could not be
    /// trained (stopped, no data).
    pub fn recognise(&self, images: &[f32]) -> Option<f64> {
        use dfdx::prelude::*;
        let d = self.features();
        if images.is_empty() || !images.len().is_multiple_of(d) || images.len() > self.eval.len() * d {
            return None;
        }
        let labels = &self.eval.labels[..images.len() / d];
        let r = self
            .recogniser
            .get_or_init(|| {
                if self.aux.is_empty() {
                    return None;
                }
                let dev = Cpu::seed_from_u64(self.config.seed ^ 0x7265_636f_676e);
                let mut model = crate::model::arch::Mlp1::new(&dev, d, 128, self.classes);
                let targets: Vec<u16> = self.aux.labels.iter().map(|&y| y as u16).collect();
                let plan = nn::Plan {
                    epochs: 10,
                    min_steps: 300,
                    batch_size: 64,
                    learning_rate: 1e-3,
                    seed: self.config.seed,
                };
                // A device error leaves the recogniser out, like a stop: the records say "not measured".
                nn::train_classifier(&dev, &mut model, &self.aux.images, d, &targets, self.classes, &plan, self.control)
                    .ok()?
                    .then_some(Recogniser { dev, model })
            })
            .as_ref()?;
        let clamped: Vec<f32> = images.iter().map(|v| if v.is_finite() { v.clamp(0.0, 1.0) } else { 0.0 }).collect();
        let scores = crate::train::trainer::predict(&r.model, &r.dev, &clamped, d).ok()?;
        Some(accuracy(&crate::scheme::labels::argmax_rows(&scores, self.classes), labels))
    }

    /// What of `needs` this run lacks, in words (None: it has all of it).
    fn missing(&self, needs: &[Need]) -> Option<String> {
        let missing: Vec<&str> = needs
            .iter()
            .filter(|n| match n {
                Need::ProviderModel => !self.provider_model.is_file(),
                Need::ProviderTrainingSet => {
                    matches!(&self.target, Target::Keyed(k) if matches!(k.provider_train, ProviderTrain::None))
                }
            })
            .map(|n| n.describe())
            .collect();
        (!missing.is_empty()).then(|| missing.join(" and "))
    }

    /// The run's stop/pause requests, for training loops.
    pub fn control(&self) -> &Control {
        self.control
    }

    /// A record of attack `A` with the common fields filled in; the attack sets the rest.
    pub fn new_record<A: Attack>(&self, threat_model: ThreatModel, aux_data: String) -> AttackRecord {
        let scheme = match &self.target {
            Target::Keyed(k) => k.privacy.describe(),
            Target::Split(s) => crate::config::SchemeConfig::Split(s.split.clone()).describe(),
            Target::InstaHide(h) => crate::config::SchemeConfig::InstaHide(h.settings.clone()).describe(),
        };
        AttackRecord::new(A::NAME, A::TITLE, scheme, threat_model, aux_data)
    }
}

/// Reports one attack's progress.
pub struct Progress<'a> {
    arm: &'a str,
    name: &'static str,
    events: &'a Sender<Event>,
}

impl Progress<'_> {
    pub fn report(&self, done: usize, total: usize) {
        let _ = self.events.send(Event::AttackProgress { arm: self.arm.into(), name: self.name.into(), done, total });
    }

    pub fn log(&self, text: impl Into<String>) {
        let _ = self.events.send(Event::Log(format!("[{} on {}] {}", self.name, self.arm, text.into())));
    }
}

/// What the adversary knows about the transform from the public scheme description.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Family {
    /// Some transform moves features (pixel permutation, block shuffle).
    pub permutes: bool,
    /// Only permutations, block shuffles and noise: every encoded feature is one raw feature, maybe
    /// flipped and offset.
    pub feature_wise: bool,
    /// A keyed flip x -> 1 - x may apply (block shuffle with flip).
    pub flips: bool,
    /// A secret fixed offset may apply (fixed-pattern noise).
    pub offsets: bool,
    /// Standard deviation of fresh per-sample noise (public parameter), 0 if none.
    pub noise_sigma: f64,
    /// A separable mix and nothing but noise besides: the whole map is a Kronecker product of small
    /// per-axis matrices (plus an offset), which a structure-aware adversary fits from a few pairs.
    pub separable: bool,
}

impl Family {
    /// From each transform's [`Structure`]: what its kind tells the attacks.
    pub fn of(transforms: &[TransformSpec]) -> Family {
        let structures: Vec<Structure> = transforms
            .iter()
            .map(|t| {
                let (kind, p) = scheme_transforms::kind::params(t);
                kind.structure(&p)
            })
            .collect();
        let separable_mix = |s: &Structure| matches!(s, Structure::Mixes { separable: true });
        let mut f = Family {
            permutes: false,
            feature_wise: true,
            flips: false,
            offsets: false,
            noise_sigma: 0.0,
            separable: structures.iter().any(separable_mix)
                && structures.iter().all(|s| separable_mix(s) || matches!(s, Structure::Noise { .. })),
        };
        let mut var = 0.0;
        for s in structures {
            match s {
                Structure::Permutes { flips } => {
                    f.permutes = true;
                    f.flips |= flips;
                }
                Structure::Mixes { .. } | Structure::Splits | Structure::Network => f.feature_wise = false,
                Structure::Noise { sigma, per_sample } => {
                    if per_sample {
                        var += sigma * sigma;
                    } else {
                        f.offsets = true;
                    }
                }
            }
        }
        f.noise_sigma = f64::sqrt(var);
        f
    }
}

/// What `run_attacks` needs from a run.
pub struct AttackInputs<'a> {
    pub config: &'a Config,
    /// The attacked (keyed) arm's name and settings.
    pub arm: &'a str,
    pub privacy: &'a PrivacyConfig,
    pub dataset: &'a Dataset,
    /// The customer's key: given to the [`Oracle`] only.
    pub key: SecretKey,
    pub provider_model: PathBuf,
    /// `provider/encoded-data.json`, to check a re-encoded training set against what the provider got.
    pub provider_digests: Option<PathBuf>,
    /// The encoded training set the provider trained on, if still in memory.
    pub provider_train: Option<&'a EncodedTrainingSet>,
    /// The run folder, if any: its samples.json receives the attacks' reconstructions of the sample
    /// images (what the provider received for them), for the figures.
    pub folder: Option<&'a RunFolder>,
}

/// What [`run_split_attacks`] needs from a run.
pub struct SplitInputs<'a> {
    pub config: &'a Config,
    /// The attacked (split) arm's name and settings.
    pub arm: &'a str,
    pub split: &'a SplitConfig,
    pub dataset: &'a Dataset,
    /// Where the trained parts are (the middle is the provider's model).
    pub parts: SplitSaves,
    /// The run folder, if any: its samples receive the attacks' reconstructions.
    pub folder: Option<&'a RunFolder>,
}

/// Divide the test split into the adversary half and the evaluation half (seeded shuffle). The
/// `reserved` positions (the sample images shown in figures) always go to the evaluation half, so
/// their reconstructions are of data the adversary never saw.
pub fn split_test(test: &Split, aux_fraction: f64, seed: u64, reserved: &[usize]) -> (Split, Split, String) {
    let n = test.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut ChaCha20Rng::seed_from_u64(seed ^ 0x6174_7461_636b_7321));
    let n_aux = ((n as f64 * aux_fraction).round() as usize).clamp(n.min(1), n.saturating_sub(1).max(n.min(1)));
    // Move reserved positions to the end (stable otherwise), keeping the halves' sizes.
    let n_aux = n_aux.min(n.saturating_sub(reserved.len()));
    order.sort_by_key(|i| reserved.contains(i));
    let take = |idx: &[usize]| Split {
        images: idx.iter().flat_map(|&i| test.image(i).iter().copied()).collect(),
        labels: idx.iter().map(|&i| test.labels[i]).collect(),
        features: test.features,
    };
    let aux = take(&order[..n_aux]);
    let eval = take(&order[n_aux..]);
    let kept = if reserved.is_empty() {
        String::new()
    } else {
        format!(" (the {} sample images of samples.json are in the evaluation half)", reserved.len())
    };
    let description = format!(
        "test split ({n} samples, disjoint from the customer's training data) shuffled with seed {seed}: adversary half = {} samples, evaluation half = {} samples{kept}",
        aux.len(),
        eval.len()
    );
    (aux, eval, description)
}

/// Run `kinds` on one run's artifacts, reporting events; failures (and attacks skipped for want of
/// what they need) are recorded, not fatal.
pub fn run_attacks(
    inputs: AttackInputs<'_>,
    kinds: &[&dyn AnyAttack],
    events: &Sender<Event>,
    control: &Control,
) -> AttacksFile {
    let AttackInputs { config, arm, privacy, dataset, key, provider_model, provider_digests, provider_train, folder } =
        inputs;
    let oracle = Oracle::new(key, privacy, &dataset.name, dataset.shape, dataset.classes);
    let needs_train = kinds.iter().any(|k| k.needs().contains(&Need::ProviderTrainingSet));
    // The customer's per-sample randomness is one keyed stream. Encoding the training set first, as
    // the run did, reproduces the provider's data exactly and leaves the stream where the customer's
    // later encodings (queries) continue, so simulated queries never reuse training noise.
    let per_sample = scheme_transforms::draws_fresh_noise(&privacy.transforms);
    let provider_train = match provider_train {
        Some(t) => {
            if per_sample {
                let _ = oracle.encode_training_set(&dataset.train);
            }
            ProviderTrain::Given(t)
        }
        None if needs_train || per_sample => {
            let _ = events.send(Event::Log("attacks: re-encoding the training set the provider received".into()));
            let t = oracle.encode_training_set(&dataset.train);
            if let Some(path) = provider_digests.as_deref() {
                let _ = events.send(Event::Log(check_digests(path, &t)));
            }
            ProviderTrain::Encoded(t)
        }
        None => ProviderTrain::None,
    };
    let target = Target::Keyed(Box::new(KeyedTarget { privacy, oracle, provider_train }));
    let ctx = AttackContext::new(config, arm, target, dataset, provider_model, folder, events, control);
    run_kinds(&ctx, kinds)
}

/// Run `kinds` on one split arm's parts, as [`run_attacks`] does on a keyed arm.
pub fn run_split_attacks(
    inputs: SplitInputs<'_>,
    kinds: &[&dyn AnyAttack],
    events: &Sender<Event>,
    control: &Control,
) -> anyhow::Result<AttacksFile> {
    let SplitInputs { config, arm, split, dataset, parts, folder } = inputs;
    let arch = config.arm_arch(arm);
    let plan = SplitPlan::new(arch, split.cut, split.tail)
        .map_err(|(field, expected)| InputError::new(format!("arm `{arm}`: field `{field}`: expected {expected}")))?;
    let middle = parts.middle.clone();
    let target = Target::Split(SplitTarget {
        split,
        plan,
        parts,
        train: &dataset.train,
        arch,
        shape: dataset.shape,
        classes: dataset.classes,
    });
    let ctx = AttackContext::new(config, arm, target, dataset, middle, folder, events, control);
    Ok(run_kinds(&ctx, kinds))
}

/// Run `kinds` on one InstaHide arm, as [`run_attacks`] does on a keyed arm.
#[allow(clippy::too_many_arguments)]
fn run_instahide_attacks(
    config: &Config,
    arm: &str,
    settings: &crate::config::InstaHideConfig,
    key: SecretKey,
    dataset: &Dataset,
    folder: &RunFolder,
    kinds: &[&dyn AnyAttack],
    events: &Sender<Event>,
    control: &Control,
) -> AttacksFile {
    let target = Target::InstaHide(InstaHideTarget {
        settings,
        scheme: crate::scheme::instahide::InstaHide::new(key, settings),
        train: &dataset.train,
        epochs: config.train.epochs,
    });
    let ctx = AttackContext::new(config, arm, target, dataset, folder.model_path(arm), Some(folder), events, control);
    run_kinds(&ctx, kinds)
}

/// The arm's sample images, if the run folder has them (raw, and encoded for a keyed arm).
fn load_samples(
    folder: Option<&RunFolder>,
    arm: &str,
    dataset: &Dataset,
    keyed: bool,
    events: &Sender<Event>,
) -> Option<Samples> {
    let f = folder?;
    let used = |file: &crate::results::samples::SamplesFile| {
        file.shape == Some(dataset.shape) && !(if keyed { &file.encoded } else { &file.raw }).is_empty()
    };
    match crate::results::samples::SamplesFile::load(&crate::results::samples::SamplesFile::path(f, arm)) {
        Ok(Some(file)) if used(&file) => Some(Samples {
            folder: f.clone(),
            raw: file.raw.concat(),
            encoded: file.encoded.concat(),
            indices: file.indices,
            pending: Mutex::default(),
        }),
        Ok(_) => None,
        Err(e) => {
            let _ = events.send(Event::Log(format!("attacks: samples.json not used: {e:#}")));
            None
        }
    }
}

/// Run `kinds` in `ctx`: records, failures and attacks that do not apply, reported as events.
fn run_kinds(ctx: &AttackContext<'_>, kinds: &[&dyn AnyAttack]) -> AttacksFile {
    // Each attack's outcome in its slot, so the file lists them in `kinds` order whichever finished first.
    let outcomes: Vec<OnceLock<Outcome>> = kinds.iter().map(|_| OnceLock::new()).collect();
    let next = AtomicUsize::new(0);
    let take_next = || loop {
        // A pause holds the next attack back (and an attack's network training between steps).
        if !ctx.control.wait_while_paused().0 {
            return;
        }
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(&kind) = kinds.get(i) else { return };
        let _ = outcomes[i].set(run_one(ctx, kind));
    };
    let side_by_side = ctx.attacks_side_by_side().min(kinds.len());
    if side_by_side > 1 {
        // Each attack fans its products out to its share of the pool (the others keep the rest busy).
        let share = crate::pool_share::of(side_by_side);
        std::thread::scope(|s| {
            let mut spawned = 0;
            for _ in 0..side_by_side {
                // The main thread's stack size: the attacks ran there before they ran side by side.
                let thread = std::thread::Builder::new().stack_size(ATTACK_STACK_BYTES);
                if thread.spawn_scoped(s, || crate::pool_share::with_share(Some(share), take_next)).is_ok() {
                    spawned += 1;
                }
            }
            if spawned == 0 {
                take_next();
            }
        });
    } else {
        take_next();
    }
    ctx.store_reconstructions(kinds);
    let mut file = AttacksFile::default();
    for outcome in outcomes.into_iter().filter_map(OnceLock::into_inner) {
        match outcome {
            Outcome::NotApplicable(n) => file.not_applicable.push(n),
            Outcome::Finished(record) => file.records.push(*record),
            Outcome::Failed(f) => file.failures.push(f),
        }
    }
    file
}

/// How one attack of a suite ended.
enum Outcome {
    NotApplicable(NotApplicable),
    Finished(Box<AttackRecord>),
    Failed(AttackFailure),
}

/// Run one attack on the context's arm, reporting events; a failure or panic is its outcome, not fatal.
fn run_one(ctx: &AttackContext<'_>, kind: &dyn AnyAttack) -> Outcome {
    let (config, arm, events, control) = (ctx.config, ctx.arm, ctx.events, ctx.control);
    if let Err(reason) = kind.applies(ctx) {
        return Outcome::NotApplicable(NotApplicable { arm: arm.to_string(), name: kind.name().into(), reason });
    }
    let _ = events.send(Event::AttackStarted { arm: arm.into(), name: kind.name().into() });
    let progress = Progress { arm, name: kind.name(), events };
    let (start, paused_before) = (Instant::now(), control.paused_total());
    let table = config.attacks.tables.get(&registry::table_name(kind.name()));
    let result = match ctx.missing(kind.needs()) {
        Some(why) => Ok(Err(anyhow::anyhow!("skipped: it needs {why}"))),
        None => std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| kind.run_with(ctx, table, &progress))),
    };
    let result = match result {
        Ok(r) => r,
        Err(panic) => {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            Err(anyhow::anyhow!("panicked: {msg}"))
        }
    };
    match result {
        Ok(mut record) => {
            // Time paused inside the attack is not the attack's.
            let paused = control.paused_total().saturating_sub(paused_before);
            record.seconds = start.elapsed().saturating_sub(paused).as_secs_f64();
            record.arm = arm.to_string();
            if control.stop_requested() {
                record.complete = false;
            }
            let _ = events.send(Event::AttackFinished { record: Box::new(record.clone()) });
            Outcome::Finished(Box::new(record))
        }
        Err(e) => {
            let reason = format!("{e:#}");
            let _ =
                events.send(Event::AttackFailed { arm: arm.into(), name: kind.name().into(), reason: reason.clone() });
            Outcome::Failed(AttackFailure { arm: arm.to_string(), name: kind.name().into(), reason })
        }
    }
}

/// Compare a re-encoded training set with the digests the run stored for the provider.
fn check_digests(path: &Path, t: &EncodedTrainingSet) -> String {
    let Ok(text) = std::fs::read_to_string(path) else {
        return format!("attacks: no provider digests at {} to check the re-encoding against", path.display());
    };
    let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else {
        return format!("attacks: {} is not valid JSON; re-encoding not checked", path.display());
    };
    let mut h = Sha256::new();
    for v in t.inputs().images() {
        h.update(v.to_le_bytes());
    }
    let inputs = hex::encode(h.finalize());
    let mut h = Sha256::new();
    for c in t.codes() {
        h.update(c.to_le_bytes());
    }
    let codes = hex::encode(h.finalize());
    let same = json["train_inputs_sha256"].as_str() == Some(inputs.as_str())
        && json["train_codes_sha256"].as_str() == Some(codes.as_str());
    if same {
        "attacks: the re-encoded training set matches the provider's digests".into()
    } else {
        format!("attacks: WARNING: the re-encoded training set differs from the provider's digests in {} (data or key changed?)", path.display())
    }
}

/// Run `kinds` on a run folder and write `attacks.json` atomically. With `merge`, records of other
/// attacks already in `attacks.json` are kept.
#[allow(clippy::too_many_arguments)]
pub fn run_on_folder(
    config: &Config,
    arm: &str,
    dataset: &Dataset,
    folder: &RunFolder,
    provider_train: Option<&EncodedTrainingSet>,
    kinds: &[&dyn AnyAttack],
    merge: bool,
    events: &Sender<Event>,
    control: &Control,
) -> anyhow::Result<AttacksFile> {
    let arms = config.arms();
    let scheme = arms.iter().find(|a| a.name == arm).map(|a| &a.scheme);
    let stage = || {
        let names = kinds.iter().map(|k| k.name()).collect::<Vec<_>>().join(", ");
        let _ = events.send(Event::Stage(format!("attacks on `{arm}`: {names}")));
    };
    let fresh = match scheme {
        Some(SchemeConfig::Keyed(privacy)) => {
            let ctx = KeyContext::of(dataset, privacy);
            let key = KeyFile::load(&folder.key_path(arm), &ctx)?;
            stage();
            let inputs = AttackInputs {
                config,
                arm,
                privacy,
                dataset,
                key,
                provider_model: folder.model_path(arm),
                provider_digests: Some(folder.provider_digests_path(arm)),
                provider_train,
                folder: Some(folder),
            };
            run_attacks(inputs, kinds, events, control)
        }
        Some(SchemeConfig::Split(split)) => {
            stage();
            let inputs =
                SplitInputs { config, arm, split, dataset, parts: folder.split_saves(arm), folder: Some(folder) };
            run_split_attacks(inputs, kinds, events, control)?
        }
        Some(SchemeConfig::InstaHide(settings)) => {
            let key = KeyFile::load(&folder.key_path(arm), &crate::scheme::instahide::key_context(dataset))?;
            stage();
            run_instahide_attacks(config, arm, settings, key, dataset, folder, kinds, events, control)
        }
        _ => {
            return Err(InputError::new(format!(
                "no keyed, split or InstaHide arm named `{arm}` in this run (attacks need a protected arm)"
            ))
            .into())
        }
    };
    let path = folder.attacks_path();
    let file = if merge && path.is_file() {
        let mut old = load_file(&path)?;
        old.merge(fresh, registry::rank);
        old
    } else {
        fresh
    };
    file.save(&path)?;
    let _ = events.send(Event::Log(format!("attacks: wrote {}", path.display())));
    Ok(file)
}

/// `ppdl attack RUN_DIR [--only NAME] [--arm NAME]`: re-run attacks on a saved run without
/// retraining, on every keyed and split arm or the one named.
pub fn rerun(
    run_dir: &Path,
    only: Option<&str>,
    arm: Option<&str>,
    events: &Sender<Event>,
    control: &Control,
) -> anyhow::Result<AttacksFile> {
    let folder = RunFolder::open(run_dir)?;
    let config = folder.load_config()?;
    registry::check(&config.attacks).map_err(|(field, expected)| {
        let text = std::fs::read_to_string(folder.config_path()).unwrap_or_default();
        crate::config::field_error(&text, &folder.config_path(), &field, &expected)
    })?;
    let kinds = match only {
        Some(name) => vec![registry::by_name(name)?],
        None => {
            let selected = registry::selected(&config.attacks);
            if selected.is_empty() {
                ATTACKS.to_vec()
            } else {
                selected
            }
        }
    };
    let summary = folder.load_summary()?;
    let attacked: Vec<String> = match arm {
        Some(name) => vec![summary.attacked_arm(name, run_dir)?.name.clone()],
        None => summary.attacked_arms().map(|a| a.name.clone()).collect(),
    };
    let need_model: Vec<&str> =
        kinds.iter().filter(|k| k.needs().contains(&Need::ProviderModel)).map(|k| k.name()).collect();
    for arm in &attacked {
        let model = folder.model_path(arm);
        if !model.is_file() && !need_model.is_empty() {
            return Err(InputError::new(format!(
                "{}: no model for the arm `{arm}` ({}), which {} need{}; did the arm finish?",
                run_dir.display(),
                model.display(),
                need_model.join(", "),
                if need_model.len() == 1 { "s" } else { "" }
            ))
            .into());
        }
    }
    let _ = events.send(Event::Stage(format!("loading {}", config.data.dataset.name())));
    let dataset = config.data.load()?;
    let mut file = AttacksFile::default();
    // Records of the attacks and arms not re-run are kept (`--only`, `--arm`); a full re-run
    // replaces them all.
    for (i, name) in attacked.iter().enumerate() {
        let merge = only.is_some() || arm.is_some() || i > 0;
        file = run_on_folder(&config, name, &dataset, &folder, None, &kinds, merge, events, control)?;
        if control.stop_requested() {
            break;
        }
    }
    Ok(file)
}

/// Row-major f32 slice as f64.
pub(crate) fn to_f64(x: &[f32]) -> Vec<f64> {
    x.iter().map(|&v| v as f64).collect()
}

/// The sample counts of `wanted` that fit in `available` (sorted, deduplicated); if none fits, just
/// `available`.
pub(crate) fn clip_counts(wanted: &[usize], available: usize) -> Vec<usize> {
    let mut n: Vec<usize> = wanted.iter().copied().filter(|&v| v <= available && v > 0).collect();
    n.sort_unstable();
    n.dedup();
    if n.is_empty() && available > 0 {
        n.push(available);
    }
    n
}

/// Accuracy of predicted classes against labels.
pub(crate) fn accuracy(predicted: &[usize], labels: &[u8]) -> f64 {
    if labels.is_empty() {
        return 0.0;
    }
    predicted.iter().zip(labels).filter(|(p, l)| **p == **l as usize).count() as f64 / labels.len() as f64
}

/// Format a fraction as a percentage for verdicts.
pub(crate) fn pct(v: f64) -> String {
    if v > 0.0 && v < 0.001 {
        format!("{:.3}%", 100.0 * v)
    } else {
        format!("{:.1}%", 100.0 * v)
    }
}
