//! Jigsaw-puzzle solver attack on block scrambles (Chuman, Kurihara and Kiya, "On the security of
//! block scrambling-based EtC systems against jigsaw puzzle solver attacks", ICASSP 2017; extended to
//! rotated, flipped, negative-positive and channel-shuffled blocks in Chuman, Kurihara and Kiya,
//! "On the security of block scrambling-based EtC systems against extended jigsaw puzzle solver
//! attacks", IEICE Trans. Inf. & Syst. 2018).
//!
//! **Adversary.** The provider, ciphertext only: it sees each encoded query image and knows the public
//! scheme (block size, which operations act on blocks), not the key; it holds public raw data of the
//! same distribution, whose mean image fixes the orientation of a solved puzzle.
//!
//! **Method (per image).** Cut the encoded image into its blocks; render every block in every variant
//! the scheme allows (8 orientations, negated or not, each channel order). Edge compatibility of two
//! variants across a shared edge is the sum of squared differences of the touching pixel rows plus the
//! error of predicting each side's edge from the other side's gradient (a simplified form of
//! Gallagher's Mahalanobis gradient compatibility, which the extended solver uses). Greedy placement:
//! the best-fitting pair of non-constant blocks seeds the puzzle; then, repeatedly, the (block, variant,
//! free cell) with the lowest mean compatibility to its placed neighbours is placed, keeping the
//! assembly within the image's grid of blocks. The solved image is defined up to a global symmetry
//! (orientation, negation, channel order); the one closest to the public mean image is kept.
//!
//! **Scoring.** Fraction of blocks at their true absolute position (ground truth: the block order the
//! transform reports from its key, `TransformKind::block_origins`), fraction whose content is right
//! (identical blank blocks count), and the reconstruction quality of `recon` (PSNR, SSIM,
//! recognition) on the evaluation half.
//!
//! **Encodings of another shape (`ele`).** The tiles are the encoding's blocks (M x M x 2C 4-bit
//! halves). Each block is scrambled inside by its own key, which the adversary cannot undo, so no
//! image can be reconstructed: the solved puzzle is scored by placement, and its "reconstruction" is
//! the solved encoding read as raw the way the zero-effort reference reads the encoding (the mean of
//! each pixel's halves), so that the reconstruction criteria compare like with like and show what
//! placing the blocks adds to that view; the content figure is left out (no raw block is rebuilt).
//!
//! Only for an arm whose one transform is a block scramble (`TransformKind::block_scramble`); for
//! others attacks.json records it as not applicable, saying why.

use serde_json::json;

use super::recon::{self, assess, conclude, references, set_reference};
use super::registry::{Attack, ResultKind};
use super::verdict::{evaluation_samples, proportion_interval, Spec};
use super::{AttackContext, AttackRecord, Figure, Progress, ThreatModel};

mod solver;
use crate::data::ImageShape;
use crate::results::attacks::Criterion;
use crate::scheme::transforms::{self, BlockScramble, TransformLabel};

pub struct Jigsaw;

/// `[attacks.jigsaw]`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JigsawParams {
    /// Puzzles with more blocks than this are not attempted (greedy placement costs about
    /// blocks^3 x variants per image).
    #[serde(default = "default_max_blocks")]
    pub max_blocks: usize,
    /// Encoded images pooled into the one puzzle of the key.
    #[serde(default = "default_puzzles")]
    pub puzzles: usize,
    /// Images also solved one by one (the literature's per-image setting), for comparison.
    #[serde(default = "default_alone")]
    pub alone: usize,
}

fn default_puzzles() -> usize {
    256
}

fn default_alone() -> usize {
    32
}

fn default_max_blocks() -> usize {
    256
}

impl Default for JigsawParams {
    fn default() -> Self {
        JigsawParams { max_blocks: default_max_blocks(), puzzles: default_puzzles(), alone: default_alone() }
    }
}

