//! Conv2d and MaxPool2x2 against direct nested-loop references (forward and gradients), plus the
//! TensorCollection plumbing (optimizer step, safetensors round trip).

use dfdx::nn::{LoadFromSafetensors, SaveToSafetensors, ZeroGrads};
use dfdx::optim::{Adam, AdamConfig, Optimizer};
use dfdx::prelude::*;
use ppdl::model::conv::{Conv2d, ConvGeometry, ConvScheme};
use ppdl::model::pool::MaxPool2x2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

type Act<T = NoneTape> = Tensor<(usize, usize), f32, Cpu, T>;

fn randv(rng: &mut ChaCha8Rng, n: usize) -> Vec<f32> {
    (0..n).map(|_| rng.gen_range(-1.0f32..1.0)).collect()
}

/// Direct convolution. x: (b, h, w, c) flattened; w: (ky, kx, c, o); returns (b, ho, wo, o).
fn conv_ref(g: ConvGeometry, b: usize, x: &[f32], w: &[f32], bias: &[f32]) -> Vec<f32> {
    let (h, wd, c, co, k, p) = (g.height, g.width, g.in_channels, g.out_channels, g.kernel, g.padding);
    let (ho, wo) = (g.out_height(), g.out_width());
    let mut out = vec![0f32; b * ho * wo * co];
    for bi in 0..b {
        for oy in 0..ho {
            for ox in 0..wo {
                for o in 0..co {
                    let mut acc = bias[o] as f64;
                    for ky in 0..k {
                        for kx in 0..k {
                            let y = (oy + ky) as isize - p as isize;
                            let xx = (ox + kx) as isize - p as isize;
                            if y < 0 || xx < 0 || y >= h as isize || xx >= wd as isize {
                                continue;
                            }
                            for ci in 0..c {
                                let xv = x[((bi * h + y as usize) * wd + xx as usize) * c + ci];
                                let wv = w[((ky * k + kx) * c + ci) * co + o];
                                acc += (xv * wv) as f64;
                            }
                        }
                    }
                    out[((bi * ho + oy) * wo + ox) * co + o] = acc as f32;
                }
            }
        }
    }
    out
}

/// Reference gradients of `sum(conv(x) * gout)`: (dx, dw, dbias).
fn conv_grad_ref(g: ConvGeometry, b: usize, x: &[f32], w: &[f32], gout: &[f32]) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let (h, wd, c, co, k, p) = (g.height, g.width, g.in_channels, g.out_channels, g.kernel, g.padding);
    let (ho, wo) = (g.out_height(), g.out_width());
    let mut dx = vec![0f64; x.len()];
    let mut dw = vec![0f64; w.len()];
    let mut db = vec![0f64; co];
    for bi in 0..b {
        for oy in 0..ho {
            for ox in 0..wo {
                for o in 0..co {
                    let go = gout[((bi * ho + oy) * wo + ox) * co + o] as f64;
                    db[o] += go;
                    for ky in 0..k {
                        for kx in 0..k {
                            let y = (oy + ky) as isize - p as isize;
                            let xx = (ox + kx) as isize - p as isize;
                            if y < 0 || xx < 0 || y >= h as isize || xx >= wd as isize {
                                continue;
                            }
                            for ci in 0..c {
                                let xi = ((bi * h + y as usize) * wd + xx as usize) * c + ci;
                                let wi = ((ky * k + kx) * c + ci) * co + o;
                                dx[xi] += go * w[wi] as f64;
                                dw[wi] += go * x[xi] as f64;
                            }
                        }
                    }
                }
            }
        }
    }
    let f = |v: Vec<f64>| v.into_iter().map(|a| a as f32).collect::<Vec<_>>();
    (f(dx), f(dw), f(db))
}

fn assert_close(what: &str, got: &[f32], want: &[f32], tol: f32) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let scale = want.iter().fold(1f32, |m, v| m.max(v.abs()));
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        assert!((a - b).abs() <= tol * scale, "{what}[{i}]: got {a}, want {b} (scale {scale})");
    }
}

