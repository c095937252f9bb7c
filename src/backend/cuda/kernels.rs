//! The CUDA C source of every kernel, compiled once per process by NVRTC.
//!
//! Elementwise kernels are generated from the named ops' expressions ([`UnaryOp`],
//! [`BinaryOp`]); reductions, the fused cross-entropy and the optimizer updates are written
//! out below. Every kernel is sized by the data and sums in a fixed order (no atomics), so two
//! runs on one GPU give identical bits.

use crate::backend::{BinaryOp, UnaryOp};

/// Helpers, written as the CPU functions are (`ops/activation.rs`).
const PRELUDE: &str = r#"
typedef unsigned long long u64;
#define MAX_DIMS 6
struct Bcast { int ndim; u64 shape[MAX_DIMS]; u64 sa[MAX_DIMS]; u64 sb[MAX_DIMS]; };
struct Reduce { int ndim; u64 shape[MAX_DIMS]; u64 stride[MAX_DIMS]; u64 reduced; };

__device__ __forceinline__ float sigmoidf(float x) {
    if (x >= 0.f) return 1.f / (1.f + expf(-x));
    float e = expf(x);
    return e / (1.f + e);
}
__device__ __forceinline__ float log_sigmoidf(float x) {
    return fminf(x, 0.f) - log1pf(expf(-fabsf(x)));
}
__device__ __forceinline__ float gelu_exact(float xf) {
    double x = xf;
    return (float)(0.5 * x * (1.0 + erf(x * 0.7071067811865476)));
}
__device__ __forceinline__ float gelu_grad(float xf) {
    double x = xf;
    double cdf = 0.5 * (1.0 + erf(x * 0.7071067811865476));
    double pdf = 0.3989422804014327 * exp(-0.5 * x * x);
    return (float)(cdf + x * pdf);
}
// The sum of each thread's `acc` over the block (at most 256 threads), in a fixed tree order.
__device__ double block_sum(double acc) {
    __shared__ double s[256];
    s[threadIdx.x] = acc;
    __syncthreads();
    for (unsigned k = blockDim.x / 2; k > 0; k >>= 1) {
        if (threadIdx.x < k) s[threadIdx.x] += s[threadIdx.x + k];
        __syncthreads();
    }
    return s[0];
}
// Block b adds TERM (of element i) over its chunk [b·chunk, (b+1)·chunk) into part[b], in double.
#define CHUNK_SUM(i, n, chunk, part, TERM) { \
    u64 start_ = blockIdx.x * (chunk), end_ = start_ + (chunk) < (n) ? start_ + (chunk) : (n); \
    double acc_ = 0.0; \
    for (u64 i = start_ + threadIdx.x; i < end_; i += blockDim.x) acc_ += (TERM); \
    double total_ = block_sum(acc_); \
    if (threadIdx.x == 0) part[blockIdx.x] = total_; }
#define GRID_LOOP(i, n) for (u64 i = blockIdx.x * (u64)blockDim.x + threadIdx.x; i < (n); i += (u64)gridDim.x * blockDim.x)

extern "C" __global__ void fill(float* y, u64 n, float v) { GRID_LOOP(i, n) y[i] = v; }
extern "C" __global__ void add_assign(float* y, const float* x, u64 n) { GRID_LOOP(i, n) y[i] += x[i]; }
extern "C" __global__ void fill_rows(float* y, const float* bias, u64 rows, u64 cols) {
    GRID_LOOP(i, rows * cols) y[i] = bias[i % cols];
}

// y[j] = sum of x over the reduced dims, in row-major order of those dims (as the CPU loop).
extern "C" __global__ void sum_reduce(const float* x, float* y, u64 n_out, Reduce r) {
    GRID_LOOP(j, n_out) {
        u64 base = 0, rest = j, count = 1;
        for (int d = r.ndim - 1; d >= 0; --d) {
            if ((r.reduced >> d) & 1) { count *= r.shape[d]; continue; }
            base += (rest % r.shape[d]) * r.stride[d];
            rest /= r.shape[d];
        }
        float acc = 0.f;
        for (u64 k = 0; k < count; ++k) {
            u64 off = base, q = k;
            for (int d = r.ndim - 1; d >= 0; --d) {
                if (!((r.reduced >> d) & 1)) continue;
                off += (q % r.shape[d]) * r.stride[d];
                q /= r.shape[d];
            }
            acc += x[off];
        }
        y[j] = acc;
    }
}