/// Figure names the verdict rule reads.
pub const PLACED: &str = "blocks placed correctly (absolute position)";
pub const PLACED_CHANCE: &str = "reference: blocks placed correctly by a random placement";
pub const CONTENT: &str = "blocks with the right content (identical blocks count)";
/// Not in the verdict: the per-image setting of the literature, where every image has its own key.
pub const PLACED_ALONE: &str = "blocks placed correctly when each image is solved alone";

impl Attack for Jigsaw {
    const NAME: &'static str = "jigsaw";
    const TITLE: &'static str = "Jigsaw-puzzle solver (block scrambles)";
    const RESULT: ResultKind = ResultKind::Reconstruction;
    type Params = JigsawParams;

    fn check(p: &JigsawParams) -> Result<(), (String, String)> {
        if p.max_blocks < 2 {
            return Err(("max_blocks".into(), format!("an integer >= 2, got {}", p.max_blocks)));
        }
        if p.puzzles < 1 {
            return Err(("puzzles".into(), "an integer >= 1 (encoded images pooled into the puzzle)".into()));
        }
        Ok(())
    }

    fn rule() -> Spec {
        Spec {
            decided_by: format!(
                "the worst of the reconstruction criteria (recognition and SSIM of the solved images and of the \
                 encoded data read as raw) and the fraction of blocks placed at their true position, on the \
                 scale from a random placement (1/blocks) to 1. Each: {}",
                super::verdict::on_scale_thresholds()
            ),
            protects: "the solved puzzles tell no more than the adversary's mean image; blocks land at random",
            partial_leak: "parts of the images are reassembled: shapes or classes can be read",
            broken: "the adversary reassembles the images nearly as the key holder sees them",
            criteria,
        }
    }

    fn applies(ctx: &AttackContext<'_>) -> Result<(), String> {
        block_scramble_of(ctx).map(|_| ())
    }

