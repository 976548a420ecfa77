//! Small dense linear algebra for the attacks, in f64: products through dfdx's gemm (threaded),
//! Cholesky solves for ridge least squares, and a symmetric eigendecomposition (Householder
//! tridiagonalisation + implicit QL, after EISPACK tred2/tql2 as in JAMA) for PCA alignment.

use dfdx::prelude::*;

/// `a^T b` for row-major `a` (n x p) and `b` (n x q): a p x q matrix.
pub fn at_b(a: &[f64], b: &[f64], n: usize, p: usize, q: usize) -> Vec<f64> {
    assert_eq!(a.len(), n * p);
    assert_eq!(b.len(), n * q);
    if n == 0 {
        return vec![0.0; p * q];
    }
    let dev = Cpu::default();
    let ta: Tensor<(usize, usize), f64, Cpu> = dev.tensor_from_vec(a.to_vec(), (n, p));
    let tb: Tensor<(usize, usize), f64, Cpu> = dev.tensor_from_vec(b.to_vec(), (n, q));
    ta.permute::<_, Axes2<1, 0>>().matmul(tb).as_vec()
}

/// Columns per block of [`gram`]: the blocks on and above the diagonal are multiplied, the rest mirrored.
const GRAM_BLOCK: usize = 128;

/// `a^T a` for row-major `a` (n x p), as [`at_b`] computes it (gemm's product on each block, which
/// sums each entry as the whole product does: a test checks the two agree to the bit) at a little
/// over half its work: the blocks below the diagonal are mirrored.
pub fn gram(a: &[f64], n: usize, p: usize) -> Vec<f64> {
    assert_eq!(a.len(), n * p);
    let mut out = vec![0f64; p * p];
    if n == 0 {
        return out;
    }
    // Blocks of even width (784 = 7 x 112): a block of a few columns would take gemm's narrow path,
    // which sums in another order.
    let block = p.div_ceil(p.div_ceil(GRAM_BLOCK));
    for i0 in (0..p).step_by(block) {
        let rows = block.min(p - i0);
        for j0 in (i0..p).step_by(block) {
            let cols = block.min(p - j0);
            // SAFETY: the destination block out[i0.., j0..] (rows x cols, row stride p) lies inside
            // `out`, which nothing else borrows; both operands are column blocks of `a` read through
            // strides that stay inside it (rows and columns below p, depth below n).
            unsafe {
                gemm::gemm(
                    rows,
                    cols,
                    n,
                    out.as_mut_ptr().add(i0 * p + j0),
                    1,
                    p as isize,
                    false,
                    a.as_ptr().add(i0),
                    p as isize,
                    1,
                    a.as_ptr().add(j0),
                    1,
                    p as isize,
                    0.0,
                    1.0,
                    false,
                    false,
                    false,
                    gemm::Parallelism::Rayon(rayon::current_num_threads()),
                );
            }
        }
    }
    for i in 0..p {
        for j in 0..i {
            out[i * p + j] = out[j * p + i];
        }
    }
    out
}

/// `a b` for row-major `a` (n x k) and `b` (k x m).
pub fn matmul(a: &[f64], b: &[f64], n: usize, k: usize, m: usize) -> Vec<f64> {
    assert_eq!(a.len(), n * k);
    assert_eq!(b.len(), k * m);
    if n == 0 || m == 0 {
        return vec![0.0; n * m];
    }
    let dev = Cpu::default();
    let ta: Tensor<(usize, usize), f64, Cpu> = dev.tensor_from_vec(a.to_vec(), (n, k));
    let tb: Tensor<(usize, usize), f64, Cpu> = dev.tensor_from_vec(b.to_vec(), (k, m));
    ta.matmul(tb).as_vec()
}

/// `a b^T` for row-major `a` (n x k) and `b` (m x k).
pub fn a_bt(a: &[f64], b: &[f64], n: usize, k: usize, m: usize) -> Vec<f64> {
    assert_eq!(a.len(), n * k);
    assert_eq!(b.len(), m * k);
    if n == 0 || m == 0 {
        return vec![0.0; n * m];
    }
    let dev = Cpu::default();
    let ta: Tensor<(usize, usize), f64, Cpu> = dev.tensor_from_vec(a.to_vec(), (n, k));
    let tb: Tensor<(usize, usize), f64, Cpu> = dev.tensor_from_vec(b.to_vec(), (m, k));
    ta.matmul(tb.permute::<_, Axes2<1, 0>>()).as_vec()
}

