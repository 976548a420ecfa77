//! NoPeek (Vepakomma et al., arXiv 2008.09161): the distance correlation between a batch's raw
//! inputs and its cut-layer activations, added to the customer's loss so that the head learns
//! activations that say less about its inputs. Built from dfdx ops so that its gradient reaches the
//! head.
//!
//! Sample distance correlation (Székely et al. 2007, the V-statistic): with `a_ij = |x_i - x_j|`
//! double-centred to `A` (and `B` likewise for the activations `z`),
//! `dCor(X, Z) = sqrt(mean(A B) / sqrt(mean(A A) mean(B B)))`.

use dfdx::prelude::*;

use crate::model::tensor_from_slice;

type Rows<D, T = NoneTape> = Tensor<(usize, usize), f32, D, T>;

/// Keeps square roots and divisions away from zero (identical rows, a batch of one, dead units).
const EPS: f32 = 1e-12;

/// The double-centred matrix of pairwise Euclidean distances between the rows of `z` (n x n).
/// Each distance is `sqrt(|z_i|^2 + |z_j|^2 - 2 z_i.z_j)`; the diagonal is masked to exactly zero
/// before the square root, so no gradient flows through its rounding error.
fn centred_distances<D: Device<f32>, T: Tape<f32, D>>(z: Rows<D, T>) -> Result<Rows<D, T>, D::Err> {
    let n = z.shape().0;
    let dev = z.device().clone();
    // dfdx's backward pass refuses a binary op whose operands share an id, and a permute or a
    // broadcast keeps its source's id: the transpose is taken of a copy (`* 1`, exact), and the two
    // broadcasts of the norms come from two separate sums.
    let transposed = z.with_empty_tape().try_mul(1.0)?.try_permute::<_, Axes2<1, 0>>()?;
    let gram = z.with_empty_tape().try_matmul(transposed)?;
    let norms = |z: Rows<D, T>| z.try_square()?.try_sum::<(usize,), Axis<1>>();
    let rows = norms(z.with_empty_tape())?.try_broadcast_like::<_, Axis<1>>(&(n, n))?;
    let cols = norms(z)?.try_broadcast_like::<_, Axis<0>>(&(n, n))?;
    let mask: Vec<f32> = (0..n * n).map(|k| if k / n == k % n { 0.0 } else { 1.0 }).collect();
    let mask = tensor_from_slice(&dev, &mask, (n, n))?;
    let d2 = rows.try_add(cols)?.try_sub(gram.try_mul(2.0)?)?.try_relu()?.try_mul(mask)?;
    let a = d2.try_add(EPS)?.try_sqrt()?;
    let row_mean = a.with_empty_tape().try_mean::<(usize,), Axis<1>>()?.try_broadcast_like::<_, Axis<1>>(&(n, n))?;
    let col_mean = a.with_empty_tape().try_mean::<(usize,), Axis<0>>()?.try_broadcast_like::<_, Axis<0>>(&(n, n))?;
    let mean = a.with_empty_tape().try_mean::<(), Axes2<0, 1>>()?.try_broadcast_like::<_, Axes2<0, 1>>(&(n, n))?;
    a.try_sub(row_mean)?.try_sub(col_mean)?.try_add(mean)
}

/// The distance correlation between the rows of `x` (inputs, no gradient) and of `z` (activations,
/// with `z`'s tape): a scalar in [0, 1].
pub fn distance_correlation<D: Device<f32>, T: Tape<f32, D>>(
    x: Rows<D>,
    z: Rows<D, T>,
) -> Result<Tensor<(), f32, D, T>, D::Err> {
    let a = centred_distances(x)?;
    let b = centred_distances(z)?;
    let var_x = a.clone().try_square()?.try_mean::<(), Axes2<0, 1>>()?.as_vec()[0];
    let cov = b.with_empty_tape().try_mul(a)?.try_mean::<(), Axes2<0, 1>>()?;
    let var_z = b.try_square()?.try_mean::<(), Axes2<0, 1>>()?;
    let denominator = var_z.try_mul(var_x)?.try_add(EPS)?.try_sqrt()?;
    cov.try_div(denominator)?.try_relu()?.try_add(EPS)?.try_sqrt()
}
