//! A single-threaded f32 matrix product with AVX-512 register tiles, for CPUs that have AVX-512F.
//!
//! The `gemm` crate that dfdx uses (0.15; 0.18 too) keeps its AVX-512 kernels behind a nightly-only
//! feature, so on stable Rust it multiplies with 256-bit AVX2 tiles. On the development machine (AMD
//! EPYC, Zen 4, 2 cores) that reached 60-69 GMAC/s on a 1024^3 product where MKL (inside PyTorch)
//! reached 95; these tiles close most of that gap (bench/README.md, "How close to the machine").
//!
//! The layout is the usual one of BLIS-style products: `b` is packed, one depth block at a time, into
//! panels of [NR] columns (each depth step one contiguous run of [NR] values); `a` into panels of
//! [MR] rows (each depth step [MR] values). A register tile keeps an [MR] x [NR] block of the result
//! in 24 of the 32 vector registers: per depth step it loads two vectors of `b`, broadcasts [MR]
//! values of `a` and does 24 fused multiply-adds. Panels are zero-padded, so a partial tile computes
//! a full one and stores only its valid rows and (masked) columns.

use std::arch::x86_64::*;

use super::{DstBlock, MatRef, NARROW_DEPTH_BLOCK, TILE_DEPTH_BLOCK};

/// Rows of a register tile (values of `a` broadcast per depth step).
pub(super) const MR: usize = 12;
/// Columns of a register tile: two 16-lane vectors.
pub(super) const NR: usize = 32;
/// Depth of a packed block ([TILE_DEPTH_BLOCK]: a `b` panel stays in L1).
const KC: usize = TILE_DEPTH_BLOCK;
/// Rows of `a` packed at once (MC x KC floats, 92 KiB, in L2).
const MC: usize = 120;

/// The lanes of 16-lane vector `v` (of a run of vectors) that hold one of `values` values: the
/// mask a tile stores a row's partial last vector with.
pub(crate) fn lane_mask(values: usize, v: usize) -> __mmask16 {
    let valid = values.saturating_sub(v * 16).min(16);
    ((1u32 << valid) - 1) as __mmask16
}

/// Whether this CPU runs the AVX-512 path (checked once).
pub(super) fn available() -> bool {
    use std::sync::OnceLock;
    static HAS: OnceLock<bool> = OnceLock::new();
    *HAS.get_or_init(|| is_x86_feature_detected!("avx512f"))
}

/// `dst = [dst +] a (m x k) @ b (k x n)` on the calling thread, `dst` being an m x n block.
///
/// # Safety
/// [available] holds; `a` and `b` cover m x k and k x n; nothing else reads or writes `dst`'s block
/// during the call.
pub(super) unsafe fn matmul(dst: DstBlock, k: usize, a: MatRef, b: MatRef, accumulate: bool) {
    debug_assert!(available());
    let col_panels = dst.cols.div_ceil(NR);
    PACKED.with_borrow_mut(|(packed_a, packed_b)| {
        packed_b.resize(KC.min(k) * col_panels * NR, 0.0);
        for p0 in (0..k).step_by(KC) {
            let kc = KC.min(k - p0);
            pack_panels(packed_b, NR, b, p0, kc, 0, dst.cols);
            // The first depth block overwrites the result unless the caller accumulates.
            let add_to_dst = accumulate || p0 > 0;
            // SAFETY: as this function's; the block holds `col_panels` panels of kc steps.
            unsafe {
                if a.col_stride == 1 {
                    block_product_in_place(dst, a, p0, kc, packed_b, add_to_dst)
                } else {
                    block_product(dst, a, p0, kc, packed_b, add_to_dst, packed_a)
                }
            };
        }
    });
}

/// `b` (k x n) packed for [matmul_prepacked]: its depth blocks of [KC] steps one after another, each
/// the [NR]-column panels [matmul] packs for that block. `n` rounded up to whole panels.
pub(super) fn prepack(b: MatRef, k: usize, n: usize) -> Vec<f32> {
    let col_panels = n.div_ceil(NR);
    let mut packed = vec![0.0; k * col_panels * NR];
    for p0 in (0..k).step_by(KC) {
        let kc = KC.min(k - p0);
        pack_panels(&mut packed[p0 * col_panels * NR..], NR, b, p0, kc, 0, n);
    }
    packed
}

