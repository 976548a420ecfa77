//! Rendering machinery shared by every figure: one drawing routine per figure, rendered to PNG and SVG
//! (atomically), a legend drawn in its own strip so it never covers data, an x-y chart with the house
//! style, and bitmap images (sample panels) embedded losslessly in both formats.

use std::ops::Range;
use std::path::{Path, PathBuf};

use anyhow::Context;
use plotters::coord::combinators::LogCoord;
use plotters::coord::ranged1d::{AsRangedCoord, DefaultFormatting, KeyPointHint, Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::style::{self, text, INK};
use crate::atomic;

/// A bitmap placed on a figure, in pixels: `rgb` holds `iw x ih` RGB pixels shown scaled (nearest
/// neighbour) into the `w x h` box at `(x, y)`.
#[derive(Debug, Clone)]
pub(crate) struct Placed {
    pub x: i32,
    pub y: i32,
    pub w: u32,
    pub h: u32,
    pub iw: u32,
    pub ih: u32,
    pub rgb: Vec<u8>,
}

/// A figure: draws itself on any plotters backend; bitmaps go to `images` (the renderer embeds them
/// the way each format does best).
pub(crate) trait Figure {
    /// File stem: `figures/NAME.png` and `figures/NAME.svg`.
    fn name(&self) -> String;
    fn size(&self) -> (u32, u32);
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, images: &mut Vec<Placed>) -> anyhow::Result<()>
    where
        DB::ErrorType: 'static;
}

/// Render `fig` into `dir` as NAME.png and NAME.svg (temporary names, then renamed); returns both paths.
pub(crate) fn render<F: Figure>(fig: &F, dir: &Path) -> anyhow::Result<[PathBuf; 2]> {
    let name = fig.name();
    let (w, h) = fig.size();
    let png = dir.join(format!("{name}.png"));
    let svg = dir.join(format!("{name}.svg"));

    // PNG: the bitmap backend picks the encoder from the extension, so the temporary name ends in .png.
    let tmp = dir.join(format!(".{name}.{}.tmp.png", std::process::id()));
    let result = (|| -> anyhow::Result<()> {
        let root = BitMapBackend::new(&tmp, (w, h)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut images = Vec::new();
        fig.draw(&root, &mut images)?;
        for p in &images {
            let buf = upscale(p);
            if let Some(el) = BitMapElement::<(i32, i32)>::with_owned_buffer((p.x, p.y), (p.w, p.h), buf) {
                root.draw(&el)?;
            }
        }
        root.present()?;
        Ok(())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e.context(format!("rendering {}", png.display())));
    }
    std::fs::rename(&tmp, &png).with_context(|| format!("cannot rename {} to {}", tmp.display(), png.display()))?;

    // SVG: rendered into a string, bitmaps embedded as <image> elements with PNG data URLs.
    let mut body = String::new();
    {
        let root = SVGBackend::with_string(&mut body, (w, h)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut images = Vec::new();
        fig.draw(&root, &mut images).with_context(|| format!("rendering {}", svg.display()))?;
        root.present()?;
        drop(root);
        if !images.is_empty() {
            let mut tags = String::new();
            for p in &images {
                tags.push_str(&svg_image_tag(p)?);
            }
            match body.rfind("</svg>") {
                Some(at) => body.insert_str(at, &tags),
                None => body.push_str(&tags),
            }
        }
    }
    atomic::write(&svg, body.as_bytes())?;
    Ok([png, svg])
}

/// Nearest-neighbour scaling of a placed bitmap to its box.
fn upscale(p: &Placed) -> Vec<u8> {
    let mut out = vec![0u8; (p.w * p.h * 3) as usize];
    for y in 0..p.h {
        let sy = (y * p.ih / p.h.max(1)).min(p.ih - 1);
        for x in 0..p.w {
            let sx = (x * p.iw / p.w.max(1)).min(p.iw - 1);
            let s = ((sy * p.iw + sx) * 3) as usize;
            let d = ((y * p.w + x) * 3) as usize;
            out[d..d + 3].copy_from_slice(&p.rgb[s..s + 3]);
        }
    }
    out
}

fn svg_image_tag(p: &Placed) -> anyhow::Result<String> {
    let mut png = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut png, p.iw, p.ih);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().context("encoding an embedded image")?;
        writer.write_image_data(&p.rgb).context("encoding an embedded image")?;
    }
    Ok(format!(
        "<image x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" preserveAspectRatio=\"none\" \
         style=\"image-rendering:pixelated;image-rendering:crisp-edges\" href=\"data:image/png;base64,{}\"/>\n",
        p.x,
        p.y,
        p.w,
        p.h,
        base64(&png)
    ))
}

fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        out.push(A[(n >> 18) as usize & 63] as char);
        out.push(A[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 { A[(n >> 6) as usize & 63] as char } else { '=' });
        out.push(if chunk.len() > 2 { A[n as usize & 63] as char } else { '=' });
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Markers and legends

/// Marker shapes; the two arms always use different ones.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Marker {
    Circle,
    Triangle,
    Square,
    Diamond,
    /// A hollow circle: a point that is not a finished result (e.g. an interrupted run).
    Ring,
    /// Point down.
    TriangleDown,
    /// A diagonal cross.
    Cross,
}

/// An arm's marker: a circle for the baseline, then by position among the protected arms.
pub(crate) fn arm_marker(baseline: bool, protected_index: usize) -> Marker {
    if baseline {
        Marker::Circle
    } else {
        [Marker::Triangle, Marker::Square, Marker::Diamond][protected_index % 3]
    }
}

pub(crate) fn series_marker(i: usize) -> Marker {
    [Marker::Circle, Marker::Square, Marker::Triangle, Marker::Diamond][i % 4]
}

/// How a legend entry is drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Swatch {
    Line(RGBColor, Option<Marker>),
    Dashed(RGBColor, Option<Marker>),
    Dotted(RGBColor),
    Marker(RGBColor, Marker),
    Box(RGBColor),
}

#[derive(Debug, Clone)]
pub(crate) struct LegendItem {
    pub label: String,
    pub swatch: Swatch,
}

const SWATCH_W: i32 = 40;
const SWATCH_GAP: i32 = 8;
const ITEM_GAP: i32 = 26;
const ROW_H: u32 = 34;

