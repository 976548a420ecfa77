//! Safe f32 matrix products on the `gemm` crate (the library dfdx's CPU matmul uses), for code that
//! multiplies plain slices: the CPU dense and conv layers, the dense orthogonal mix, the attacks.
//!
//! On CPUs with AVX-512F, products wide and tall enough for its register tiles, and products of at
//! most 16 columns, run on [avx512]'s kernels (the `gemm` crate's AVX-512 kernels need nightly
//! Rust); everything else on `gemm`.

/// `$tile::<R, ...>` with `R` = `$rows` clamped to 1..=8 and any further generic arguments after
/// it: a kernel whose tile height is a constant (so its accumulators stay in registers), picked at
/// run time for a tile of `$rows` rows.
macro_rules! tile_of_height {
    ($tile:ident, $rows:expr $(, $more:tt)*) => {
        match $rows {
            8.. => $tile::<8 $(, $more)*>,
            7 => $tile::<7 $(, $more)*>,
            6 => $tile::<6 $(, $more)*>,
            5 => $tile::<5 $(, $more)*>,
            4 => $tile::<4 $(, $more)*>,
            3 => $tile::<3 $(, $more)*>,
            2 => $tile::<2 $(, $more)*>,
            _ => $tile::<1 $(, $more)*>,
        }
    };
}
pub(crate) use tile_of_height;

#[cfg(target_arch = "x86_64")]
mod avx512;
#[cfg(target_arch = "x86_64")]
pub(crate) use avx512::lane_mask;

/// Depth of a block of a product on [avx512]'s general register tiles (a packed `b` panel, 192 x 32
/// floats, 24 KiB, stays in the 32 KiB L1 cache while the tiles of one column panel run). Each value
/// of such a product sums its depth in blocks of this many steps, and so do the direct convolution
/// kernels for 17-32 channels.
pub(crate) const TILE_DEPTH_BLOCK: usize = 192;

/// Depth of a block of a product with at most 16 columns on AVX-512 (a packed block of `b`,
/// 512 x 16 floats, 32 KiB: L1 with room for the rows of `a` it meets). Each value of such a
/// product sums its depth in blocks of this many steps; the direct convolution kernels for up to
/// 16 channels (`model::cpu_kernels::conv_avx512`) sum the same way, so both give the same bits.
pub(crate) const NARROW_DEPTH_BLOCK: usize = 512;

/// Whether this CPU has AVX-512F (checked once): the products, convolution kernels and attack scans
/// written with its intrinsics run only where it does.
pub(crate) fn avx512_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    return avx512::available();
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// A read-only matrix for [matmul]: element `(i, j)` is `data[i * row_stride + j * col_stride]`, so
/// one buffer serves as a matrix or its transpose.
#[derive(Clone, Copy)]
pub(crate) struct MatRef<'a> {
    pub data: &'a [f32],
    pub row_stride: usize,
    pub col_stride: usize,
}

impl<'a> MatRef<'a> {
    /// `data` as a dense row-major matrix with `cols` columns.
    pub fn rows(data: &'a [f32], cols: usize) -> Self {
        Self { data, row_stride: cols, col_stride: 1 }
    }
    /// The transpose of `data` read as a dense row-major matrix with `cols` columns.
    pub fn transposed(data: &'a [f32], cols: usize) -> Self {
        Self { data, row_stride: 1, col_stride: cols }
    }
    /// The same buffer read as the transposed matrix.
    fn transpose(self) -> Self {
        Self { row_stride: self.col_stride, col_stride: self.row_stride, ..self }
    }
    fn check(&self, rows: usize, cols: usize) {
        if rows > 0 && cols > 0 {
            let last = (rows - 1) * self.row_stride + (cols - 1) * self.col_stride;
            assert!(last < self.data.len(), "matrix view ({rows}x{cols}) reads past its buffer");
        }
    }
}

/// How [matmul] may use threads.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Threads {
    /// The calling thread only (for callers that run it inside their own parallel chunks).
    One,
    /// The rayon pool: the product is cut into one band of rows or columns per pool thread, each
    /// band multiplied on one thread (see [matmul]).
    All,
}

/// Below this many multiply-adds a product runs on the calling thread: a fork-join costs a few
/// microseconds, about what a 64 x 64 x 64 product takes.
const SPLIT_MIN_MULTIPLY_ADDS: usize = 1 << 18;