/// [matmul] on a `b` that [prepack] packed (`packed`, of `col_panels` panels in all), for the
/// columns of `dst`'s block, which start at panel `first_panel`: the same blocks, tiles and so the
/// same bits, without packing `b` on every call (a frozen layer's weight, `model::frozen`).
///
/// # Safety
/// [available] holds; `a` covers m x k; `packed` is [prepack]'s for k steps and `col_panels`
/// panels; `dst`'s columns lie within panels `first_panel..col_panels`; nothing else reads or
/// writes `dst`'s block during the call.
pub(super) unsafe fn matmul_prepacked(
    dst: DstBlock,
    k: usize,
    a: MatRef,
    packed: &[f32],
    first_panel: usize,
    col_panels: usize,
    accumulate: bool,
) {
    debug_assert!(available() && first_panel + dst.cols.div_ceil(NR) <= col_panels);
    debug_assert_eq!(packed.len(), k * col_panels * NR);
    for p0 in (0..k).step_by(KC) {
        let kc = KC.min(k - p0);
        let block = &packed[p0 * col_panels * NR + first_panel * kc * NR..];
        let add_to_dst = accumulate || p0 > 0;
        if a.col_stride == 1 {
            // SAFETY: as this function's; `block` starts at this band's first panel of the block.
            unsafe { block_product_in_place(dst, a, p0, kc, block, add_to_dst) };
        } else {
            // SAFETY: as above.
            PACKED
                .with_borrow_mut(|(packed_a, _)| unsafe { block_product(dst, a, p0, kc, block, add_to_dst, packed_a) });
        }
    }
}

/// [block_product] for a row-major `a`, read where it lies: each tile broadcasts its rows' values
/// straight from `a`'s rows. Packing `a` costs a scalar pass over it per band, which a product with
/// few columns (patch-set's 128: 8 vector multiply-adds per value of `a`) does not earn back; the
/// sums are the same.
///
/// # Safety
/// As [block_product]'s, and `a.col_stride == 1`.
unsafe fn block_product_in_place(dst: DstBlock, a: MatRef, p0: usize, kc: usize, b_block: &[f32], add_to_dst: bool) {
    debug_assert_eq!(a.col_stride, 1);
    let (m, n) = (dst.rows, dst.cols);
    for i0 in (0..m).step_by(MC) {
        let mc = MC.min(m - i0);
        for jp in 0..n.div_ceil(NR) {
            let j0 = jp * NR;
            let cols = NR.min(n - j0);
            let b_panel = &b_block[jp * kc * NR..(jp + 1) * kc * NR];
            for r0 in (i0..i0 + mc).step_by(MR) {
                let rows = MR.min(i0 + mc - r0);
                // SAFETY: AVX-512F is available; rows r0..r0 + rows of `a` hold steps p0..p0 + kc
                // (checked by the caller); the panel holds kc steps; the tile lies inside `dst`.
                unsafe {
                    let first = a.data.as_ptr().add(r0 * a.row_stride + p0);
                    let c = dst.ptr.add(r0 * dst.ldc + j0);
                    let mut done = 0;
                    while done < rows {
                        let (first, c) = (first.add(done * a.row_stride), c.add(done * dst.ldc));
                        let left = rows - done;
                        done += match left {
                            MR.. => tile_in_place::<MR>(kc, first, a.row_stride, b_panel, c, dst.ldc, cols, add_to_dst),
                            _ => crate::gemm_f32::tile_of_height!(tile_in_place, left)(
                                kc,
                                first,
                                a.row_stride,
                                b_panel,
                                c,
                                dst.ldc,
                                cols,
                                add_to_dst,
                            ),
                        };
                    }
                }
            }
        }
    }
}