// The sum of x in double precision, in a fixed order for a given n: block b sums the chunk
// [b·chunk, (b+1)·chunk) into part[b] (threads stride through it, then a tree in shared memory).
extern "C" __global__ void sum_partial(const float* x, double* part, u64 n, u64 chunk) {
    CHUNK_SUM(i, n, chunk, part, (double)x[i])
}

// One block: y[0] = (float)((Σ part) / div), the partial sums added in a fixed order.
extern "C" __global__ void sum_finish(const double* part, u64 n, float* y, double div) {
    double acc = 0.0;
    for (u64 i = threadIdx.x; i < n; i += blockDim.x) acc += part[i];
    double total = block_sum(acc);
    if (threadIdx.x == 0) y[0] = (float)(total / div);
}

// Cross-entropy, one thread per sample: the loss, the weight of its class, and (max, log-sum).
extern "C" __global__ void ce_rows(const float* x, const float* target, const float* w,
                                   u64 n, u64 c, float eps, float* loss, float* wy, float* stats) {
    GRID_LOOP(i, n) {
        const float* row = x + i * c;
        float t = target[i];
        if (!(t >= 0.f && t < (float)c && t == floorf(t))) {
            loss[i] = __int_as_float(0x7fc00000); wy[i] = 0.f; stats[2 * i] = 0.f; stats[2 * i + 1] = 0.f;
            continue;
        }
        u64 y = (u64)t;
        float m = __int_as_float(0xff800000);  // −∞
        for (u64 k = 0; k < c; ++k) m = fmaxf(m, row[k]);
        double sum = 0.0;
        for (u64 k = 0; k < c; ++k) sum += (double)expf(row[k] - m);
        float log_sum = logf((float)sum);
        float nll = -w[y] * ((row[y] - m) - log_sum);
        float l = nll;
        if (eps > 0.f) {
            double smooth = 0.0;
            for (u64 k = 0; k < c; ++k) smooth += (double)(-(w[k] * ((row[k] - m) - log_sum)));
            l = (1.f - eps) * nll + eps / (float)c * (float)smooth;
        }
        loss[i] = l; wy[i] = w[y]; stats[2 * i] = m; stats[2 * i + 1] = log_sum;
    }
}

// One block: out[0] = Σ loss (reduction 1, sum) or Σ loss / Σ wy (reduction 2, mean), both in
// double; tw[0] = Σ wy.
extern "C" __global__ void ce_reduce(const float* loss, const float* wy, u64 n, int reduction,
                                     float* out, double* tw) {
    __shared__ double sl[512];
    __shared__ double sw[512];
    double a = 0.0, b = 0.0;
    for (u64 i = threadIdx.x; i < n; i += blockDim.x) { a += (double)loss[i]; b += (double)wy[i]; }
    sl[threadIdx.x] = a; sw[threadIdx.x] = b;
    __syncthreads();
    for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) { sl[threadIdx.x] += sl[threadIdx.x + s]; sw[threadIdx.x] += sw[threadIdx.x + s]; }
        __syncthreads();
    }
    if (threadIdx.x == 0) {
        out[0] = reduction == 2 ? (float)(sl[0] / sw[0]) : (float)sl[0];
        tw[0] = sw[0];
    }
}

