//! The CUDA side of the `nn` ops: the fused cross-entropy, BatchNorm1d and Dropout.

use super::{buf, buf_mut, empty, grid, one_block};
use crate::Array;
use cudarc::driver::{CudaSlice, PushKernelArg};

/// The fused cross-entropy's forward: `(loss, stats, total_weight)` where `loss` follows
/// `reduction` (0 none, 1 sum, 2 mean) and `stats` holds each row's (max, log-sum-exp).
pub(crate) fn cross_entropy_forward(
    x: &Array,
    target: &Array,
    weight: &Array,
    eps: f32,
    reduction: i32,
) -> (Array, Array, CudaSlice<f64>) {
    let (n, c) = (target.len(), weight.len());
    let gpu = buf(x).gpu.clone();
    let mut loss = empty(&gpu, &[n]);
    let mut wy = empty(&gpu, &[n]);
    let mut stats = empty(&gpu, &[n, 2]);
    let (nn, cc) = (n as u64, c as u64);
    launch!(
        gpu,
        "ce_rows",
        grid(n),
        buf(x).slice(),
        buf(target).slice(),
        buf(weight).slice(),
        &nn,
        &cc,
        &eps,
        buf_mut(&mut loss).slice_mut(),
        buf_mut(&mut wy).slice_mut(),
        buf_mut(&mut stats).slice_mut()
    );
    // Written by `ce_reduce`, read only for the mean.
    let mut tw = gpu.doubles(1);
    if reduction == 0 {
        return (loss.into_shape(target.shape()), stats, tw);
    }
    let mut out = empty(&gpu, &[]);
    launch!(
        gpu,
        "ce_reduce",
        one_block(512),
        buf(&loss).slice(),
        buf(&wy).slice(),
        &nn,
        &reduction,
        buf_mut(&mut out).slice_mut(),
        &mut tw
    );
    (out, stats, tw)
}

/// The fused cross-entropy's backward (see `ce_backward` in kernels.rs).
#[allow(clippy::too_many_arguments)]
pub(crate) fn cross_entropy_backward(
    x: &Array,
    target: &Array,
    weight: &Array,
    stats: &Array,
    grad: &Array,
    total_weight: &CudaSlice<f64>,
    reduction: i32,
    eps: f32,
    w_all: f32,
) -> Array {
    let gpu = buf(x).gpu.clone();
    let mut g = empty(&gpu, x.shape());
    let (n, c) = (target.len() as u64, weight.len() as u64);
    launch!(
        gpu,
        "ce_backward",
        grid(x.len()),
        buf(x).slice(),
        buf(target).slice(),
        buf(weight).slice(),
        buf(stats).slice(),
        buf(grad).slice(),
        total_weight,
        &reduction,
        &eps,
        &w_all,
        &n,
        &c,
        buf_mut(&mut g).slice_mut()
    );
    g
}

/// `(N, C, L)` of a `[N, C]` or `[N, C, L]` input.
fn layout(shape: &[usize]) -> (u64, u64, u64) {
    (
        shape[0] as u64,
        shape[1] as u64,
        shape.get(2).copied().unwrap_or(1) as u64,
    )
}

/// What the batch-norm backward needs: per channel, the mean and 1/σ as `f32` and, in eval
/// mode, `alpha`.
pub(crate) struct BatchNormGrads {
    pub mean32: Array,
    pub invstd: Array,
    pub alpha: Array,
}

/// Training-mode batch norm on a GPU: `(y, grads, batch mean, biased batch variance)`, the
/// statistics in double precision (on the device) for the running update.
pub(crate) fn batch_norm_train(
    x: &Array,
    w: Option<&Array>,
    b: Option<&Array>,
    eps: f64,
) -> (Array, BatchNormGrads, CudaSlice<f64>, CudaSlice<f64>) {
    let gpu = buf(x).gpu.clone();
    let (n, c, l) = layout(x.shape());
    let cs = c as usize;
    let (mut mean, mut var) = (gpu.doubles(cs), gpu.doubles(cs));
    let (mut mean32, mut invstd) = (empty(&gpu, &[cs]), empty(&gpu, &[cs]));
    let (mut alpha, mut beta) = (empty(&gpu, &[cs]), empty(&gpu, &[cs]));
    {
        let f = gpu.function("bn_train_stats");
        let mut a = gpu.stream.launch_builder(&f);
        a.arg(buf(x).slice()).arg(&n).arg(&c).arg(&l).arg(&eps);
        super::arg_or_null(&mut a, w);
        super::arg_or_null(&mut a, b);
        a.arg(&mut mean).arg(&mut var);
        a.arg(buf_mut(&mut mean32).slice_mut())
            .arg(buf_mut(&mut invstd).slice_mut());
        a.arg(buf_mut(&mut alpha).slice_mut())
            .arg(buf_mut(&mut beta).slice_mut());
        // SAFETY: arguments as the kernel's signature; null weight/bias mean none.
        unsafe { a.launch(grid(cs)) }
            .unwrap_or_else(|e| panic!("cuda:{}: kernel bn_train_stats: {e:?}", gpu.ordinal));
    }
    let y = affine(x, &alpha, &beta);
    let grads = BatchNormGrads {
        mean32,
        invstd,
        alpha,
    };
    (y, grads, mean, var)
}

