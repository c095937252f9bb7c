//! The CUDA backend (feature `cuda`): one context, stream and cuBLAS handle per GPU, a device
//! buffer type, and the launches behind [`Array`]'s ops for arrays on a GPU.
//!
//! Everything is loaded at run time (`cudarc` with dynamic loading): building needs no CUDA
//! toolkit, and a binary built with this feature runs on a machine without a GPU or driver,
//! where [`Device::cuda`](crate::Device::cuda) says so. All work goes onto one stream per GPU,
//! in order; values are read back only where the caller asks for a number.

mod kernels;

use crate::device::Device;
use crate::error::{Error, Result};
use crate::tensor::shape::{broadcast_shape, broadcast_strides, numel, strides};
use crate::{Array, BinaryOp, UnaryOp};
use cudarc::cublas::{sys as blas_sys, CudaBlas, Gemm, GemmConfig, Gemv, GemvConfig};
use cudarc::driver::{
    CudaContext, CudaFunction, CudaModule, CudaSlice, CudaStream, DeviceRepr, LaunchConfig,
    PushKernelArg,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// The most dims a broadcast or reduction kernel handles.
const MAX_DIMS: usize = 6;

/// One GPU: its context, its stream (all work is queued on it, in order), cuBLAS, and the
/// compiled kernels.
pub(crate) struct Gpu {
    ordinal: usize,
    stream: Arc<CudaStream>,
    blas: Mutex<CudaBlas>,
    module: Arc<CudaModule>,
    functions: Mutex<HashMap<&'static str, CudaFunction>>,
    /// A buffer of ones (for column sums), grown as needed.
    ones: Mutex<Option<Arc<Buffer>>>,
}

type Slot = OnceLock<std::result::Result<Arc<Gpu>, String>>;
static GPUS: OnceLock<Vec<Slot>> = OnceLock::new();

/// Why no CUDA device can be used, or `None` if the driver, cuBLAS and NVRTC load (looked up
/// once).
fn libraries_missing() -> Option<String> {
    static MISSING: OnceLock<Option<String>> = OnceLock::new();
    MISSING.get_or_init(look_for_libraries).clone()
}

fn look_for_libraries() -> Option<String> {
    // SAFETY: these only try to open the shared libraries.
    unsafe {
        if !cudarc::driver::sys::is_culib_present() {
            return Some("no CUDA driver found (libcuda could not be loaded)".into());
        }
        if !cudarc::cublas::sys::is_culib_present() {
            return Some(
                "CUDA driver found, but not cuBLAS (libcublas could not be loaded)".into(),
            );
        }
        if !cudarc::nvrtc::sys::is_culib_present() {
            return Some("CUDA driver found, but not NVRTC (libnvrtc could not be loaded)".into());
        }
    }
    None
}

/// The number of CUDA devices (0 without a driver; counted once).
pub(crate) fn device_count() -> usize {
    static COUNT: OnceLock<usize> = OnceLock::new();
    *COUNT.get_or_init(|| {
        if libraries_missing().is_some() {
            return 0;
        }
        CudaContext::device_count().map_or(0, |n| n.max(0) as usize)
    })
}

/// The GPU with this ordinal, set up on first use.
///
/// # Errors
/// If there is no driver, no such GPU, or its set-up fails.
pub(crate) fn gpu(ordinal: usize) -> Result<Arc<Gpu>> {
    // The common case, on every op that makes an array: the GPU is already set up.
    if let Some(Some(Ok(g))) = GPUS.get().map(|s| s.get(ordinal).and_then(|s| s.get())) {
        return Ok(g.clone());
    }
    if let Some(why) = libraries_missing() {
        return Err(Error::invalid(format!("cuda:{ordinal}: {why}")));
    }
    let count = device_count();
    if ordinal >= count {
        return Err(Error::invalid(format!(
            "cuda:{ordinal}: no such GPU ({count} CUDA device{} found)",
            if count == 1 { "" } else { "s" }
        )));
    }
    let slots = GPUS.get_or_init(|| (0..count).map(|_| OnceLock::new()).collect());
    slots[ordinal]
        .get_or_init(|| Gpu::new(ordinal).map(Arc::new))
        .clone()
        .map_err(Error::invalid)
}

/// [`gpu`] for an array that is already on that GPU (so it was set up).
#[track_caller]
pub(crate) fn gpu_or_panic(ordinal: usize) -> Arc<Gpu> {
    gpu(ordinal).unwrap_or_else(|e| panic!("{e}"))
}

impl Gpu {
    fn new(ordinal: usize) -> std::result::Result<Gpu, String> {
        let fail = |what: &str, e: &dyn std::fmt::Debug| format!("cuda:{ordinal}: {what}: {e:?}");
        let ctx = CudaContext::new(ordinal).map_err(|e| fail("creating the context", &e))?;
        // One stream carries all work, so cudarc's per-buffer events (for work on several
        // streams) are not needed; they would cost two driver calls per kernel argument.
        // SAFETY: every buffer is used on this one stream only.
        unsafe { ctx.disable_event_tracking() };
        // Keep freed memory in the device's pool instead of handing it back to the driver at
        // every synchronization (the pool's default threshold is 0): a training loop that reads
        // its loss each step would otherwise map and unmap its activations every step.
        // SAFETY: plain driver calls on this context's device with valid out-pointers.
        unsafe {
            use cudarc::driver::sys;
            let mut pool: sys::CUmemoryPool = std::ptr::null_mut();
            if sys::cuDeviceGetDefaultMemPool(&mut pool, ctx.cu_device())
                == sys::CUresult::CUDA_SUCCESS
            {
                let mut keep = u64::MAX;
                sys::cuMemPoolSetAttribute(
                    pool,
                    sys::CUmemPool_attribute::CU_MEMPOOL_ATTR_RELEASE_THRESHOLD,
                    (&mut keep as *mut u64).cast(),
                );
            }
        }
        let stream = ctx.default_stream();
        let ptx = kernels::compile().map_err(|e| fail("compiling the kernels", &e))?;
        let module = ctx
            .load_module(ptx)
            .map_err(|e| fail("loading the kernels", &e))?;
        let blas = CudaBlas::new(stream.clone()).map_err(|e| fail("starting cuBLAS", &e))?;
        let gpu = Gpu {
            ordinal,
            stream,
            blas: Mutex::new(blas),
            module,
            functions: Mutex::new(HashMap::new()),
            ones: Mutex::new(None),
        };
        gpu.set_math_mode(false);
        Ok(gpu)
    }

    fn set_math_mode(&self, tf32: bool) {
        let mode = if tf32 {
            blas_sys::cublasMath_t::CUBLAS_TF32_TENSOR_OP_MATH
        } else {
            // Full fp32 products, as PyTorch's default (`allow_tf32 = False`): cuBLAS's
            // default math never uses TF32 for fp32 products.
            blas_sys::cublasMath_t::CUBLAS_DEFAULT_MATH
        };
        let blas = self.blas.lock().unwrap_or_else(|e| e.into_inner());
        // SAFETY: a valid handle; the call only sets a flag on it.
        unsafe { blas_sys::cublasSetMathMode(*blas.handle(), mode) };
    }

    fn function(&self, name: &'static str) -> CudaFunction {
        let mut f = self.functions.lock().unwrap_or_else(|e| e.into_inner());
        f.entry(name)
            .or_insert_with(|| {
                self.module
                    .load_function(name)
                    .unwrap_or_else(|e| panic!("cuda:{}: kernel {name}: {e:?}", self.ordinal))
            })
            .clone()
    }

    /// A buffer of `n` elements whose values are unspecified.
    pub(crate) fn alloc(self: &Arc<Self>, n: usize) -> Buffer {
        // SAFETY: f32 has no invalid bit patterns; callers write before reading.
        let slice = unsafe { self.stream.alloc::<f32>(n.max(1)) }
            .unwrap_or_else(|e| panic!("cuda:{}: allocating {n} floats: {e:?}", self.ordinal));
        Buffer {
            slice,
            len: n,
            gpu: self.clone(),
        }
    }

    /// `n` doubles whose values are unspecified (partial sums, written before they are read).
    pub(crate) fn doubles(&self, n: usize) -> CudaSlice<f64> {
        // SAFETY: f64 has no invalid bit patterns; callers write before reading.
        unsafe { self.stream.alloc::<f64>(n.max(1)) }
            .unwrap_or_else(|e| panic!("cuda:{}: allocating {n} doubles: {e:?}", self.ordinal))
    }

    /// A buffer of at least `n` ones.
    fn ones(self: &Arc<Self>, n: usize) -> Arc<Buffer> {
        let mut slot = self.ones.lock().unwrap_or_else(|e| e.into_inner());
        match slot.as_ref() {
            Some(b) if b.len >= n => b.clone(),
            _ => {
                let b = Arc::new(self.upload(&vec![1.0; n.max(1024)]));
                *slot = Some(b.clone());
                b
            }
        }
    }

    /// A buffer holding a copy of `data`.
    pub(crate) fn upload(self: &Arc<Self>, data: &[f32]) -> Buffer {
        let mut b = self.alloc(data.len());
        if !data.is_empty() {
            self.stream
                .memcpy_htod(data, &mut b.slice.slice_mut(..data.len()))
                .unwrap_or_else(|e| panic!("cuda:{}: copy to the GPU: {e:?}", self.ordinal));
        }
        b
    }

    /// Waits for all queued work.
    pub(crate) fn synchronize(&self) {
        self.stream
            .synchronize()
            .unwrap_or_else(|e| panic!("cuda:{}: {e:?}", self.ordinal));
    }

    /// The GPU's model name.
    pub(crate) fn name(&self) -> Option<String> {
        self.stream.context().name().ok()
    }

    /// Bytes of GPU memory in use on the whole device (free/total as the driver reports).
    pub(crate) fn memory_used(&self) -> usize {
        self.stream
            .context()
            .mem_get_info()
            .map_or(0, |(free, total)| total - free)
    }
}

/// Launch configuration for `n` independent elements (a grid-stride loop covers the rest).
pub(crate) fn grid(n: usize) -> LaunchConfig {
    let blocks = n.div_ceil(256).clamp(1, 65_535) as u32;
    LaunchConfig {
        grid_dim: (blocks, 1, 1),
        block_dim: (256, 1, 1),
        shared_mem_bytes: 0,
    }
}

/// How `CHUNK_SUM` kernels cut `n` elements: `(launch config, blocks, chunk)`, about 8
/// elements per thread and at most 1024 blocks, fixed by `n` alone (so are the sums' orders).
pub(crate) fn chunked(n: usize) -> (LaunchConfig, usize, u64) {
    let blocks = n.div_ceil(256 * 8).clamp(1, 1024);
    let chunk = n.div_ceil(blocks).max(1) as u64;
    let cfg = LaunchConfig {
        grid_dim: (blocks as u32, 1, 1),
        block_dim: (256, 1, 1),
        shared_mem_bytes: 0,
    };
    (cfg, blocks, chunk)
}

pub(crate) fn one_block(threads: u32) -> LaunchConfig {
    LaunchConfig {
        grid_dim: (1, 1, 1),
        block_dim: (threads, 1, 1),
        shared_mem_bytes: 0,
    }
}

/// A buffer of `f32` on one GPU.
pub(crate) struct Buffer {
    slice: CudaSlice<f32>,
    len: usize,
    gpu: Arc<Gpu>,
}

impl Clone for Buffer {
    fn clone(&self) -> Self {
        let mut b = self.gpu.alloc(self.len);
        if self.len > 0 {
            self.gpu
                .stream
                .memcpy_dtod(&self.slice, &mut b.slice)
                .unwrap_or_else(|e| panic!("cuda:{}: copy: {e:?}", self.gpu.ordinal));
        }
        b
    }
}

impl Buffer {
    /// The GPU's ordinal.
    pub(crate) fn ordinal(&self) -> usize {
        self.gpu.ordinal
    }

    /// The values, copied to the host (waits for the queued work).
    pub(crate) fn to_vec(&self) -> Vec<f32> {
        if self.len == 0 {
            return Vec::new();
        }
        let mut v = vec![0.0; self.len];
        self.gpu
            .stream
            .memcpy_dtoh(&self.slice.slice(..self.len), &mut v)
            .unwrap_or_else(|e| panic!("cuda:{}: copy to the host: {e:?}", self.gpu.ordinal));
        v
    }

    pub(crate) fn slice(&self) -> &CudaSlice<f32> {
        &self.slice
    }

    pub(crate) fn slice_mut(&mut self) -> &mut CudaSlice<f32> {
        &mut self.slice
    }
}

pub(crate) fn buf(a: &Array) -> &Buffer {
    a.cuda_buffer().expect("a GPU array")
}

pub(crate) fn buf_mut(a: &mut Array) -> &mut Buffer {
    a.cuda_buffer_mut().expect("a GPU array")
}

/// A new array on `gpu`, of `shape`, values unspecified.
pub(crate) fn empty(gpu: &Arc<Gpu>, shape: &[usize]) -> Array {
    Array::from_cuda(shape.to_vec(), gpu.alloc(numel(shape)))
}

/// Runs a kernel with arguments pushed by `push`.
macro_rules! launch {
    ($gpu:expr, $name:expr, $cfg:expr, $($arg:expr),* $(,)?) => {{
        let f = $gpu.function($name);
        let mut b = $gpu.stream.launch_builder(&f);
        $(b.arg($arg);)*
        // SAFETY: the kernel's signature in kernels.rs matches these arguments, and each
        // buffer holds at least the elements the kernel reads or writes.
        unsafe { b.launch($cfg) }
            .unwrap_or_else(|e| panic!("cuda:{}: kernel {}: {e:?}", $gpu.ordinal, $name));
    }};
}

mod nn;
mod optim;

pub(crate) use nn::{
    batch_norm_eval, batch_norm_running, batch_norm_train, cross_entropy_backward,
    cross_entropy_forward, dropout_mask, mse_grad, mse_reduced, BatchNormGrads,
};
pub(crate) use optim::{
    adam_step, clip_grad_norm, rmsprop_step, sgd_step, AdamArgs, AdamBuffers, RmsArgs, SgdArgs,
};

/// A null pointer, for an optional kernel argument left out.
const NULL: u64 = 0;

/// Pushes `a`'s buffer as a kernel argument, or a null pointer for `None`.
pub(crate) fn arg_or_null<'a>(l: &mut cudarc::driver::LaunchArgs<'a>, a: Option<&'a Array>) {
    match a {
        Some(a) => l.arg(buf(a).slice()),
        None => l.arg(&NULL),
    };
}