/// Draw one marker centred at pixel `(x, y)`.
pub(crate) fn draw_marker_px<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    (x, y): (i32, i32),
    marker: Marker,
    color: RGBColor,
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let r = style::MARKER_PX as i32;
    let fill = color.filled();
    match marker {
        Marker::Circle => area.draw(&Circle::new((x, y), r, fill))?,
        Marker::Ring => area.draw(&Circle::new((x, y), r, color.stroke_width(2)))?,
        Marker::Square => area.draw(&Rectangle::new([(x - r + 1, y - r + 1), (x + r - 1, y + r - 1)], fill))?,
        Marker::Triangle => {
            area.draw(&Polygon::new(vec![(x, y - r - 1), (x - r - 1, y + r), (x + r + 1, y + r)], fill))?
        }
        Marker::Diamond => {
            area.draw(&Polygon::new(vec![(x, y - r - 1), (x + r + 1, y), (x, y + r + 1), (x - r - 1, y)], fill))?
        }
        Marker::TriangleDown => {
            area.draw(&Polygon::new(vec![(x, y + r + 1), (x - r - 1, y - r), (x + r + 1, y - r)], fill))?
        }
        Marker::Cross => {
            let st = ShapeStyle::from(color).stroke_width(3);
            area.draw(&PathElement::new(vec![(x - r, y - r), (x + r, y + r)], st))?;
            area.draw(&PathElement::new(vec![(x - r, y + r), (x + r, y - r)], st))?;
        }
    }
    Ok(())
}

/// Rows of item indices that fit in `width` pixels.
fn legend_layout<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    items: &[LegendItem],
    width: u32,
) -> anyhow::Result<Vec<(Vec<usize>, i32)>>
where
    DB::ErrorType: 'static,
{
    let font = text(style::LEGEND_PX);
    let mut rows: Vec<(Vec<usize>, i32)> = Vec::new();
    let mut row: Vec<usize> = Vec::new();
    let mut used = 0i32;
    for (i, item) in items.iter().enumerate() {
        let (tw, _) = area.estimate_text_size(&item.label, &font)?;
        let w = SWATCH_W + SWATCH_GAP + tw as i32;
        let extra = if row.is_empty() { w } else { ITEM_GAP + w };
        if !row.is_empty() && used + extra > width as i32 - 20 {
            rows.push((std::mem::take(&mut row), used));
            used = w;
        } else {
            used += extra;
        }
        row.push(i);
    }
    if !row.is_empty() {
        rows.push((row, used));
    }
    Ok(rows)
}

/// Height of the legend strip for `items` at `width`.
pub(crate) fn legend_height<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    items: &[LegendItem],
    width: u32,
) -> anyhow::Result<u32>
where
    DB::ErrorType: 'static,
{
    if items.is_empty() {
        return Ok(0);
    }
    Ok(legend_layout(area, items, width)?.len() as u32 * ROW_H + 10)
}

/// Draw the legend, rows centred, in its own strip (outside the plotting area).
pub(crate) fn draw_legend<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, items: &[LegendItem]) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    if items.is_empty() {
        return Ok(());
    }
    let (w, _) = area.dim_in_pixel();
    let font = text(style::LEGEND_PX);
    let rows = legend_layout(area, items, w)?;
    for (r, (row, used)) in rows.iter().enumerate() {
        let mut x = (w as i32 - used) / 2;
        let y = 4 + r as i32 * ROW_H as i32 + ROW_H as i32 / 2;
        for &i in row {
            let item = &items[i];
            draw_swatch(area, (x, y), item.swatch)?;
            let tx = x + SWATCH_W + SWATCH_GAP;
            area.draw(&Text::new(
                item.label.clone(),
                (tx, y),
                font.pos(plotters::style::text_anchor::Pos::new(
                    plotters::style::text_anchor::HPos::Left,
                    plotters::style::text_anchor::VPos::Center,
                )),
            ))?;
            let (tw, _) = area.estimate_text_size(&item.label, &font)?;
            x = tx + tw as i32 + ITEM_GAP;
        }
    }
    Ok(())
}

fn draw_swatch<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    (x, y): (i32, i32),
    swatch: Swatch,
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let line = |c: RGBColor| ShapeStyle::from(c).stroke_width(style::LINE_PX);
    match swatch {
        Swatch::Line(c, marker) => {
            area.draw(&PathElement::new(vec![(x, y), (x + SWATCH_W, y)], line(c)))?;
            if let Some(m) = marker {
                draw_marker_px(area, (x + SWATCH_W / 2, y), m, c)?;
            }
        }
        Swatch::Dashed(c, marker) => {
            for k in 0..3 {
                let x0 = x + k * 15;
                area.draw(&PathElement::new(vec![(x0, y), ((x0 + 10).min(x + SWATCH_W), y)], line(c)))?;
            }
            if let Some(m) = marker {
                draw_marker_px(area, (x + SWATCH_W / 2, y), m, c)?;
            }
        }
        Swatch::Dotted(c) => {
            for k in 0..6 {
                let x0 = x + 2 + k * 7;
                area.draw(&PathElement::new(vec![(x0, y), (x0 + 3, y)], line(c)))?;
            }
        }
        Swatch::Marker(c, m) => draw_marker_px(area, (x + SWATCH_W / 2, y), m, c)?,
        Swatch::Box(c) => area.draw(&Rectangle::new([(x + 6, y - 9), (x + SWATCH_W - 6, y + 9)], c.filled()))?,
    }
    Ok(())
}

/// Draw a centred title (wrapped or shortened to the area's width: [`style::title_layout`]) and return
/// the area below it.
pub(crate) fn titled<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
) -> anyhow::Result<DrawingArea<DB, Shift>>
where
    DB::ErrorType: 'static,
{
    let (w, _) = area.dim_in_pixel();
    let layout = style::title_layout(title, w);
    let (top, rest) = area.split_vertically(layout.height);
    let centred = text(layout.px).pos(plotters::style::text_anchor::Pos::new(
        plotters::style::text_anchor::HPos::Center,
        plotters::style::text_anchor::VPos::Center,
    ));
    for (i, line) in layout.lines.iter().enumerate() {
        let y = 11 + layout.px as i32 / 2 + i as i32 * layout.line_step() as i32;
        top.draw(&Text::new(line.clone(), (w as i32 / 2, y), centred.clone()))?;
    }
    Ok(rest)
}

/// Split off a legend strip at the bottom of `area` and draw `items` in it; returns the area above.
pub(crate) fn with_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    items: &[LegendItem],
) -> anyhow::Result<DrawingArea<DB, Shift>>
where
    DB::ErrorType: 'static,
{
    let (w, h) = area.dim_in_pixel();
    // An entry wider than the strip is cut with an ellipsis, never clipped at the figure's edge.
    let room = (w as i32 - 20 - SWATCH_W - SWATCH_GAP).max(40) as u32;
    let items: Vec<LegendItem> = items
        .iter()
        .map(|i| LegendItem {
            label: style::fit_text(&i.label, style::LEGEND_PX, style::LEGEND_PX, room).0,
            swatch: i.swatch,
        })
        .collect();
    let lh = legend_height(area, &items, w)?;
    if lh == 0 {
        return Ok(area.clone());
    }
    let (top, bottom) = area.split_vertically(h.saturating_sub(lh));
    draw_legend(&bottom, &items)?;
    Ok(top)
}

