//! One place for the look of every figure: colours (the same baseline/private colours in all figures),
//! font sizes and figure sizes.
//!
//! Colours are from the Okabe-Ito palette (distinguishable with the common colour-vision deficiencies);
//! the two arms also differ by marker shape, so figures survive grey-scale printing.

use plotters::style::{FontFamily, FontStyle, IntoFont, RGBColor, TextStyle};

use crate::scheme::family::Family;

/// The baseline arm (plain model on raw data): blue.
pub const BASELINE: RGBColor = RGBColor(0, 114, 178);
/// The private arm (keyed model on encoded data): vermilion.
pub const PRIVATE: RGBColor = RGBColor(213, 94, 0);
/// Chance level (an adversary who knows nothing): grey, dashed.
pub const CHANCE: RGBColor = RGBColor(120, 120, 120);
/// An attack record's reference value (`baseline` in attacks.json): black, dashed.
pub const REFERENCE: RGBColor = RGBColor(0, 0, 0);
/// Customer-side encoding cost.
pub const ENCODE: RGBColor = RGBColor(230, 159, 0);
/// Customer-side decoding cost.
pub const DECODE: RGBColor = RGBColor(150, 150, 150);
/// Grid lines.
pub const GRID: RGBColor = RGBColor(225, 225, 225);
/// Text and axes.
pub const INK: RGBColor = RGBColor(0, 0, 0);
/// Secondary text (notes inside figures).
pub const MUTED: RGBColor = RGBColor(90, 90, 90);

/// Series of attack curves (several curves on one chart), in order. None of them is an arm colour.
pub const SERIES: [RGBColor; 5] = [
    RGBColor(0, 158, 115),   // bluish green
    RGBColor(204, 121, 167), // reddish purple
    RGBColor(230, 159, 0),   // orange
    RGBColor(86, 180, 233),  // sky blue
    RGBColor(0, 0, 0),       // black
];

/// Arm colours in arm order (Okabe-Ito, colour-blind safe): the baseline is the run's first arm in
/// the two-arm form and always gets [`BASELINE`]; protected arms take the rest in config order.
/// None is [`ENCODE`] or [`DECODE`], which stack beside an arm's bar in the inference figure.
pub const ARMS: [RGBColor; 6] = [
    PRIVATE,                 // vermilion
    RGBColor(0, 158, 115),   // bluish green
    RGBColor(204, 121, 167), // reddish purple
    RGBColor(160, 140, 0),   // Okabe-Ito yellow, darkened to show on white
    RGBColor(86, 180, 233),  // sky blue
    RGBColor(0, 0, 0),       // black
];

/// The colour of an arm, used for it in every figure: [`BASELINE`] for the baseline, otherwise by
/// its position among the run's protected arms (`protected_index`).
pub fn arm_color(baseline: bool, protected_index: usize) -> RGBColor {
    if baseline {
        BASELINE
    } else {
        ARMS[protected_index % ARMS.len()]
    }
}

/// The colour of a scheme family (trade-off figure): Okabe-Ito, one per family, none of them the
/// yellow that vanishes on white.
pub fn family_color(family: Family) -> RGBColor {
    match family {
        Family::PixelPermutation => RGBColor(213, 94, 0), // vermilion
        Family::BlockShuffle => RGBColor(0, 114, 178),    // blue
        Family::OrthogonalMix => RGBColor(0, 158, 115),   // bluish green
        Family::SeparableMix => RGBColor(204, 121, 167),  // reddish purple
        Family::FastMix => RGBColor(160, 140, 0),         // Okabe-Ito yellow, darkened to show on white
        Family::Noise => RGBColor(230, 159, 0),           // orange
        Family::Combined => RGBColor(86, 180, 233),       // sky blue
        Family::Identity => RGBColor(0, 0, 0),            // black
        Family::Other => RGBColor(120, 120, 120),         // grey
    }
}

/// The n-th attack series colour.
pub fn series_color(i: usize) -> RGBColor {
    SERIES[i % SERIES.len()]
}

/// Font family name every figure uses; `plot::register_fonts` registers the embedded DejaVu Sans
/// under it.
pub const FONT: &str = "sans-serif";

// Font sizes are plotters sizes: the line height of the font. Glyphs come out about 1/1.24 of it
// (an em of 17.7-21 px for the sizes below), as in plotters' own SVG output, which writes
// `font-size = size / 1.24`. Chosen so that an 800 px wide figure stays readable at column width.

/// Figure title.
pub const TITLE_PX: u32 = 26;
/// Axis descriptions (with units).
pub const LABEL_PX: u32 = 24;
/// Tick labels.
pub const TICK_PX: u32 = 22;
/// Legend entries.
pub const LEGEND_PX: u32 = 22;
/// Notes and value annotations.
pub const NOTE_PX: u32 = 20;

/// Smallest title size before a title is cut with an ellipsis.
pub const TITLE_MIN_PX: u32 = 19;
/// Most lines a title wraps onto.
pub const TITLE_MAX_LINES: usize = 3;
/// Space left free on each side of a title.
pub const TITLE_SIDE_PX: u32 = 20;

/// Size of a one-panel figure (pixels): readable at a paper's column width.
pub const WIDTH: u32 = 800;
pub const HEIGHT: u32 = 520;
/// Height of each panel of a multi-panel (stacked) figure.
pub const PANEL_HEIGHT: u32 = 480;

/// Line width of data series.
pub const LINE_PX: u32 = 3;
/// Marker radius.
pub const MARKER_PX: u32 = 6;

pub fn text(px: u32) -> TextStyle<'static> {
    (FontFamily::Name(FONT), px as f64, FontStyle::Normal).into_font().color(&INK)
}

