//! The linear assignment problem: the Hungarian method in its shortest-augmenting-path form with
//! dual potentials (Kuhn-Munkres as refined by Jonker & Volgenant), O(n^2 m).

/// Minimum-cost assignment for an `n x m` cost matrix (row-major, `n <= m`, finite entries): returns
/// the column of each row; every row gets a distinct column.
pub fn assign(cost: &[f64], n: usize, m: usize) -> Vec<usize> {
    assert!(n <= m, "assign: more rows ({n}) than columns ({m})");
    assert_eq!(cost.len(), n * m, "assign: cost is not {n} x {m}");
    assert!(cost.iter().all(|c| c.is_finite()), "assign: costs must be finite");
    // 1-based rows and columns; column 0 is the virtual start of each augmenting path.
    let mut u = vec![0f64; n + 1];
    let mut v = vec![0f64; m + 1];
    let mut row_of = vec![0usize; m + 1];
    let mut way = vec![0usize; m + 1];
    let mut minv = vec![0f64; m + 1];
    let mut used = vec![false; m + 1];
    for i in 1..=n {
        row_of[0] = i;
        let mut j0 = 0usize;
        minv.iter_mut().for_each(|x| *x = f64::INFINITY);
        used.iter_mut().for_each(|x| *x = false);
        loop {
            used[j0] = true;
            let i0 = row_of[j0];
            let row = &cost[(i0 - 1) * m..i0 * m];
            let ui0 = u[i0];
            let mut delta = f64::INFINITY;
            let mut j1 = 0usize;
            for j in 1..=m {
                if !used[j] {
                    let cur = row[j - 1] - ui0 - v[j];
                    if cur < minv[j] {
                        minv[j] = cur;
                        way[j] = j0;
                    }
                    if minv[j] < delta {
                        delta = minv[j];
                        j1 = j;
                    }
                }
            }
            for j in 0..=m {
                if used[j] {
                    u[row_of[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
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

/// Total cost of an assignment.
pub fn total_cost(cost: &[f64], m: usize, col_of: &[usize]) -> f64 {
    col_of.iter().enumerate().map(|(i, &j)| cost[i * m + j]).sum()
}
