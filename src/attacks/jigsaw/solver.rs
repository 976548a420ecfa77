//! The jigsaw-puzzle solver behind the `jigsaw` attack: edge compatibility of every pair of
//! (block, variant) tiles, greedy placement inside the image's grid of blocks, and the global symmetry
//! fixed by the public mean image.
//!
//! Two uses of the same pieces: [`solve`] treats one image as one puzzle (the setting of Chuman et al.,
//! where every image has its own key), [`solve_shared_key`] sums the compatibilities of many images
//! scrambled with one key (the setting of learnable encryption, where the model needs one key for all
//! images) and assembles the key's puzzle once.

use crate::data::ImageShape;
use crate::gemm_f32::{matmul, MatRef, Threads};
use crate::scheme::transforms::etc::oriented_source;
use crate::scheme::transforms::BlockScramble;

/// One variant of a block: orientation (0..8), negated, channel order.
#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    pub orientation: usize,
    pub negated: bool,
    pub channels: Vec<usize>,
}

fn permutations(c: usize) -> Vec<Vec<usize>> {
    if c <= 1 {
        return vec![(0..c).collect()];
    }
    let mut out = Vec::new();
    for first in 0..c {
        for rest in permutations(c - 1) {
            let mut p = vec![first];
            p.extend(rest.into_iter().map(|v| if v >= first { v + 1 } else { v }));
            out.push(p);
        }
    }
    out
}

/// Every variant the scheme can have applied to a block (the solver tries each).
pub fn variants(s: BlockScramble, channels: usize) -> Vec<Variant> {
    let orientations = if s.orientations { 8 } else { 1 };
    let negations: &[bool] = if s.negative_positive { &[false, true] } else { &[false] };
    let orders = if s.channel_shuffle { permutations(channels) } else { vec![(0..channels).collect()] };
    let mut out = Vec::new();
    for orientation in 0..orientations {
        for &negated in negations {
            for channels in &orders {
                out.push(Variant { orientation, negated, channels: channels.clone() });
            }
        }
    }
    out
}

/// A solved puzzle: the image, and for each block position the encoded block put there.
#[derive(Debug, Clone, PartialEq)]
pub struct Solved {
    pub image: Vec<f32>,
    pub placement: Vec<usize>,
}

/// The puzzle's geometry: block side, grid of blocks, the variants tried.
struct Puzzle {
    shape: ImageShape,
    scramble: BlockScramble,
    block: usize,
    rows: usize,
    cols: usize,
    vars: Vec<Variant>,
}

impl Puzzle {
    fn new(shape: ImageShape, scramble: BlockScramble) -> Self {
        let block = scramble.block;
        let vars = variants(scramble, shape.channels);
        Puzzle { shape, scramble, block, rows: shape.height / block, cols: shape.width / block, vars }
    }

    fn blocks(&self) -> usize {
        self.rows * self.cols
    }

    /// Tiles: every (block, variant) pair, tile index `block * variants + variant`.
    fn tiles(&self) -> usize {
        self.blocks() * self.vars.len()
    }

    fn tile_len(&self) -> usize {
        self.block * self.block * self.shape.channels
    }

    /// Tile `t` of `image`, row-major (r, col, ch), into `out`.
    fn render_tile(&self, image: &[f32], t: usize, out: &mut [f32]) {
        let (b, c, w) = (self.block, self.shape.channels, self.shape.width);
        let (e, var) = (t / self.vars.len(), &self.vars[t % self.vars.len()]);
        let (r0, c0) = ((e / self.cols) * b, (e % self.cols) * b);
        for r in 0..b {
            for col in 0..b {
                let (sr, sc) = oriented_source(var.orientation, r, col, b);
                for (ch, &from) in var.channels.iter().enumerate() {
                    let x = image[((r0 + sr) * w + c0 + sc) * c + from];
                    out[(r * b + col) * c + ch] = if var.negated { 1.0 - x } else { x };
                }
            }
        }
    }

    /// Whether block `e` of `image` holds more than one value.
    fn varies(&self, image: &[f32], e: usize) -> bool {
        let mut tile = vec![0f32; self.tile_len()];
        self.render_tile(image, e * self.vars.len(), &mut tile);
        tile.iter().any(|&x| (x - tile[0]).abs() > 1e-6)
    }