// ---------------------------------------------------------------------------------------------
// Ticks and number formats

/// A coordinate with exactly the tick positions we chose (labels are formatted by the charts).
#[derive(Clone)]
pub(crate) struct Ticked<R> {
    inner: R,
    ticks: Vec<f64>,
}

impl<R: Ranged<ValueType = f64>> Ranged for Ticked<R> {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.inner.range()
    }

    fn axis_pixel_range(&self, limit: (i32, i32)) -> Range<i32> {
        self.inner.axis_pixel_range(limit)
    }
}

/// A linear axis over `r` with ticks `ticks`.
pub(crate) fn linear(r: Range<f64>, ticks: Vec<f64>) -> Ticked<RangedCoordf64> {
    Ticked { inner: r.into(), ticks }
}

/// A logarithmic axis over `r` with ticks `ticks`.
pub(crate) fn logarithmic(r: Range<f64>, ticks: Vec<f64>) -> Ticked<LogCoord<f64>> {
    Ticked { inner: r.log_scale().into(), ticks }
}

/// About `target` round tick values covering `lo..hi` (steps 1, 2, 2.5, 5 times a power of ten).
pub(crate) fn nice_ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        return vec![lo];
    }
    let raw = (hi - lo) / target.max(1) as f64;
    let e = raw.log10().floor() as i32;
    let mag = 10f64.powi(e);
    let m = [1.0, 2.0, 2.5, 5.0, 10.0].into_iter().find(|m| m * mag >= raw).unwrap_or(10.0);
    let step = m * mag;
    // k * m * 10^e, computed so that 3 x 0.2 prints as 0.6 (divide by 10^-e rather than multiply by 10^e).
    let value = |k: f64| if e < 0 { k * m / 10f64.powi(-e) } else { k * m * mag };
    let first = (lo / step - 1e-9).ceil();
    let mut out = Vec::new();
    let mut k = first;
    while value(k) <= hi + step * 1e-9 && out.len() < 1000 {
        let v = value(k);
        out.push(if v.abs() < step * 1e-9 { 0.0 } else { v });
        k += 1.0;
    }
    out
}

/// Integer ticks for a count axis (epochs): every one, or a round step when there are many.
pub(crate) fn integer_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let (a, b) = (lo.ceil() as i64, hi.floor() as i64);
    let n = (b - a + 1).max(1);
    let step = match n {
        0..=12 => 1,
        13..=30 => 2,
        31..=75 => 5,
        _ => ((n as f64 / 10.0).ceil() as i64).max(1),
    };
    (a..=b).filter(|v| (v - a) % step == 0).map(|v| v as f64).collect()
}

/// Ticks for a log axis over `lo..hi`: the decades inside, with 2x and 5x when there are few.
pub(crate) fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let out = round_log_ticks(lo, hi);
    if out.len() < 2 {
        vec![lo, hi]
    } else {
        out
    }
}

/// The round values (decades, or 1-2-5 when there are few decades) inside `lo..hi`.
fn round_log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    if !(lo > 0.0 && hi > lo && hi.is_finite()) {
        return Vec::new();
    }
    let (a, b) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    let decades: Vec<f64> = (a..=b).map(|k| 10f64.powi(k)).filter(|v| *v >= lo * 0.999 && *v <= hi * 1.001).collect();
    let mults: &[f64] = if decades.len() >= 3 { &[1.0] } else { &[1.0, 2.0, 5.0] };
    (a..=b)
        .flat_map(|k| mults.iter().map(move |m| m * 10f64.powi(k)))
        .filter(|v| *v >= lo * 0.999 && *v <= hi * 1.001)
        .collect()
}

/// Tick labels of one axis: thousands as k (or M) on every tick once the largest reaches 10,000.
pub(crate) fn fmt_axis(v: f64, max_abs: f64) -> String {
    if max_abs >= 1e7 {
        return fmt_tick_unit(v / 1e6, "M");
    }
    if max_abs >= 1e4 {
        return fmt_tick_unit(v / 1e3, "k");
    }
    fmt_tick(v)
}

fn fmt_tick_unit(v: f64, unit: &str) -> String {
    if v == 0.0 {
        "0".into()
    } else {
        format!("{}{unit}", fmt_tick(v))
    }
}