/// [`arg_or_null`] for a buffer the kernel writes.
pub(crate) fn arg_or_null_mut<'a>(
    l: &mut cudarc::driver::LaunchArgs<'a>,
    a: Option<&'a mut Array>,
) {
    match a {
        Some(a) => l.arg(buf_mut(a).slice_mut()),
        None => l.arg(&NULL),
    };
}

/// Shapes and strides of a broadcast, passed by value to the binary kernels.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Bcast {
    ndim: i32,
    shape: [u64; MAX_DIMS],
    sa: [u64; MAX_DIMS],
    sb: [u64; MAX_DIMS],
}
// SAFETY: plain old data laid out as the C struct in kernels.rs.
unsafe impl DeviceRepr for Bcast {}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Reduce {
    ndim: i32,
    shape: [u64; MAX_DIMS],
    stride: [u64; MAX_DIMS],
    reduced: u64,
}
// SAFETY: as `Bcast`.
unsafe impl DeviceRepr for Reduce {}

/// `fill`: every element of a GPU array set to `value`.
pub(crate) fn fill(a: &mut Array, value: f32) {
    let n = a.len() as u64;
    let b = buf_mut(a);
    let gpu = b.gpu.clone();
    launch!(gpu, "fill", grid(n as usize), b.slice_mut(), &n, &value);
}