    /// The image whose position `p` holds tile `grid[p]` of `image`.
    fn render(&self, image: &[f32], grid: &[usize]) -> Vec<f32> {
        let (b, c, w) = (self.block, self.shape.channels, self.shape.width);
        let mut out = vec![0f32; self.shape.features()];
        let mut tile = vec![0f32; self.tile_len()];
        for (p, &t) in grid.iter().enumerate() {
            self.render_tile(image, t, &mut tile);
            let (gr, gc) = (p / self.cols, p % self.cols);
            for r in 0..b {
                let at = ((gr * b + r) * w + gc * b) * c;
                out[at..at + b * c].copy_from_slice(&tile[r * b * c..(r + 1) * b * c]);
            }
        }
        out
    }
}

/// Edge dissimilarity of every ordered pair of tiles, summed over images: `horizontal[a * k + z]` for
/// tile `a` left of tile `z`, `vertical` for `a` above `z`.
///
/// Per image and shared edge: the squared difference of the touching pixel lines plus half the squared
/// error of predicting each side's line from the other side's gradient (a simplified form of
/// Gallagher's gradient compatibility). Every term is a squared distance between per-tile vectors, so
/// the whole table is norms plus one matrix product per direction.
struct Dissimilarity {
    k: usize,
    horizontal: Vec<f32>,
    vertical: Vec<f32>,
}

impl Dissimilarity {
    fn of(puzzle: &Puzzle, images: &[f32]) -> Self {
        let d = puzzle.shape.features();
        let n = images.len() / d;
        let (b, c, k) = (puzzle.block, puzzle.shape.channels, puzzle.tiles());
        let line = b * c;
        let len = n * line;
        // Per tile and image: the first/second line on each side ([0] = last column, [1] = first
        // column, [2] = last row, [3] = first row).
        let mut sides: [[Vec<f32>; 2]; 4] = Default::default();
        for side in sides.iter_mut() {
            *side = [vec![0f32; k * len], vec![0f32; k * len]];
        }
        let mut tile = vec![0f32; puzzle.tile_len()];
        let second = if b >= 2 { 1 } else { 0 };
        for (i, image) in images.chunks_exact(d).enumerate() {
            for t in 0..k {
                puzzle.render_tile(image, t, &mut tile);
                let at = |r: usize, col: usize, ch: usize| tile[(r * b + col) * c + ch];
                for j in 0..b {
                    for ch in 0..c {
                        let o = t * len + i * line + j * c + ch;
                        let lines = [
                            (at(j, b - 1, ch), at(j, b - 1 - second, ch)),
                            (at(j, 0, ch), at(j, second, ch)),
                            (at(b - 1, j, ch), at(b - 1 - second, j, ch)),
                            (at(0, j, ch), at(second, j, ch)),
                        ];
                        for (side, (first, next)) in sides.iter_mut().zip(lines) {
                            side[0][o] = first;
                            side[1][o] = next;
                        }
                    }
                }
            }
        }
        let [right, left, bottom, top] = sides;
        let nv = puzzle.vars.len();
        let mut horizontal = pair_costs(&right, &left, k, len);
        let mut vertical = pair_costs(&bottom, &top, k, len);
        relative_to_second_best(&mut horizontal, k, nv);
        relative_to_second_best(&mut vertical, k, nv);
        Dissimilarity { k, horizontal, vertical }
    }

    fn get(&self, a: usize, z: usize, horizontal: bool) -> f32 {
        if horizontal {
            self.horizontal[a * self.k + z]
        } else {
            self.vertical[a * self.k + z]
        }
    }
}