/// A compact number for tick labels: no trailing zeros, thousands as k / M past 10,000.
pub(crate) fn fmt_tick(v: f64) -> String {
    let a = v.abs();
    if a >= 1e7 {
        return format!("{:.0}M", v / 1e6);
    }
    if a >= 1e4 {
        let k = v / 1e3;
        return if (k - k.round()).abs() < 1e-9 { format!("{:.0}k", k) } else { format!("{:.1}k", k) };
    }
    let s = if a >= 100.0 || (v - v.round()).abs() < 1e-9 {
        format!("{:.0}", v)
    } else if a >= 1.0 {
        format!("{:.2}", v)
    } else {
        format!("{:.3}", v)
    };
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// `v` with about three significant digits (annotations: 0.0847 -> "0.0847", 2.14 -> "2.14", 123.4 -> "123").
pub(crate) fn fmt_sig(v: f64) -> String {
    let a = v.abs();
    if a >= 1000.0 {
        return fmt_thousands(v);
    }
    let digits = if a == 0.0 { 0 } else { (2 - a.log10().floor() as i32).clamp(0, 6) as usize };
    format!("{v:.digits$}")
}

/// A number with thousands separators (for annotations).
pub(crate) fn fmt_thousands(v: f64) -> String {
    let s = format!("{:.0}", v.abs());
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if v < 0.0 {
        format!("-{out}")
    } else {
        out
    }
}

// ---------------------------------------------------------------------------------------------
// The x-y chart

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum LineKind {
    Solid,
    Dashed,
    None,
}

#[derive(Debug, Clone)]
pub(crate) struct Series {
    pub label: String,
    pub points: Vec<(f64, f64)>,
    pub color: RGBColor,
    pub line: LineKind,
    pub marker: Option<Marker>,
    /// Drawn 1 px thinner than usual, so that a curve it covers exactly stays visible around it
    /// (the private arm on top of the baseline's, which pixel permutation makes identical).
    pub on_top: bool,
}

/// A horizontal reference line across the chart (chance, reference value).
#[derive(Debug, Clone)]
pub(crate) struct HLine {
    pub label: String,
    pub y: f64,
    pub color: RGBColor,
    pub dotted: bool,
}

/// A vertical reference line across the chart (e.g. no accuracy change).
#[derive(Debug, Clone)]
pub(crate) struct VLine {
    pub label: String,
    pub x: f64,
    pub color: RGBColor,
    pub dotted: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum XTicks {
    Auto,
    Integer,
    Log,
}

/// An x-y chart: series and reference lines, a legend strip below, an optional title above.
#[derive(Debug, Clone)]
pub(crate) struct XyChart {
    pub title: Option<String>,
    pub x_desc: String,
    pub y_desc: String,
    pub x_ticks: XTicks,
    /// Fixed x range (otherwise from the data, padded).
    pub x_fixed: Option<Range<f64>>,
    /// Fixed y range (otherwise from the data, padded).
    pub y_range: Option<Range<f64>>,
    /// Keep 0 inside the y range.
    pub y_from_zero: bool,
    pub series: Vec<Series>,
    pub hlines: Vec<HLine>,
    pub vlines: Vec<VLine>,
    /// Named columns instead of a numeric x axis (strip plots): column i is centred on x = i, its name
    /// is the tick label.
    pub x_categories: Vec<String>,
    /// A short note drawn in the top-left corner of the plotting area (e.g. "no data").
    pub note: Option<String>,
    /// Text labels next to data points (scatter plots).
    pub point_labels: Vec<((f64, f64), String)>,
}

impl XyChart {
    pub fn new(x_desc: impl Into<String>, y_desc: impl Into<String>) -> Self {
        XyChart {
            title: None,
            x_desc: x_desc.into(),
            y_desc: y_desc.into(),
            x_ticks: XTicks::Auto,
            x_fixed: None,
            y_range: None,
            y_from_zero: false,
            series: Vec::new(),
            hlines: Vec::new(),
            vlines: Vec::new(),
            x_categories: Vec::new(),
            note: None,
            point_labels: Vec::new(),
        }
    }

    pub fn legend_items(&self) -> Vec<LegendItem> {
        let mut items: Vec<LegendItem> = self
            .series
            .iter()
            .filter(|s| !s.label.is_empty())
            .map(|s| LegendItem {
                label: s.label.clone(),
                swatch: match s.line {
                    LineKind::Solid => Swatch::Line(s.color, s.marker),
                    LineKind::Dashed => Swatch::Dashed(s.color, s.marker),
                    LineKind::None => Swatch::Marker(s.color, s.marker.unwrap_or(Marker::Circle)),
                },
            })
            .collect();
        items.extend(self.hlines.iter().map(|h| LegendItem {
            label: h.label.clone(),
            swatch: if h.dotted { Swatch::Dotted(h.color) } else { Swatch::Dashed(h.color, None) },
        }));
        items.extend(self.vlines.iter().map(|v| LegendItem {
            label: v.label.clone(),
            swatch: if v.dotted { Swatch::Dotted(v.color) } else { Swatch::Dashed(v.color, None) },
        }));
        items
    }

    pub(crate) fn x_range(&self) -> Range<f64> {
        if !self.x_categories.is_empty() {
            return -0.5..self.x_categories.len() as f64 - 0.5;
        }
        if let Some(r) = &self.x_fixed {
            return r.clone();
        }
        let xs: Vec<f64> = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0))
            .chain(self.vlines.iter().map(|v| v.x))
            .filter(|x| x.is_finite() && (self.x_ticks != XTicks::Log || *x > 0.0))
            .collect();
        let (lo, hi) = min_max(&xs).unwrap_or((1.0, 10.0));
        match self.x_ticks {
            XTicks::Log => {
                let (l, h) = (lo.log10(), hi.log10());
                let pad = ((h - l) * 0.06).max(0.08);
                let (mut a, mut b) = (10f64.powf(l - pad), 10f64.powf(h + pad));
                // At least two round ticks (1, 2, 5 x 10^k) inside the axis.
                for _ in 0..20 {
                    if round_log_ticks(a, b).len() >= 2 {
                        break;
                    }
                    a /= 1.4;
                    b *= 1.4;
                }
                a..b
            }
            XTicks::Integer => (lo - 0.3).min(lo - 0.05 * (hi - lo))..(hi + 0.3).max(hi + 0.05 * (hi - lo)),
            XTicks::Auto => pad_range(lo, hi, 0.03, false),
        }
    }

    pub(crate) fn y_range(&self) -> Range<f64> {
        if let Some(r) = &self.y_range {
            return r.clone();
        }
        let mut ys: Vec<f64> =
            self.series.iter().flat_map(|s| s.points.iter().map(|p| p.1)).filter(|y| y.is_finite()).collect();
        ys.extend(self.hlines.iter().map(|h| h.y).filter(|y| y.is_finite()));
        let (lo, hi) = min_max(&ys).unwrap_or((0.0, 1.0));
        pad_range(lo, hi, 0.07, self.y_from_zero)
    }

    /// Draw on `area` (title, plot, legend strip).
    pub fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> anyhow::Result<()>
    where
        DB::ErrorType: 'static,
    {
        let body = match &self.title {
            Some(t) => titled(area, t)?,
            None => area.clone(),
        };
        let plot = with_legend(&body, &self.legend_items())?;
        let xr = self.x_range();
        let yr = self.y_range();
        let yt = nice_ticks(yr.start, yr.end, 6);
        if !self.x_categories.is_empty() {
            let ticks = (0..self.x_categories.len()).map(|i| i as f64).collect();
            return self.plot(&plot, linear(xr, ticks), linear(yr, yt));
        }
        match self.x_ticks {
            XTicks::Log => {
                let ticks = log_ticks(xr.start, xr.end);
                self.plot(&plot, logarithmic(xr, ticks), linear(yr, yt))
            }
            XTicks::Integer => {
                let ticks = integer_ticks(xr.start, xr.end);
                self.plot(&plot, linear(xr, ticks), linear(yr, yt))
            }
            XTicks::Auto => {
                let ticks = nice_ticks(xr.start, xr.end, 6);
                self.plot(&plot, linear(xr, ticks), linear(yr, yt))
            }
        }
    }

    fn plot<DB, X, Y>(&self, area: &DrawingArea<DB, Shift>, x: X, y: Y) -> anyhow::Result<()>
    where
        DB: DrawingBackend,
        DB::ErrorType: 'static,
        X: AsRangedCoord<Value = f64>,
        X::CoordDescType: ValueFormatter<f64>,
        Y: AsRangedCoord<Value = f64>,
        Y::CoordDescType: ValueFormatter<f64>,
    {
        let (xr, yr) = (self.x_range(), self.y_range());
        let (x_max_abs, y_max_abs) = (xr.start.abs().max(xr.end.abs()), yr.start.abs().max(yr.end.abs()));
        // Log axes label each decade on its own (1, 10, 100, 1000, 10k), not in one unit.
        let x_max_abs = if self.x_ticks == XTicks::Log { 0.0 } else { x_max_abs };
        let (w, h) = area.dim_in_pixel();
        // Axis descriptions must fit along their axes: wrapped (y), smaller type, then an ellipsis.
        let (y_lines, y_px) = style::wrap_text(&self.y_desc, style::LABEL_PX, 16, h.saturating_sub(72 + 30), 2);
        let (x_desc, x_px) = style::fit_text(&self.x_desc, style::LABEL_PX, 15, w.saturating_sub(90 + 40));
        let y_area = 66 + y_lines.len() as u32 * (y_px + 4);
        let x_max = x_max_abs;
        let y_max = y_max_abs;
        // Column names of a strip plot: all in one size that lets each fit its column.
        let (categories, cat_px) = fit_columns(&self.x_categories, w.saturating_sub(y_area + 36));
        let x_fmt = |v: &f64| -> String {
            if categories.is_empty() {
                return fmt_axis(*v, x_max);
            }
            let k = v.round();
            if (v - k).abs() > 1e-6 || k < 0.0 {
                return String::new();
            }
            categories.get(k as usize).cloned().unwrap_or_default()
        };
        let mut chart = ChartBuilder::on(area)
            .margin_top(12)
            .margin_right(28)
            .margin_left(8)
            .x_label_area_size(72)
            .y_label_area_size(y_area)
            .build_cartesian_2d(x, y)?;
        chart
            .configure_mesh()
            .bold_line_style(style::GRID)
            .light_line_style(TRANSPARENT)
            .axis_style(ShapeStyle::from(INK).stroke_width(1))
            .x_desc(x_desc)
            .label_style(text(style::TICK_PX))
            .x_label_style(text(cat_px))
            .axis_desc_style(text(x_px))
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&|v| fmt_axis(*v, y_max))
            .draw()?;
        draw_y_desc(area, chart.plotting_area(), &y_lines, y_px)?;
        let xr = chart.x_range();
        let yr = chart.y_range();
        for v in &self.vlines {
            let st = ShapeStyle::from(v.color).stroke_width(2);
            let pts = vec![(v.x, yr.start), (v.x, yr.end)];
            if v.dotted {
                chart.draw_series(DashedLineSeries::new(pts, 3, 5, st))?;
            } else {
                chart.draw_series(DashedLineSeries::new(pts, 10, 6, st))?;
            }
        }
        for h in &self.hlines {
            let st = ShapeStyle::from(h.color).stroke_width(2);
            let pts = vec![(xr.start, h.y), (xr.end, h.y)];
            if h.dotted {
                chart.draw_series(DashedLineSeries::new(pts, 3, 5, st))?;
            } else {
                chart.draw_series(DashedLineSeries::new(pts, 10, 6, st))?;
            }
        }
        for s in &self.series {
            // Dense series get thinner lines so that they stay readable.
            let width = if s.points.len() > 60 { 2 } else { style::LINE_PX } - u32::from(s.on_top);
            let st = ShapeStyle::from(s.color).stroke_width(width);
            match s.line {
                LineKind::Solid if s.points.len() > 1 => {
                    chart.draw_series(LineSeries::new(s.points.iter().copied(), st))?;
                }
                LineKind::Dashed if s.points.len() > 1 => {
                    chart.draw_series(DashedLineSeries::new(s.points.iter().copied(), 10, 6, st))?;
                }
                _ => {}
            }
            let marker = match (s.marker, s.line, s.points.len()) {
                (Some(m), _, _) => Some(m),
                // A lone point of a line series still has to show.
                (None, _, 1) | (None, LineKind::None, _) => Some(Marker::Circle),
                _ => None,
            };
            if let Some(m) = marker {
                let pa = chart.plotting_area();
                for &(px, py) in &s.points {
                    let at = pa.map_coordinate(&(px, py));
                    draw_marker_on(pa, at, m, s.color)?;
                }
            }
        }
        if !self.point_labels.is_empty() {
            let pa = chart.plotting_area();
            let plain = pa.strip_coord_spec();
            let (bx, by) = plain.get_base_pixel();
            let (w, h) = plain.dim_in_pixel();
            use plotters::style::text_anchor::{HPos, Pos, VPos};
            let font = text(style::NOTE_PX);
            let mut anchors = Vec::new();
            let mut sizes = Vec::new();
            for ((x, y), label) in &self.point_labels {
                let at = pa.map_coordinate(&(*x, *y));
                anchors.push((at.0 - bx, at.1 - by));
                let (tw, th) = plain.estimate_text_size(label, &font)?;
                sizes.push((tw as i32 + 4, th as i32 + 2));
            }
            // Labels keep clear of horizontal segments (interval bars) too.
            let mut obstacles = Vec::new();
            for s in &self.series {
                if let [a, b] = s.points.as_slice() {
                    if s.line != LineKind::None && a.1 == b.1 {
                        let (p, q) = (pa.map_coordinate(a), pa.map_coordinate(b));
                        let (x0, x1) = (p.0.min(q.0) - bx, p.0.max(q.0) - bx);
                        obstacles.push(LabelBox { x: x0, y: p.1 - by - 3, w: x1 - x0, h: 6, far: false });
                    }
                }
            }
            // So are the reference lines.
            for v in &self.vlines {
                let x = pa.map_coordinate(&(v.x, yr.start)).0 - bx;
                obstacles.push(LabelBox { x: x - 2, y: 0, w: 4, h: h as i32, far: false });
            }
            for l in &self.hlines {
                let y = pa.map_coordinate(&(xr.start, l.y)).1 - by;
                obstacles.push(LabelBox { x: 0, y: y - 2, w: w as i32, h: 4, far: false });
            }
            let boxes = place_labels(&anchors, &sizes, &obstacles, (w as i32, h as i32));
            for (((_, label), b), &(px, py)) in self.point_labels.iter().zip(&boxes).zip(&anchors) {
                if b.far {
                    // A leader line from the point to the label's nearest edge.
                    let tx = px.clamp(b.x, b.x + b.w);
                    let ty = py.clamp(b.y, b.y + b.h);
                    plain.draw(&PathElement::new(
                        vec![(px, py), (tx, ty)],
                        ShapeStyle::from(style::MUTED).stroke_width(1),
                    ))?;
                }
                plain.draw(&Text::new(
                    label.clone(),
                    (b.x + 2, b.y + b.h / 2),
                    font.pos(Pos::new(HPos::Left, VPos::Center)),
                ))?;
            }
        }
        if let Some(note) = &self.note {
            let plain = chart.plotting_area().strip_coord_spec();
            plain.draw(&Text::new(note.clone(), (10, 8), text(style::NOTE_PX).color(&style::MUTED)))?;
        }
        Ok(())
    }
}