/// [tile] with `a`'s `R` rows read in place (`a` the first row's first step, rows `lda` apart);
/// returns `R`.
///
/// # Safety
/// AVX-512F must be available; `R <=` [MR]; `a` covers `R` rows of `kc` steps; `b` holds `kc`
/// steps; `c` points to `R` rows of `cols` writable values, `ldc` apart.
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)] // the shape of a tile
unsafe fn tile_in_place<const R: usize>(
    kc: usize,
    a: *const f32,
    lda: usize,
    b: &[f32],
    c: *mut f32,
    ldc: usize,
    cols: usize,
    add: bool,
) -> usize {
    debug_assert!(R <= MR && b.len() >= kc * NR);
    let rows: [*const f32; R] = std::array::from_fn(|r| a.add(r * lda));
    let mut acc = [[_mm512_setzero_ps(); 2]; R];
    let mut bp = b.as_ptr();
    for kk in 0..kc {
        let b0 = _mm512_loadu_ps(bp);
        let b1 = _mm512_loadu_ps(bp.add(16));
        for (acc, row) in acc.iter_mut().zip(&rows) {
            let av = _mm512_set1_ps(*row.add(kk));
            acc[0] = _mm512_fmadd_ps(av, b0, acc[0]);
            acc[1] = _mm512_fmadd_ps(av, b1, acc[1]);
        }
        bp = bp.add(NR);
    }
    store_tile(&acc, c, ldc, cols, add);
    R
}

/// Depth steps `p0..p0 + kc` of `dst (+)= a @ b`, with `b_block` holding those steps of `dst`'s
/// columns as packed panels; `a` is packed here, [MC] rows at a time, into `packed_a`.
///
/// # Safety
/// [available] holds; `a` covers `dst.rows` rows of steps `p0..p0 + kc`; `b_block` holds
/// `dst.cols.div_ceil(NR)` panels of kc steps; nothing else reads or writes `dst`'s block.
unsafe fn block_product(
    dst: DstBlock,
    a: MatRef,
    p0: usize,
    kc: usize,
    b_block: &[f32],
    add_to_dst: bool,
    packed_a: &mut Vec<f32>,
) {
    let (m, n) = (dst.rows, dst.cols);
    packed_a.resize(kc * MC.min(m).div_ceil(MR) * MR, 0.0);
    for i0 in (0..m).step_by(MC) {
        let mc = MC.min(m - i0);
        // `a`'s rows are the columns of its transpose, packed the way `b`'s columns are.
        pack_panels(packed_a, MR, a.transpose(), p0, kc, i0, mc);
        for jp in 0..n.div_ceil(NR) {
            let j0 = jp * NR;
            let cols = NR.min(n - j0);
            let b_panel = &b_block[jp * kc * NR..(jp + 1) * kc * NR];
            for ip in 0..mc.div_ceil(MR) {
                let rows = MR.min(mc - ip * MR);
                let a_panel = &packed_a[ip * kc * MR..(ip + 1) * kc * MR];
                // SAFETY: AVX-512F is available; the panels hold kc depth steps each; the tile's
                // rows x cols lie inside `dst`'s block.
                unsafe {
                    let c = dst.ptr.add((i0 + ip * MR) * dst.ldc + j0);
                    tile_rows(rows, kc, a_panel, b_panel, c, dst.ldc, cols, add_to_dst);
                }
            }
        }
    }
}

thread_local! {
    /// Each thread's packing buffers (a, b), kept between products.
    static PACKED: std::cell::RefCell<(Vec<f32>, Vec<f32>)> = const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
}