/// Per-column means of a row-major n x d matrix.
pub fn column_means(x: &[f64], n: usize, d: usize) -> Vec<f64> {
    let mut m = vec![0f64; d];
    for row in x.chunks_exact(d) {
        for (a, b) in m.iter_mut().zip(row) {
            *a += b;
        }
    }
    m.iter_mut().for_each(|a| *a /= n.max(1) as f64);
    m
}

/// Covariance (population, 1/n) of the columns of a row-major n x d matrix, and the means.
pub fn covariance(x: &[f64], n: usize, d: usize) -> (Vec<f64>, Vec<f64>) {
    let mean = column_means(x, n, d);
    let mut centred = x.to_vec();
    for row in centred.chunks_exact_mut(d) {
        for (a, m) in row.iter_mut().zip(&mean) {
            *a -= m;
        }
    }
    let mut cov = gram(&centred, n, d);
    cov.iter_mut().for_each(|c| *c /= n.max(1) as f64);
    (cov, mean)
}

/// Cholesky factor L (lower, row-major) of a symmetric positive definite p x p matrix, in place.
/// Err(column) where a pivot is not positive.
pub fn cholesky(a: &mut [f64], p: usize) -> Result<(), usize> {
    for j in 0..p {
        let mut diag = a[j * p + j];
        for k in 0..j {
            diag -= a[j * p + k] * a[j * p + k];
        }
        if diag.is_nan() || diag <= 0.0 {
            return Err(j);
        }
        let ljj = diag.sqrt();
        a[j * p + j] = ljj;
        for i in j + 1..p {
            let (row_j, row_i) = (j * p, i * p);
            let mut s = a[row_i + j];
            for k in 0..j {
                s -= a[row_i + k] * a[row_j + k];
            }
            a[row_i + j] = s / ljj;
        }
    }
    for i in 0..p {
        for j in i + 1..p {
            a[i * p + j] = 0.0;
        }
    }
    Ok(())
}

/// Solve `L L^T X = B` for X (p x k, row-major) given the Cholesky factor L; B is overwritten.
pub fn cholesky_solve(l: &[f64], p: usize, b: &mut [f64], k: usize) {
    // Forward: L Z = B.
    for i in 0..p {
        let (done, rest) = b.split_at_mut(i * k);
        let row = &mut rest[..k];
        for t in 0..i {
            let lit = l[i * p + t];
            if lit != 0.0 {
                let zt = &done[t * k..(t + 1) * k];
                for (r, z) in row.iter_mut().zip(zt) {
                    *r -= lit * z;
                }
            }
        }
        let inv = 1.0 / l[i * p + i];
        row.iter_mut().for_each(|r| *r *= inv);
    }
    // Backward: L^T X = Z.
    for i in (0..p).rev() {
        let (head, tail) = b.split_at_mut((i + 1) * k);
        let row = &mut head[i * k..];
        for t in i + 1..p {
            let lti = l[t * p + i];
            if lti != 0.0 {
                let xt = &tail[(t - i - 1) * k..(t - i) * k];
                for (r, x) in row.iter_mut().zip(xt) {
                    *r -= lti * x;
                }
            }
        }
        let inv = 1.0 / l[i * p + i];
        row.iter_mut().for_each(|r| *r *= inv);
    }
}

/// Ridge solve `(G + lambda I) X = B` (G symmetric p x p, B p x k); lambda grows tenfold until the
/// factorisation succeeds. Returns X and the lambda used.
pub fn ridge_solve(g: &[f64], p: usize, b: &[f64], k: usize, mut lambda: f64) -> (Vec<f64>, f64) {
    loop {
        let mut a = g.to_vec();
        for i in 0..p {
            a[i * p + i] += lambda;
        }
        if cholesky(&mut a, p).is_ok() {
            let mut x = b.to_vec();
            cholesky_solve(&a, p, &mut x, k);
            return (x, lambda);
        }
        lambda = if lambda > 0.0 { lambda * 10.0 } else { 1e-12 };
    }
}