/// The y-axis description, rotated, one or two lines, centred on the plotting area `pa`, at the left
/// edge of `area` (inside the chart's 8 px margin).
fn draw_y_desc<DB: DrawingBackend, CT: plotters::coord::CoordTranslate>(
    area: &DrawingArea<DB, Shift>,
    pa: &DrawingArea<DB, CT>,
    lines: &[String],
    px: u32,
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    use plotters::style::text_anchor::{HPos, Pos, VPos};
    use plotters::style::FontTransform;
    let (_, ay) = area.get_base_pixel();
    let plain = pa.strip_coord_spec();
    let (_, py) = plain.get_base_pixel();
    let (_, ph) = plain.dim_in_pixel();
    let yc = py - ay + ph as i32 / 2;
    let st = text(px).transform(FontTransform::Rotate270).pos(Pos::new(HPos::Center, VPos::Top));
    for (k, line) in lines.iter().enumerate() {
        area.draw(&Text::new(line.clone(), (8 + k as i32 * (px as i32 + 4), yc), st.clone()))?;
    }
    Ok(())
}

/// Markers on a coordinate-mapped area, given the pixel position (absolute backend coordinates).
fn draw_marker_on<DB: DrawingBackend, CT: plotters::coord::CoordTranslate>(
    pa: &DrawingArea<DB, CT>,
    at: (i32, i32),
    marker: Marker,
    color: RGBColor,
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let plain = pa.strip_coord_spec();
    let (bx, by) = plain.get_base_pixel();
    draw_marker_px(&plain, (at.0 - bx, at.1 - by), marker, color)
}

