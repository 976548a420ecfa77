//! What the provider of a split arm can do with the middle it trained (the recovery and scoring
//! functions; the observation is the provider's `provider/ARM/model.safetensors`).
//!
//! - **Model theft**: the provider, holding the trained middle and n labelled public samples (the
//!   adversary half), trains its own head and tail around the frozen middle; compared with the same
//!   head + middle + tail trained from scratch on the same n samples with the same steps (the
//!   advantage, as the fine-tune attack measures it for keyed arms). Both start from the same fresh
//!   head and tail, drawn with a seed that is not the run's.
//! - **Middle with random parts** (the wrong-key attack's split counterpart): the middle between a
//!   random head and tail, no training: accuracy against chance.

use dfdx::prelude::*;

use super::accuracy;
use super::nn::{train_step, Plan};
use crate::config::{Arch, OptimizerKind, SplitConfig, TrainConfig};
use crate::data::{ImageShape, Split};
use crate::model::split::{Layer, Part, SplitPlan};
use crate::scheme::labels::argmax_rows;
use crate::train::fit::{Rows, StepOutput, Targets, TrainStep};
use crate::train::split::{initial_layers, SplitStep};
use crate::train::trainer::Evaluate;
use crate::train::{Control, TrainSpec};

/// The architecture a split arm's parts belong to, and its cut.
#[derive(Debug, Clone, Copy)]
pub struct Architecture {
    pub arch: Arch,
    pub shape: ImageShape,
    pub classes: usize,
    pub plan: SplitPlan,
}

impl Architecture {
    /// Fresh layers of the whole network, drawn from `seed`, with the middle replaced by `middle`
    /// when given.
    fn layers(&self, seed: u64, middle: Option<&Part<Cpu>>) -> (Cpu, Vec<Layer<Cpu>>) {
        let dev = crate::model::cpu_training_device(seed);
        let spec = TrainSpec {
            arm: "adversary".into(),
            arch: self.arch,
            shape: self.shape,
            train: TrainConfig::default(),
            seed,
            save_to: None,
        };
        let mut layers = initial_layers(&dev, &spec, self.classes);
        if let Some(m) = middle {
            let range = self.plan.middle();
            assert_eq!(m.layers.len(), range.len(), "the middle was cut by this plan");
            layers.splice(range, m.layers.iter().cloned());
        }
        (dev, layers)
    }

    fn step(&self, dev: &Cpu, layers: Vec<Layer<Cpu>>, plan: &Plan, rows: usize) -> SplitStep<Cpu> {
        let split = SplitConfig { cut: self.plan.cut, tail: self.plan.tail, noise_sigma: 0.0, nopeek_alpha: 0.0 };
        let train = TrainConfig {
            optimizer: OptimizerKind::Adam,
            learning_rate: plan.learning_rate,
            batch_size: plan.batch_size,
            epochs: plan.epochs,
            weight_decay: 0.0,
            ..TrainConfig::default()
        };
        SplitStep::new(dev, layers, self.plan, &split, &train, plan.seed, rows)
    }
}

/// Training head and tail around a middle that does not move (its optimisers run at rate 0, so
/// Adam's update is exactly zero).
struct FrozenMiddle(SplitStep<Cpu>);

impl TrainStep for FrozenMiddle {
    fn step(&mut self, x: &[f32], y: &[f32], rows: usize, want_outputs: bool) -> Result<StepOutput, String> {
        self.0.step(x, y, rows, want_outputs)
    }
    fn set_learning_rate(&mut self, lr: f64) {
        self.0.customer.set_learning_rate(lr);
        self.0.provider.set_learning_rate(0.0);
    }
}

/// One n: accuracy on the evaluation rows of the thief's network (own head and tail, stolen
/// middle) and of the network trained from scratch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TheftPoint {
    pub n: usize,
    pub stolen: f64,
    pub scratch: f64,
}

fn eval_accuracy<S: Evaluate>(step: &S, eval: &Split, classes: usize) -> anyhow::Result<f64> {
    let scores = step.scores(&eval.images, eval.features).map_err(|e| anyhow::anyhow!("evaluation failed: {e}"))?;
    Ok(accuracy(&argmax_rows(&scores, classes), &eval.labels))
}

/// The theft for each n of `ns` (the first n rows of `aux`), scored on `eval`; the thief's fresh
/// parts and the from-scratch network are drawn from `seed`. Stops early (fewer points) when asked.
#[allow(clippy::too_many_arguments)]
pub fn steal(
    a: &Architecture,
    middle: &Part<Cpu>,
    aux: &Split,
    eval: &Split,
    ns: &[usize],
    plan: &Plan,
    seed: u64,
    control: &Control,
) -> anyhow::Result<Vec<TheftPoint>> {
    let d = aux.features;
    let mut points = Vec::new();
    for &n in ns {
        let targets: Vec<u16> = aux.labels[..n].iter().map(|&y| y as u16).collect();
        let rows = Rows {
            inputs: &aux.images[..n * d],
            features: d,
            targets: Targets::Classes { labels: &targets, outputs: a.classes },
        };
        let (dev, layers) = a.layers(seed, Some(middle));
        let mut thief = FrozenMiddle(a.step(&dev, layers, plan, n));
        if !train_step(&mut thief, rows, plan, control)? {
            break;
        }
        let (dev, layers) = a.layers(seed, None);
        let mut scratch = a.step(&dev, layers, plan, n);
        if !train_step(&mut scratch, rows, plan, control)? {
            break;
        }
        points.push(TheftPoint {
            n,
            stolen: eval_accuracy(&thief.0, eval, a.classes)?,
            scratch: eval_accuracy(&scratch, eval, a.classes)?,
        });
    }
    Ok(points)
}