/// Eigenvalues (descending) and eigenvectors (rows of the returned matrix, unit length) of a
/// symmetric p x p matrix.
pub fn symmetric_eigen(a: &[f64], p: usize) -> (Vec<f64>, Vec<f64>) {
    assert_eq!(a.len(), p * p);
    if p == 0 {
        return (Vec::new(), Vec::new());
    }
    // V is kept transposed throughout (row i of `vt` is column i of V): the inner loops of both
    // stages then walk contiguous memory. A is symmetric, so it is its own transpose.
    let mut vt = a.to_vec();
    let mut d = vec![0f64; p];
    let mut e = vec![0f64; p];
    tred2(&mut vt, &mut d, &mut e, p);
    tql2(&mut vt, &mut d, &mut e, p);
    let mut order: Vec<usize> = (0..p).collect();
    order.sort_by(|&x, &y| d[y].total_cmp(&d[x]));
    let values = order.iter().map(|&i| d[i]).collect();
    let mut vectors = Vec::with_capacity(p * p);
    for &i in &order {
        vectors.extend_from_slice(&vt[i * p..(i + 1) * p]);
    }
    (values, vectors)
}

/// Householder reduction to tridiagonal form; V (stored transposed: V[i][j] at `j * n + i`)
/// accumulates the transformation.
fn tred2(v: &mut [f64], d: &mut [f64], e: &mut [f64], n: usize) {
    let at = |i: usize, j: usize| j * n + i;
    for j in 0..n {
        d[j] = v[at(n - 1, j)];
    }
    for i in (1..n).rev() {
        let scale: f64 = d[..i].iter().map(|v| v.abs()).sum();
        let mut h = 0.0;
        if scale == 0.0 {
            e[i] = d[i - 1];
            for j in 0..i {
                d[j] = v[at(i - 1, j)];
                v[at(i, j)] = 0.0;
                v[at(j, i)] = 0.0;
            }
        } else {
            for dk in d[..i].iter_mut() {
                *dk /= scale;
                h += *dk * *dk;
            }
            let mut f = d[i - 1];
            let mut g = h.sqrt();
            if f > 0.0 {
                g = -g;
            }
            e[i] = scale * g;
            h -= f * g;
            d[i - 1] = f - g;
            for ej in e.iter_mut().take(i) {
                *ej = 0.0;
            }
            for j in 0..i {
                f = d[j];
                v[at(j, i)] = f;
                g = e[j] + v[at(j, j)] * f;
                for k in j + 1..i {
                    g += v[at(k, j)] * d[k];
                    e[k] += v[at(k, j)] * f;
                }
                e[j] = g;
            }
            f = 0.0;
            for j in 0..i {
                e[j] /= h;
                f += e[j] * d[j];
            }
            let hh = f / (h + h);
            for j in 0..i {
                e[j] -= hh * d[j];
            }
            for j in 0..i {
                f = d[j];
                g = e[j];
                for k in j..i {
                    v[at(k, j)] -= f * e[k] + g * d[k];
                }
                d[j] = v[at(i - 1, j)];
                v[at(i, j)] = 0.0;
            }
        }
        d[i] = h;
    }
    for i in 0..n - 1 {
        v[at(n - 1, i)] = v[at(i, i)];
        v[at(i, i)] = 1.0;
        let h = d[i + 1];
        if h != 0.0 {
            for k in 0..=i {
                d[k] = v[at(k, i + 1)] / h;
            }
            for j in 0..=i {
                let mut g = 0.0;
                for k in 0..=i {
                    g += v[at(k, i + 1)] * v[at(k, j)];
                }
                for k in 0..=i {
                    v[at(k, j)] -= g * d[k];
                }
            }
        }
        for k in 0..=i {
            v[at(k, i + 1)] = 0.0;
        }
    }
    for j in 0..n {
        d[j] = v[at(n - 1, j)];
        v[at(n - 1, j)] = 0.0;
    }
    v[at(n - 1, n - 1)] = 1.0;
    e[0] = 0.0;
}