/// Column names of a strip plot in one tick size (from [`style::TICK_PX`] down to 15 px) that lets
/// each fit its column of a plot `plot_w` pixels wide; names still too wide are cut with an ellipsis.
fn fit_columns(names: &[String], plot_w: u32) -> (Vec<String>, u32) {
    if names.is_empty() {
        return (Vec::new(), style::TICK_PX);
    }
    let band = (plot_w / names.len() as u32).saturating_sub(12).max(40);
    let px = names.iter().map(|n| style::fit_text(n, style::TICK_PX, 15, band).1).min().unwrap_or(style::TICK_PX);
    (names.iter().map(|n| style::fit_text(n, px, px, band).0).collect(), px)
}

/// A placed point label: top-left corner and size in pixels; `far` when it is not next to its point
/// (it gets a leader line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LabelBox {
    pub x: i32,
    pub y: i32,
    pub w: i32,
    pub h: i32,
    pub far: bool,
}

impl LabelBox {
    #[cfg(test)]
    pub fn overlaps(&self, o: &LabelBox) -> bool {
        self.x < o.x + o.w && o.x < self.x + self.w && self.y < o.y + o.h && o.y < self.y + self.h
    }

    fn overlap_area(&self, o: &LabelBox) -> i64 {
        let w = (self.x + self.w).min(o.x + o.w) - self.x.max(o.x);
        let h = (self.y + self.h).min(o.y + o.h) - self.y.max(o.y);
        if w > 0 && h > 0 {
            w as i64 * h as i64
        } else {
            0
        }
    }
}

/// Where to put the label of each point (pixel `anchors`, label `sizes`) inside a `bounds` area: each
/// label, in order, takes the first of eight positions around its point (right, left, above, below,
/// then the corners), on rings ever further out, that stays inside the area and overlaps neither an
/// earlier label, nor any point's marker, nor an `obstacle`. Deterministic; when no position is free
/// (a crowded area), the one with the least overlap is taken.
pub(crate) fn place_labels(
    anchors: &[(i32, i32)],
    sizes: &[(i32, i32)],
    obstacles: &[LabelBox],
    bounds: (i32, i32),
) -> Vec<LabelBox> {
    let r = style::MARKER_PX as i32 + 2;
    let mut markers: Vec<LabelBox> =
        anchors.iter().map(|&(x, y)| LabelBox { x: x - r, y: y - r, w: 2 * r, h: 2 * r, far: false }).collect();
    markers.extend_from_slice(obstacles);
    let mut placed: Vec<LabelBox> = Vec::new();
    for (&(px, py), &(w, h)) in anchors.iter().zip(sizes) {
        let mut best: Option<(i64, LabelBox)> = None;
        'rings: for ring in 0..12 {
            let d = 4 + r + ring * 16;
            let diag = d * 7 / 10;
            let candidates = [
                (px + d, py - h / 2),
                (px - d - w, py - h / 2),
                (px - w / 2, py - d - h),
                (px - w / 2, py + d),
                (px + diag, py - diag - h),
                (px + diag, py + diag),
                (px - diag - w, py - diag - h),
                (px - diag - w, py + diag),
            ];
            for (x, y) in candidates {
                let b = LabelBox { x, y, w, h, far: ring > 0 };
                if x < 0 || y < 0 || x + w > bounds.0 || y + h > bounds.1 {
                    continue;
                }
                // Any overlap costs more than any distance.
                let cost: i64 =
                    100 * placed.iter().chain(&markers).map(|o| b.overlap_area(o)).sum::<i64>() + ring as i64;
                if best.as_ref().is_none_or(|(c, _)| cost < *c) {
                    best = Some((cost, b));
                }
                if cost == ring as i64 {
                    break 'rings;
                }
            }
        }
        let b = best.map(|(_, b)| b).unwrap_or(LabelBox {
            x: (px + r).clamp(0, (bounds.0 - w).max(0)),
            y: (py - h / 2).clamp(0, (bounds.1 - h).max(0)),
            w,
            h,
            far: false,
        });
        placed.push(b);
    }
    placed
}

pub(crate) fn min_max(v: &[f64]) -> Option<(f64, f64)> {
    let mut it = v.iter().copied().filter(|x| x.is_finite());
    let first = it.next()?;
    Some(it.fold((first, first), |(a, b), x| (a.min(x), b.max(x))))
}

/// `lo..hi` padded by `frac` of its span on both sides (a degenerate range gets a unit-ish span).
pub(crate) fn pad_range(lo: f64, hi: f64, frac: f64, from_zero: bool) -> Range<f64> {
    let (mut lo, mut hi) = (lo, hi);
    if from_zero {
        lo = lo.min(0.0);
        hi = hi.max(0.0);
    }
    if (hi - lo).abs() < 1e-12 {
        let d = if lo.abs() > 1e-9 { lo.abs() * 0.1 } else { 1.0 };
        return (lo - d)..(hi + d);
    }
    let pad = (hi - lo) * frac;
    let start = if from_zero && lo >= 0.0 { lo } else { lo - pad };
    start..(hi + pad)
}

// ---------------------------------------------------------------------------------------------
// Bar charts