/// `y = x·alpha[c] + beta[c]`.
fn affine(x: &Array, alpha: &Array, beta: &Array) -> Array {
    let gpu = buf(x).gpu.clone();
    let (n, c, l) = layout(x.shape());
    let mut y = empty(&gpu, x.shape());
    launch!(
        gpu,
        "bn_affine",
        grid(x.len()),
        buf(x).slice(),
        buf(alpha).slice(),
        buf(beta).slice(),
        &n,
        &c,
        &l,
        buf_mut(&mut y).slice_mut()
    );
    y
}

/// Eval-mode batch norm on a GPU with the running statistics.
pub(crate) fn batch_norm_eval(
    x: &Array,
    rm: &Array,
    rv: &Array,
    w: Option<&Array>,
    b: Option<&Array>,
    eps: f64,
) -> (Array, BatchNormGrads) {
    let gpu = buf(x).gpu.clone();
    let c = x.shape()[1];
    let (mut mean32, mut invstd) = (empty(&gpu, &[c]), empty(&gpu, &[c]));
    let (mut alpha, mut beta) = (empty(&gpu, &[c]), empty(&gpu, &[c]));
    {
        let (eps32, cc) = (eps as f32, c as u64);
        let f = gpu.function("bn_eval_coeffs");
        let mut a = gpu.stream.launch_builder(&f);
        a.arg(buf(rm).slice())
            .arg(buf(rv).slice())
            .arg(&eps32)
            .arg(&cc);
        super::arg_or_null(&mut a, w);
        super::arg_or_null(&mut a, b);
        a.arg(buf_mut(&mut mean32).slice_mut())
            .arg(buf_mut(&mut invstd).slice_mut());
        a.arg(buf_mut(&mut alpha).slice_mut())
            .arg(buf_mut(&mut beta).slice_mut());
        // SAFETY: as in `batch_norm_train`.
        unsafe { a.launch(grid(c)) }
            .unwrap_or_else(|e| panic!("cuda:{}: kernel bn_eval_coeffs: {e:?}", gpu.ordinal));
    }
    let y = affine(x, &alpha, &beta);
    let grads = BatchNormGrads {
        mean32,
        invstd,
        alpha,
    };
    (y, grads)
}

/// The running-statistics update, on the device: `r ← f·stat + (1 − f)·r` (the variance
/// unbiased by `unbias`).
pub(crate) fn batch_norm_running(
    rm: &mut Array,
    rv: &mut Array,
    mean: &CudaSlice<f64>,
    var: &CudaSlice<f64>,
    factor: f64,
    unbias: f64,
) {
    let gpu = buf(rm).gpu.clone();
    let c = rm.len() as u64;
    let rvs = buf_mut(rv).slice_mut();
    launch!(
        gpu,
        "bn_running",
        grid(c as usize),
        buf_mut(rm).slice_mut(),
        rvs,
        mean,
        var,
        &c,
        &factor,
        &unbias
    );
}