/// Divide each cost by the second-best cost on either side of the edge (Pomeranz et al.'s and
/// Gallagher's normalisation): an edge that fits everything (a background edge) gets a ratio near 1,
/// a distinctive match well below 1. The second best is taken over other blocks, each at its best
/// variant, so that a block's own variants do not count as rivals.
fn relative_to_second_best(cost: &mut [f32], k: usize, nv: usize) {
    let blocks = k / nv;
    let second = |get: &dyn Fn(usize) -> f32, own: usize| -> f32 {
        let (mut first, mut second) = (f32::INFINITY, f32::INFINITY);
        for block in (0..blocks).filter(|&b| b != own) {
            let v = (0..nv).map(|v| get(block * nv + v)).fold(f32::INFINITY, f32::min);
            if v < first {
                (first, second) = (v, first);
            } else if v < second {
                second = v;
            }
        }
        second
    };
    let rows: Vec<f32> = (0..k).map(|a| second(&|z| cost[a * k + z], a / nv)).collect();
    let cols: Vec<f32> = (0..k).map(|z| second(&|a| cost[a * k + z], z / nv)).collect();
    for (a, row) in cost.chunks_exact_mut(k).enumerate() {
        for (z, v) in row.iter_mut().enumerate() {
            *v /= 0.5 * (rows[a] + cols[z]) + 1e-6;
        }
    }
}

/// `cost[a * k + z]` for tile `a`'s side `[a1, a2]` (touching line, the one behind it) meeting tile
/// `z`'s side `[z1, z2]`: |a1 - z1|^2 + 0.5 |(2 a1 - a2) - z1|^2 + 0.5 |(2 z1 - z2) - a1|^2, expanded
/// as squared norms minus twice one matrix product.
fn pair_costs(a: &[Vec<f32>; 2], z: &[Vec<f32>; 2], k: usize, len: usize) -> Vec<f32> {
    let predict = |s: &[Vec<f32>; 2]| -> Vec<f32> { s[0].iter().zip(&s[1]).map(|(x1, x2)| 2.0 * x1 - x2).collect() };
    let (pa, pz) = (predict(a), predict(z));
    let sq = |v: &[f32], t: usize| -> f32 { v[t * len..(t + 1) * len].iter().map(|x| x * x).sum() };
    let norm_a: Vec<f32> = (0..k).map(|t| 1.5 * sq(&a[0], t) + 0.5 * sq(&pa, t)).collect();
    let norm_z: Vec<f32> = (0..k).map(|t| 1.5 * sq(&z[0], t) + 0.5 * sq(&pz, t)).collect();
    // Cross terms: a1.z1 + 0.5 pa.z1 + 0.5 a1.pz = [a1 + 0.5 pa, 0.5 a1] . [z1, pz].
    let mut left = vec![0f32; k * 2 * len];
    let mut right = vec![0f32; k * 2 * len];
    for t in 0..k {
        for j in 0..len {
            let (a1, z1) = (a[0][t * len + j], z[0][t * len + j]);
            left[t * 2 * len + j] = a1 + 0.5 * pa[t * len + j];
            left[t * 2 * len + len + j] = 0.5 * a1;
            right[t * 2 * len + j] = z1;
            right[t * 2 * len + len + j] = pz[t * len + j];
        }
    }
    let mut cross = vec![0f32; k * k];
    matmul(
        &mut cross,
        k,
        k,
        2 * len,
        MatRef::rows(&left, 2 * len),
        MatRef::transposed(&right, 2 * len),
        false,
        // Small tables (one image's puzzle) are solved many at a time on their own threads.
        if k * k * len > 1 << 24 { Threads::All } else { Threads::One },
    );
    for (i, row) in cross.chunks_exact_mut(k).enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = (norm_a[i] + norm_z[j] - 2.0 * *v).max(0.0);
        }
    }
    cross
}