/// Pack depth steps `p0..p0 + kc` of columns `j0..j0 + n` of `m` (depth x columns) into panels of
/// `width` columns, each depth step one contiguous run of `width` values, zero past column `n`.
/// Reads follow `m`'s memory order: along a panel's run when its columns are contiguous (a row-major
/// `b`, a transposed `a` such as an input read as `x^T`), else down each column (a weight read as
/// `W^T`, a row-major `a`).
fn pack_panels(out: &mut [f32], width: usize, m: MatRef, p0: usize, kc: usize, j0: usize, n: usize) {
    for (jp, panel) in out.chunks_exact_mut(kc * width).take(n.div_ceil(width)).enumerate() {
        let first = j0 + jp * width;
        let cols = width.min(n - jp * width);
        if m.col_stride == 1 {
            for (kk, run) in panel.chunks_exact_mut(width).enumerate() {
                let start = (p0 + kk) * m.row_stride + first;
                run[..cols].copy_from_slice(&m.data[start..start + cols]);
                run[cols..].fill(0.0);
            }
        } else {
            if cols < width {
                panel.fill(0.0);
            }
            for j in 0..cols {
                let start = p0 * m.row_stride + (first + j) * m.col_stride;
                for (kk, v) in panel.iter_mut().skip(j).step_by(width).take(kc).enumerate() {
                    *v = m.data[start + kk * m.row_stride];
                }
            }
        }
    }
}

/// A register tile of `rows <=` [MR] rows (of a packed `a` panel) by [NR] columns: the full tile,
/// or the rows a partial one has (up to two smaller tiles), so that a band's last rows and a query's
/// single row cost only what they are. Each row's sums are the same whichever tile computes them.
///
/// # Safety
/// As [tile]'s, for `rows` rows.
#[allow(clippy::too_many_arguments)] // the shape of a tile
unsafe fn tile_rows(rows: usize, kc: usize, a: &[f32], b: &[f32], c: *mut f32, ldc: usize, cols: usize, add: bool) {
    // SAFETY: each call covers rows of the panel and of `c` that the caller's `rows` include.
    unsafe {
        if rows == MR {
            return tile::<MR>(kc, a, b, c, ldc, cols, add);
        }
        let first = rows.min(8);
        crate::gemm_f32::tile_of_height!(tile, first)(kc, a, b, c, ldc, cols, add);
        if rows > 8 {
            crate::gemm_f32::tile_of_height!(tile, rows - 8)(kc, &a[8..], b, c.add(8 * ldc), ldc, cols, add);
        }
    }
}

/// `R` rows of a register tile: `c[r][j] (+)= sum_k a[k][r] * b[k][j]` for the valid `cols`; `a`
/// is a packed panel (each depth step [MR] values, of which the first `R` are this tile's rows),
/// `c` points to the tile's first element, rows `ldc` apart. A full tile ([MR] rows) keeps 24 of
/// the 32 vector registers as accumulators: per depth step it loads two vectors of `b`, broadcasts
/// `R` values of `a` and does `2R` fused multiply-adds.
///
/// # Safety
/// AVX-512F must be available; `R <=` [MR]; `a` and `b` hold `kc` depth steps; `c` points to `R`
/// rows of `cols` writable values, `ldc` apart.
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)] // the shape of a tile
unsafe fn tile<const R: usize>(kc: usize, a: &[f32], b: &[f32], c: *mut f32, ldc: usize, cols: usize, add: bool) {
    debug_assert!(R <= MR && kc > 0 && a.len() >= (kc - 1) * MR + R && b.len() >= kc * NR);
    let mut acc = [[_mm512_setzero_ps(); 2]; R];
    let (mut ap, mut bp) = (a.as_ptr(), b.as_ptr());
    for _ in 0..kc {
        let b0 = _mm512_loadu_ps(bp);
        let b1 = _mm512_loadu_ps(bp.add(16));
        for (r, acc) in acc.iter_mut().enumerate() {
            let av = _mm512_set1_ps(*ap.add(r));
            acc[0] = _mm512_fmadd_ps(av, b0, acc[0]);
            acc[1] = _mm512_fmadd_ps(av, b1, acc[1]);
        }
        ap = ap.add(MR);
        bp = bp.add(NR);
    }
    store_tile(&acc, c, ldc, cols, add);
}