extern "C" __global__ void ce_backward(const float* x, const float* target, const float* w,
                                       const float* stats, const float* grad, const double* tw,
                                       int reduction, float eps, float w_all, u64 n, u64 c, float* g) {
    GRID_LOOP(idx, n * c) {
        u64 i = idx / c, k = idx % c;
        float u = reduction == 0 ? grad[i] : (reduction == 1 ? grad[0] : (float)((double)grad[0] / tw[0]));
        float t = target[i];
        if (!(t >= 0.f && t < (float)c && t == floorf(t))) { g[idx] = __int_as_float(0x7fc00000); continue; }
        u64 y = (u64)t;
        float m = stats[2 * i], log_sum = stats[2 * i + 1];
        float wy = (1.f - eps) * w[y];
        float smooth = eps / (float)c;
        float p = expf((x[idx] - m) - log_sum);
        float onehot = k == y ? 1.f : 0.f;
        float d = wy * (p - onehot);
        if (eps > 0.f) d += smooth * (w_all * p - w[k]);
        g[idx] = u * d;
    }
}

// SGD (optim/sgd.rs): wd_on, first, nesterov and momentum_on are uniform per launch.
extern "C" __global__ void sgd_step(float* p, const float* g, float* b, u64 n, float sign,
                                    float wd, float mu, float one_minus_damp, float neg_lr,
                                    int wd_on, int momentum_on, int first, int nesterov) {
    GRID_LOOP(j, n) {
        float d = g[j] * sign;
        if (wd_on) d += wd * p[j];
        if (!momentum_on) { p[j] += neg_lr * d; continue; }
        float bn = first ? d : b[j] * mu + one_minus_damp * d;
        b[j] = bn;
        float step = nesterov ? d + mu * bn : bn;
        p[j] += neg_lr * step;
    }
}

// Adam and AdamW (optim/adam.rs) on up to 16 parameters per launch (blockIdx.y picks one):
// wd_mode 0 none, 1 L2, 2 decoupled; x (the AMSGrad maximum) is null without AMSGrad; lerp's
// formula switches at |weight| = 0.5 as torch.lerp.
#define ADAM_TABLE 16
struct AdamTable { u64 n[ADAM_TABLE]; float* p[ADAM_TABLE]; const float* g[ADAM_TABLE]; float* m[ADAM_TABLE];
                   float* v[ADAM_TABLE]; float* x[ADAM_TABLE]; int count; };
extern "C" __global__ void adam_multi(AdamTable t, float sign, float wd, float decay, float w,
                                      float beta2, float one_minus_beta2, float eps,
                                      float neg_step_size, float bc2_sqrt, int wd_mode) {
    int k = blockIdx.y;
    if (k >= t.count) return;
    float *p = t.p[k], *m = t.m[k], *v = t.v[k], *vmax = t.x[k];
    const float* g = t.g[k];
    u64 n = t.n[k];
    GRID_LOOP(j, n) {
        float pj = p[j];
        float d = g[j] * sign;
        if (wd_mode == 1) d += wd * pj;
        else if (wd_mode == 2) pj *= decay;
        float mj = m[j];
        float mn = fabsf(w) < 0.5f ? mj + w * (d - mj) : d - (d - mj) * (1.f - w);
        float vn = v[j] * beta2 + (one_minus_beta2 * d) * d;
        m[j] = mn; v[j] = vn;
        float second = vn;
        if (vmax) {
            float x = vmax[j];
            x = (vn > x || isnan(vn)) ? vn : x;
            vmax[j] = x; second = x;
        }
        float denom = sqrtf(second) / bc2_sqrt + eps;
        pj += (neg_step_size * mn) / denom;
        p[j] = pj;
    }
}

// RMSprop (optim/rmsprop.rs): ga is null unless centered, b null unless momentum.
extern "C" __global__ void rmsprop_step(float* p, const float* g, float* sq, float* ga, float* b, u64 n,
                                        float sign, float alpha, float w, float wd, float eps, float mu,
                                        float neg_lr, int wd_on) {
    GRID_LOOP(j, n) {
        float d = g[j] * sign;
        if (wd_on) d += wd * p[j];
        float s = sq[j] * alpha + (w * d) * d;
        sq[j] = s;
        float avg;
        if (ga) {
            float a = fabsf(w) < 0.5f ? ga[j] + w * (d - ga[j]) : d - (d - ga[j]) * (1.f - w);
            ga[j] = a;
            avg = sqrtf(s + (-a) * a) + eps;
        } else {
            avg = sqrtf(s) + eps;
        }
        if (b) { float bn = b[j] * mu + d / avg; b[j] = bn; p[j] += neg_lr * bn; }
        else p[j] += (neg_lr * d) / avg;
    }
}