/// Greedy placement: the best-fitting pair of blocks with content seeds the puzzle; then, repeatedly,
/// the (block, variant, free cell) with the lowest mean dissimilarity to its placed neighbours is
/// placed, keeping the assembly inside the grid. Blocks with content go first: blank blocks fit
/// anywhere at no cost and would wall the puzzle in. Returns the tile at each grid position.
fn assemble(puzzle: &Puzzle, dis: &Dissimilarity, content: &[bool]) -> Vec<usize> {
    let (bh, bw, n, nv) = (puzzle.rows, puzzle.cols, puzzle.blocks(), puzzle.vars.len());
    // Canvas of relative cells, origin in the middle so the puzzle can grow in every direction.
    let (ch, cw) = (2 * bh - 1, 2 * bw - 1);
    let mut canvas: Vec<Option<usize>> = vec![None; ch * cw];
    let mut used = vec![false; n];
    let mut bounds = (bh - 1, bh - 1, bw - 1, bw - 1); // min row, max row, min col, max col
    let place = |canvas: &mut Vec<Option<usize>>,
                 used: &mut Vec<bool>,
                 bounds: &mut (usize, usize, usize, usize),
                 r: usize,
                 col: usize,
                 t: usize| {
        canvas[r * cw + col] = Some(t);
        used[t / nv] = true;
        *bounds = (bounds.0.min(r), bounds.1.max(r), bounds.2.min(col), bounds.3.max(col));
    };
    let (or, oc) = (bh - 1, bw - 1);
    let mut seed: Option<(f32, usize, usize, bool)> = None;
    for e in (0..n).filter(|&e| content[e]) {
        for f in (0..n).filter(|&f| f != e && content[f]) {
            for v in 0..nv {
                for h in [true, false] {
                    if (h && bw < 2) || (!h && bh < 2) {
                        continue;
                    }
                    let cost = dis.get(e * nv, f * nv + v, h);
                    if seed.is_none_or(|s| cost < s.0) {
                        seed = Some((cost, e, f * nv + v, h));
                    }
                }
            }
        }
    }
    match seed {
        Some((_, e, z, h)) => {
            place(&mut canvas, &mut used, &mut bounds, or, oc, e * nv);
            let (r, col) = if h { (or, oc + 1) } else { (or + 1, oc) };
            place(&mut canvas, &mut used, &mut bounds, r, col, z);
        }
        None => place(&mut canvas, &mut used, &mut bounds, or, oc, 0),
    }
    loop {
        let left: Vec<usize> = (0..n).filter(|&e| !used[e]).collect();
        if left.is_empty() {
            break;
        }
        let objects_left = left.iter().any(|&e| content[e]);
        let mut best: Option<(f32, usize, usize, usize, usize)> = None; // cost, neighbours, r, col, tile
        for r in 0..ch {
            for col in 0..cw {
                if canvas[r * cw + col].is_some() {
                    continue;
                }
                let (lo_r, hi_r, lo_c, hi_c) = (bounds.0.min(r), bounds.1.max(r), bounds.2.min(col), bounds.3.max(col));
                if hi_r - lo_r >= bh || hi_c - lo_c >= bw {
                    continue;
                }
                let get = |rr: isize, cc: isize| -> Option<usize> {
                    (rr >= 0 && cc >= 0 && (rr as usize) < ch && (cc as usize) < cw)
                        .then(|| canvas[rr as usize * cw + cc as usize])
                        .flatten()
                };
                let (ri, ci) = (r as isize, col as isize);
                let (lt, rt, up, dn) = (get(ri, ci - 1), get(ri, ci + 1), get(ri - 1, ci), get(ri + 1, ci));
                let neighbours = [lt, rt, up, dn].iter().filter(|x| x.is_some()).count();
                if neighbours == 0 {
                    continue;
                }
                for &e in left.iter().filter(|&&e| content[e] || !objects_left) {
                    for t in e * nv..(e + 1) * nv {
                        let mut cost = 0f32;
                        if let Some(l) = lt {
                            cost += dis.get(l, t, true);
                        }
                        if let Some(x) = rt {
                            cost += dis.get(t, x, true);
                        }
                        if let Some(u) = up {
                            cost += dis.get(u, t, false);
                        }
                        if let Some(x) = dn {
                            cost += dis.get(t, x, false);
                        }
                        let mean_cost = cost / neighbours as f32;
                        let better = match best {
                            None => true,
                            Some((bc, bn, ..)) => mean_cost < bc || (mean_cost == bc && neighbours > bn),
                        };
                        if better {
                            best = Some((mean_cost, neighbours, r, col, t));
                        }
                    }
                }
            }
        }
        let Some((_, _, r, col, t)) = best else { break };
        place(&mut canvas, &mut used, &mut bounds, r, col, t);
    }
    // Read the grid off the canvas; a cell the growth could not reach (not expected) takes an unused
    // block, so that every block appears once.
    let mut spare = (0..n).filter(|&e| !used[e]).map(|e| e * nv);
    (0..bh * bw)
        .map(|p| {
            let cell = (bounds.0 + p / bw, bounds.2 + p % bw);
            let at = if cell.0 < ch && cell.1 < cw { canvas[cell.0 * cw + cell.1] } else { None };
            at.or_else(|| spare.next()).unwrap_or(0)
        })
        .collect()
}