/// [`Array::unary`] on a GPU.
pub(crate) fn unary(a: &Array, op: UnaryOp) -> Array {
    let x = buf(a);
    let gpu = x.gpu.clone();
    let mut out = empty(&gpu, a.shape());
    let (name, _, p) = op.cuda();
    let n = a.len() as u64;
    launch!(
        gpu,
        name,
        grid(n as usize),
        x.slice(),
        buf_mut(&mut out).slice_mut(),
        &n,
        &p[0],
        &p[1]
    );
    out
}

/// [`Array::binary`] on a GPU.
#[track_caller]
pub(crate) fn binary(a: &Array, b: &Array, op: BinaryOp, name: &str) -> Array {
    let shape = if a.shape() == b.shape() {
        a.shape().to_vec()
    } else {
        broadcast_shape(a.shape(), b.shape()).unwrap_or_else(|| {
            panic!(
                "{name}: shapes {:?} and {:?} cannot be broadcast together",
                a.shape(),
                b.shape()
            )
        })
    };
    let mut bc = Bcast::default();
    if a.shape() != b.shape() {
        assert!(
            shape.len() <= MAX_DIMS,
            "{name}: broadcasting over more than {MAX_DIMS} dims is not supported on the GPU"
        );
        bc.ndim = shape.len() as i32;
        let (sa, sb) = (
            broadcast_strides(a.shape(), &shape),
            broadcast_strides(b.shape(), &shape),
        );
        for d in 0..shape.len() {
            (bc.shape[d], bc.sa[d], bc.sb[d]) = (shape[d] as u64, sa[d] as u64, sb[d] as u64);
        }
    }
    let (xa, xb) = (buf(a), buf(b));
    let gpu = xa.gpu.clone();
    let mut out = empty(&gpu, &shape);
    let (kernel, _, p) = op.cuda();
    let n = numel(&shape) as u64;
    launch!(
        gpu,
        kernel,
        grid(n as usize),
        xa.slice(),
        xb.slice(),
        buf_mut(&mut out).slice_mut(),
        &n,
        &p[0],
        &p[1],
        &bc
    );
    out
}