pub fn text_colored(px: u32, color: RGBColor) -> TextStyle<'static> {
    (FontFamily::Name(FONT), px as f64, FontStyle::Normal).into_font().color(&color)
}

/// Width in pixels of `s` set in the figure font at `px` (an estimate when the font is unavailable).
pub fn text_width(s: &str, px: u32) -> u32 {
    use plotters::style::FontDesc;
    FontDesc::new(FontFamily::Name(FONT), px as f64, FontStyle::Normal)
        .box_size(s)
        .map(|(w, _)| w)
        .unwrap_or((s.chars().count() as f64 * px as f64 * 0.6) as u32)
}

/// `s` in the largest size from `px` down to `min_px` that fits `max_w` pixels; cut with an ellipsis
/// when even `min_px` is too wide.
pub fn fit_text(s: &str, px: u32, min_px: u32, max_w: u32) -> (String, u32) {
    let mut size = px;
    while size > min_px && text_width(s, size) > max_w {
        size -= 1;
    }
    if text_width(s, size) <= max_w {
        return (s.to_string(), size);
    }
    let chars: Vec<char> = s.chars().collect();
    let mut n = chars.len();
    while n > 1 {
        n -= 1;
        let cut: String = chars[..n].iter().collect::<String>().trim_end().to_string() + "…";
        if text_width(&cut, size) <= max_w {
            return (cut, size);
        }
    }
    (s.to_string(), size)
}

/// `s` broken between words into lines of at most `max_w` pixels at `px` (a word wider than that
/// gets a line of its own).
fn wrap_words(s: &str, px: u32, max_w: u32) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut cur = String::new();
    for word in s.split_whitespace() {
        let candidate = if cur.is_empty() { word.to_string() } else { format!("{cur} {word}") };
        if cur.is_empty() || text_width(&candidate, px) <= max_w {
            cur = candidate;
        } else {
            lines.push(std::mem::take(&mut cur));
            cur = word.to_string();
        }
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

/// Word-wrap `s` into at most `max_lines` lines of `max_w` pixels, in the largest size from `px` down
/// to `min_px` that needs no cut; the last line is cut with an ellipsis when nothing fits.
pub fn wrap_text(s: &str, px: u32, min_px: u32, max_w: u32, max_lines: usize) -> (Vec<String>, u32) {
    let wrap = |size: u32| wrap_words(s, size, max_w);
    let mut size = px;
    loop {
        let lines = wrap(size);
        let fits = lines.len() <= max_lines && lines.iter().all(|l| text_width(l, size) <= max_w);
        if fits {
            return (lines, size);
        }
        if size <= min_px {
            let cut = lines.len() > max_lines;
            let mut lines: Vec<String> = lines.into_iter().take(max_lines).collect();
            // A single word wider than the line is cut too, wherever it is.
            for line in lines.iter_mut() {
                *line = fit_text(line, size, size, max_w).0;
            }
            if cut {
                if let Some(last) = lines.last_mut() {
                    *last = fit_text(&format!("{last} …"), size, size, max_w).0;
                }
            }
            return (lines, size);
        }
        size -= 1;
    }
}

/// A figure title set for a figure `width` pixels wide: wrapped onto up to [`TITLE_MAX_LINES`] lines,
/// then set smaller, then cut with an ellipsis, so that no line is wider than the figure minus
/// [`TITLE_SIDE_PX`] on each side. A title too long for one line breaks first at its
/// [`TITLE_PART_SEPARATOR`]s (what, then on which data), then between words. `height` is the strip
/// the title takes at the top of the figure.
#[derive(Debug, Clone, PartialEq)]
pub struct TitleLayout {
    pub lines: Vec<String>,
    pub px: u32,
    pub height: u32,
}

impl TitleLayout {
    /// Vertical distance between the centres of two lines.
    pub fn line_step(&self) -> u32 {
        self.px + 4
    }

    /// Height beyond a one-line title: figures grow by it, so that a long title takes no room from
    /// the plot.
    pub fn extra_height(&self) -> u32 {
        self.height.saturating_sub(TITLE_PX + 18)
    }

    /// Widest line that fits.
    pub fn max_width(figure_width: u32) -> u32 {
        figure_width.saturating_sub(2 * TITLE_SIDE_PX)
    }
}

/// Separates the parts of a title ("Key space — Fashion-MNIST (6k/1k subset)"); a title that needs
/// several lines starts a new line at each one, and drops it.
pub const TITLE_PART_SEPARATOR: &str = " — ";

/// Lay out `title` for a figure `width` pixels wide (see [`TitleLayout`]).
pub fn title_layout(title: &str, width: u32) -> TitleLayout {
    let max_w = TitleLayout::max_width(width);
    let by_parts = || {
        for px in (TITLE_MIN_PX..=TITLE_PX).rev() {
            let lines: Vec<String> =
                title.split(TITLE_PART_SEPARATOR).flat_map(|part| wrap_words(part, px, max_w)).collect();
            if lines.len() <= TITLE_MAX_LINES && lines.iter().all(|l| text_width(l, px) <= max_w) {
                return Some((lines, px));
            }
        }
        None
    };
    let (lines, px) = if text_width(title, TITLE_PX) <= max_w {
        (vec![title.to_string()], TITLE_PX)
    } else {
        by_parts().unwrap_or_else(|| wrap_text(title, TITLE_PX, TITLE_MIN_PX, max_w, TITLE_MAX_LINES))
    };
    let n = lines.len().max(1) as u32;
    // One line: the 44 px strip every figure had; each further line adds a line step.
    let height = px + 18 + (n - 1) * (px + 4);
    TitleLayout { lines, px, height }
}