/// A symmetry of the whole image: orientation of the block grid, negation and channel order.
struct Symmetry {
    variant: Variant,
}

/// Where a whole-image symmetry `o` reads position (r, c) of an h x w grid (quarter turns only when
/// square).
fn rect_source(o: usize, r: usize, c: usize, h: usize, w: usize) -> (usize, usize) {
    if h == w {
        return oriented_source(o, r, c, h);
    }
    let c = if o >= 4 { w - 1 - c } else { c };
    if o % 4 == 2 {
        (h - 1 - r, w - 1 - c)
    } else {
        (r, c)
    }
}

impl Symmetry {
    /// Every symmetry a solved puzzle is defined up to.
    fn all(puzzle: &Puzzle) -> Vec<Symmetry> {
        let (h, w) = (puzzle.shape.height, puzzle.shape.width);
        let orientations: Vec<usize> = if !puzzle.scramble.orientations {
            vec![0]
        } else if h == w {
            (0..8).collect()
        } else {
            vec![0, 2, 4, 6]
        };
        let mut out = Vec::new();
        for var in variants(BlockScramble { orientations: false, ..puzzle.scramble }, puzzle.shape.channels) {
            for &o in &orientations {
                out.push(Symmetry { variant: Variant { orientation: o, ..var.clone() } });
            }
        }
        out
    }

    fn apply(&self, image: &[f32], shape: ImageShape) -> Vec<f32> {
        let (h, w, c) = (shape.height, shape.width, shape.channels);
        let mut out = vec![0f32; image.len()];
        for r in 0..h {
            for col in 0..w {
                let (sr, sc) = rect_source(self.variant.orientation, r, col, h, w);
                for (ch, &from) in self.variant.channels.iter().enumerate() {
                    let x = image[(sr * w + sc) * c + from];
                    out[(r * w + col) * c + ch] = if self.variant.negated { 1.0 - x } else { x };
                }
            }
        }
        out
    }

    /// Which encoded block lands at each position once the symmetry is applied to `grid`'s image.
    fn placement(&self, grid: &[usize], puzzle: &Puzzle) -> Vec<usize> {
        let (bh, bw, nv) = (puzzle.rows, puzzle.cols, puzzle.vars.len());
        (0..bh * bw)
            .map(|p| {
                let (sr, sc) = rect_source(self.variant.orientation, p / bw, p % bw, bh, bw);
                grid[sr * bw + sc] / nv
            })
            .collect()
    }

    /// The symmetry that brings `image` closest to the public mean image, and its squared distance.
    fn closest_to_mean(puzzle: &Puzzle, image: &[f32], mean: &[f32]) -> (f64, Symmetry) {
        let cost = |s: &Symmetry| -> f64 {
            s.apply(image, puzzle.shape).iter().zip(mean).map(|(a, m)| ((a - m) as f64).powi(2)).sum()
        };
        Symmetry::all(puzzle)
            .into_iter()
            .map(|s| (cost(&s), s))
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .expect("at least the identity")
    }
}

/// The key's puzzle solved: which tile goes where, and the global symmetry.
pub struct KeyGuess {
    puzzle: Puzzle,
    grid: Vec<usize>,
    symmetry: Symmetry,
}

impl KeyGuess {
    /// For each block position, the encoded block the solver puts there.
    pub fn placement(&self) -> Vec<usize> {
        self.symmetry.placement(&self.grid, &self.puzzle)
    }

    /// An encoded image (scrambled with the same key) put back together.
    pub fn decode(&self, encoded: &[f32]) -> Vec<f32> {
        self.symmetry.apply(&self.puzzle.render(encoded, &self.grid), self.puzzle.shape)
    }
}