/// One bar: stacked segments from the axis, bottom first, and an annotation at its end.
#[derive(Debug, Clone, Default)]
pub(crate) struct Bar {
    pub segments: Vec<(f64, RGBColor)>,
    pub annotation: Option<String>,
}

impl Bar {
    pub fn total(&self) -> f64 {
        self.segments.iter().map(|s| s.0).sum()
    }
}

/// Bars grouped by category: vertical (categories along x) or horizontal (categories down the y axis,
/// first at the top); the value axis linear from 0, or logarithmic.
#[derive(Debug, Clone)]
pub(crate) struct BarChart {
    pub title: Option<String>,
    pub category_desc: String,
    pub value_desc: String,
    pub categories: Vec<String>,
    /// `groups[i]`: the bars of category i, side by side.
    pub groups: Vec<Vec<Bar>>,
    pub legend: Vec<LegendItem>,
    pub horizontal: bool,
    pub log: bool,
}

impl BarChart {
    fn value_range(&self) -> Range<f64> {
        let totals: Vec<f64> = self.groups.iter().flatten().map(|b| b.total()).filter(|v| v.is_finite()).collect();
        let hi = totals.iter().copied().fold(0.0f64, f64::max);
        if self.log {
            let lo_pos = self
                .groups
                .iter()
                .flatten()
                .flat_map(|b| b.segments.iter().map(|s| s.0))
                .filter(|v| *v > 0.0)
                .fold(f64::INFINITY, f64::min);
            let lo = if lo_pos.is_finite() { 10f64.powf((lo_pos.log10() - 0.3).floor()).min(1.0) } else { 1.0 };
            let hi = if hi > 0.0 { hi } else { 10.0 };
            // Room at the end for the annotations.
            let room = if self.horizontal { 0.12 } else { 0.25 };
            lo..10f64.powf(hi.log10() + (hi.log10() - lo.log10()) * room)
        } else {
            let hi = if hi > 0.0 { hi } else { 1.0 };
            0.0..hi * if self.horizontal { 1.3 } else { 1.15 }
        }
    }

    pub fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> anyhow::Result<()>
    where
        DB::ErrorType: 'static,
    {
        let body = match &self.title {
            Some(t) => titled(area, t)?,
            None => area.clone(),
        };
        let plot = with_legend(&body, &self.legend)?;
        let n = self.categories.len().max(1) as f64;
        let cat_ticks: Vec<f64> = (0..self.categories.len()).map(|i| i as f64 + 0.5).collect();
        let vr = self.value_range();
        let cat_label_w = {
            let font = text(style::TICK_PX);
            let mut w = 0;
            for c in &self.categories {
                w = w.max(plot.estimate_text_size(c, &font)?.0);
            }
            w
        };
        match (self.horizontal, self.log) {
            (false, false) => {
                let vt = nice_ticks(vr.start, vr.end, 6);
                self.plot(&plot, linear(0.0..n, cat_ticks), linear(vr, vt), 0)
            }
            (false, true) => {
                let vt = log_ticks(vr.start, vr.end);
                self.plot(&plot, linear(0.0..n, cat_ticks), logarithmic(vr, vt), 0)
            }
            (true, false) => {
                let vt = nice_ticks(vr.start, vr.end, 6);
                self.plot(&plot, linear(vr, vt), linear(0.0..n, cat_ticks), cat_label_w)
            }
            (true, true) => {
                let vt = log_ticks(vr.start, vr.end);
                self.plot(&plot, logarithmic(vr, vt), linear(0.0..n, cat_ticks), cat_label_w)
            }
        }
    }