/// The middle between a random head and tail drawn from `seed`, untrained: its output scores on
/// `inputs` (rows of `features`).
pub fn with_random_parts(
    a: &Architecture,
    middle: &Part<Cpu>,
    inputs: &[f32],
    features: usize,
    seed: u64,
) -> anyhow::Result<Vec<f32>> {
    let (dev, layers) = a.layers(seed, Some(middle));
    scores_of(a, &dev, layers, inputs, features)
}

/// The output scores of the network `layers` (a whole network of this architecture, head to tail)
/// on `inputs`, run across the cut as the arm runs it.
pub fn scores_of(
    a: &Architecture,
    dev: &Cpu,
    layers: Vec<Layer<Cpu>>,
    inputs: &[f32],
    features: usize,
) -> anyhow::Result<Vec<f32>> {
    let plan = Plan { epochs: 1, min_steps: 0, batch_size: 1, learning_rate: 0.0, seed: 0 };
    a.step(dev, layers, &plan, 1).scores(inputs, features).map_err(|e| anyhow::anyhow!("evaluation failed: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// `n` noisy copies of 4 class prototypes, 8x8 pixels.
    fn data(n: usize, seed: u64) -> Split {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut proto = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let prototypes: Vec<f32> = (0..4 * 64).map(|_| proto.gen::<f32>()).collect();
        let labels: Vec<u8> = (0..n).map(|i| (i % 4) as u8).collect();
        let images = labels
            .iter()
            .flat_map(|&y| {
                (0..64).map(|j| prototypes[y as usize * 64 + j] + 0.3 * rng.gen::<f32>()).collect::<Vec<_>>()
            })
            .collect();
        Split { images, labels, features: 64 }
    }

    fn architecture() -> Architecture {
        let plan = SplitPlan::new(Arch::Mlp512x256, 1, 1).unwrap();
        Architecture {
            arch: Arch::Mlp512x256,
            shape: ImageShape { height: 8, width: 8, channels: 1 },
            classes: 4,
            plan,
        }
    }

    #[test]
    fn the_thief_trains_head_and_tail_around_a_middle_that_does_not_move() {
        let a = architecture();
        let (aux, eval) = (data(200, 2), data(200, 3));
        let plan = Plan { epochs: 3, min_steps: 0, batch_size: 20, learning_rate: 1e-3, seed: 4 };
        // A middle trained on the task, as the provider holds it.
        let (dev, layers) = a.layers(9, None);
        let mut arm = a.step(&dev, layers, &plan, 200);
        assert!(train_step(&mut arm, rows_of(&aux, &labels(&aux)), &plan, &Control::default()).unwrap());
        let middle = arm.provider.middle().clone();
        let points = steal(&a, &middle, &aux, &eval, &[40, 200], &plan, 7, &Control::default()).unwrap();
        assert_eq!(points.iter().map(|p| p.n).collect::<Vec<_>>(), [40, 200]);
        // Run again keeping the thief: the middle's weights are the stolen ones, bit for bit.
        let (dev, layers) = a.layers(7, Some(&middle));
        let mut thief = FrozenMiddle(a.step(&dev, layers, &plan, 200));
        assert!(train_step(&mut thief, rows_of(&aux, &labels(&aux)), &plan, &Control::default()).unwrap());
        assert_eq!(thief.0.provider.middle().layers[0].weight().as_vec(), middle.layers[0].weight().as_vec());
        assert_ne!(thief.0.customer.head().layers[0].weight().as_vec(), a.layers(7, None).1[0].weight().as_vec());
        let last = points[1];
        assert!(last.stolen > 0.9 && last.scratch > 0.9, "{points:?}: an easy task learnt both ways");
        // The middle between random parts is near chance (4 classes).
        let scores = with_random_parts(&a, &middle, &eval.images, 64, 11).unwrap();
        let random = accuracy(&argmax_rows(&scores, 4), &eval.labels);
        assert!(random < 0.6, "{random}");
    }

    fn labels(s: &Split) -> Vec<u16> {
        s.labels.iter().map(|&y| y as u16).collect()
    }

    fn rows_of<'a>(s: &'a Split, targets: &'a [u16]) -> Rows<'a> {
        Rows { inputs: &s.images, features: s.features, targets: Targets::Classes { labels: targets, outputs: 4 } }
    }
}
