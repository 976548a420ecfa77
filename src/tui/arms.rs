//! The arms of the run a view shows, in config order, and the one colour each keeps in every view:
//! the baseline always the palette's first colour, the protected arms the next ones in order.

use ratatui::style::{Color, Style};

use crate::config::ArmConfig;
use crate::results::Summary;
use crate::scheme::transforms::DescribePrivacy;

use super::theme;

/// One arm as the views name it.
#[derive(Debug, Clone, PartialEq)]
pub struct ArmInfo {
    pub name: String,
    /// The scheme in words ("pixel-permutation; labels: permuted, m=1", "none (raw inputs, ...)").
    pub description: String,
    pub baseline: bool,
}

/// The arms of one run, in config order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Arms {
    pub list: Vec<ArmInfo>,
}

impl Arms {
    pub fn from_config(arms: &[ArmConfig]) -> Arms {
        let list = arms
            .iter()
            .map(|a| ArmInfo { name: a.name.clone(), description: a.scheme.describe(), baseline: a.is_baseline() })
            .collect();
        Arms { list }
    }

    pub fn from_summary(summary: &Summary) -> Arms {
        let list = summary
            .arms
            .iter()
            .map(|a| ArmInfo { name: a.name.clone(), description: a.description.clone(), baseline: a.is_baseline() })
            .collect();
        Arms { list }
    }

    /// Arms known only by name (a run folder without a readable summary): `baseline` is the baseline.
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Arms {
        let list = names
            .into_iter()
            .map(|n| ArmInfo {
                name: n.to_string(),
                description: String::new(),
                baseline: n == crate::config::BASELINE_ARM,
            })
            .collect();
        Arms { list }
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.list.iter().map(|a| a.name.as_str())
    }

    pub fn get(&self, name: &str) -> Option<&ArmInfo> {
        self.list.iter().find(|a| a.name == name)
    }

    pub fn baseline(&self) -> Option<&ArmInfo> {
        self.list.iter().find(|a| a.baseline)
    }

    pub fn protected(&self) -> impl Iterator<Item = &ArmInfo> {
        self.list.iter().filter(|a| !a.baseline)
    }

    /// Palette slot of an arm: 0 for the baseline, 1.. for the protected arms in order; an arm not in
    /// the list gets the slot after every listed one.
    pub fn slot(&self, name: &str) -> usize {
        match self.list.iter().find(|a| a.name == name) {
            Some(a) if a.baseline => 0,
            Some(_) => 1 + self.protected().position(|a| a.name == name).unwrap_or(0),
            None => 1 + self.protected().count(),
        }
    }

    pub fn color(&self, name: &str) -> Color {
        theme::arm_color(self.slot(name))
    }

    pub fn style(&self, name: &str) -> Style {
        Style::new().fg(self.color(name))
    }

    /// Width of the longest arm name (at least `min`).
    pub fn name_width(&self, min: usize) -> usize {
        self.names().map(|n| n.chars().count()).max().unwrap_or(0).max(min)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_baseline_keeps_its_colour_and_protected_arms_follow_in_order() {
        let arms = Arms::from_names(["pixel-permutation", "baseline", "block-shuffle", "fast-mix"]);
        assert_eq!(arms.color("baseline"), theme::BASELINE);
        assert_eq!(arms.slot("pixel-permutation"), 1);
        assert_eq!(arms.slot("block-shuffle"), 2);
        assert_eq!(arms.slot("fast-mix"), 3);
        assert_eq!(arms.slot("not-an-arm"), 4);
        let eight: Vec<String> = (0..7).map(|i| format!("arm{i}")).collect();
        let arms = Arms::from_names(std::iter::once("baseline").chain(eight.iter().map(String::as_str)));
        let colours: std::collections::HashSet<_> = arms.names().map(|n| arms.color(n)).collect();
        assert_eq!(colours.len(), 8, "eight arms, eight distinct colours");
    }
}