    fn run(&self, ctx: &AttackContext<'_>, p: &JigsawParams, progress: &Progress<'_>) -> anyhow::Result<AttackRecord> {
        let scramble = block_scramble_of(ctx).map_err(anyhow::Error::msg)?;
        // The pieces are blocks of what the provider receives (`ele`: M x M x 2C halves).
        let shape = ctx.encoded_shape();
        let reshaped = shape != ctx.shape;
        let blocks = (shape.height / scramble.block) * (shape.width / scramble.block);
        if blocks > p.max_blocks {
            anyhow::bail!(
                "skipped: {blocks} blocks of {b}x{b} exceed attacks.jigsaw.max_blocks = {}",
                p.max_blocks,
                b = scramble.block
            );
        }
        let d = shape.features();
        // --- Observation (simulation): the customer's encoded queries (evaluation half).
        let eval_enc = ctx.keyed()?.oracle.encode(&ctx.eval.images);
        let refs = references(ctx, &eval_enc);
        // The public mean image picks the solved puzzle's symmetry and cyclic shift; for an encoding of
        // more channels each raw value stands for all its encoded channels (the halves' order in a
        // block is keyed, so the adversary has nothing better).
        let mean = widen(&mean_image(&ctx.aux.images, ctx.features()), shape.channels / ctx.shape.channels);
        let n = ctx.eval.len();
        // --- Recovery (no key). One key scrambles every image, so the puzzle is solved once over a
        // pool of encodings (bounded so that the per-tile edge vectors stay under 8M values).
        let per_image = solver::tile_count(shape, scramble) * scramble.block * shape.channels;
        let pooled = p.puzzles.min(n).min((8 << 20) / per_image.max(1)).max(1);
        let guess = solver::guess_key(&eval_enc[..pooled * d], shape, scramble, &mean);
        progress.report(pooled, n);
        let placement = guess.placement();
        let solved: Vec<f32> = eval_enc.chunks_exact(d).flat_map(|e| guess.decode(e)).collect();
        let recon = as_raw(ctx, &solved)?;
        let origin = ctx
            .keyed()?
            .oracle
            .block_origins()
            .ok_or_else(|| anyhow::anyhow!("the block scramble reports no block order"))?
            .to_vec();
        // The literature's setting beside it: each image solved alone, as if every image had its own key.
        let alone = p.alone.min(n);
        let mut alone_placed = 0;
        let mut done = 0;
        while done < alone && !ctx.stop_requested() {
            let end = (done + 16).min(alone);
            for s in solver::solve_each(&eval_enc[done * d..end * d], shape, scramble, &mean) {
                alone_placed += s.placement.iter().enumerate().filter(|(at, e)| origin[**e] == *at).count();
            }
            done = end;
        }
        // --- Scoring.
        let placed = placement.iter().enumerate().filter(|(at, e)| origin[**e] == *at).count();
        let content = (!reshaped).then(|| content_correct(&recon, &ctx.eval.images, shape, scramble.block));
        let a = assess(ctx, &recon);
        if let Some(s) = ctx.samples_encoded() {
            let images = as_raw(ctx, &s.chunks_exact(d).flat_map(|e| guess.decode(e)).collect::<Vec<_>>())?;
            ctx.add_reconstruction(Jigsaw::NAME, "jigsaw solver, one puzzle for the key".into(), &a.q, &images);
        }

        let mut r = ctx.new_record::<Jigsaw>(
            ThreatModel {
                adversary: "the provider, ciphertext only".into(),
                holds: vec![
                    "the customer's encoded queries (evaluation half), all scrambled with one key".into(),
                    "public raw data of the same distribution (its mean image orients the solved puzzle)".into(),
                ],
                knowledge: format!(
                    "the scheme: {}x{} blocks{}{}{}{}; not the key",
                    scramble.block,
                    scramble.block,
                    if scramble.inner_shuffle { ", pixels shuffled inside blocks" } else { "" },
                    if scramble.orientations { ", rotated and flipped" } else { "" },
                    if scramble.negative_positive { ", negative-positive" } else { "" },
                    if scramble.channel_shuffle && shape.channels > 1 { ", channels shuffled" } else { "" }
                ),
            },
            format!(
                "{}; puzzle pieces from {pooled} encoded images, scored on the evaluation half ({n} images)",
                ctx.aux_description
            ),
        );
        r.parameters.insert("max_blocks".into(), json!(p.max_blocks));
        r.parameters.insert("puzzles".into(), json!(pooled));
        r.parameters.insert("alone".into(), json!(done));
        r.parameters.insert("blocks".into(), json!(blocks));
        r.parameters.insert("variants_per_block".into(), json!(solver::variants(scramble, shape.channels).len()));
        r.parameters.insert(
            "compatibility".into(),
            json!("sum over the pooled images of squared differences across the shared edge plus gradient-prediction error, each variant; greedy placement"),
        );
        if reshaped {
            r.parameters.insert(
                "reconstruction".into(),
                json!(format!(
                    "none possible without the per-block keys: tiles are the encoding's {b}x{b}x{} blocks, each scrambled \
                     inside by its own key; the solved encoding is read as raw like the encoded data (mean of each \
                     pixel's {} channels), so the reconstruction figures show only what placement adds to that view; \
                     placement is the measure",
                    shape.channels,
                    shape.channels / ctx.shape.channels,
                    b = scramble.block
                )),
            );
        }
        set_reference(&mut r, &refs, n);
        r.figures.push(Figure::new(PLACED, placed as f64 / blocks as f64, "fraction"));
        r.figures.push(Figure::new(PLACED_CHANCE, 1.0 / blocks as f64, "fraction"));
        if let Some(content) = content {
            r.figures.push(Figure::new(CONTENT, content as f64 / (n * blocks).max(1) as f64, "fraction"));
        }
        if done > 0 {
            r.figures.push(Figure::new(PLACED_ALONE, alone_placed as f64 / (done * blocks) as f64, "fraction"));
        }
        let extra = format!("; {placed} of {blocks} blocks at their true position");
        conclude(
            &mut r,
            &refs,
            "jigsaw solver",
            n,
            &a,
            "a jigsaw-puzzle solver",
            &format!("{n} encoded images"),
            &extra,
        );
        r.complete = done == alone;
        Ok(r)
    }
}

