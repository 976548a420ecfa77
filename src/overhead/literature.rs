//! Published overhead figures of other privacy-preserving inference/training systems, each with its
//! source. These are literature values, never our measurements: they were measured by their authors,
//! on their hardware, networks and settings, and are shown only to place ours in context.
//!
//! Every figure below was checked against the cited text (the abstracts). Figures we could not check
//! (for example the per-network latency and message-size tables of MiniONN and GAZELLE, or
//! CryptoNets' per-batch latency) are deliberately left out rather than quoted from memory.

use serde::{Deserialize, Serialize};

/// One published figure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiteratureEntry {
    pub system: String,
    pub task: String,
    pub metric: String,
    pub value: f64,
    pub unit: String,
    /// Authors, title, venue, year, and where in the paper the figure is.
    pub source: String,
    /// Always "literature": these are not measured by ppdl.
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub note: String,
}

pub const NOTE: &str = "Published figures, as reported by their authors on their own hardware, networks and settings; \
not measured by ppdl and not directly comparable with the measured section. Compare orders of magnitude: \
cryptographic inference costs multiples (x) of plain inference, ppdl's keyed transforms cost a ratio close to 1.";

const CRYPTONETS: &str = "R. Gilad-Bachrach, N. Dowlin, K. Laine, K. Lauter, M. Naehrig, J. Wernsing. \
CryptoNets: Applying Neural Networks to Encrypted Data with High Throughput and Accuracy. ICML 2016 (PMLR 48), abstract";
const GAZELLE: &str = "C. Juvekar, V. Vaikuntanathan, A. Chandrakasan. GAZELLE: A Low Latency Framework for Secure \
Neural Network Inference. USENIX Security 2018 (arXiv:1801.05507), abstract";
const MOLE: &str = "J. Shen, J. Liu, Y. Chen, H. Li. Towards Efficient and Secure Delivery of Data for Deep Learning \
with Privacy-Preserving (Morphed Learning, MoLe). arXiv:1909.07632, 2019, abstract (same figures in arXiv:1809.09968)";

fn entry(system: &str, task: &str, metric: &str, value: f64, unit: &str, source: &str, note: &str) -> LiteratureEntry {
    LiteratureEntry {
        system: system.into(),
        task: task.into(),
        metric: metric.into(),
        value,
        unit: unit.into(),
        source: source.into(),
        kind: "literature".into(),
        note: note.into(),
    }
}

/// The literature table (CryptoNets, MiniONN, GAZELLE, MoLe).
pub fn entries() -> Vec<LiteratureEntry> {
    vec![
        entry(
            "CryptoNets",
            "MNIST inference, homomorphic encryption (batched)",
            "throughput",
            59_000.0,
            "predictions per hour (single PC)",
            CRYPTONETS,
            "\"around 59000 predictions per hour\" at 99% accuracy; throughput comes from encrypting large batches together, so one prediction waits for a whole batch",
        ),
        entry(
            "GAZELLE",
            "MNIST and CIFAR-10 inference, homomorphic encryption + garbled circuits",
            "online runtime speed-up over CryptoNets",
            1_000.0,
            "x (\"three orders of magnitude\")",
            GAZELLE,
            "relative figure stated by the GAZELLE authors",
        ),
        entry(
            "MiniONN",
            "MNIST and CIFAR-10 inference, secret sharing + garbled circuits (ACM CCS 2017)",
            "online runtime relative to GAZELLE",
            20.0,
            "x slower",
            GAZELLE,
            "GAZELLE outperforms MiniONN by 20x in online runtime (GAZELLE's measurement); MiniONN's own latency tables could not be verified here and are left out",
        ),
        entry(
            "GAZELLE",
            "CIFAR, VGG-16 inference",
            "computational overhead",
            10_000.0,
            "x",
            MOLE,
            "as estimated by the MoLe authors for the same setting as their own figures",
        ),
        entry(
            "GAZELLE",
            "CIFAR, VGG-16 inference",
            "data transmission overhead",
            421_000.0,
            "x",
            MOLE,
            "as estimated by the MoLe authors",
        ),
        entry(
            "MoLe",
            "CIFAR, VGG-16 training and inference, data morphing + augmented convolution layer (no cryptography)",
            "computational overhead",
            9.0,
            "%",
            MOLE,
            "closest in spirit to ppdl: a keyed transform absorbed by the first layer",
        ),
        entry(
            "MoLe",
            "CIFAR, VGG-16 training and inference, data morphing + augmented convolution layer (no cryptography)",
            "data transmission overhead",
            5.12,
            "%",
            MOLE,
            "",
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_has_a_source_and_is_marked_literature() {
        let e = entries();
        for system in ["CryptoNets", "MiniONN", "GAZELLE", "MoLe"] {
            assert!(e.iter().any(|x| x.system == system), "{system} missing");
        }
        for x in &e {
            assert!(x.source.len() > 20 && x.source.contains("20"), "{x:?}");
            assert_eq!(x.kind, "literature");
            assert!(x.value.is_finite() && x.value > 0.0);
        }
    }
}