impl BatchNormGrads {
    /// `(dx, dw, db)` for the output gradient `g`; `train` says whether the statistics came
    /// from the batch (so the gradient flows through them).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn backward(
        &self,
        x: &Array,
        g: &Array,
        w: Option<&Array>,
        train: bool,
        want_dx: bool,
        want_dw: bool,
        want_db: bool,
    ) -> (Option<Array>, Option<Array>, Option<Array>) {
        let gpu = buf(x).gpu.clone();
        let (n, c, l) = layout(x.shape());
        let cs = c as usize;
        let (mut sum_g, mut dotp) = (gpu.doubles(cs), gpu.doubles(cs));
        launch!(
            gpu,
            "bn_back_sums",
            grid(cs),
            buf(x).slice(),
            buf(g).slice(),
            buf(&self.mean32).slice(),
            &n,
            &c,
            &l,
            &mut sum_g,
            &mut dotp
        );
        let dx = want_dx.then(|| {
            let mut dx = empty(&gpu, x.shape());
            if train {
                let f = gpu.function("bn_back_dx");
                let mut a = gpu.stream.launch_builder(&f);
                a.arg(buf(x).slice())
                    .arg(buf(g).slice())
                    .arg(buf(&self.mean32).slice());
                a.arg(buf(&self.invstd).slice());
                super::arg_or_null(&mut a, w);
                a.arg(&sum_g).arg(&dotp).arg(&n).arg(&c).arg(&l);
                a.arg(buf_mut(&mut dx).slice_mut());
                // SAFETY: as in `batch_norm_train`.
                unsafe { a.launch(grid(x.len())) }
                    .unwrap_or_else(|e| panic!("cuda:{}: kernel bn_back_dx: {e:?}", gpu.ordinal));
            } else {
                launch!(
                    gpu,
                    "bn_back_dx_eval",
                    grid(x.len()),
                    buf(g).slice(),
                    buf(&self.alpha).slice(),
                    &n,
                    &c,
                    &l,
                    buf_mut(&mut dx).slice_mut()
                );
            }
            dx
        });
        let mut dw = want_dw.then(|| empty(&gpu, &[cs]));
        let mut db = want_db.then(|| empty(&gpu, &[cs]));
        if dw.is_some() || db.is_some() {
            let f = gpu.function("bn_back_params");
            let mut a = gpu.stream.launch_builder(&f);
            a.arg(&sum_g)
                .arg(&dotp)
                .arg(buf(&self.invstd).slice())
                .arg(&c);
            super::arg_or_null_mut(&mut a, dw.as_mut());
            super::arg_or_null_mut(&mut a, db.as_mut());
            // SAFETY: as in `batch_norm_train`; null outputs are skipped.
            unsafe { a.launch(grid(cs)) }
                .unwrap_or_else(|e| panic!("cuda:{}: kernel bn_back_params: {e:?}", gpu.ordinal));
        }
        (dx, dw, db)
    }
}

/// A dropout mask of `shape` on the GPU of `like`: 0 with probability `p`, else `1/(1 − p)`,
/// drawn from `seed` and each element's index.
pub(crate) fn dropout_mask(like: &Array, p: f64, seed: u64) -> Array {
    let gpu = buf(like).gpu.clone();
    let mut mask = empty(&gpu, like.shape());
    let n = like.len() as u64;
    let scale = if p >= 1.0 {
        0.0
    } else {
        1.0 / (1.0 - p) as f32
    };
    launch!(
        gpu,
        "dropout_mask",
        grid(n as usize),
        buf_mut(&mut mask).slice_mut(),
        &n,
        &seed,
        &p,
        &scale
    );
    mask
}

/// Mean squared error summed (`div` 1) or averaged (`div` n) as a 0-d GPU array: squares in
/// `f32`, their sum in double, divided once.
pub(crate) fn mse_reduced(x: &Array, y: &Array, div: f64) -> Array {
    let gpu = buf(x).gpu.clone();
    let n = x.len();
    let (cfg, blocks, chunk) = super::chunked(n);
    let mut part = gpu.doubles(blocks);
    let nn = n as u64;
    launch!(
        gpu,
        "sqdiff_partial",
        cfg,
        buf(x).slice(),
        buf(y).slice(),
        &mut part,
        &nn,
        &chunk
    );
    super::finish_sum(&gpu, &part, blocks, div)
}

/// The MSE's gradients in `x` and `y` (each if wanted) from the upstream `grad`: per element
/// (`div` 0, reduction none) or a 0-d gradient divided by `div`.
pub(crate) fn mse_grad(
    x: &Array,
    y: &Array,
    grad: &Array,
    div: f32,
    want_x: bool,
    want_y: bool,
) -> (Option<Array>, Option<Array>) {
    let gpu = buf(x).gpu.clone();
    let n = x.len() as u64;
    let per_element = (div == 0.0) as i32;
    let mut gx = want_x.then(|| empty(&gpu, x.shape()));
    let mut gy = want_y.then(|| empty(&gpu, x.shape()));
    {
        let f = gpu.function("mse_grad");
        let mut a = gpu.stream.launch_builder(&f);
        a.arg(buf(x).slice())
            .arg(buf(y).slice())
            .arg(buf(grad).slice());
        a.arg(&per_element).arg(&div).arg(&n);
        super::arg_or_null_mut(&mut a, gx.as_mut());
        super::arg_or_null_mut(&mut a, gy.as_mut());
        // SAFETY: arguments as the kernel's signature; null outputs are skipped.
        unsafe { a.launch(grid(n as usize)) }
            .unwrap_or_else(|e| panic!("cuda:{}: kernel mse_grad: {e:?}", gpu.ordinal));
    }
    (gx, gy)
}