/// The rule's criteria: the reconstruction rule's, then block placement.
fn criteria(r: &AttackRecord) -> Vec<Criterion> {
    let mut out = (recon::rule().criteria)(r);
    if let (Some(v), Some(chance)) = (r.figure(PLACED), r.figure(PLACED_CHANCE)) {
        let mut c = Criterion::on_scale(PLACED, v, "fraction", (chance, "a random placement"), (1.0, "every block"));
        if let Some(n) = evaluation_samples(r) {
            c.interval = Some(proportion_interval(v, n));
        }
        out.push(c);
    }
    out
}

/// The solved encodings in the raw shape (as the zero-effort reference reads the encoding).
fn as_raw(ctx: &AttackContext<'_>, solved: &[f32]) -> anyhow::Result<Vec<f32>> {
    crate::data::view_as(solved, ctx.encoded_shape(), ctx.shape)
        .ok_or_else(|| anyhow::anyhow!("the encoding cannot be read in the raw shape"))
}

/// Each value repeated `k` times (an image of C channels as one of kC).
fn widen(image: &[f32], k: usize) -> Vec<f32> {
    image.iter().flat_map(|&v| std::iter::repeat_n(v, k.max(1))).collect()
}

/// The arm's block scramble, or why the attack does not apply.
fn block_scramble_of(ctx: &AttackContext<'_>) -> Result<BlockScramble, String> {
    let specs = &ctx.keyed().map_err(|e| e.to_string())?.privacy.transforms;
    let labels = specs.iter().map(|s| s.label()).collect::<Vec<_>>().join(" + ");
    let scramble = match specs.as_slice() {
        [one] => {
            let (kind, p) = transforms::kind::params(one);
            kind.block_scramble(&p)
        }
        _ => None,
    };
    scramble.ok_or_else(|| {
        // LE is the one peer that looks like a block scheme and is not a puzzle.
        let le = specs.iter().any(|s| s.kind == "le");
        // The kinds that describe themselves as block scrambles, as the registry has them.
        let puzzles: Vec<&str> = transforms::ALL
            .iter()
            .filter(|k| k.block_scramble(&transforms::kind::params(&transforms::initial_spec(**k)).1).is_some())
            .map(|k| k.name())
            .collect();
        format!(
            "it solves one block scramble ({}), not `{}`{}",
            puzzles.join(", "),
            if labels.is_empty() { "identity".to_string() } else { labels },
            if le {
                " (`le` keeps every block in place, with one block key for all blocks: there is nothing to place)"
            } else {
                ""
            }
        )
    })
}

fn mean_image(images: &[f32], d: usize) -> Vec<f32> {
    let n = (images.len() / d).max(1) as f64;
    let mut m = vec![0f64; d];
    for img in images.chunks_exact(d) {
        for (a, &v) in m.iter_mut().zip(img) {
            *a += v as f64;
        }
    }
    m.into_iter().map(|v| (v / n) as f32).collect()
}

