//! The name a reader knows a dataset by ("Fashion-MNIST (6k/1k subset)", not `embedded`), for figure
//! titles and reports. The one place that maps a dataset's config name and split sizes to it.

use super::load::DatasetKind;
use super::{digits, embedded};

impl DatasetKind {
    /// The dataset's published name.
    pub fn display(self) -> &'static str {
        match self {
            DatasetKind::Embedded | DatasetKind::FashionMnist => "Fashion-MNIST",
            DatasetKind::Mnist => "MNIST",
            DatasetKind::Digits => "scikit-learn digits",
            DatasetKind::Cifar10 => "CIFAR-10",
            DatasetKind::Idx | DatasetKind::ImageFolder | DatasetKind::Npz => self.name(),
        }
    }

    /// `(train, test)` sizes of the whole dataset as this kind loads it without limits.
    pub fn full_sizes(self) -> (usize, usize) {
        match self {
            DatasetKind::Embedded => (embedded::TRAIN_LEN, embedded::TEST_LEN),
            DatasetKind::Mnist | DatasetKind::FashionMnist => (60_000, 10_000),
            DatasetKind::Digits => digits::split_sizes(digits::ROWS),
            DatasetKind::Cifar10 => (50_000, 10_000),
            DatasetKind::Idx | DatasetKind::ImageFolder | DatasetKind::Npz => (0, 0),
        }
    }
}

/// The display name of a run's dataset from its record (`name` as in the config, the split sizes the
/// run used): the published name, plus the sizes whenever they are not the whole dataset.
///
/// `embedded` with 6,000/1,000 -> "Fashion-MNIST (6k/1k subset)"; `mnist` with 60,000/10,000 ->
/// "MNIST"; `mnist` with limits 600/500 -> "MNIST (600 train / 500 test)"; any other name (a format
/// dataset's `data.name` or folder name) is kept as it is.
pub fn display_name(name: &str, train: usize, test: usize) -> String {
    let Some(kind) = name.parse::<DatasetKind>().ok().filter(|k| !k.is_format()) else {
        return name.to_string();
    };
    let full = kind.full_sizes();
    match (kind, (train, test) == full) {
        (DatasetKind::Embedded, true) => format!("{} ({}/{} subset)", kind.display(), count(train), count(test)),
        (DatasetKind::Embedded, false) => {
            format!("{} ({} train / {} test subset)", kind.display(), count(train), count(test))
        }
        (_, true) => kind.display().to_string(),
        (_, false) => format!("{} ({} train / {} test)", kind.display(), count(train), count(test)),
    }
}

/// A sample count as a reader says it: 6000 -> "6k", 2500 -> "2.5k", 1437 -> "1,437", 600 -> "600".
fn count(n: usize) -> String {
    if n >= 1000 && n.is_multiple_of(100) {
        let k = n as f64 / 1000.0;
        return if n.is_multiple_of(1000) { format!("{}k", n / 1000) } else { format!("{k:.1}k") };
    }
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_naturally() {
        assert_eq!(count(6000), "6k");
        assert_eq!(count(60_000), "60k");
        assert_eq!(count(2500), "2.5k");
        assert_eq!(count(1437), "1,437");
        assert_eq!(count(600), "600");
    }
}