fn geometries() -> Vec<ConvGeometry> {
    let g = |height, width, in_channels, out_channels, kernel, padding| ConvGeometry {
        height,
        width,
        in_channels,
        out_channels,
        kernel,
        padding,
    };
    vec![
        g(5, 6, 1, 2, 3, 0),
        g(6, 5, 3, 4, 3, 1),
        g(7, 7, 3, 2, 5, 2),
        g(8, 6, 1, 3, 5, 2),
        g(4, 5, 3, 2, 1, 0),
        g(5, 4, 2, 3, 1, 1),
        g(9, 8, 3, 5, 5, 0),
        g(6, 6, 1, 1, 3, 2),
        g(28, 28, 1, 4, 5, 2),
        // LeNet's second layer: 16 outputs fill a vector of the direct kernels (AVX-512).
        g(14, 14, 6, 16, 5, 2),
        // 17 outputs: a second vector with one lane.
        g(6, 7, 3, 17, 3, 1),
        // cnn-small's second layer: two full vectors.
        g(14, 14, 16, 32, 3, 1),
        // 33 outputs: one past the direct kernels, im2col patches.
        g(5, 6, 2, 33, 3, 1),
        // 20 input channels: the input gradient is im2col's, the rest direct.
        g(6, 5, 20, 3, 3, 1),
        // A depth of 600 (5 x 5 x 24), past a narrow product's 512-step blocks.
        g(5, 5, 24, 4, 5, 2),
    ]
}

/// Every way the layer can compute this geometry: the default choice and each forced scheme.
fn variants(dev: &Cpu, g: ConvGeometry) -> Vec<(String, Conv2d<Cpu>)> {
    let base = Conv2d::new(dev, g);
    let schemes = [None, Some(ConvScheme::Direct), Some(ConvScheme::Gather)];
    schemes.into_iter().map(|s| (format!("{s:?}"), base.clone().with_scheme(s))).collect()
}

#[test]
fn geometry_sizes() {
    let g = ConvGeometry { height: 28, width: 26, in_channels: 3, out_channels: 8, kernel: 5, padding: 1 };
    assert_eq!((g.out_height(), g.out_width()), (26, 24));
    assert_eq!(g.in_features(), 28 * 26 * 3);
    assert_eq!(g.out_features(), 26 * 24 * 8);
    let same = ConvGeometry { padding: 2, ..g };
    assert_eq!((same.out_height(), same.out_width()), (28, 26));
}

#[test]
fn forward_matches_direct_convolution() {
    let dev = Cpu::seed_from_u64(1);
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    for g in geometries() {
        for b in [1usize, 3] {
            let x = randv(&mut rng, b * g.in_features());
            for (name, conv) in variants(&dev, g) {
                let want = conv_ref(g, b, &x, &conv.weight.as_vec(), &conv.bias.as_vec());
                let xt: Act = dev.tensor_from_vec(x.clone(), (b, g.in_features()));
                let y = conv.forward(xt);
                assert_eq!(*y.shape(), (b, g.out_features()));
                assert_close(&format!("{g:?} b={b} {name}"), &y.as_vec(), &want, 1e-4);
            }
        }
    }
}

#[test]
fn gradients_match_direct_convolution() {
    let dev = Cpu::seed_from_u64(3);
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    for g in geometries() {
        for b in [1usize, 3] {
            let x = randv(&mut rng, b * g.in_features());
            let coeffs = randv(&mut rng, b * g.out_features());
            for (name, conv) in variants(&dev, g) {
                let (dx_want, dw_want, db_want) = conv_grad_ref(g, b, &x, &conv.weight.as_vec(), &coeffs);
                for input_grad in [true, false] {
                    let conv = conv.clone().with_input_grad(input_grad);
                    let x0: Act = dev.tensor_from_vec(x.clone(), (b, g.in_features()));
                    let c: Act = dev.tensor_from_vec(coeffs.clone(), (b, g.out_features()));
                    let y = conv.forward(x0.clone().traced(Gradients::leaky()));
                    let mut grads = (y * c).sum().backward();
                    let what = format!("{g:?} b={b} {name} input_grad={input_grad}");
                    assert_close(&format!("dW {what}"), &grads.get(&conv.weight).as_vec(), &dw_want, 1e-4);
                    assert_close(&format!("db {what}"), &grads.get(&conv.bias).as_vec(), &db_want, 1e-4);
                    // the input has no gradient entry at all when it is not wanted: allocate a zero one
                    grads.get_or_alloc_mut(&x0).unwrap();
                    let dx = grads.get(&x0).as_vec();
                    if input_grad {
                        assert_close(&format!("dx {what}"), &dx, &dx_want, 1e-4);
                    } else {
                        assert!(dx.iter().all(|&v| v == 0.0), "dx should not be computed: {what}");
                    }
                }
            }
        }
    }
}