/// Solve the images of `encoded` as one puzzle: they were scrambled with one key, so every block
/// position holds the same piece in every image, and the compatibilities of all images add up. One
/// image is the per-image puzzle of Chuman et al.
pub fn guess_key(encoded: &[f32], shape: ImageShape, s: BlockScramble, mean: &[f32]) -> KeyGuess {
    let puzzle = Puzzle::new(shape, s);
    let d = shape.features();
    let dis = Dissimilarity::of(&puzzle, encoded);
    let content: Vec<bool> =
        (0..puzzle.blocks()).map(|e| encoded.chunks_exact(d).any(|image| puzzle.varies(image, e))).collect();
    let grid = assemble(&puzzle, &dis, &content);
    // One symmetry for all: the one that brings the solved mean image closest to the public mean.
    let n = (encoded.len() / d).max(1) as f32;
    let mut encoded_mean = vec![0f32; d];
    for image in encoded.chunks_exact(d) {
        for (m, &x) in encoded_mean.iter_mut().zip(image) {
            *m += x / n;
        }
    }
    // Background blocks fit every border at no cost, so the assembly can wrap around the grid: of its
    // cyclic shifts, and of the symmetries, keep the one whose solved mean is closest to the public mean.
    let (bh, bw) = (puzzle.rows, puzzle.cols);
    let (_, symmetry, grid) = (0..bh * bw)
        .map(|shift| {
            let shifted: Vec<usize> =
                (0..bh * bw).map(|p| grid[((p / bw + shift / bw) % bh) * bw + (p % bw + shift % bw) % bw]).collect();
            let (cost, symmetry) = Symmetry::closest_to_mean(&puzzle, &puzzle.render(&encoded_mean, &shifted), mean);
            (cost, symmetry, shifted)
        })
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .expect("at least one shift");
    KeyGuess { puzzle, grid, symmetry }
}

/// Solve every image of `encoded` as its own puzzle (a key per image), split over the cores.
pub fn solve_each(encoded: &[f32], shape: ImageShape, s: BlockScramble, mean: &[f32]) -> Vec<Solved> {
    let d = shape.features();
    let n = encoded.len() / d;
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get()).min(n.max(1));
    let per = n.div_ceil(threads.max(1)).max(1);
    let one = |image: &[f32]| {
        let guess = guess_key(image, shape, s, mean);
        Solved { image: guess.decode(image), placement: guess.placement() }
    };
    std::thread::scope(|scope| {
        let handles: Vec<_> = encoded
            .chunks(per * d)
            .map(|chunk| scope.spawn(move || chunk.chunks_exact(d).map(one).collect::<Vec<_>>()))
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("jigsaw solver thread")).collect()
    })
}

/// The tiles the solver would build for this scheme and image shape (it refuses puzzles whose
/// pairwise table would not fit in memory).
pub fn tile_count(shape: ImageShape, s: BlockScramble) -> usize {
    Puzzle::new(shape, s).tiles()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutations_are_all_orders() {
        assert_eq!(permutations(3).len(), 6);
        assert_eq!(permutations(1), vec![vec![0]]);
    }

    /// The matrix-product form of the dissimilarity equals the per-pair sum it expands.
    #[test]
    fn pair_costs_equal_direct_sums() {
        let (k, len) = (5, 7);
        let v = |seed: u32| -> Vec<f32> {
            (0..k * len).map(|i| (((i as u32 * 2654435761) ^ seed) % 97) as f32 / 97.0).collect()
        };
        let a = [v(1), v(2)];
        let z = [v(3), v(4)];
        let got = pair_costs(&a, &z, k, len);
        for i in 0..k {
            for j in 0..k {
                let mut want = 0f64;
                for x in 0..len {
                    let (a1, a2, z1, z2) = (
                        a[0][i * len + x] as f64,
                        a[1][i * len + x] as f64,
                        z[0][j * len + x] as f64,
                        z[1][j * len + x] as f64,
                    );
                    want += (a1 - z1).powi(2) + 0.5 * (2.0 * a1 - a2 - z1).powi(2) + 0.5 * (2.0 * z1 - z2 - a1).powi(2);
                }
                assert!(
                    (got[i * k + j] as f64 - want).abs() < 1e-3 * want.max(1.0),
                    "({i},{j}): {} vs {want}",
                    got[i * k + j]
                );
            }
        }
    }
}
