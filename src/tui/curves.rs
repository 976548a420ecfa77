//! Chart series built from metric rows, shared by the live view and the runs view.
//! The x axis is in epochs (fractional for running train rows).

use crate::train::{MetricRow, MetricSplit};

/// The series of one arm.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ArmCurves {
    pub train_accuracy: Vec<(f64, f64)>,
    pub test_accuracy: Vec<(f64, f64)>,
    pub train_loss: Vec<(f64, f64)>,
    pub test_loss: Vec<(f64, f64)>,
    pub samples_per_s: Vec<(f64, f64)>,
}

/// Every arm's series, by arm name, in the order the arms first appeared.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Curves {
    pub arms: Vec<(String, ArmCurves)>,
}

/// A chart series: (x, y) points.
pub type Points = [(f64, f64)];

/// Which quantity a chart shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantity {
    Accuracy,
    Loss,
    Speed,
}

impl Curves {
    /// Series from a whole metrics file; steps per epoch are inferred from the test rows.
    pub fn from_rows(rows: &[MetricRow]) -> Curves {
        let mut curves = Curves::default();
        let mut names: Vec<&str> = Vec::new();
        for r in rows {
            if !names.contains(&r.arm.as_str()) {
                names.push(&r.arm);
            }
        }
        for arm in names {
            let spe = infer_steps_per_epoch(rows, arm);
            for row in rows.iter().filter(|r| r.arm == arm) {
                curves.push(row, spe);
            }
        }
        curves
    }

    /// The series of arm `name` (None when it has no row yet).
    pub fn arm(&self, name: &str) -> Option<&ArmCurves> {
        self.arms.iter().find(|(n, _)| n == name).map(|(_, c)| c)
    }

    /// The arms with series, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.arms.iter().map(|(n, _)| n.as_str())
    }

    fn arm_mut(&mut self, name: &str) -> &mut ArmCurves {
        let i = match self.arms.iter().position(|(n, _)| n == name) {
            Some(i) => i,
            None => {
                self.arms.push((name.to_string(), ArmCurves::default()));
                self.arms.len() - 1
            }
        };
        &mut self.arms[i].1
    }

    /// Add one row; `steps_per_epoch` converts steps to epochs (None: x is the epoch number).
    pub fn push(&mut self, row: &MetricRow, steps_per_epoch: Option<usize>) {
        let x = match steps_per_epoch {
            Some(spe) if spe > 0 => row.step as f64 / spe as f64,
            _ => row.epoch as f64,
        };
        let c = self.arm_mut(&row.arm);
        if row.split == MetricSplit::Test {
            // The test row sits exactly at the end of its epoch.
            let x = row.epoch as f64;
            c.test_accuracy.push((x, row.accuracy));
            c.test_loss.push((x, row.loss));
        } else {
            c.train_accuracy.push((x, row.accuracy));
            c.train_loss.push((x, row.loss));
            if row.samples_per_s.is_finite() && row.samples_per_s > 0.0 {
                c.samples_per_s.push((x, row.samples_per_s));
            }
        }
        if row.split == MetricSplit::Test && c.train_accuracy.is_empty() && row.samples_per_s > 0.0 {
            // No train rows (tiny runs): plot speed at epoch ends instead.
            c.samples_per_s.push((row.epoch as f64, row.samples_per_s));
        }
    }

    /// (line, points) of one arm for a quantity: train rows as a line, test rows as points.
    /// When an arm has no train rows (short runs), its test rows become the line.
    pub fn series(&self, arm: &str, q: Quantity) -> (&Points, &Points) {
        let Some(c) = self.arm(arm) else { return (&[], &[]) };
        let (train, test): (&Points, &Points) = match q {
            Quantity::Accuracy => (&c.train_accuracy, &c.test_accuracy),
            Quantity::Loss => (&c.train_loss, &c.test_loss),
            Quantity::Speed => (&c.samples_per_s, &[]),
        };
        if train.is_empty() {
            (test, &[])
        } else {
            (train, test)
        }
    }

    /// Largest x over every series (at least 1).
    pub fn max_x(&self) -> f64 {
        self.arms
            .iter()
            .flat_map(|(_, c)| {
                [&c.train_accuracy, &c.test_accuracy, &c.samples_per_s].into_iter().flat_map(|s| s.iter().map(|p| p.0))
            })
            .fold(1.0, f64::max)
    }

    /// (min, max) of y over every arm for a quantity, or None when there is no data.
    pub fn y_range(&self, q: Quantity) -> Option<(f64, f64)> {
        let mut lo = f64::INFINITY;
        let mut hi = f64::NEG_INFINITY;
        for arm in self.names() {
            let (line, points) = self.series(arm, q);
            for &(_, y) in line.iter().chain(points) {
                if y.is_finite() {
                    lo = lo.min(y);
                    hi = hi.max(y);
                }
            }
        }
        (lo <= hi).then_some((lo, hi))
    }

    pub fn is_empty(&self) -> bool {
        self.y_range(Quantity::Accuracy).is_none()
    }
}

/// Steps per epoch of an arm, from its first test row (step at the end of epoch e is e * spe).
pub fn infer_steps_per_epoch(rows: &[MetricRow], arm: &str) -> Option<usize> {
    rows.iter()
        .find(|r| r.arm == arm && r.split == MetricSplit::Test && r.epoch > 0 && r.step > 0)
        .map(|r| r.step / r.epoch)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(arm: &str, epoch: usize, step: usize, split: &str, acc: f64) -> MetricRow {
        MetricRow {
            arm: arm.into(),
            epoch,
            step,
            split: MetricSplit::from_name(split).unwrap(),
            loss: 1.0 - acc,
            accuracy: acc,
            samples_per_s: 1000.0,
            wall_s: 1.0,
        }
    }

    #[test]
    fn x_is_in_epochs() {
        let rows = vec![
            row("baseline", 1, 50, "train", 0.5),
            row("fast-mix", 1, 25, "train", 0.4),
            row("baseline", 1, 100, "test", 0.6),
            row("baseline", 2, 150, "train", 0.7),
            row("fast-mix", 1, 50, "test", 0.6),
        ];
        let c = Curves::from_rows(&rows);
        assert_eq!(c.names().collect::<Vec<_>>(), ["baseline", "fast-mix"]);
        assert_eq!(c.arm("baseline").unwrap().train_accuracy, vec![(0.5, 0.5), (1.5, 0.7)]);
        assert_eq!(c.arm("baseline").unwrap().test_accuracy, vec![(1.0, 0.6)]);
        assert_eq!(c.arm("fast-mix").unwrap().train_accuracy, vec![(0.5, 0.4)], "its own steps per epoch");
        assert_eq!(c.y_range(Quantity::Accuracy), Some((0.4, 0.7)));
        assert_eq!(c.max_x(), 1.5);
    }

    #[test]
    fn test_rows_become_the_line_without_train_rows() {
        let rows = vec![row("private", 1, 10, "test", 0.6), row("private", 2, 20, "test", 0.7)];
        let c = Curves::from_rows(&rows);
        let (line, points) = c.series("private", Quantity::Accuracy);
        assert_eq!(line, &[(1.0, 0.6), (2.0, 0.7)]);
        assert!(points.is_empty());
        assert_eq!(c.series("private", Quantity::Speed).0.len(), 2);
        assert!(c.series("baseline", Quantity::Accuracy).0.is_empty());
    }
}