/// Below this many multiply-adds a product with too few rows to band runs on the calling thread.
const COLUMN_SPLIT_MIN_MULTIPLY_ADDS: usize = 1 << 22;

/// A band needs at least this many rows or columns (three of gemm's 8-row register tiles, two of the
/// AVX-512 tile's 12 rows) to keep a microkernel fed.
const SPLIT_MIN_ROWS: usize = 24;

/// `dst (m x n, dense row-major) = [dst +] a (m x k) @ b (k x n)`.
///
/// With [Threads::All] `dst` is cut into one band per rayon thread, of columns when it is wider than
/// tall (each thread then packs only its part of `b`) and of rows otherwise, and the bands run on the
/// pool, each a single-threaded product: one fork-join per product. gemm's own parallel mode forks
/// and joins twice per depth block (pack, then multiply) and, called from outside the pool, wakes
/// every worker each time; on the 2 cores of the development machine bands did the forward product
/// of mlp-512-256's first layer (128 x 784 x 512) in 0.74 ms against gemm's 1.34 ms, both with gemm's
/// tiles (bench/README.md, "The products on two threads").
#[allow(clippy::too_many_arguments)] // the shape of a matrix product
pub(crate) fn matmul(
    dst: &mut [f32],
    m: usize,
    n: usize,
    k: usize,
    a: MatRef,
    b: MatRef,
    accumulate: bool,
    threads: Threads,
) {
    assert_eq!(dst.len(), m * n, "gemm destination is not m x n");
    a.check(m, k);
    b.check(k, n);
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            dst.fill(0.0);
        }
        return;
    }
    let whole = DstBlock::whole(dst, m, n);
    match band_count(m, n, k, threads) {
        0 => gemm_in(whole, k, a, b, accumulate, gemm::Parallelism::Rayon(crate::pool_share::threads())),
        bands => in_bands(whole, bands, a, |block, a, first_col| {
            let b = MatRef { data: &b.data[first_col * b.col_stride..], ..b };
            band(block, k, a, b, accumulate)
        }),
    }
}

/// How many bands [matmul] cuts an m x n x k product into: one per thread of the pool's share
/// (fewer where arms or attacks run side by side, `pool_share`), or 1 where a fork-join would cost
/// more than it saves (a small product; a batch-1 forward pass, 1 x 784 x 512). 0: a large product
/// too small in both directions to band (a great depth), which gemm splits itself.
fn band_count(m: usize, n: usize, k: usize, threads: Threads) -> usize {
    let pool = crate::pool_share::threads();
    match threads {
        Threads::One => 1,
        Threads::All if pool == 1 || m * n * k < SPLIT_MIN_MULTIPLY_ADDS => 1,
        Threads::All if m < SPLIT_MIN_ROWS && m * n * k < COLUMN_SPLIT_MIN_MULTIPLY_ADDS => 1,
        Threads::All => pool.min(m.max(n) / SPLIT_MIN_ROWS),
    }
}

/// Run `band_product(block, a, first_col)` on `bands >= 1` disjoint blocks of `whole` on the pool
/// (on this thread for one), `a` offset to the block's first row and `first_col` its first column.
/// Wider than tall (a layer's forward product or input gradient, batch x features): bands of
/// columns, so that each thread packs only its part of `b`, the larger operand; else of rows.
fn in_bands(whole: DstBlock, bands: usize, a: MatRef, band_product: impl Fn(DstBlock, MatRef, usize) + Sync) {
    use rayon::prelude::*;
    let (m, n) = (whole.rows, whole.cols);
    if bands == 1 {
        return band_product(whole, a, 0);
    }
    if n > m {
        let width = n.div_ceil(bands).next_multiple_of(COLUMN_BAND_ALIGN);
        (0..n.div_ceil(width)).into_par_iter().for_each(|i| {
            let (first, cols) = (i * width, width.min(n - i * width));
            band_product(whole.columns(first, cols), a, first);
        });
    } else {
        let height = m.div_ceil(bands);
        (0..m.div_ceil(height)).into_par_iter().for_each(|i| {
            let (first, rows) = (i * height, height.min(m - i * height));
            band_product(whole.rows(first, rows), MatRef { data: &a.data[first * a.row_stride..], ..a }, 0);
        });
    }
}

/// A `b` operand (k x n) packed once for many products ([matmul_packed]): a frozen layer's weight,
/// multiplied by every batch a served model sees. On AVX-512 it holds the panels [matmul] packs on
/// every call (all depth blocks), elsewhere a row-major copy.
pub(crate) struct PackedMatrix {
    k: usize,
    n: usize,
    panels: Panels,
}