// BatchNorm1d (nn/batchnorm/functional.rs): element (n, c, l) at (n·C + c)·L + l; one thread
// per channel walks its values in the CPU's order, in double precision.
extern "C" __global__ void bn_train_stats(const float* x, u64 N, u64 C, u64 L, double eps,
                                          const float* w, const float* b, double* mean, double* var,
                                          float* mean32, float* invstd, float* alpha, float* beta) {
    GRID_LOOP(c, C) {
        double count = (double)(N * L), m = 0.0, v = 0.0;
        for (u64 n = 0; n < N; ++n) for (u64 l = 0; l < L; ++l) m += (double)x[(n * C + c) * L + l];
        m /= count;
        for (u64 n = 0; n < N; ++n) for (u64 l = 0; l < L; ++l) { double d = (double)x[(n * C + c) * L + l] - m; v += d * d; }
        v /= count;
        mean[c] = m; var[c] = v;
        float m32 = (float)m, is = (float)(1.0 / sqrt(v + eps));
        float a = is * (w ? w[c] : 1.f);
        mean32[c] = m32; invstd[c] = is; alpha[c] = a; beta[c] = (b ? b[c] : 0.f) - m32 * a;
    }
}
extern "C" __global__ void bn_eval_coeffs(const float* rm, const float* rv, float eps, u64 C,
                                          const float* w, const float* b,
                                          float* mean32, float* invstd, float* alpha, float* beta) {
    GRID_LOOP(c, C) {
        float is = 1.f / sqrtf(rv[c] + eps);
        float a = is * (w ? w[c] : 1.f);
        mean32[c] = rm[c]; invstd[c] = is; alpha[c] = a; beta[c] = (b ? b[c] : 0.f) - rm[c] * a;
    }
}
extern "C" __global__ void bn_affine(const float* x, const float* alpha, const float* beta,
                                     u64 N, u64 C, u64 L, float* y) {
    GRID_LOOP(i, N * C * L) { u64 c = (i / L) % C; y[i] = x[i] * alpha[c] + beta[c]; }
}
extern "C" __global__ void bn_running(float* rm, float* rv, const double* mean, const double* var,
                                      u64 C, double factor, double unbias) {
    GRID_LOOP(c, C) {
        rm[c] = (float)(factor * mean[c] + (1.0 - factor) * (double)rm[c]);
        rv[c] = (float)(factor * var[c] * unbias + (1.0 - factor) * (double)rv[c]);
    }
}
extern "C" __global__ void bn_back_sums(const float* x, const float* g, const float* mean32,
                                        u64 N, u64 C, u64 L, double* sum_g, double* dotp) {
    GRID_LOOP(c, C) {
        double m = (double)mean32[c], sg = 0.0, dp = 0.0;
        for (u64 n = 0; n < N; ++n) for (u64 l = 0; l < L; ++l) {
            u64 i = (n * C + c) * L + l;
            sg += (double)g[i]; dp += ((double)x[i] - m) * (double)g[i];
        }
        sum_g[c] = sg; dotp[c] = dp;
    }
}
extern "C" __global__ void bn_back_dx(const float* x, const float* g, const float* mean32,
                                      const float* invstd, const float* w, const double* sum_g,
                                      const double* dotp, u64 N, u64 C, u64 L, float* dx) {
    GRID_LOOP(i, N * C * L) {
        u64 c = (i / L) % C;
        double n = (double)(N * L), is = (double)invstd[c];
        double k = dotp[c] * is * is / n, grad_mean = sum_g[c] / n, scale = is * (double)(w ? w[c] : 1.f);
        dx[i] = (float)(((double)g[i] - grad_mean - ((double)x[i] - (double)mean32[c]) * k) * scale);
    }
}
extern "C" __global__ void bn_back_dx_eval(const float* g, const float* alpha, u64 N, u64 C, u64 L, float* dx) {
    GRID_LOOP(i, N * C * L) dx[i] = g[i] * alpha[(i / L) % C];
}
extern "C" __global__ void bn_back_params(const double* sum_g, const double* dotp, const float* invstd,
                                          u64 C, float* dw, float* db) {
    GRID_LOOP(c, C) {
        if (dw) dw[c] = (float)(dotp[c] * (double)invstd[c]);
        if (db) db[c] = (float)sum_g[c];
    }
}

