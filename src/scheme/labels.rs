//! Output protection: a secret assignment of classes to output codes. With `codes_per_class = m > 1`
//! (label splitting) each class owns m codes and each training sample gets one of them at random, so
//! code frequencies no longer reveal class priors.

use rand::Rng;
use rand_chacha::ChaCha20Rng;

use super::transforms::random_permutation;

#[derive(Debug, Clone, PartialEq)]
pub struct LabelCodec {
    pub classes: usize,
    pub codes_per_class: usize,
    /// Class that owns each code (`outputs()` entries).
    pub class_of_code: Vec<u16>,
    /// Codes of each class (`codes_per_class` entries each).
    pub codes_of_class: Vec<Vec<u16>>,
}

impl LabelCodec {
    /// Plain labels: code c is class c (the baseline arm, or `label_permutation = false` with m = 1).
    pub fn identity(classes: usize) -> Self {
        Self::from_code_order(classes, 1, (0..classes as u32).collect())
    }

    /// Secret assignment drawn from `rng`; `permute = false` keeps codes in class order.
    pub fn random(classes: usize, codes_per_class: usize, permute: bool, rng: &mut ChaCha20Rng) -> Self {
        let n = classes * codes_per_class;
        let order = if permute { random_permutation(n, rng) } else { (0..n as u32).collect() };
        Self::from_code_order(classes, codes_per_class, order)
    }

    /// Class `c` owns codes `order[c*m .. (c+1)*m]`.
    fn from_code_order(classes: usize, m: usize, order: Vec<u32>) -> Self {
        let mut class_of_code = vec![0u16; classes * m];
        let mut codes_of_class = vec![Vec::with_capacity(m); classes];
        for (slot, &code) in order.iter().enumerate() {
            let class = slot / m;
            class_of_code[code as usize] = class as u16;
            codes_of_class[class].push(code as u16);
        }
        Self { classes, codes_per_class: m, class_of_code, codes_of_class }
    }

    /// Number of model outputs (C * m).
    pub fn outputs(&self) -> usize {
        self.classes * self.codes_per_class
    }

    /// The code a training sample of `class` is labelled with (one of its m codes, at random).
    pub fn encode(&self, class: u8, rng: &mut ChaCha20Rng) -> u16 {
        let codes = &self.codes_of_class[class as usize];
        if codes.len() == 1 {
            codes[0]
        } else {
            codes[rng.gen_range(0..codes.len())]
        }
    }

    /// Class probabilities from code logits: softmax over codes, then each class sums its codes'
    /// probabilities. `logits` holds n rows of `outputs()`; returns n rows of `classes`.
    pub fn decode(&self, logits: &[f32]) -> Vec<f32> {
        let k = self.outputs();
        let mut out = Vec::with_capacity(logits.len() / k * self.classes);
        for row in logits.chunks_exact(k) {
            let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let exp: Vec<f32> = row.iter().map(|&v| (v - max).exp()).collect();
            let total: f32 = exp.iter().sum();
            for codes in &self.codes_of_class {
                out.push(codes.iter().map(|&c| exp[c as usize]).sum::<f32>() / total);
            }
        }
        out
    }

    /// Decoded class predictions (argmax of [`decode`]).
    pub fn predict(&self, logits: &[f32]) -> Vec<usize> {
        argmax_rows(&self.decode(logits), self.classes)
    }
}

/// Index of the largest value of each row of `width` values.
pub fn argmax_rows(values: &[f32], width: usize) -> Vec<usize> {
    values
        .chunks_exact(width)
        .map(|row| {
            let mut best = 0;
            for (i, &v) in row.iter().enumerate() {
                if v > row[best] {
                    best = i;
                }
            }
            best
        })
        .collect()
}