#[test]
fn forward_mut_and_no_tape_agree_with_forward() {
    let dev = Cpu::seed_from_u64(5);
    let g = ConvGeometry { height: 6, width: 6, in_channels: 2, out_channels: 3, kernel: 3, padding: 1 };
    let mut conv = Conv2d::new(&dev, g);
    let x: Act = dev.sample_normal_like(&(2, g.in_features()));
    let a = conv.forward(x.clone()).as_vec();
    let b = conv.forward_mut(x.clone().traced(Gradients::leaky())).as_vec();
    assert_eq!(a, b);
}

#[test]
fn seeded_initialisation_is_deterministic_and_bounded() {
    let g = ConvGeometry { height: 8, width: 8, in_channels: 3, out_channels: 4, kernel: 3, padding: 1 };
    let a = Conv2d::new(&Cpu::seed_from_u64(7), g);
    let b = Conv2d::new(&Cpu::seed_from_u64(7), g);
    let c = Conv2d::new(&Cpu::seed_from_u64(8), g);
    assert_eq!(a.weight.as_vec(), b.weight.as_vec());
    assert_eq!(a.bias.as_vec(), b.bias.as_vec());
    assert_ne!(a.weight.as_vec(), c.weight.as_vec());
    assert_eq!(*a.weight.shape(), (27, 4));
    let bound = 1.0 / 27f32.sqrt();
    assert!(a.weight.as_vec().iter().chain(a.bias.as_vec().iter()).all(|v| v.abs() <= bound));
    assert!(a.weight.as_vec().iter().any(|v| v.abs() > bound / 2.0));
}

// ---------------------------------------------------------------------------------------------- pool

fn pool_ref(p: MaxPool2x2, b: usize, x: &[f32]) -> (Vec<f32>, Vec<usize>) {
    let (h, w, c) = (p.height, p.width, p.channels);
    let (h2, w2) = (h / 2, w / 2);
    let mut out = vec![0f32; b * h2 * w2 * c];
    let mut arg = vec![0usize; out.len()];
    for bi in 0..b {
        for y in 0..h2 {
            for xx in 0..w2 {
                for ci in 0..c {
                    let mut best = (f32::NEG_INFINITY, 0);
                    for dy in 0..2 {
                        for dx in 0..2 {
                            let i = ((bi * h + 2 * y + dy) * w + 2 * xx + dx) * c + ci;
                            if x[i] > best.0 {
                                best = (x[i], i);
                            }
                        }
                    }
                    let o = ((bi * h2 + y) * w2 + xx) * c + ci;
                    out[o] = best.0;
                    arg[o] = best.1;
                }
            }
        }
    }
    (out, arg)
}

#[test]
fn pool_forward_and_gradient_match_reference() {
    let dev = Cpu::seed_from_u64(9);
    let mut rng = ChaCha8Rng::seed_from_u64(10);
    for (h, w, c) in [(4, 6, 1), (6, 4, 3), (5, 7, 2), (7, 6, 3), (2, 2, 1), (11, 11, 4), (28, 28, 16)] {
        let p = MaxPool2x2 { height: h, width: w, channels: c };
        for b in [1usize, 3] {
            let n = b * h * w * c;
            // distinct values: no ties
            let mut x: Vec<f32> = (0..n).map(|i| i as f32 / n as f32).collect();
            for i in (1..n).rev() {
                x.swap(i, rng.gen_range(0..=i));
            }
            let (want, arg) = pool_ref(p, b, &x);
            let coeffs = randv(&mut rng, want.len());
            let mut dx_want = vec![0f32; n];
            for (o, &i) in arg.iter().enumerate() {
                dx_want[i] += coeffs[o];
            }
            // The CPU kernel, then the dfdx formulation other devices run.
            for portable in [false, true] {
                let x0: Act = dev.tensor_from_vec(x.clone(), (b, h * w * c));
                let traced = x0.clone().traced(Gradients::leaky());
                let y = if portable { p.try_forward_portable(traced).unwrap() } else { p.forward(traced) };
                assert_eq!(*y.shape(), (b, p.out_features()));
                assert_eq!(y.as_vec(), want, "pool forward {p:?} b={b} portable={portable}");
                let cy: Act = dev.tensor_from_vec(coeffs.clone(), (b, want.len() / b));
                let grads = (y * cy).sum().backward();
                assert_eq!(grads.get(&x0).as_vec(), dx_want, "pool gradient {p:?} b={b} portable={portable}");
            }
        }
    }
}