/// [`Array::add_assign`] on a GPU.
pub(crate) fn add_assign(a: &mut Array, other: &Array) {
    let n = a.len() as u64;
    let x = buf(other);
    let y = buf_mut(a);
    let gpu = y.gpu.clone();
    launch!(
        gpu,
        "add_assign",
        grid(n as usize),
        y.slice_mut(),
        x.slice(),
        &n
    );
}

/// [`Array::sum_to`] on a GPU (shapes already checked).
pub(crate) fn sum_to(a: &Array, target: &[usize]) -> Array {
    let x = buf(a);
    let gpu = x.gpu.clone();
    if numel(target) == 1 {
        return sum_all(a).into_shape(target);
    }
    let shape = a.shape();
    // The bias gradient: [N, F] → [F] or [1, F].
    if shape.len() == 2 && numel(target) == shape[1] && target.last() == Some(&shape[1]) {
        return column_sums(a, shape[0], shape[1]).into_shape(target);
    }
    assert!(
        shape.len() <= MAX_DIMS,
        "sum_to: more than {MAX_DIMS} dims is not supported on the GPU"
    );
    // `target` aligned to the right of `shape`; a dim is reduced where it is missing or 1.
    let offset = shape.len() - target.len();
    let mut r = Reduce {
        ndim: shape.len() as i32,
        ..Default::default()
    };
    for (d, (&n, s)) in shape.iter().zip(strides(shape)).enumerate() {
        (r.shape[d], r.stride[d]) = (n as u64, s as u64);
        let kept = d >= offset && target[d - offset] == n;
        if !kept {
            r.reduced |= 1 << d;
        }
    }
    let mut out = empty(&gpu, target);
    let n_out = numel(target) as u64;
    launch!(
        gpu,
        "sum_reduce",
        grid(n_out as usize),
        x.slice(),
        buf_mut(&mut out).slice_mut(),
        &n_out,
        &r
    );
    out
}