/// `c[r][j] (+)= acc[r][j]` for a tile's rows and its valid `cols` (two vectors per row).
///
/// # Safety
/// AVX-512F must be available; `c` points to `R` rows of `cols` writable values, `ldc` apart.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn store_tile<const R: usize>(acc: &[[__m512; 2]; R], c: *mut f32, ldc: usize, cols: usize, add: bool) {
    // Lanes of the two vectors that hold valid columns.
    let (m0, m1) = (lane_mask(cols, 0), lane_mask(cols, 1));
    for (r, acc) in acc.iter().enumerate() {
        let row = c.add(r * ldc);
        let (mut v0, mut v1) = (acc[0], acc[1]);
        if add {
            v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, row));
            v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, row.wrapping_add(16)));
        }
        // Masked-off lanes are neither read nor written; `wrapping_add` because with 16 or fewer
        // valid columns the second half may start past the end of the destination.
        _mm512_mask_storeu_ps(row, m0, v0);
        _mm512_mask_storeu_ps(row.wrapping_add(16), m1, v1);
    }
}

/// Columns of a narrow product: at most one 16-lane vector.
pub(super) const NARROW_NR: usize = 16;
/// Rows of a narrow tile. Each row's values of `a` are broadcast straight from `a`'s buffer through
/// its own pointer, so `a` is never packed: with one vector of columns every value of `a` feeds a
/// single multiply-add, and packing it would cost about as much as the product.
const NARROW_MR: usize = 8;
// The tiles are picked by `tile_of_height`, which has kernels of up to 8 rows.
const _: () = assert!(NARROW_MR <= 8);

/// `dst = [dst +] a (m x k) @ b (k x n)` for `n <=` [NARROW_NR] on the calling thread: a 10-class
/// head, a convolution of at most 16 channels on the patch path. The general tile pads such a
/// product to 32 columns (LeNet trained slower that way), and `gemm` runs AVX2 on stable Rust: on
/// LeNet's second layer (16 channels, patch path) a training step's convolution took 3.80-3.90 ms
/// here against 4.22 ms with `gemm` (bench/README.md, "Session 14").
///
/// Each value of the result sums its depth in blocks of [NARROW_DEPTH_BLOCK], in order within a
/// block, so its bits do not depend on which rows a band holds.
///
/// # Safety
/// [available] holds; `n <=` [NARROW_NR]; `a` and `b` cover m x k and k x n; nothing else reads or
/// writes `dst`'s block during the call.
pub(super) unsafe fn matmul_narrow(dst: DstBlock, k: usize, a: MatRef, b: MatRef, accumulate: bool) {
    debug_assert!(available() && dst.cols <= NARROW_NR);
    PACKED.with_borrow_mut(|(_, packed_b)| {
        packed_b.resize(NARROW_DEPTH_BLOCK.min(k) * NARROW_NR, 0.0);
        for p0 in (0..k).step_by(NARROW_DEPTH_BLOCK) {
            let kc = NARROW_DEPTH_BLOCK.min(k - p0);
            pack_panels(packed_b, NARROW_NR, b, p0, kc, 0, dst.cols);
            // SAFETY: as this function's; the packed block holds kc steps.
            unsafe { narrow_block(dst, a, p0, kc, packed_b, accumulate || p0 > 0) };
        }
    });
}

/// `b` (k x n, `n <=` [NARROW_NR]) packed for [matmul_narrow_prepacked]: the blocks of
/// [NARROW_DEPTH_BLOCK] steps [matmul_narrow] packs, one after another.
pub(super) fn prepack_narrow(b: MatRef, k: usize, n: usize) -> Vec<f32> {
    debug_assert!(n <= NARROW_NR);
    let mut packed = vec![0.0; k * NARROW_NR];
    for p0 in (0..k).step_by(NARROW_DEPTH_BLOCK) {
        let kc = NARROW_DEPTH_BLOCK.min(k - p0);
        pack_panels(&mut packed[p0 * NARROW_NR..], NARROW_NR, b, p0, kc, 0, n);
    }
    packed
}