#[test]
fn pool_kernel_sends_a_tied_gradient_to_the_first_pixel_and_lets_nan_win() {
    let dev = Cpu::seed_from_u64(12);
    let p = MaxPool2x2 { height: 2, width: 4, channels: 1 };
    // Two windows, row-major pixels: [2, 2 / 1, 2] (tied maximum) and [0, NaN / 5, 1].
    let x0: Act = dev.tensor_from_vec(vec![2.0, 2.0, 0.0, f32::NAN, 1.0, 2.0, 5.0, 1.0], (1, 8));
    let y = p.forward(x0.clone().traced(Gradients::leaky()));
    let out = y.as_vec();
    assert_eq!(out[0], 2.0);
    assert!(out[1].is_nan(), "NaN must propagate, got {}", out[1]);
    let grads = y.sum().backward();
    let g = grads.get(&x0).as_vec();
    assert_eq!(&g[..2], &[1.0, 0.0], "tie: the gradient goes to the first maximal pixel only");
    assert_eq!((g[3], g[6]), (1.0, 0.0), "the NaN pixel won its window");
}

// ---------------------------------------------------------------------------------- tensor collection

#[test]
fn adam_step_changes_parameters() {
    let dev = Cpu::seed_from_u64(11);
    let g = ConvGeometry { height: 6, width: 6, in_channels: 2, out_channels: 3, kernel: 3, padding: 1 };
    let mut conv = Conv2d::new(&dev, g);
    assert_eq!(conv.num_trainable_params(), 9 * 2 * 3 + 3);
    let (w0, b0) = (conv.weight.as_vec(), conv.bias.as_vec());
    let mut opt = Adam::new(&conv, AdamConfig { lr: 1e-2, ..Default::default() });
    let mut grads = conv.alloc_grads();
    let x: Act = dev.sample_normal_like(&(4, g.in_features()));
    let y = conv.forward_mut(x.traced(grads));
    grads = y.square().mean().backward();
    opt.update(&mut conv, &grads).expect("adam update");
    let (w1, b1) = (conv.weight.as_vec(), conv.bias.as_vec());
    assert!(w0.iter().zip(&w1).all(|(a, b)| a != b), "every weight moves on Adam's first step");
    assert!(b0.iter().zip(&b1).all(|(a, b)| a != b));
    conv.zero_grads(&mut grads);
    assert!(grads.get(&conv.weight).as_vec().iter().all(|&v| v == 0.0));
}

#[test]
fn safetensors_round_trip_into_fresh_module() {
    let g = ConvGeometry { height: 7, width: 5, in_channels: 3, out_channels: 4, kernel: 3, padding: 1 };
    let a = Conv2d::new(&Cpu::seed_from_u64(12), g);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("conv.safetensors");
    a.save_safetensors(&path).expect("save");
    let mut b = Conv2d::new(&Cpu::seed_from_u64(13), g);
    assert_ne!(a.weight.as_vec(), b.weight.as_vec());
    b.load_safetensors(&path).expect("load");
    assert_eq!(a.weight.as_vec(), b.weight.as_vec());
    assert_eq!(a.bias.as_vec(), b.bias.as_vec());
    assert_eq!(b.geometry, g);
    let dev = Cpu::seed_from_u64(14);
    let x: Act = dev.sample_normal_like(&(2, g.in_features()));
    assert_eq!(a.forward(x.clone()).as_vec(), b.forward(x).as_vec());
}

#[test]
fn layers_are_send_sync_clone() {
    fn check<T: Send + Sync + Clone + std::fmt::Debug>() {}
    check::<Conv2d<Cpu>>();
    check::<MaxPool2x2>();
}

#[test]
fn one_layer_serves_several_batch_sizes() {
    let dev = Cpu::seed_from_u64(15);
    let mut rng = ChaCha8Rng::seed_from_u64(16);
    let g = ConvGeometry { height: 7, width: 6, in_channels: 2, out_channels: 3, kernel: 3, padding: 1 };
    for scheme in [None, Some(ConvScheme::Gather)] {
        let conv = Conv2d::new(&dev, g).with_scheme(scheme);
        for b in [2usize, 3, 1, 2] {
            let x = randv(&mut rng, b * g.in_features());
            let want = conv_ref(g, b, &x, &conv.weight.as_vec(), &conv.bias.as_vec());
            let y = conv.forward(dev.tensor_from_vec(x, (b, g.in_features())));
            assert_close(&format!("{scheme:?} b={b}"), &y.as_vec(), &want, 1e-4);
        }
    }
}
