//! The linear assignment problem: the Hungarian method in its shortest-augmenting-path form with
//! dual potentials (Kuhn-Munkres as refined by Jonker & Volgenant), O(n^2 m).
//!
//! Each step of a path search scans every column twice (reduced costs and the smallest of them, then
//! the potentials). Where the CPU has AVX-512 the scans take eight columns at a time
//! ([`scan_avx512`]), with the same arithmetic and the same tie-breaking (the first column of the
//! smallest reduced cost), so the assignment is the same as [`scan_scalar`]'s.

/// The state of the path search of one row, columns 1-based (column 0 is the virtual start).
struct Search<'a> {
    m: usize,
    v: &'a mut [f64],
    minv: &'a mut [f64],
    way: &'a mut [usize],
    /// Bit (j - 1) % 8 of byte (j - 1) / 8 is set once column j >= 1 is used.
    used: &'a [u8],
}

/// Where column j >= 1's used bit is: its byte, and the bit within it.
fn used_bit(j: usize) -> (usize, u8) {
    ((j - 1) / 8, 1 << ((j - 1) % 8))
}

impl Search<'_> {
    fn is_used(&self, j: usize) -> bool {
        let (byte, bit) = used_bit(j);
        self.used[byte] & bit != 0
    }

    /// For the eight columns from `j` (1-based, j - 1 a multiple of 8): bit l set where column j + l
    /// exists, and where it exists and is free.
    fn lane_masks(&self, j: usize) -> (u8, u8) {
        let width = (self.m + 1 - j).min(8);
        let exists = if width == 8 { 0xff } else { (1u8 << width) - 1 };
        (exists, exists & !self.used[(j - 1) / 8])
    }
}

/// Minimum-cost assignment for an `n x m` cost matrix (row-major, `n <= m`, finite entries): returns
/// the column of each row; every row gets a distinct column.
pub fn assign(cost: &[f64], n: usize, m: usize) -> Vec<usize> {
    #[cfg(target_arch = "x86_64")]
    if crate::gemm_f32::avx512_available() {
        // SAFETY (both): the CPU has AVX-512F, the only feature the functions are compiled for.
        return assign_with(
            cost,
            n,
            m,
            |s, row, ui0, j0| unsafe { scan_avx512(s, row, ui0, j0) },
            |s, delta| unsafe { lower_free_avx512(s, delta) },
        );
    }
    assign_with(cost, n, m, scan_scalar, lower_free_scalar)
}

