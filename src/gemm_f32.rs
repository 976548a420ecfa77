//! Safe f32 matrix products on the `gemm` crate (the library dfdx's CPU matmul uses), for code that
//! multiplies plain slices: the CPU conv kernels and the dense orthogonal mix.

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
    /// The rayon pool.
    All,
}

/// `dst (m x n, dense row-major) = [dst +] a (m x k) @ b (k x n)`.
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
    // SAFETY: every element the product reads lies inside `a.data` / `b.data` (checked above), `dst`
    // is exactly m x n with the strides given, and it cannot overlap the shared borrows `a`, `b`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
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
            match threads {
                Threads::One => gemm::Parallelism::None,
                Threads::All => gemm::Parallelism::Rayon(0),
            },
        );
    }
}