enum Panels {
    /// [avx512]'s general tile's panels ([NR](avx512::NR) columns each).
    #[cfg(target_arch = "x86_64")]
    Tile(Vec<f32>),
    /// [avx512]'s narrow kernel's blocks (at most 16 columns).
    #[cfg(target_arch = "x86_64")]
    Narrow(Vec<f32>),
    /// Row-major, for [matmul] (no AVX-512).
    Plain(Vec<f32>),
}

impl PackedMatrix {
    /// `b`, k x n, packed.
    pub fn new(b: MatRef, k: usize, n: usize) -> Self {
        b.check(k, n);
        #[cfg(target_arch = "x86_64")]
        if avx512::available() {
            let panels = if n <= avx512::NARROW_NR {
                Panels::Narrow(avx512::prepack_narrow(b, k, n))
            } else {
                Panels::Tile(avx512::prepack(b, k, n))
            };
            return PackedMatrix { k, n, panels };
        }
        let mut plain = vec![0.0; k * n];
        for (i, row) in plain.chunks_exact_mut(n.max(1)).enumerate().take(k) {
            row.iter_mut().enumerate().for_each(|(j, v)| *v = b.data[i * b.row_stride + j * b.col_stride]);
        }
        PackedMatrix { k, n, panels: Panels::Plain(plain) }
    }

    /// Rows (depth) and columns of the matrix.
    pub fn shape(&self) -> (usize, usize) {
        (self.k, self.n)
    }
}

/// `dst (m x n) = [dst +] a (m x k) @ b` for a packed `b`, banded as [matmul] bands. Wherever
/// [matmul] runs the AVX-512 kernels on the same operands (on such CPUs: at most 16 columns, or at
/// least 6 rows per band and columns that fill three quarters of the tiles they pad to) the result
/// has its bits; elsewhere [matmul]'s fallback (gemm) sums in another order. Elsewhere than AVX-512
/// it is [matmul].
pub(crate) fn matmul_packed(
    dst: &mut [f32],
    m: usize,
    a: MatRef,
    b: &PackedMatrix,
    accumulate: bool,
    threads: Threads,
) {
    let (k, n) = (b.k, b.n);
    assert_eq!(dst.len(), m * n, "gemm destination is not m x n");
    a.check(m, k);
    if m == 0 || n == 0 || k == 0 {
        if !accumulate {
            dst.fill(0.0);
        }
        return;
    }
    let panels = match &b.panels {
        Panels::Plain(plain) => return matmul(dst, m, n, k, a, MatRef::rows(plain, n), accumulate, threads),
        panels => panels,
    };
    let whole = DstBlock::whole(dst, m, n);
    // Where [matmul] would leave a deep, narrow product to gemm's own split (0 bands), one band.
    let bands = band_count(m, n, k, threads).max(1);
    match panels {
        Panels::Plain(_) => unreachable!("multiplied above"),
        // SAFETY (both): the CPU has AVX-512F (the panels exist only then); `a` is checked; the
        // panels are `prepack`'s of k steps; each band is a disjoint block of the destination.
        #[cfg(target_arch = "x86_64")]
        Panels::Tile(panels) => in_bands(whole, bands, a, |block, a, first_col| unsafe {
            avx512::matmul_prepacked(block, k, a, panels, first_col / avx512::NR, n.div_ceil(avx512::NR), accumulate)
        }),
        #[cfg(target_arch = "x86_64")]
        Panels::Narrow(panels) => in_bands(whole, bands, a, |block, a, _| unsafe {
            avx512::matmul_narrow_prepacked(block, k, a, panels, accumulate)
        }),
    }
}

/// Column bands start at multiples of this (the AVX-512 tile's width), so no band pads a tile that
/// another band fills.
const COLUMN_BAND_ALIGN: usize = 32;
// A column band of a packed matrix starts at a whole panel.
#[cfg(target_arch = "x86_64")]
const _: () = assert!(COLUMN_BAND_ALIGN.is_multiple_of(avx512::NR));

/// A `rows` x `cols` block of a row-major destination whose rows are `ldc` apart: the whole
/// destination of a [matmul], or one band of its rows or columns. The bands of one destination do
/// not overlap, which is what lets different threads write them.
#[derive(Clone, Copy)]
struct DstBlock {
    ptr: *mut f32,
    ldc: usize,
    rows: usize,
    cols: usize,
}