    fn plot<DB, X, Y>(&self, area: &DrawingArea<DB, Shift>, x: X, y: Y, cat_label_w: u32) -> anyhow::Result<()>
    where
        DB: DrawingBackend,
        DB::ErrorType: 'static,
        X: AsRangedCoord<Value = f64>,
        X::CoordDescType: ValueFormatter<f64>,
        Y: AsRangedCoord<Value = f64>,
        Y::CoordDescType: ValueFormatter<f64>,
    {
        let n = self.categories.len();
        let cats = &self.categories;
        let horizontal = self.horizontal;
        // Horizontal bars list the first category at the top.
        let cat_pos = |i: usize| if horizontal { (n - 1 - i) as f64 } else { i as f64 };
        let cat_fmt = |v: &f64| -> String {
            let k = v.floor();
            if k < 0.0 || k as usize >= n {
                return String::new();
            }
            let i = if horizontal { n - 1 - k as usize } else { k as usize };
            cats[i].clone()
        };
        let vr = self.value_range();
        let v_max = if self.log { 0.0 } else { vr.start.abs().max(vr.end.abs()) };
        let val_fmt = |v: &f64| fmt_axis(*v, v_max);
        let (_, h) = area.dim_in_pixel();
        let (y_lines, y_px) = if horizontal {
            (Vec::new(), style::LABEL_PX)
        } else {
            style::wrap_text(&self.value_desc, style::LABEL_PX, 16, h.saturating_sub(72 + 30), 2)
        };
        let mut chart = ChartBuilder::on(area)
            .margin_top(12)
            .margin_right(28)
            .margin_left(8)
            .x_label_area_size(72)
            .y_label_area_size(if horizontal { cat_label_w + 24 } else { 66 + y_lines.len() as u32 * (y_px + 4) })
            .build_cartesian_2d(x, y)?;
        {
            let mut mesh = chart.configure_mesh();
            mesh.bold_line_style(style::GRID)
                .light_line_style(TRANSPARENT)
                .axis_style(ShapeStyle::from(INK).stroke_width(1))
                .label_style(text(style::TICK_PX))
                .axis_desc_style(text(style::LABEL_PX));
            if horizontal {
                mesh.disable_y_mesh()
                    .x_desc(self.value_desc.clone())
                    .x_label_formatter(&val_fmt)
                    .y_label_formatter(&cat_fmt);
                if !self.category_desc.is_empty() {
                    mesh.y_desc(self.category_desc.clone());
                }
            } else {
                mesh.disable_x_mesh().y_label_formatter(&val_fmt).x_label_formatter(&cat_fmt);
                if !self.category_desc.is_empty() {
                    mesh.x_desc(self.category_desc.clone());
                }
            }
            mesh.draw()?;
        }
        draw_y_desc(area, chart.plotting_area(), &y_lines, y_px)?;
        let base = if horizontal { chart.x_range().start } else { chart.y_range().start };
        let note = text(style::NOTE_PX);
        for (i, group) in self.groups.iter().enumerate() {
            let k = group.len().max(1) as f64;
            let width = 0.72 / k;
            for (j, bar) in group.iter().enumerate() {
                let c0 = cat_pos(i) + 0.14 + j as f64 * width;
                let c1 = c0 + width * 0.92;
                let mut v0 = base;
                for &(v, color) in &bar.segments {
                    if !(v.is_finite() && v > 0.0) {
                        continue;
                    }
                    let v1 = if v0 == base && base > 0.0 { v } else { v0 + v };
                    let rect = if horizontal { [(v0, c0), (v1, c1)] } else { [(c0, v0), (c1, v1)] };
                    chart.draw_series(std::iter::once(Rectangle::new(rect, color.filled())))?;
                    v0 = v1;
                }
                if let Some(a) = &bar.annotation {
                    let mid = (c0 + c1) / 2.0;
                    let pa = chart.plotting_area();
                    let at = if horizontal { pa.map_coordinate(&(v0, mid)) } else { pa.map_coordinate(&(mid, v0)) };
                    let plain = pa.strip_coord_spec();
                    let (bx, by) = plain.get_base_pixel();
                    let (px, py) = (at.0 - bx, at.1 - by);
                    use plotters::style::text_anchor::{HPos, Pos, VPos};
                    if horizontal {
                        // Outside the bar's end when it fits, else inside it (white on the bar).
                        let tw = style::text_width(a, style::NOTE_PX) as i32;
                        let (pw, _) = plain.dim_in_pixel();
                        let start = pa.map_coordinate(&(base, mid)).0 - bx;
                        if px + 8 + tw <= pw as i32 || px - start < tw + 16 {
                            plain.draw(&Text::new(
                                a.clone(),
                                (px + 8, py),
                                note.pos(Pos::new(HPos::Left, VPos::Center)),
                            ))?;
                        } else {
                            let inside =
                                style::text_colored(style::NOTE_PX, WHITE).pos(Pos::new(HPos::Right, VPos::Center));
                            plain.draw(&Text::new(a.clone(), (px - 8, py), inside))?;
                        }
                    } else {
                        plain.draw(&Text::new(
                            a.clone(),
                            (px, py - 6),
                            note.pos(Pos::new(HPos::Center, VPos::Bottom)),
                        ))?;
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round() {
        assert_eq!(nice_ticks(0.0, 1.0, 5), vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
        assert_eq!(nice_ticks(57.3, 74.9, 6), vec![60.0, 65.0, 70.0]);
        assert_eq!(nice_ticks(0.0, 25_800.0, 6), vec![0.0, 5000.0, 10_000.0, 15_000.0, 20_000.0, 25_000.0]);
        assert_eq!(integer_ticks(0.7, 3.3), vec![1.0, 2.0, 3.0]);
        assert_eq!(log_ticks(0.8, 1200.0), vec![1.0, 10.0, 100.0, 1000.0]);
        assert_eq!(log_ticks(40.0, 600.0), vec![50.0, 100.0, 200.0, 500.0]);
        assert_eq!(round_log_ticks(83.0, 120.0), vec![100.0]);
    }

    #[test]
    fn numbers_format_compactly() {
        assert_eq!(fmt_tick(0.5), "0.5");
        assert_eq!(fmt_tick(2.0), "2");
        assert_eq!(fmt_tick(0.125), "0.125");
        assert_eq!(fmt_axis(5000.0, 25000.0), "5k");
        assert_eq!(fmt_axis(0.0, 25000.0), "0");
        assert_eq!(fmt_axis(5000.0, 9000.0), "5000");
        assert_eq!(fmt_thousands(6413.4), "6,413");
        assert_eq!(fmt_sig(0.08434), "0.0843");
        assert_eq!(fmt_sig(2.1), "2.10");
        assert_eq!(fmt_sig(123.4), "123");
    }

    #[test]
    fn labels_of_close_points_do_not_overlap() {
        // Six points within a few pixels of each other, and a horizontal bar through them.
        let anchors = [(300, 200), (304, 202), (298, 205), (310, 198), (302, 210), (306, 196)];
        let sizes = [(90, 22), (120, 22), (60, 22), (100, 22), (80, 22), (140, 22)];
        let bar = LabelBox { x: 100, y: 197, w: 400, h: 6, far: false };
        let bounds = (600, 400);
        let boxes = place_labels(&anchors, &sizes, &[bar], bounds);
        assert_eq!(boxes.len(), anchors.len());
        let r = style::MARKER_PX as i32;
        for (i, b) in boxes.iter().enumerate() {
            assert_eq!((b.w, b.h), sizes[i]);
            assert!(b.x >= 0 && b.y >= 0 && b.x + b.w <= bounds.0 && b.y + b.h <= bounds.1, "{b:?} outside");
            assert!(!b.overlaps(&bar), "label {i} {b:?} covers the bar");
            for (j, o) in boxes.iter().enumerate().skip(i + 1) {
                assert!(!b.overlaps(o), "labels {i} {b:?} and {j} {o:?} overlap");
            }
            for &(x, y) in &anchors {
                let marker = LabelBox { x: x - r, y: y - r, w: 2 * r, h: 2 * r, far: false };
                assert!(!b.overlaps(&marker), "label {i} {b:?} covers the point at ({x}, {y})");
            }
        }
        // Deterministic.
        assert_eq!(boxes, place_labels(&anchors, &sizes, &[bar], bounds));
        // A lone point's label sits right next to it.
        let lone = place_labels(&[(100, 100)], &[(50, 20)], &[], bounds);
        assert!(!lone[0].far && lone[0].x > 100 && lone[0].x < 100 + 20, "{:?}", lone[0]);
    }

    #[test]
    fn a_strip_plot_has_named_columns_and_reference_lines_move_the_axes() {
        let mut c = XyChart::new("x", "y");
        c.x_categories = vec!["a".into(), "b".into(), "c".into()];
        c.series.push(Series {
            label: String::new(),
            points: vec![(0.0, 1.0), (2.2, 3.0)],
            color: INK,
            line: LineKind::None,
            marker: Some(Marker::Circle),
            on_top: false,
        });
        assert_eq!(c.x_range(), -0.5..2.5);
        let mut c = XyChart::new("x", "y");
        c.series.push(Series {
            label: String::new(),
            points: vec![(1.0, 1.0), (2.0, 3.0)],
            color: INK,
            line: LineKind::None,
            marker: None,
            on_top: false,
        });
        c.vlines.push(VLine { label: "zero".into(), x: -4.0, color: INK, dotted: false });
        c.hlines.push(HLine { label: "ref".into(), y: 10.0, color: INK, dotted: true });
        assert!(c.x_range().contains(&-4.0), "{:?}", c.x_range());
        assert!(c.y_range().contains(&10.0), "{:?}", c.y_range());
        assert_eq!(c.legend_items().len(), 2, "reference lines are in the legend");
    }

    #[test]
    fn base64_matches_the_standard_alphabet() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }
}
