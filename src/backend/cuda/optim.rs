//! The CUDA side of the optimizers: one kernel per parameter update, and gradient clipping.

use super::{buf, buf_mut, grid, one_block};
use crate::Array;
use cudarc::driver::{LaunchConfig, PushKernelArg};

/// The scalars of one SGD update (see `sgd_step` in kernels.rs).
pub(crate) struct SgdArgs {
    pub sign: f32,
    pub wd: f32,
    pub mu: f32,
    pub one_minus_damp: f32,
    pub neg_lr: f32,
    pub wd_on: bool,
    pub first: bool,
    pub nesterov: bool,
}

/// One SGD update of a GPU parameter `p` with gradient `g` and momentum buffer `b`.
pub(crate) fn sgd_step(p: &mut Array, g: &Array, b: Option<&mut Array>, k: &SgdArgs) {
    let n = p.len() as u64;
    let gpu = buf(p).gpu.clone();
    let momentum_on = b.is_some() as i32;
    let (wd_on, first, nesterov) = (k.wd_on as i32, k.first as i32, k.nesterov as i32);
    let f = gpu.function("sgd_step");
    let mut l = gpu.stream.launch_builder(&f);
    l.arg(buf_mut(p).slice_mut()).arg(buf(g).slice());
    super::arg_or_null_mut(&mut l, b);
    l.arg(&n)
        .arg(&k.sign)
        .arg(&k.wd)
        .arg(&k.mu)
        .arg(&k.one_minus_damp)
        .arg(&k.neg_lr);
    l.arg(&wd_on).arg(&momentum_on).arg(&first).arg(&nesterov);
    // SAFETY: as in `launch!`; a null momentum buffer is never read (momentum off).
    unsafe { l.launch(grid(n as usize)) }
        .unwrap_or_else(|e| panic!("cuda:{}: kernel sgd_step: {e:?}", gpu.ordinal));
}

/// The scalars of one Adam update (see `adam_step` in kernels.rs).
pub(crate) struct AdamArgs {
    pub sign: f32,
    pub wd: f32,
    pub decay: f32,
    pub lerp_weight: f32,
    pub beta2: f32,
    pub one_minus_beta2: f32,
    pub eps: f32,
    pub neg_step_size: f32,
    pub bias_correction2_sqrt: f32,
    /// 0 none, 1 L2, 2 decoupled.
    pub wd_mode: i32,
}

/// One Adam parameter's buffers: the parameter, its gradient, the two averages and the AMSGrad
/// maximum.
pub(crate) type AdamBuffers<'a> = (
    &'a mut Array,
    &'a Array,
    &'a mut Array,
    &'a mut Array,
    Option<&'a mut Array>,
);

/// The parameters in one table of `adam_multi` (kernels.rs).
const ADAM_TABLE: usize = 16;

#[repr(C)]
#[derive(Clone, Copy)]
struct AdamTable {
    n: [u64; ADAM_TABLE],
    p: [u64; ADAM_TABLE],
    g: [u64; ADAM_TABLE],
    m: [u64; ADAM_TABLE],
    v: [u64; ADAM_TABLE],
    x: [u64; ADAM_TABLE],
    count: i32,
}
// SAFETY: plain old data laid out as the C struct in kernels.rs.
unsafe impl cudarc::driver::DeviceRepr for AdamTable {}