// SAFETY: a block comes from an exclusive borrow of the destination (`whole`) and is only split into
// disjoint bands, each written by one thread, all within that borrow (`matmul`'s call).
unsafe impl Send for DstBlock {}
unsafe impl Sync for DstBlock {}

impl DstBlock {
    fn whole(dst: &mut [f32], rows: usize, cols: usize) -> DstBlock {
        debug_assert_eq!(dst.len(), rows * cols);
        DstBlock { ptr: dst.as_mut_ptr(), ldc: cols, rows, cols }
    }
    /// Rows `first..first + rows` of this block.
    fn rows(self, first: usize, rows: usize) -> DstBlock {
        assert!(first + rows <= self.rows, "row band outside the block");
        DstBlock { ptr: self.ptr.wrapping_add(first * self.ldc), rows, ..self }
    }
    /// Columns `first..first + cols` of this block.
    fn columns(self, first: usize, cols: usize) -> DstBlock {
        assert!(first + cols <= self.cols, "column band outside the block");
        DstBlock { ptr: self.ptr.wrapping_add(first), cols, ..self }
    }
}

/// One band of [matmul] on the calling thread (`a` and `b` already offset to the band), where the
/// CPU has AVX-512F: [avx512]'s narrow kernel for at most 16 columns (a 10-class head, a LeNet
/// convolution's 6 or 16 channels on the patch path: padded to the 32 columns of the general tile
/// they ran slower), its general tile when the band fills it well (half a tile's rows, three
/// quarters of the columns it pads to); else gemm.
fn band(dst: DstBlock, k: usize, a: MatRef, b: MatRef, accumulate: bool) {
    let (m, n) = (dst.rows, dst.cols);
    a.check(m, k);
    b.check(k, n);
    #[cfg(target_arch = "x86_64")]
    if avx512::available() {
        if n <= avx512::NARROW_NR {
            // SAFETY: the CPU has AVX-512F; n fits one vector; `a`, `b` are checked; `dst` is a
            // block of the destination.
            return unsafe { avx512::matmul_narrow(dst, k, a, b, accumulate) };
        }
        if m >= avx512::MR / 2 && 4 * n >= 3 * n.next_multiple_of(avx512::NR) {
            // SAFETY: the CPU has AVX-512F; `a`, `b` are checked; `dst` is a block of the destination.
            return unsafe { avx512::matmul(dst, k, a, b, accumulate) };
        }
    }
    gemm_in(dst, k, a, b, accumulate, gemm::Parallelism::None);
}