// Dropout: keep with probability 1 − p, scaled by 1/(1 − p); element i's draw is a hash of
// (seed, i) (SplitMix64), so a mask needs no state and no copy from the host.
extern "C" __global__ void dropout_mask(float* mask, u64 n, u64 seed, double p, float scale) {
    GRID_LOOP(i, n) {
        u64 z = seed + (i + 1) * 0x9E3779B97F4A7C15ull;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        double u = (double)(z >> 11) * (1.0 / 9007199254740992.0);
        mask[i] = u < p ? 0.f : scale;
    }
}

// clip_grad_norm (optim/clip.rs): sq[k] = Σ g² of gradient k (from its partial sums);
// then the total norm and the clip coefficient, on the device; then g *= coef where coef != 1.
extern "C" __global__ void sumsq_partial(const float* x, double* part, u64 n, u64 chunk) {
    CHUNK_SUM(i, n, chunk, part, (double)x[i] * (double)x[i])
}
extern "C" __global__ void sum_into(const double* part, u64 n, double* out, u64 k) {
    if (threadIdx.x == 0 && blockIdx.x == 0) {
        double acc = 0.0;
        for (u64 i = 0; i < n; ++i) acc += part[i];
        out[k] = acc;
    }
}
extern "C" __global__ void clip_coef(const double* sq, u64 k, float max_norm, float* total, float* coef) {
    if (threadIdx.x == 0 && blockIdx.x == 0) {
        double acc = 0.0;
        for (u64 i = 0; i < k; ++i) { double nk = (double)(float)sqrt(sq[i]); acc += nk * nk; }
        float t = (float)sqrt(acc);
        float c = (1.f / (t + 1e-6f)) * max_norm;
        total[0] = t;
        coef[0] = isnan(c) ? c : fminf(c, 1.f);
    }
}
extern "C" __global__ void scale_by(float* g, u64 n, const float* coef) {
    float c = coef[0];
    if (c == 1.f) return;
    GRID_LOOP(i, n) g[i] *= c;
}

// index_select along a dim (outer, n, inner layout): out[(o·k + j)·inner + t] = src[(o·n + idx[j])·inner + t].
extern "C" __global__ void gather(const float* src, const u64* idx, u64 outer, u64 n, u64 inner, u64 k, float* out) {
    GRID_LOOP(e, outer * k * inner) {
        u64 t = e % inner, j = (e / inner) % k, o = e / (inner * k);
        out[e] = src[(o * n + idx[j]) * inner + t];
    }
}
// Its gradient: g[(o·n + i)·inner + t] = Σ grad[(o·k + j)·inner + t] over the j with idx[j] = i,
// in increasing j (js[starts[i] .. starts[i+1]] lists them), so no atomics are needed.
extern "C" __global__ void scatter_rows(const float* grad, const u64* starts, const u64* js, u64 outer, u64 n,
                                        u64 inner, u64 k, float* g) {
    GRID_LOOP(e, outer * n * inner) {
        u64 t = e % inner, i = (e / inner) % n, o = e / (inner * n);
        float acc = 0.f;
        for (u64 q = starts[i]; q < starts[i + 1]; ++q) acc += grad[(o * k + js[q]) * inner + t];
        g[e] = acc;
    }
}