/// The sum of all elements as a 0-d GPU array (accumulated in double precision).
pub(crate) fn sum_all(a: &Array) -> Array {
    sum_div(a, 1.0)
}

/// `(Σ a) / div` as a 0-d GPU array: partial sums per block, then one block adds them and
/// divides, all in double precision and in an order fixed by the length.
pub(crate) fn sum_div(a: &Array, div: f64) -> Array {
    let x = buf(a);
    let gpu = x.gpu.clone();
    let n = a.len() as u64;
    let (cfg, blocks, chunk) = chunked(a.len());
    let mut part = gpu.doubles(blocks);
    launch!(gpu, "sum_partial", cfg, x.slice(), &mut part, &n, &chunk);
    finish_sum(&gpu, &part, blocks, div)
}

/// `(Σ part) / div` as a 0-d GPU array: one block adds the `blocks` partial sums of a
/// `CHUNK_SUM` kernel, in double precision and a fixed order.
pub(crate) fn finish_sum(gpu: &Arc<Gpu>, part: &CudaSlice<f64>, blocks: usize, div: f64) -> Array {
    let mut out = empty(gpu, &[]);
    let nb = blocks as u64;
    launch!(
        gpu,
        "sum_finish",
        one_block(256),
        part,
        &nb,
        buf_mut(&mut out).slice_mut(),
        &div
    );
    out
}