/// The gemm call of [matmul] (`a`, `b` checked by the caller).
fn gemm_in(dst: DstBlock, k: usize, a: MatRef, b: MatRef, accumulate: bool, parallelism: gemm::Parallelism) {
    // SAFETY: every element the product reads lies inside `a.data` / `b.data` (checked by the
    // caller); `dst` is a block of an exclusively borrowed destination that no other thread writes,
    // and it cannot overlap the shared borrows `a`, `b`.
    unsafe {
        gemm::gemm(
            dst.rows,
            dst.cols,
            k,
            dst.ptr,
            1,
            dst.ldc as isize,
            accumulate,
            a.data.as_ptr(),
            a.col_stride as isize,
            a.row_stride as isize,
            b.data.as_ptr(),
            b.col_stride as isize,
            b.row_stride as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The product by definition, in f64.
    fn naive(m: usize, n: usize, k: usize, a: MatRef, b: MatRef) -> Vec<f64> {
        let at = |d: &MatRef, i: usize, j: usize| d.data[i * d.row_stride + j * d.col_stride] as f64;
        let mut out = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                out[i * n + j] = (0..k).map(|p| at(&a, i, p) * at(&b, p, j)).sum();
            }
        }
        out
    }

    fn values(len: usize, seed: u64) -> Vec<f32> {
        // A small LCG: deterministic, signed values in [-1, 1).
        let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (0..len)
            .map(|_| {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((x >> 40) as f32 / (1u64 << 23) as f32) - 1.0
            })
            .collect()
    }

    /// Every path (one thread, row bands on a pool, the AVX-512 tiles and narrow kernel where the
    /// CPU has them, gemm's column split when there are too few rows to band, a packed `b`) against the definition, on shapes that
    /// leave partial tiles, partial depth blocks and partial packing blocks, with either operand
    /// transposed, overwriting and accumulating.
    #[test]
    fn every_path_computes_the_product() {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
        let shapes = [(1, 1, 1), (5, 40, 3), (6, 16, 7), (12, 32, 192), (13, 33, 193), (50, 10, 400), (128, 100, 70)];
        let more = [(130, 64, 385), (241, 47, 31), (20, 600, 50), (300, 5, 520)];
        for (m, n, k) in shapes.into_iter().chain(more) {
            for (a_t, b_t, accumulate) in
                [(false, false, false), (true, false, true), (false, true, true), (true, true, false)]
            {
                let (a_data, b_data) = (values(m * k, (m * 31 + k) as u64), values(k * n, (n * 17 + k) as u64));
                let a = if a_t { MatRef::transposed(&a_data, m) } else { MatRef::rows(&a_data, k) };
                let b = if b_t { MatRef::transposed(&b_data, k) } else { MatRef::rows(&b_data, n) };
                let start = values(m * n, 7);
                let mut want = naive(m, n, k, a, b);
                if accumulate {
                    want.iter_mut().zip(&start).for_each(|(w, s)| *w += *s as f64);
                }
                let packed = PackedMatrix::new(b, k, n);
                for (threads, prepacked) in [(Threads::One, false), (Threads::All, false), (Threads::All, true)] {
                    let mut got = start.clone();
                    pool.install(|| match prepacked {
                        false => matmul(&mut got, m, n, k, a, b, accumulate, threads),
                        true => matmul_packed(&mut got, m, a, &packed, accumulate, threads),
                    });
                    for (idx, (g, w)) in got.iter().zip(&want).enumerate() {
                        let tolerance = 1e-5 * (k as f64).sqrt() * 4.0;
                        assert!(
                            (*g as f64 - w).abs() <= tolerance,
                            "{m}x{n}x{k} a_t={a_t} b_t={b_t} acc={accumulate}: element {idx} is {g}, expected {w}"
                        );
                    }
                }
            }
        }
    }
    /// A product's bits do not depend on how many bands it is cut into: each element sums its depth
    /// in the same blocks and order in any band. Arms and attacks side by side band their products
    /// less (pool_share), and a run's figures must not depend on that.
    #[test]
    fn the_band_count_does_not_change_a_products_bits() {
        let shapes = [
            (128, 784, 512),
            (128, 512, 784),
            (784, 512, 128),
            (128, 16, 150),
            (1152, 6, 25),
            (300, 5, 520),
            (10, 24, 90000),
        ];
        for (m, n, k) in shapes {
            let (a_data, b_data) = (values(m * k, (m + k) as u64), values(k * n, (n + k) as u64));
            let (a, b) = (MatRef::rows(&a_data, k), MatRef::rows(&b_data, n));
            let product = |threads: usize, share: Option<usize>| {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                let mut out = vec![0f32; m * n];
                pool.install(|| {
                    crate::pool_share::with_share(share, || matmul(&mut out, m, n, k, a, b, false, Threads::All))
                });
                out.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
            };
            let one = product(1, None);
            for (threads, share) in [(2, None), (3, None), (4, Some(2)), (4, Some(1))] {
                assert!(product(threads, share) == one, "{m}x{n}x{k} on {threads} threads, share {share:?}");
            }
        }
    }

    /// A packed `b` gives [matmul]'s bits wherever [matmul] runs the AVX-512 kernels (the shapes
    /// here: a frozen dense layer's products at batch 256 and 37, a 10-class head, a band of 7
    /// rows, a partial depth block), on any number of bands: a frozen network scores a batch as the
    /// training-time forward pass does.
    #[test]
    fn a_packed_matrix_gives_the_products_bits() {
        let shapes = [(256, 1024, 784), (37, 256, 400), (256, 10, 1100), (7, 100, 193), (130, 48, 5)];
        for (m, n, k) in shapes {
            let (a_data, b_data) = (values(m * k, (m + 3 * k) as u64), values(k * n, (n + 5 * k) as u64));
            let (a, b) = (MatRef::rows(&a_data, k), MatRef::rows(&b_data, n));
            let packed = PackedMatrix::new(b, k, n);
            let start = values(m * n, 11);
            let mut want = start.clone();
            matmul(&mut want, m, n, k, a, b, true, Threads::One);
            for threads in [1, 2, 3] {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                let mut got = start.clone();
                pool.install(|| matmul_packed(&mut got, m, a, &packed, true, Threads::All));
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert!(bits(&got) == bits(&want), "{m}x{n}x{k} on {threads} threads");
            }
        }
    }
}