/// [`assign`] with `scan` for the first pass of each step: it lowers `minv[j]` of every free column
/// j to `row[j - 1] - ui0 - v[j]` where that is smaller (recording `way[j] = j0`) and returns the
/// first free column of the smallest `minv`; and `lower_free` for the free columns' part of the
/// second: `minv[j] -= delta`.
fn assign_with(
    cost: &[f64],
    n: usize,
    m: usize,
    scan: impl Fn(&mut Search<'_>, &[f64], f64, usize) -> usize,
    lower_free: impl Fn(&mut Search<'_>, f64),
) -> Vec<usize> {
    assert!(n <= m, "assign: more rows ({n}) than columns ({m})");
    assert_eq!(cost.len(), n * m, "assign: cost is not {n} x {m}");
    assert!(cost.iter().all(|c| c.is_finite()), "assign: costs must be finite");
    // 1-based rows and columns; column 0 is the virtual start of each augmenting path.
    let mut u = vec![0f64; n + 1];
    let mut v = vec![0f64; m + 1];
    let mut row_of = vec![0usize; m + 1];
    let mut way = vec![0usize; m + 1];
    let mut minv = vec![0f64; m + 1];
    let mut used = vec![0u8; m.div_ceil(8)];
    // The columns used so far in this row's search, in the order they were.
    let mut used_list = Vec::with_capacity(m + 1);
    for i in 1..=n {
        row_of[0] = i;
        let mut j0 = 0usize;
        minv.iter_mut().for_each(|x| *x = f64::INFINITY);
        used.iter_mut().for_each(|x| *x = 0);
        used_list.clear();
        loop {
            if j0 > 0 {
                let (byte, bit) = used_bit(j0);
                used[byte] |= bit;
            }
            used_list.push(j0);
            let i0 = row_of[j0];
            let row = &cost[(i0 - 1) * m..i0 * m];
            let mut search = Search { m, v: &mut v, minv: &mut minv, way: &mut way, used: &used };
            let j1 = scan(&mut search, row, u[i0], j0);
            let delta = minv[j1];
            // The second pass: used columns' potentials move by delta, free columns' minv down by it.
            for &j in &used_list {
                u[row_of[j]] += delta;
                v[j] -= delta;
            }
            lower_free(&mut Search { m, v: &mut v, minv: &mut minv, way: &mut way, used: &used }, delta);
            j0 = j1;
            if row_of[j0] == 0 {
                break;
            }
        }
        loop {
            let j1 = way[j0];
            row_of[j0] = row_of[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    let mut col_of = vec![0usize; n];
    for j in 1..=m {
        if row_of[j] != 0 {
            col_of[row_of[j] - 1] = j - 1;
        }
    }
    col_of
}

/// The first pass of a step, one column at a time (see [`assign_with`]).
fn scan_scalar(s: &mut Search<'_>, row: &[f64], ui0: f64, j0: usize) -> usize {
    let mut delta = f64::INFINITY;
    let mut j1 = 0usize;
    for j in 1..=s.m {
        if !s.is_used(j) {
            let cur = row[j - 1] - ui0 - s.v[j];
            if cur < s.minv[j] {
                s.minv[j] = cur;
                s.way[j] = j0;
            }
            if s.minv[j] < delta {
                delta = s.minv[j];
                j1 = j;
            }
        }
    }
    j1
}

/// [`scan_scalar`] eight columns at a time: each lane keeps the first column of its smallest `minv`
/// (strictly smaller replaces), and across lanes the smallest value wins, ties going to the lowest
/// column, which is the column the one-at-a-time scan finds.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn scan_avx512(s: &mut Search<'_>, row: &[f64], ui0: f64, j0: usize) -> usize {
    use std::arch::x86_64::*;
    let m = s.m;
    let ui0v = _mm512_set1_pd(ui0);
    let j0v = _mm512_set1_epi64(j0 as i64);
    let mut best = _mm512_set1_pd(f64::INFINITY);
    let mut best_j = _mm512_setzero_si512();
    let lanes = _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7);
    for j in (1..=m).step_by(8) {
        let (k, free) = s.lane_masks(j);
        // SAFETY: the masked loads and stores touch only the lanes of columns that exist, columns
        // j..=m at most of `row` (shifted by one), `v`, `minv` and `way`, all inside those slices.
        unsafe {
            let c = _mm512_maskz_loadu_pd(k, row.as_ptr().add(j - 1));
            let vj = _mm512_maskz_loadu_pd(k, s.v.as_ptr().add(j));
            let mv = _mm512_maskz_loadu_pd(k, s.minv.as_ptr().add(j));
            // cur = row[j - 1] - ui0 - v[j], in that order.
            let cur = _mm512_sub_pd(_mm512_sub_pd(c, ui0v), vj);
            let lower = _mm512_mask_cmp_pd_mask::<_CMP_LT_OQ>(free, cur, mv);
            let mv = _mm512_mask_blend_pd(lower, mv, cur);
            _mm512_mask_storeu_pd(s.minv.as_mut_ptr().add(j), lower, mv);
            _mm512_mask_storeu_epi64(s.way.as_mut_ptr().add(j) as *mut i64, lower, j0v);
            let better = _mm512_mask_cmp_pd_mask::<_CMP_LT_OQ>(free, mv, best);
            best = _mm512_mask_blend_pd(better, best, mv);
            let cols = _mm512_add_epi64(_mm512_set1_epi64(j as i64), lanes);
            best_j = _mm512_mask_blend_epi64(better, best_j, cols);
        }
    }
    let (mut vals, mut cols) = ([0f64; 8], [0i64; 8]);
    // SAFETY: eight f64 and eight i64 stores into arrays of eight.
    unsafe {
        _mm512_storeu_pd(vals.as_mut_ptr(), best);
        _mm512_storeu_si512(cols.as_mut_ptr() as *mut __m512i, best_j);
    }
    let (mut j1, mut delta) = (0usize, f64::INFINITY);
    // A lane that saw no free column still holds column 0.
    for (&val, &col) in vals.iter().zip(&cols).filter(|(_, &col)| col != 0) {
        let col = col as usize;
        if j1 == 0 || val < delta || (val == delta && col < j1) {
            (delta, j1) = (val, col);
        }
    }
    j1
}

/// The free columns' part of the second pass, one column at a time.
fn lower_free_scalar(s: &mut Search<'_>, delta: f64) {
    for j in 1..=s.m {
        if !s.is_used(j) {
            s.minv[j] -= delta;
        }
    }
}

/// [`lower_free_scalar`] eight columns at a time.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn lower_free_avx512(s: &mut Search<'_>, delta: f64) {
    use std::arch::x86_64::*;
    let d = _mm512_set1_pd(delta);
    for j in (1..=s.m).step_by(8) {
        let (_, free) = s.lane_masks(j);
        // SAFETY: only the lanes of free columns, which exist: columns j..=m at most of `minv`.
        unsafe {
            let p = s.minv.as_mut_ptr().add(j);
            _mm512_mask_storeu_pd(p, free, _mm512_sub_pd(_mm512_maskz_loadu_pd(free, p), d));
        }
    }
}

/// Total cost of an assignment.
pub fn total_cost(cost: &[f64], m: usize, col_of: &[usize]) -> f64 {
    col_of.iter().enumerate().map(|(i, &j)| cost[i * m + j]).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn the_vector_scan_finds_the_scalar_scans_assignment() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        for (n, m) in [(1, 1), (3, 5), (7, 7), (17, 23), (64, 64), (100, 131), (300, 300)] {
            // Continuous costs, and small integers (ties everywhere).
            let smooth: Vec<f64> = (0..n * m).map(|_| rng.gen_range(-1.0..1.0)).collect();
            let ties: Vec<f64> = (0..n * m).map(|_| rng.gen_range(0..4) as f64).collect();
            for cost in [smooth, ties] {
                assert_eq!(assign(&cost, n, m), assign_with(&cost, n, m, scan_scalar, lower_free_scalar), "{n} x {m}");
            }
        }
    }
}