/// Column sums of a row-major `[rows, cols]` GPU array (the gradient of a bias), through
/// cuBLAS: `Gᵀ·1`.
fn column_sums(a: &Array, rows: usize, cols: usize) -> Array {
    let x = buf(a);
    let gpu = x.gpu.clone();
    let mut out = empty(&gpu, &[cols]);
    let ones = gpu.ones(rows);
    let cfg = GemvConfig {
        trans: blas_sys::cublasOperation_t::CUBLAS_OP_N,
        m: cols as i32,
        n: rows as i32,
        alpha: 1.0f32,
        lda: cols as i32,
        incx: 1,
        beta: 0.0f32,
        incy: 1,
    };
    let blas = gpu.blas.lock().unwrap_or_else(|e| e.into_inner());
    // SAFETY: `x` holds rows·cols values, `ones` at least `rows`, `out` `cols`.
    unsafe { blas.gemv(cfg, x.slice(), ones.slice(), buf_mut(&mut out).slice_mut()) }
        .unwrap_or_else(|e| panic!("cuda:{}: cuBLAS sgemv: {e:?}", gpu.ordinal));
    out
}

/// `op(a)·op(b)` for 2-D GPU arrays (row-major), through cuBLAS; `bias` (`[m]`), if given, is
/// the starting value of every row.
pub(crate) fn mm(a: &Array, ta: bool, b: &Array, tb: bool, bias: Option<&Array>) -> Array {
    let (ar, ac) = (a.shape()[0], a.shape()[1]);
    let (br, bc) = (b.shape()[0], b.shape()[1]);
    let (n, k) = if ta { (ac, ar) } else { (ar, ac) };
    let m = if tb { br } else { bc };
    let (xa, xb) = (buf(a), buf(b));
    let gpu = xa.gpu.clone();
    let mut out = empty(&gpu, &[n, m]);
    let beta = match bias {
        Some(bias) => {
            let (rows, cols) = (n as u64, m as u64);
            launch!(
                gpu,
                "fill_rows",
                grid(n * m),
                buf_mut(&mut out).slice_mut(),
                buf(bias).slice(),
                &rows,
                &cols
            );
            1.0
        }
        None => 0.0,
    };
    if n == 0 || m == 0 {
        return out;
    }
    if k == 0 {
        if bias.is_none() {
            fill(&mut out, 0.0);
        }
        return out;
    }
    // Row-major C[n×m] = op(A)·op(B) is column-major Cᵀ[m×n] = op(B)ᵀ·op(A)ᵀ, and a row-major
    // matrix is its own transpose in column-major order: so B comes first, A second.
    let op = |t: bool| {
        if t {
            blas_sys::cublasOperation_t::CUBLAS_OP_T
        } else {
            blas_sys::cublasOperation_t::CUBLAS_OP_N
        }
    };
    let cfg = GemmConfig {
        transa: op(tb),
        transb: op(ta),
        m: m as i32,
        n: n as i32,
        k: k as i32,
        alpha: 1.0f32,
        lda: bc as i32,
        ldb: ac as i32,
        beta,
        ldc: m as i32,
    };
    let blas = gpu.blas.lock().unwrap_or_else(|e| e.into_inner());
    // SAFETY: the buffers hold the matrices the dims and leading dims describe.
    unsafe { blas.gemm(cfg, xb.slice(), xa.slice(), buf_mut(&mut out).slice_mut()) }
        .unwrap_or_else(|e| panic!("cuda:{}: cuBLAS sgemm: {e:?}", gpu.ordinal));
    out
}