/// One Adam update of GPU parameters sharing the scalars `k`: one launch per 16 parameters.
pub(crate) fn adam_step(params: &mut [AdamBuffers<'_>], k: &AdamArgs) {
    use cudarc::driver::{DevicePtr, DevicePtrMut};
    let Some(first) = params.first() else { return };
    let gpu = buf(first.0).gpu.clone();
    let stream = gpu.stream.clone();
    for chunk in params.chunks_mut(ADAM_TABLE) {
        let mut t = AdamTable {
            n: [0; ADAM_TABLE],
            p: [0; ADAM_TABLE],
            g: [0; ADAM_TABLE],
            m: [0; ADAM_TABLE],
            v: [0; ADAM_TABLE],
            x: [0; ADAM_TABLE],
            count: chunk.len() as i32,
        };
        let mut longest = 0;
        // The pointers are taken from buffers borrowed mutably for this whole function, so
        // nothing frees or moves them before the kernel has run (all work is on one stream).
        for (i, (p, g, m, v, x)) in chunk.iter_mut().enumerate() {
            longest = longest.max(p.len());
            t.n[i] = p.len() as u64;
            t.p[i] = buf_mut(p).slice_mut().device_ptr_mut(&stream).0;
            t.g[i] = buf(g).slice().device_ptr(&stream).0;
            t.m[i] = buf_mut(m).slice_mut().device_ptr_mut(&stream).0;
            t.v[i] = buf_mut(v).slice_mut().device_ptr_mut(&stream).0;
            if let Some(x) = x {
                t.x[i] = buf_mut(x).slice_mut().device_ptr_mut(&stream).0;
            }
        }
        let cfg = LaunchConfig {
            grid_dim: (
                longest.div_ceil(256).clamp(1, 1024) as u32,
                chunk.len() as u32,
                1,
            ),
            block_dim: (256, 1, 1),
            shared_mem_bytes: 0,
        };
        launch!(
            gpu,
            "adam_multi",
            cfg,
            &t,
            &k.sign,
            &k.wd,
            &k.decay,
            &k.lerp_weight,
            &k.beta2,
            &k.one_minus_beta2,
            &k.eps,
            &k.neg_step_size,
            &k.bias_correction2_sqrt,
            &k.wd_mode
        );
    }
}

/// The scalars of one RMSprop update (see `rmsprop_step` in kernels.rs).
pub(crate) struct RmsArgs {
    pub sign: f32,
    pub alpha: f32,
    pub one_minus_alpha: f32,
    pub wd: f32,
    pub eps: f32,
    pub mu: f32,
    pub neg_lr: f32,
    pub wd_on: bool,
}

/// One RMSprop update of a GPU parameter; `grad_avg` only when centered, `momentum` only with
/// momentum.
pub(crate) fn rmsprop_step(
    p: &mut Array,
    g: &Array,
    square_avg: &mut Array,
    grad_avg: Option<&mut Array>,
    momentum: Option<&mut Array>,
    k: &RmsArgs,
) {
    let n = p.len() as u64;
    let gpu = buf(p).gpu.clone();
    let wd_on = k.wd_on as i32;
    let f = gpu.function("rmsprop_step");
    let mut l = gpu.stream.launch_builder(&f);
    l.arg(buf_mut(p).slice_mut())
        .arg(buf(g).slice())
        .arg(buf_mut(square_avg).slice_mut());
    super::arg_or_null_mut(&mut l, grad_avg);
    super::arg_or_null_mut(&mut l, momentum);
    l.arg(&n)
        .arg(&k.sign)
        .arg(&k.alpha)
        .arg(&k.one_minus_alpha)
        .arg(&k.wd)
        .arg(&k.eps);
    l.arg(&k.mu).arg(&k.neg_lr).arg(&wd_on);
    // SAFETY: as in `launch!`; null buffers are never read.
    unsafe { l.launch(grid(n as usize)) }
        .unwrap_or_else(|e| panic!("cuda:{}: kernel rmsprop_step: {e:?}", gpu.ordinal));
}

/// `clip_grad_norm` (2-norm) over GPU gradients, on the device: each gradient's sum of squares,
/// the total norm and the clip coefficient, then every gradient scaled by it (where it is not 1).
/// Returns the total norm as a 0-d GPU array (reading it waits for the GPU; clipping does not).
pub(crate) fn clip_grad_norm(grads: &mut [&mut Array], max_norm: f32) -> Array {
    let gpu = buf(grads[0]).gpu.clone();
    let k = grads.len();
    let mut sq = gpu
        .stream
        .alloc_zeros::<f64>(k)
        .unwrap_or_else(|e| panic!("cuda:{}: {e:?}", gpu.ordinal));
    for (i, g) in grads.iter().enumerate() {
        let n = g.len();
        let (cfg, blocks, chunk) = super::chunked(n);
        let mut part = gpu.doubles(blocks);
        let nn = n as u64;
        launch!(
            gpu,
            "sumsq_partial",
            cfg,
            buf(g).slice(),
            &mut part,
            &nn,
            &chunk
        );
        let (nb, ki) = (blocks as u64, i as u64);
        launch!(gpu, "sum_into", one_block(1), &part, &nb, &mut sq, &ki);
    }
    let mut total = super::empty(&gpu, &[]);
    let mut coef = super::empty(&gpu, &[]);
    let kk = k as u64;
    launch!(
        gpu,
        "clip_coef",
        one_block(1),
        &sq,
        &kk,
        &max_norm,
        buf_mut(&mut total).slice_mut(),
        buf_mut(&mut coef).slice_mut()
    );
    for g in grads.iter_mut() {
        let n = g.len() as u64;
        launch!(
            gpu,
            "scale_by",
            grid(n as usize),
            buf_mut(g).slice_mut(),
            &n,
            buf(&coef).slice()
        );
    }
    total
}
