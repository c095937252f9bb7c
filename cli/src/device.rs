//! `device = "cpu" | "cuda" | "cuda:N" | "auto"` and `--device`: where a command runs.

use anyhow::{bail, Result};
use backprop::nn::Module;
use backprop::Device;
use std::fmt;

/// A device as the config or `--device` names it: a fixed one, or `auto` (a GPU when there is
/// one and the model is large enough to be faster there; see [`Device::auto`]).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum DeviceChoice {
    /// The CPU, a GPU, or …
    Fixed(Device),
    /// … chosen by the size of the work (the default).
    #[default]
    Auto,
}

/// The names accepted besides `cuda:N` (for suggestions).
pub const NAMES: [&str; 3] = ["cpu", "cuda", "auto"];

impl DeviceChoice {
    /// Parses `cpu`, `cuda`, `cuda:N` or `auto`; `what` names the key or flag in the error.
    pub fn parse(s: &str, what: &str) -> Result<DeviceChoice> {
        if s == "auto" {
            return Ok(DeviceChoice::Auto);
        }
        match s.parse::<Device>() {
            Ok(d) => Ok(DeviceChoice::Fixed(d)),
            Err(_) => bail!(
                "{what}: unknown device \"{s}\"{}; expected \"cpu\", \"cuda\", \"cuda:N\" or \"auto\"",
                crate::config::suggestion(s, &NAMES)
            ),
        }
    }

    /// The device to run on, for work of `flops` floating-point operations per step (for
    /// `auto`). A fixed GPU that cannot be used is an error naming it and why.
    pub fn resolve(self, flops: f64, what: &str) -> Result<Device> {
        match self {
            DeviceChoice::Auto => Ok(Device::auto(flops)),
            DeviceChoice::Fixed(d) => match d.check() {
                Ok(()) => Ok(d),
                Err(e) => bail!("{what}: {e}"),
            },
        }
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceChoice::Fixed(d) => write!(f, "{d}"),
            DeviceChoice::Auto => write!(f, "auto"),
        }
    }
}

/// The device a command asked for: `--device` if given, else the config's `device`.
pub fn chosen(flag: Option<&str>, config: DeviceChoice) -> Result<(DeviceChoice, &'static str)> {
    match flag {
        Some(s) => Ok((DeviceChoice::parse(s, "--device")?, "--device")),
        None => Ok((config, "device")),
    }
}

/// Resolves the device for work of `flops` per step and moves `model` there; returns it.
pub fn place<M: Module>(
    model: &mut M,
    flag: Option<&str>,
    config: &crate::config::Config,
    flops: f64,
) -> Result<Device> {
    let (choice, what) = chosen(flag, config.device)?;
    let device = choice.resolve(flops, what)?;
    if device.is_cuda() {
        device.set_tf32(config.tf32)?;
        model.to(&device);
    }
    Ok(device)
}

/// Floating-point operations of one forward pass of `rows` rows through `model`'s `Linear`
/// layers: `2 · rows · Σ in·out` (a training step is about three times that).
pub fn forward_flops(model: &dyn Module, rows: usize) -> f64 {
    let macs: f64 = model
        .named_parameters()
        .iter()
        .filter(|(name, p)| name.ends_with("weight") && p.ndim() == 2)
        .map(|(_, p)| p.numel() as f64)
        .sum();
    2.0 * rows as f64 * macs
}

/// "cpu", or "cuda:0 (NVIDIA H200)".
pub fn describe(device: &Device) -> String {
    match device.name() {
        Some(name) => format!("{device} ({name})"),
        None => device.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_suggests() {
        assert_eq!(
            DeviceChoice::parse("auto", "device").unwrap(),
            DeviceChoice::Auto
        );
        assert_eq!(
            DeviceChoice::parse("cuda:2", "device").unwrap(),
            DeviceChoice::Fixed(Device::Cuda(2))
        );
        assert_eq!(
            DeviceChoice::parse("cpu", "device").unwrap(),
            DeviceChoice::Fixed(Device::Cpu)
        );
        let e = DeviceChoice::parse("cudda", "--device")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("--device: unknown device \"cudda\" (did you mean `cuda`?)"),
            "{e}"
        );
    }

    #[test]
    fn auto_is_the_cpu_for_small_work_and_a_missing_gpu_is_an_error() {
        assert_eq!(
            DeviceChoice::Auto.resolve(1e3, "device").unwrap(),
            Device::Cpu
        );
        if !Device::cuda_is_available() {
            assert_eq!(
                DeviceChoice::Auto.resolve(1e15, "device").unwrap(),
                Device::Cpu
            );
            let e = DeviceChoice::Fixed(Device::Cuda(0))
                .resolve(0.0, "--device")
                .unwrap_err();
            assert!(e.to_string().starts_with("--device: cuda:0: "), "{e}");
        }
    }
}