/// The slices of a GPU array at `indices` along a dim, its shape split as `(outer, n, inner)`
/// (indices already checked).
pub(crate) fn gather(
    a: &Array,
    (outer, n, inner): (usize, usize, usize),
    indices: &[usize],
    shape: &[usize],
) -> Array {
    let x = buf(a);
    let gpu = x.gpu.clone();
    let idx: Vec<u64> = indices.iter().map(|&i| i as u64).collect();
    let idx = upload_u64(&gpu, &idx);
    let mut out = empty(&gpu, shape);
    let (o, nn, i, k) = (outer as u64, n as u64, inner as u64, indices.len() as u64);
    let cfg = grid(out.len());
    launch!(
        gpu,
        "gather",
        cfg,
        x.slice(),
        &idx,
        &o,
        &nn,
        &i,
        &k,
        buf_mut(&mut out).slice_mut()
    );
    out
}

/// The gradient of [`gather`]: `grad` summed back into an array of `shape`, each slot adding
/// the slices that were taken from it, in order.
pub(crate) fn scatter(
    grad: &Array,
    (outer, n, inner): (usize, usize, usize),
    indices: &[usize],
    shape: &[usize],
) -> Array {
    let x = buf(grad);
    let gpu = x.gpu.clone();
    // For each slot i, the positions j with indices[j] = i, in increasing j.
    let mut starts = vec![0u64; n + 1];
    for &i in indices {
        starts[i + 1] += 1;
    }
    for i in 0..n {
        starts[i + 1] += starts[i];
    }
    let mut next = starts.clone();
    let mut js = vec![0u64; indices.len()];
    for (j, &i) in indices.iter().enumerate() {
        js[next[i] as usize] = j as u64;
        next[i] += 1;
    }
    let (starts, js) = (upload_u64(&gpu, &starts), upload_u64(&gpu, &js));
    let mut out = empty(&gpu, shape);
    let (o, nn, i, k) = (outer as u64, n as u64, inner as u64, indices.len() as u64);
    let cfg = grid(out.len());
    launch!(
        gpu,
        "scatter_rows",
        cfg,
        x.slice(),
        &starts,
        &js,
        &o,
        &nn,
        &i,
        &k,
        buf_mut(&mut out).slice_mut()
    );
    out
}

fn upload_u64(gpu: &Gpu, v: &[u64]) -> CudaSlice<u64> {
    let data: &[u64] = if v.is_empty() { &[0] } else { v };
    gpu.stream
        .clone_htod(data)
        .unwrap_or_else(|e| panic!("cuda:{}: copy to the GPU: {e:?}", gpu.ordinal))
}

/// Turns TF32 products on or off for the GPU of `device` (PyTorch's
/// `torch.backends.cuda.matmul.allow_tf32`).
pub(crate) fn set_tf32(device: &Device, on: bool) -> Result<()> {
    if let Device::Cuda(o) = device {
        gpu(*o)?.set_math_mode(on);
    }
    Ok(())
}
