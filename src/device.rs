//! [`Device`]: where a tensor's values live and its ops run, as `torch.device`.
//!
//! ```
//! use backprop::nn::{Mlp, MlpConfig, Module};
//! use backprop::{Device, Tensor};
//!
//! let device = Device::cuda(0).unwrap_or(Device::Cpu); // an error, not a panic, without a GPU
//! let mut model = Mlp::new(&MlpConfig::new(&[784, 256, 10]));
//! model.to(&device); // parameters and buffers, in place
//! let x = Tensor::randn(&[128, 784]).to(&device);
//! let y = model.forward(&x);
//! assert_eq!(y.device(), device);
//! assert_eq!(y.to_vec().len(), 1280); // back on the CPU
//! ```

use crate::error::{Error, Result};
use std::fmt;
use std::str::FromStr;

/// A device: the CPU, or the NVIDIA GPU with a given ordinal (feature `cuda`).
///
/// Parse one from `"cpu"`, `"cuda"` (GPU 0) or `"cuda:1"`, as `torch.device`; parsing does not
/// look for the GPU, [`Device::cuda`] and [`Device::check`] do.
///
/// # Examples
/// ```
/// use backprop::Device;
/// let d: Device = "cuda:1".parse().unwrap();
/// assert_eq!(d, Device::Cuda(1));
/// assert_eq!(d.to_string(), "cuda:1");
/// assert_eq!("cpu".parse::<Device>().unwrap(), Device::Cpu);
/// // Where there is no GPU (or no driver), asking for one is an error, not a panic.
/// if !Device::cuda_is_available() {
///     assert!(Device::cuda(0).is_err());
/// }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Device {
    /// The CPU (the default).
    #[default]
    Cpu,
    /// The CUDA GPU with this ordinal.
    Cuda(usize),
}

impl Device {
    /// The GPU `ordinal`, checked: the driver loads, the GPU exists and could be set up.
    ///
    /// # Errors
    /// If the library was built without the `cuda` feature, no CUDA driver is found, or there
    /// is no such GPU; the message says which.
    pub fn cuda(ordinal: usize) -> Result<Device> {
        let d = Device::Cuda(ordinal);
        d.check()?;
        Ok(d)
    }

    /// Checks that this device can be used (always true for the CPU); sets the GPU up.
    ///
    /// # Errors
    /// As [`Device::cuda`].
    pub fn check(&self) -> Result<()> {
        match *self {
            Device::Cpu => Ok(()),
            #[cfg(feature = "cuda")]
            Device::Cuda(o) => crate::backend::cuda::gpu(o).map(|_| ()),
            #[cfg(not(feature = "cuda"))]
            Device::Cuda(o) => Err(Error::invalid(no_cuda_feature(o))),
        }
    }

    /// Whether at least one CUDA GPU can be used, as `torch.cuda.is_available()`.
    pub fn cuda_is_available() -> bool {
        Self::cuda_device_count() > 0
    }

    /// The number of CUDA GPUs (0 without the `cuda` feature or a driver), as
    /// `torch.cuda.device_count()`.
    pub fn cuda_device_count() -> usize {
        #[cfg(feature = "cuda")]
        {
            crate::backend::cuda::device_count()
        }
        #[cfg(not(feature = "cuda"))]
        {
            0
        }
    }

    /// The device `"auto"` picks for a training step of `flops` floating-point operations
    /// (forward and backward: about `6 × batch × Σ inputs·outputs` for an MLP): the first GPU
    /// when there is one and the step has at least [`AUTO_CUDA_MIN_FLOPS`], else the CPU.
    ///
    /// The threshold is where the two meet on the machine the benchmarks ran on (an H200 and
    /// 16 CPU cores, BENCHMARKS.md): below it a step is too small to fill the GPU and costs
    /// its fixed per-kernel overhead (about 0.25 ms a step for a 3-layer MLP); above it the CPU
    /// is slower. With fewer CPU cores the GPU wins earlier, so the rule errs towards the CPU
    /// only for steps that take the CPU well under a millisecond.
    ///
    /// # Examples
    /// ```
    /// use backprop::Device;
    /// // The tutorial's XOR net: a few hundred FLOPs a step always run on the CPU.
    /// assert_eq!(Device::auto(672.0), Device::Cpu);
    /// ```
    pub fn auto(flops: f64) -> Device {
        if flops >= AUTO_CUDA_MIN_FLOPS && Device::cuda_is_available() && Device::cuda(0).is_ok() {
            Device::Cuda(0)
        } else {
            Device::Cpu
        }
    }