/// Blocks whose reconstructed values are those of the true image at that position (to 1/255).
fn content_correct(recon: &[f32], truth: &[f32], shape: ImageShape, block: usize) -> usize {
    let d = shape.features();
    let (bw, c) = (shape.width / block, shape.channels);
    let blocks = (shape.height / block) * bw;
    let mut count = 0;
    for (x, t) in recon.chunks_exact(d).zip(truth.chunks_exact(d)) {
        for b in 0..blocks {
            let (r0, c0) = ((b / bw) * block, (b % bw) * block);
            let ok = (0..block).all(|r| {
                let at = ((r0 + r) * shape.width + c0) * c;
                x[at..at + block * c].iter().zip(&t[at..at + block * c]).all(|(a, b)| (a - b).abs() <= 1.0 / 255.0)
            });
            count += ok as usize;
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::config::TransformSpec;
    use crate::scheme::transforms::{build, kind};
    use crate::scheme::SecretKey;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    /// Real test images scrambled with one known key, solved as one puzzle (`pooled` images) and each
    /// alone: the fractions of blocks at their true place and of blocks with the right content (None
    /// for an encoding of another shape, whose blocks cannot be compared with raw ones).
    fn solve(spec: TransformSpec, pooled: usize) -> (f64, Option<f64>, f64) {
        let data = crate::data::embedded::load().expect("embedded data");
        let (raw_shape, raw_d) = (data.shape, data.shape.features());
        let (k, p) = kind::params(&spec);
        let scramble = k.block_scramble(&p).expect("a block scramble");
        let shape = k.encoded_shape(&p, raw_shape);
        let d = shape.features();
        let key = SecretKey::from_hex(&"a7".repeat(32)).unwrap();
        let transform = build(&spec, 0, &key, raw_shape);
        let origin = k.block_origins(&p, raw_shape, &mut transforms::key_stream(&spec, 0, &key)).unwrap();
        let mean = widen(&mean_image(&data.train.images[..2000 * raw_d], raw_d), shape.channels / raw_shape.channels);
        let raw = &data.test.images[..pooled * raw_d];
        let mut enc = vec![0f32; pooled * d];
        transform.encode_into(raw, &mut enc, &mut ChaCha20Rng::seed_from_u64(0));
        let right = |placement: &[usize]| placement.iter().enumerate().filter(|(at, e)| origin[**e] == *at).count();
        let blocks = origin.len() as f64;
        let guess = solver::guess_key(&enc, shape, scramble, &mean);
        let content = (shape == raw_shape).then(|| {
            let recon: Vec<f32> = enc.chunks_exact(d).flat_map(|e| guess.decode(e)).collect();
            content_correct(&recon, raw, shape, scramble.block) as f64 / (pooled as f64 * blocks)
        });
        let alone = solver::solve_each(&enc[..8 * d], shape, scramble, &mean);
        let alone: f64 = alone.iter().map(|s| right(&s.placement) as f64).sum::<f64>() / (8.0 * blocks);
        (right(&guess.placement()) as f64 / blocks, content, alone)
    }

    #[test]
    fn one_key_for_all_images_gives_etc_away() {
        // EtC, 4x4 blocks (49 blocks, each in 16 variants), one key for 256 Fashion-MNIST test images.
        let (placed, content, alone) = solve(TransformSpec::new("etc").with("block", 4i64), 256);
        eprintln!("etc b=4: placed {placed:.3}, content {content:?}, each image alone {alone:.3}");
        // Measured: 0.755 placed, 0.818 content (chance: 1/49 = 0.02 placed); each image alone 0.02.
        assert!(placed >= 0.6, "pooled solver placed {placed:.3} of blocks");
        let content = content.expect("same shape");
        assert!(content >= 0.6, "pooled solver content {content:.3}");
    }

    #[test]
    fn in_block_shuffles_defeat_edge_matching() {
        // block-shuffle shuffles the pixels inside each block too: edges do not match, and the solver
        // must not claim success there.
        let (placed, content, _) =
            solve(TransformSpec::new("block-shuffle").with("block", 7i64).with("flip", true), 128);
        let content = content.expect("same shape");
        eprintln!("block-shuffle b=7: placed {placed:.3}, content {content:.3}");
        assert!(placed < 0.5 && content < 0.6, "placed {placed:.3}, content {content:.3}");
    }

    #[test]
    fn per_block_keys_leave_ele_at_chance_even_with_one_key_for_all_images() {
        // ELE, 4x4 blocks (49 tiles of 4x4x2 halves), one key for 256 Fashion-MNIST test images: the
        // setting in which EtC falls (above). Each block's own key scrambles its inside, so edges do
        // not match.
        let (placed, content, alone) = solve(TransformSpec::new("ele").with("block", 4i64), 256);
        eprintln!("ele b=4: placed {placed:.3}, each image alone {alone:.3} (chance 1/49 = 0.020)");
        // Measured: 0.020 placed (1 of 49, chance exactly), 0.028 with each of 8 images solved alone.
        assert!(content.is_none(), "no raw block to compare");
        assert!(placed <= 0.1, "pooled solver placed {placed:.3} of ELE's blocks");
        assert!(alone <= 0.1, "per-image solver placed {alone:.3}");
    }
}