// MSE (nn/loss/regression.rs): part[b] = Σ (x − y)² over block b's chunk, each square in float
// as the CPU's per-element loss, the sum in double.
extern "C" __global__ void sqdiff_partial(const float* x, const float* y, double* part, u64 n, u64 chunk) {
    CHUNK_SUM(i, n, chunk, part, (double)((x[i] - y[i]) * (x[i] - y[i])))
}
// Its gradient: u = g[i] (per_element) or g[0] / div; gx = u · 2(x − y); gy = −gx (if wanted).
extern "C" __global__ void mse_grad(const float* x, const float* y, const float* g, int per_element, float div,
                                    u64 n, float* gx, float* gy) {
    GRID_LOOP(i, n) {
        float u = per_element ? g[i] : g[0] / div;
        float v = u * (2.f * (x[i] - y[i]));
        if (gx) gx[i] = v;
        if (gy) gy[i] = -v;
    }
}
"#;

/// Compiles [`source`] to PTX. No fused multiply-adds: the same roundings as the CPU's
/// separate `*` and `+`.
pub(super) fn compile() -> Result<cudarc::nvrtc::Ptx, cudarc::nvrtc::CompileError> {
    let opts = cudarc::nvrtc::CompileOptions {
        fmad: Some(false),
        // 177: a variable declared but never used (`a` in `SecondDiv`).
        options: vec!["-diag-suppress=177".into()],
        ..Default::default()
    };
    cudarc::nvrtc::compile_ptx_with_opts(source(), opts)
}

/// The whole source: the prelude, then one kernel per named op.
pub(super) fn source() -> String {
    let mut s = String::from(PRELUDE);
    for op in UnaryOp::all() {
        let (name, expr, _) = op.cuda();
        s.push_str(&format!(
            "extern \"C\" __global__ void {name}(const float* xs, float* y, u64 n, float p0, float p1) \
             {{ GRID_LOOP(i, n) {{ float x = xs[i]; y[i] = {expr}; }} }}\n"
        ));
    }
    for op in BinaryOp::all() {
        let (name, expr, _) = op.cuda();
        s.push_str(&format!(
            "extern \"C\" __global__ void {name}(const float* as, const float* bs, float* y, u64 n, \
             float p0, float p1, Bcast bc) {{ GRID_LOOP(i, n) {{ u64 ia = i, ib = i; \
             if (bc.ndim > 0) {{ u64 r = i; ia = 0; ib = 0; for (int d = bc.ndim - 1; d >= 0; --d) \
             {{ u64 q = r % bc.shape[d]; r /= bc.shape[d]; ia += q * bc.sa[d]; ib += q * bc.sb[d]; }} }} \
             float a = as[ia], b = bs[ib]; y[i] = {expr}; }} }}\n"
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    /// The kernels compile wherever NVRTC loads, GPU or not (`.ci/run` installs it from PyPI
    /// and sets `BACKPROP_REQUIRE_NVRTC`, so that CI catches a kernel that does not compile).
    #[test]
    fn kernels_compile_with_nvrtc() {
        // SAFETY: only tries to open the shared library.
        if !unsafe { cudarc::nvrtc::sys::is_culib_present() } {
            assert!(
                std::env::var_os("BACKPROP_REQUIRE_NVRTC").is_none(),
                "BACKPROP_REQUIRE_NVRTC is set but libnvrtc could not be loaded"
            );
            eprintln!("skipped: NVRTC not found");
            return;
        }
        let ptx = super::compile().unwrap_or_else(|e| panic!("{e:?}"));
        let text = ptx.to_src();
        for name in [
            "fill",
            "sum_reduce",
            "ce_rows",
            "adam_multi",
            "u_Relu",
            "b_SiluGrad",
        ] {
            assert!(text.contains(name), "kernel {name} missing from the PTX");
        }
    }
}