/// Implicit QL on the tridiagonal (d, e); `vt` holds V transposed (eigenvector i is row i).
fn tql2(vt: &mut [f64], d: &mut [f64], e: &mut [f64], n: usize) {
    for i in 1..n {
        e[i - 1] = e[i];
    }
    e[n - 1] = 0.0;
    let mut f = 0.0;
    let mut tst1 = 0f64;
    let eps = f64::EPSILON;
    for l in 0..n {
        tst1 = tst1.max(d[l].abs() + e[l].abs());
        let mut m = l;
        while m < n {
            if e[m].abs() <= eps * tst1 {
                break;
            }
            m += 1;
        }
        if m == n {
            m = n - 1;
        }
        if m > l {
            let mut iter = 0;
            loop {
                iter += 1;
                let mut g = d[l];
                let mut p = (d[l + 1] - g) / (2.0 * e[l]);
                let mut r = p.hypot(1.0);
                if p < 0.0 {
                    r = -r;
                }
                d[l] = e[l] / (p + r);
                d[l + 1] = e[l] * (p + r);
                let dl1 = d[l + 1];
                let mut h = g - d[l];
                for di in d.iter_mut().skip(l + 2) {
                    *di -= h;
                }
                f += h;
                p = d[m];
                let mut c = 1.0;
                let mut c2 = c;
                let mut c3 = c;
                let el1 = e[l + 1];
                let mut s = 0.0;
                let mut s2 = 0.0;
                for i in (l..m).rev() {
                    c3 = c2;
                    c2 = c;
                    s2 = s;
                    g = c * e[i];
                    h = c * p;
                    r = p.hypot(e[i]);
                    e[i + 1] = s * r;
                    s = e[i] / r;
                    c = p / r;
                    p = c * d[i] - s * g;
                    d[i + 1] = h + s * (c * g + s * d[i]);
                    let (lo, hi) = vt.split_at_mut((i + 1) * n);
                    let vi = &mut lo[i * n..];
                    let vi1 = &mut hi[..n];
                    for (a, b) in vi.iter_mut().zip(vi1.iter_mut()) {
                        let hk = *b;
                        *b = s * *a + c * hk;
                        *a = c * *a - s * hk;
                    }
                }
                p = -s * s2 * c3 * el1 * e[l] / dl1;
                e[l] = s * p;
                d[l] = c * p;
                if e[l].abs() <= eps * tst1 || iter > 60 {
                    break;
                }
            }
        }
        d[l] += f;
        e[l] = 0.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn eigen_reconstructs_a_random_symmetric_matrix() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let p = 23;
        let mut a = vec![0f64; p * p];
        for i in 0..p {
            for j in 0..=i {
                let v: f64 = rng.gen_range(-1.0..1.0);
                a[i * p + j] = v;
                a[j * p + i] = v;
            }
        }
        let (vals, vecs) = symmetric_eigen(&a, p);
        assert!(vals.windows(2).all(|w| w[0] >= w[1]));
        for k in 0..p {
            let v = &vecs[k * p..(k + 1) * p];
            let norm: f64 = v.iter().map(|x| x * x).sum();
            assert!((norm - 1.0).abs() < 1e-9);
            for i in 0..p {
                let av: f64 = (0..p).map(|j| a[i * p + j] * v[j]).sum();
                assert!((av - vals[k] * v[i]).abs() < 1e-9, "A v = lambda v fails for {k}");
            }
        }
    }

    #[test]
    fn gram_is_a_transpose_a_to_the_bit() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        for (n, p) in [(1, 1), (7, 130), (300, 257), (100, 3072), (4096, 784)] {
            let a: Vec<f64> = (0..n * p).map(|_| rng.gen_range(-1.0..1.0)).collect();
            assert!(gram(&a, n, p) == at_b(&a, &a, n, p, p), "n = {n}, p = {p}");
        }
    }

    #[test]
    fn ridge_solve_solves() {
        let p = 5;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        let m: Vec<f64> = (0..p * p).map(|_| rng.gen_range(-1.0..1.0)).collect();
        let g = at_b(&m, &m, p, p, p);
        let x_true: Vec<f64> = (0..p * 2).map(|_| rng.gen_range(-1.0..1.0)).collect();
        let b = matmul(&g, &x_true, p, p, 2);
        let (x, _) = ridge_solve(&g, p, &b, 2, 1e-14);
        for (a, b) in x.iter().zip(&x_true) {
            assert!((a - b).abs() < 1e-6);
        }
    }
}