/// [matmul_narrow] on a `b` that [prepack_narrow] packed: the same bits, `b` packed once.
///
/// # Safety
/// [available] holds; `dst.cols <=` [NARROW_NR]; `a` covers m x k; `packed` is [prepack_narrow]'s
/// for k steps; nothing else reads or writes `dst`'s block during the call.
pub(super) unsafe fn matmul_narrow_prepacked(dst: DstBlock, k: usize, a: MatRef, packed: &[f32], accumulate: bool) {
    debug_assert!(available() && dst.cols <= NARROW_NR && packed.len() == k * NARROW_NR);
    for p0 in (0..k).step_by(NARROW_DEPTH_BLOCK) {
        let kc = NARROW_DEPTH_BLOCK.min(k - p0);
        // SAFETY: as this function's; the block at p0 holds kc steps.
        unsafe { narrow_block(dst, a, p0, kc, &packed[p0 * NARROW_NR..], accumulate || p0 > 0) };
    }
}

/// Depth steps `p0..p0 + kc` of a narrow `dst (+)= a @ b`, `b_block` holding them packed.
///
/// # Safety
/// [available] holds; `dst.cols <=` [NARROW_NR]; `a` covers `dst.rows` rows of steps
/// `p0..p0 + kc`; `b_block` holds kc steps; nothing else reads or writes `dst`'s block.
unsafe fn narrow_block(dst: DstBlock, a: MatRef, p0: usize, kc: usize, b_block: &[f32], add_to_dst: bool) {
    let (m, n) = (dst.rows, dst.cols);
    for i0 in (0..m).step_by(NARROW_MR) {
        let rows = NARROW_MR.min(m - i0);
        // SAFETY: AVX-512F is available; rows i0..i0 + rows of `a` hold depth steps p0..p0 + kc
        // (checked by the caller); the packed block holds kc steps; the tile's rows x n lie inside
        // `dst`'s block.
        unsafe {
            let first = a.data.as_ptr().add(i0 * a.row_stride + p0 * a.col_stride);
            let c = dst.ptr.add(i0 * dst.ldc);
            let tile = crate::gemm_f32::tile_of_height!(narrow_tile, rows);
            tile(kc, first, a.row_stride, a.col_stride, b_block, c, dst.ldc, n, add_to_dst);
        }
    }
}

/// One tile of `R <=` [NARROW_MR] rows of a narrow product: `c[r][j] (+)= sum_k a[r][k] * b[k][j]`
/// for the valid `cols`; `a` points to the tile's first value (row r, step k at
/// `a + r * row_stride + k * col_stride`), `b` is a packed block of `kc` steps of [NARROW_NR]. The
/// row count is a constant so that a band's last, partial tile does no work for rows it lacks (with
/// a long depth, as in a weight gradient, that work would cost as much as a full tile).
///
/// # Safety
/// AVX-512F must be available; `a` covers `R` rows of `kc` steps at those strides; `b` holds `kc`
/// steps; `c` points to `R` rows of `cols` writable values, `ldc` apart.
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)] // the shape of a tile
unsafe fn narrow_tile<const R: usize>(
    kc: usize,
    a: *const f32,
    row_stride: usize,
    col_stride: usize,
    b: &[f32],
    c: *mut f32,
    ldc: usize,
    cols: usize,
    add: bool,
) {
    debug_assert!(b.len() >= kc * NARROW_NR);
    let row_ptr: [*const f32; R] = std::array::from_fn(|r| a.add(r * row_stride));
    let mut acc = [_mm512_setzero_ps(); R];
    let mut bp = b.as_ptr();
    for kk in 0..kc {
        let bv = _mm512_loadu_ps(bp);
        let step = kk * col_stride;
        for (acc, row) in acc.iter_mut().zip(&row_ptr) {
            *acc = _mm512_fmadd_ps(_mm512_set1_ps(*row.add(step)), bv, *acc);
        }
        bp = bp.add(NARROW_NR);
    }
    let mask = lane_mask(cols, 0);
    for (r, acc) in acc.iter().enumerate() {
        let row = c.add(r * ldc);
        let v = if add { _mm512_add_ps(*acc, _mm512_maskz_loadu_ps(mask, row)) } else { *acc };
        _mm512_mask_storeu_ps(row, mask, v);
    }
}