    /// The GPU's model name as its driver reports it (`"NVIDIA H200"`); `None` for the CPU
    /// or a GPU that cannot be used.
    pub fn name(&self) -> Option<String> {
        match self {
            Device::Cpu => None,
            #[cfg(feature = "cuda")]
            Device::Cuda(o) => crate::backend::cuda::gpu(*o).ok().and_then(|g| g.name()),
            #[cfg(not(feature = "cuda"))]
            Device::Cuda(_) => None,
        }
    }

    /// Whether this is a GPU.
    pub fn is_cuda(&self) -> bool {
        matches!(self, Device::Cuda(_))
    }

    /// Waits until all work queued on this device is done (as `torch.cuda.synchronize`); a
    /// no-op on the CPU. For timing GPU work.
    pub fn synchronize(&self) {
        #[cfg(feature = "cuda")]
        if let Device::Cuda(o) = self {
            crate::backend::cuda::gpu_or_panic(*o).synchronize();
        }
    }

    /// Bytes of memory in use on this GPU as its driver reports (by every process), or `None`
    /// for the CPU.
    pub fn memory_used(&self) -> Option<usize> {
        match self {
            Device::Cpu => None,
            #[cfg(feature = "cuda")]
            Device::Cuda(o) => crate::backend::cuda::gpu(*o).ok().map(|g| g.memory_used()),
            #[cfg(not(feature = "cuda"))]
            Device::Cuda(_) => None,
        }
    }

    /// Allows TF32 tensor-core products on this GPU (`true`) or keeps full fp32 products
    /// (`false`, the default), as `torch.backends.cuda.matmul.allow_tf32`. No effect on the CPU.
    ///
    /// # Errors
    /// As [`Device::cuda`].
    pub fn set_tf32(&self, allow: bool) -> Result<()> {
        #[cfg(feature = "cuda")]
        {
            crate::backend::cuda::set_tf32(self, allow)
        }
        #[cfg(not(feature = "cuda"))]
        {
            let _ = allow;
            self.check()
        }
    }
}

/// The smallest training step, in floating-point operations, that [`Device::auto`] sends to a
/// GPU (measured: the digits-size MLP of 784-256-128-10 at batch 128, 1.8·10⁸ FLOPs a step,
/// takes 0.25 ms on an H200 and 0.57 ms on 16 CPU cores; XOR-size steps take 0.26 ms and
/// 0.01 ms).
pub const AUTO_CUDA_MIN_FLOPS: f64 = 5e7;

/// The message for a GPU asked of a build without the `cuda` feature.
#[cfg_attr(feature = "cuda", allow(dead_code))]
pub(crate) fn no_cuda_feature(ordinal: usize) -> String {
    format!(
        "cuda:{ordinal}: this build of backprop has no GPU support (build with the `cuda` feature)"
    )
}

impl fmt::Display for Device {
    /// `cpu` or `cuda:N`, as PyTorch prints a device.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Device::Cpu => write!(f, "cpu"),
            Device::Cuda(o) => write!(f, "cuda:{o}"),
        }
    }
}

impl FromStr for Device {
    type Err = Error;

    /// `"cpu"`, `"cuda"` (GPU 0) or `"cuda:N"`.
    fn from_str(s: &str) -> Result<Device> {
        match s {
            "cpu" => Ok(Device::Cpu),
            "cuda" => Ok(Device::Cuda(0)),
            _ => s
                .strip_prefix("cuda:")
                .and_then(|n| n.parse::<usize>().ok())
                .map(Device::Cuda)
                .ok_or_else(|| {
                    Error::invalid(format!(
                        "expected a device (cpu, cuda or cuda:N), got {s:?}"
                    ))
                }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_like_torch_device() {
        for (s, d) in [
            ("cpu", Device::Cpu),
            ("cuda", Device::Cuda(0)),
            ("cuda:0", Device::Cuda(0)),
            ("cuda:3", Device::Cuda(3)),
        ] {
            assert_eq!(s.parse::<Device>().unwrap(), d, "{s}");
        }
        assert_eq!(Device::Cuda(2).to_string(), "cuda:2");
        for bad in ["gpu", "cuda:", "cuda:-1", "cuda:x", "CPU", ""] {
            let e = bad.parse::<Device>().unwrap_err().to_string();
            assert!(e.contains("expected a device"), "{bad}: {e}");
        }
    }

    #[test]
    fn a_missing_gpu_is_an_error_naming_it() {
        if Device::cuda_is_available() {
            return;
        }
        let e = Device::cuda(0).unwrap_err().to_string();
        assert!(e.starts_with("cuda:0: "), "{e}");
        assert!(Device::Cpu.check().is_ok());
    }
}
