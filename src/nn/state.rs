//! `StateDict`: an ordered map from PyTorch-style names (`layers.0.weight`) to tensors' values,
//! as `model.state_dict()` returns. It holds `f32` parameters and buffers, `i64` counters
//! (BatchNorm1d's `num_batches_tracked`), and `f64` scalars (optimizer and scheduler state).

use std::fmt;

/// The values of one state-dict entry.
#[derive(Clone, Debug, PartialEq)]
pub enum StateData {
    /// 32-bit floats (parameters, running statistics, optimizer buffers).
    F32(Vec<f32>),
    /// 64-bit integers (`num_batches_tracked`, step counters).
    I64(Vec<i64>),
    /// 64-bit floats (learning rates and other scalars that PyTorch keeps as Python floats).
    F64(Vec<f64>),
}

/// One entry: a shape and its values (row-major).
#[derive(Clone, Debug, PartialEq)]
pub struct StateTensor {
    /// The shape (`[]` for a 0-d scalar).
    pub shape: Vec<usize>,
    /// The values.
    pub data: StateData,
}

impl StateTensor {
    /// An `f32` entry.
    pub fn f32(shape: &[usize], data: Vec<f32>) -> Self {
        StateTensor {
            shape: shape.to_vec(),
            data: StateData::F32(data),
        }
    }

    /// A 0-d `i64` entry.
    pub fn i64_scalar(v: i64) -> Self {
        StateTensor {
            shape: vec![],
            data: StateData::I64(vec![v]),
        }
    }

    /// A 0-d `f64` entry.
    pub fn f64_scalar(v: f64) -> Self {
        StateTensor {
            shape: vec![],
            data: StateData::F64(vec![v]),
        }
    }

    /// The dtype's name as PyTorch prints it (`"float32"`, `"int64"`, `"float64"`).
    pub fn dtype_name(&self) -> &'static str {
        match self.data {
            StateData::F32(_) => "float32",
            StateData::I64(_) => "int64",
            StateData::F64(_) => "float64",
        }
    }

    /// The `f32` values, or `None` for another dtype.
    pub fn as_f32(&self) -> Option<&[f32]> {
        match &self.data {
            StateData::F32(v) => Some(v),
            _ => None,
        }
    }

    /// The single value of a one-element entry of any dtype, as `f64`.
    pub fn scalar_value(&self) -> Option<f64> {
        match &self.data {
            StateData::F32(v) if v.len() == 1 => Some(v[0] as f64),
            StateData::I64(v) if v.len() == 1 => Some(v[0] as f64),
            StateData::F64(v) if v.len() == 1 => Some(v[0]),
            _ => None,
        }
    }

    /// "shape [4, 2] float32", for error messages.
    pub fn describe(&self) -> String {
        format!("shape {:?} {}", self.shape, self.dtype_name())
    }
}

/// An ordered name → [`StateTensor`] map, as PyTorch's `OrderedDict` state dicts.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StateDict {
    entries: Vec<(String, StateTensor)>,
}

impl StateDict {
    /// An empty state dict.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces an entry (a replaced entry keeps its position).
    pub fn insert(&mut self, name: impl Into<String>, value: StateTensor) {
        let name = name.into();
        match self.entries.iter_mut().find(|(k, _)| *k == name) {
            Some((_, v)) => *v = value,
            None => self.entries.push((name, value)),
        }
    }

    /// The entry called `name`.
    pub fn get(&self, name: &str) -> Option<&StateTensor> {
        self.entries.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// Removes and returns the entry called `name`.
    pub fn remove(&mut self, name: &str) -> Option<StateTensor> {
        let i = self.entries.iter().position(|(k, _)| k == name)?;
        Some(self.entries.remove(i).1)
    }

    /// Whether there is an entry called `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The names, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(k, _)| k.as_str())
    }

    /// The entries, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &StateTensor)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries whose names start with `prefix`, with the prefix removed.
    pub fn with_prefix(&self, prefix: &str) -> StateDict {
        StateDict {
            entries: self
                .entries
                .iter()
                .filter_map(|(k, v)| {
                    k.strip_prefix(prefix)
                        .map(|rest| (rest.to_string(), v.clone()))
                })
                .collect(),
        }
    }

    /// Adds every entry of `other` under `prefix` (`"optimizer."`).
    pub fn extend_prefixed(&mut self, prefix: &str, other: StateDict) {
        for (k, v) in other.entries {
            self.insert(format!("{prefix}{k}"), v);
        }
    }
}

impl fmt::Display for StateDict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (k, v) in &self.entries {
            writeln!(f, "{k}: {}", v.describe())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_keeps_order_and_replaces_in_place() {
        let mut sd = StateDict::new();
        sd.insert("b", StateTensor::f32(&[1], vec![1.0]));
        sd.insert("a", StateTensor::i64_scalar(3));
        sd.insert("b", StateTensor::f32(&[1], vec![2.0]));
        assert_eq!(sd.keys().collect::<Vec<_>>(), vec!["b", "a"]);
        assert_eq!(sd.get("b").unwrap().as_f32(), Some(&[2.0][..]));
        assert_eq!(sd.get("a").unwrap().scalar_value(), Some(3.0));
        let mut outer = StateDict::new();
        outer.extend_prefixed("m.", sd);
        assert_eq!(outer.with_prefix("m.").len(), 2);
    }
}
