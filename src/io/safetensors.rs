//! [`StateDict`] ↔ `.safetensors` files: an 8-byte little-endian header length, a JSON header
//! (`{"__metadata__": {...}, "name": {"dtype", "shape", "data_offsets"}, ...}`) and the raw
//! little-endian values.
//!
//! Files hold `F32`, `I64` and `F64` tensors, the dtypes a [`StateDict`] holds. Reading goes
//! through the `safetensors` crate, which validates the header, the offsets and the sizes.
//! Writing lays the file out exactly as that crate (and PyTorch's `safetensors.torch.save`)
//! does, tensors sorted by dtype alignment then name, but writes `__metadata__` in sorted key
//! order, so the same state always gives the same bytes (the crate's writer takes a `HashMap`).
//!
//! **Order.** A safetensors file keeps no insertion order. [`load`] returns the entries sorted
//! by name (byte order: `"0.weight" < "10.weight" < "2.weight"`); `load_state_dict` matches by
//! name, so the order never matters for loading a model.
//!
//! # Examples
//! ```
//! use backprop::io::safetensors;
//! use backprop::nn::{Linear, Module};
//! # fn main() -> backprop::Result<()> {
//! let dir = std::env::temp_dir().join(format!("backprop-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let path = dir.join("model.safetensors");
//! let model = Linear::new(3, 2);
//! safetensors::save(&model.state_dict(), &path, None)?;
//! let (state, _metadata) = safetensors::load(&path)?;
//! let copy = Linear::new(3, 2);
//! copy.load_state_dict(&state)?;
//! assert_eq!(copy.weight.to_vec(), model.weight.to_vec());
//! # std::fs::remove_dir_all(&dir).unwrap();
//! # Ok(())
//! # }
//! ```

use crate::nn::{StateData, StateDict, StateTensor};
use crate::{Error, Result};
use ::safetensors::tensor::{Dtype, Metadata, SafeTensors};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::Path;

/// The label errors from [`from_bytes`] and [`to_bytes`] carry in place of a path.
const BYTES: &str = "<bytes>";

/// The largest header the `safetensors` crate accepts (100 MB).
const MAX_HEADER: u64 = 100_000_000;

/// Writes `state` (and optional string `metadata`, PyTorch's `metadata={"format": "pt"}`) to
/// `path` as safetensors.
///
/// The write is atomic: the bytes go to a temporary file in the same folder, which is then
/// renamed over `path`, so a failed or interrupted save never leaves a partial file (and the
/// temporary file is removed on error); a device, FIFO or symlink is written through, as
/// [`crate::data::write_atomically`] says.
///
/// # Errors
/// [`Error::Io`] if the folder is missing or not writable; [`Error::Safetensors`] if an entry's
/// values do not match its shape or a tensor is named `__metadata__`.
pub fn save(
    state: &StateDict,
    path: impl AsRef<Path>,
    metadata: Option<&BTreeMap<String, String>>,
) -> Result<()> {
    let path = path.as_ref();
    let bytes = encode(state, metadata).map_err(|m| err(path, m))?;
    // A temporary file and a rename for a regular file; a device or FIFO is written in place.
    crate::data::write_atomically(path, |w| w.write_all(&bytes))
}

/// Reads a safetensors file into a [`StateDict`] (sorted by name) and its `__metadata__`.
///
/// Nothing is allocated before it is known to be needed: the 8-byte header length is checked
/// against the file's size, then the header alone is read and validated, and the data it
/// describes must account for the rest of the file exactly before the data is read. So neither
/// a corrupt length nor a header whose tensors claim terabytes (nor a huge sparse file behind a
/// small header) leads to a large allocation.
///
/// # Errors
/// [`Error::Io`] if the file cannot be read; [`Error::Safetensors`] if it is truncated or
/// corrupt, or holds a dtype other than `F32`, `I64` and `F64` (the message names the tensor).
pub fn load(path: impl AsRef<Path>) -> Result<(StateDict, BTreeMap<String, String>)> {
    let path = path.as_ref();
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let mut head = [0u8; 8];
    if len < 8 {
        return Err(err(path, too_small(len)));
    }
    file.read_exact(&mut head).map_err(|e| Error::io(path, e))?;
    let n = u64::from_le_bytes(head);
    check_header_len(n, len).map_err(|m| err(path, m))?;
    // n ≤ MAX_HEADER (100 MB) and ≤ the file's size: safe to allocate.
    let mut bytes = head.to_vec();
    bytes.resize(8 + n as usize, 0);
    file.read_exact(&mut bytes[8..])
        .map_err(|e| Error::io(path, e))?;
    let data_len = header_data_len(&bytes[8..]).map_err(|m| err(path, m))?;
    let available = len - 8 - n;
    if data_len != available {
        return Err(err(
            path,
            format!(
                "the header describes {data_len} data bytes but the file holds {available} after it"
            ),
        ));
    }
    bytes
        .try_reserve_exact(available as usize)
        .map_err(|_| err(path, format!("{available} data bytes do not fit in memory")))?;
    (&mut file)
        .take(available)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    if bytes.len() as u64 != len {
        return Err(err(path, "the file changed size while being read".into()));
    }
    decode(&bytes).map_err(|m| err(path, m))
}

/// The number of data bytes a header (the JSON after the 8-byte length) describes, validated by
/// the `safetensors` crate's own rules (contiguous offsets that match each shape and dtype).
fn header_data_len(header: &[u8]) -> std::result::Result<u64, String> {
    let meta: Metadata = serde_json::from_slice(header)
        .map_err(|e| format!("invalid safetensors data: invalid header: {e}"))?;
    Ok(meta.data_len() as u64)
}

/// [`load`] from bytes in memory (errors name the path `<bytes>`).
///
/// # Errors
/// As [`load`], for a truncated or corrupt buffer or an unsupported dtype.
pub fn from_bytes(bytes: &[u8]) -> Result<(StateDict, BTreeMap<String, String>)> {
    decode(bytes).map_err(|m| err(Path::new(BYTES), m))
}

/// [`save`] to bytes in memory.
///
/// # Errors
/// As [`save`], for an entry whose values do not match its shape or a tensor named
/// `__metadata__`.
pub fn to_bytes(state: &StateDict, metadata: Option<&BTreeMap<String, String>>) -> Result<Vec<u8>> {
    encode(state, metadata).map_err(|m| err(Path::new(BYTES), m))
}

fn err(path: &Path, message: String) -> Error {
    Error::Safetensors {
        path: path.display().to_string(),
        message,
    }
}

fn too_small(len: u64) -> String {
    format!("file of {len} bytes is too small for a safetensors header (8-byte length + JSON)")
}

fn check_header_len(n: u64, total: u64) -> std::result::Result<(), String> {
    if n > total - 8 {
        return Err(format!(
            "header length {n} exceeds the {} bytes that follow it (truncated or not a safetensors file)",
            total - 8
        ));
    }
    if n > MAX_HEADER {
        return Err(format!(
            "header length {n} exceeds the {MAX_HEADER}-byte limit"
        ));
    }
    Ok(())
}

fn decode(bytes: &[u8]) -> std::result::Result<(StateDict, BTreeMap<String, String>), String> {
    let total = bytes.len() as u64;
    if total < 8 {
        return Err(too_small(total));
    }
    let n = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
    check_header_len(n, total)?;
    let (header_len, meta) =
        SafeTensors::read_metadata(bytes).map_err(|e| format!("invalid safetensors data: {e}"))?;
    let data = &bytes[8 + header_len..];
    let mut infos: Vec<_> = meta.tensors().into_iter().collect();
    infos.sort_by(|a, b| a.0.cmp(&b.0));
    let mut state = StateDict::new();
    for (name, info) in infos {
        let raw = &data[info.data_offsets.0..info.data_offsets.1];
        let values = match info.dtype {
            Dtype::F32 => StateData::F32(raw.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect()),
            Dtype::I64 => StateData::I64(raw.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().unwrap())).collect()),
            Dtype::F64 => StateData::F64(raw.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap())).collect()),
            other => {
                return Err(format!(
                    "tensor `{name}` has dtype {other:?}; only F32, I64 and F64 are supported (convert with .float())"
                ))
            }
        };
        state.insert(
            name,
            StateTensor {
                shape: info.shape.clone(),
                data: values,
            },
        );
    }
    let metadata = meta
        .metadata()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    Ok((state, metadata))
}

/// The file's bytes: the header as the `safetensors` crate writes it (tensors by descending
/// dtype alignment, then name; padded with spaces to a multiple of 8), then the data.
fn encode(
    state: &StateDict,
    metadata: Option<&BTreeMap<String, String>>,
) -> std::result::Result<Vec<u8>, String> {
    let mut entries: Vec<(&str, &StateTensor)> = state.iter().collect();
    for (name, t) in &entries {
        if *name == "__metadata__" {
            return Err("a tensor cannot be named `__metadata__`".into());
        }
        let numel: usize = t.shape.iter().product();
        let len = match &t.data {
            StateData::F32(v) => v.len(),
            StateData::I64(v) => v.len(),
            StateData::F64(v) => v.len(),
        };
        if len != numel {
            return Err(format!(
                "tensor `{name}` has shape {:?} but {len} values",
                t.shape
            ));
        }
    }
    let rank = |t: &StateTensor| match t.data {
        StateData::I64(_) => 0,
        StateData::F64(_) => 1,
        StateData::F32(_) => 2,
    };
    entries.sort_by(|a, b| rank(a.1).cmp(&rank(b.1)).then(a.0.cmp(b.0)));

    let mut header = String::from("{");
    if let Some(meta) = metadata {
        header.push_str("\"__metadata__\":{");
        for (i, (k, v)) in meta.iter().enumerate() {
            if i > 0 {
                header.push(',');
            }
            json_string(k, &mut header);
            header.push(':');
            json_string(v, &mut header);
        }
        header.push('}');
    }
    // The header first (each tensor's offsets follow from its shape, checked above), then one
    // buffer of exactly the file's size: the values are copied once, with no growing
    // intermediate.
    let mut offset = 0usize;
    for (i, (name, t)) in entries.iter().enumerate() {
        if i > 0 || metadata.is_some() {
            header.push(',');
        }
        let (dtype, bytes) = match t.data {
            StateData::F32(_) => ("F32", 4),
            StateData::I64(_) => ("I64", 8),
            StateData::F64(_) => ("F64", 8),
        };
        let end = offset + bytes * t.shape.iter().product::<usize>();
        let shape: Vec<String> = t.shape.iter().map(|d| d.to_string()).collect();
        json_string(name, &mut header);
        header.push_str(&format!(
            ":{{\"dtype\":\"{dtype}\",\"shape\":[{}],\"data_offsets\":[{offset},{end}]}}",
            shape.join(","),
        ));
        offset = end;
    }
    header.push('}');
    let mut header = header.into_bytes();
    header.resize(header.len().next_multiple_of(8), b' ');
    let mut out = Vec::with_capacity(8 + header.len() + offset);
    out.extend_from_slice(&(header.len() as u64).to_le_bytes());
    out.extend_from_slice(&header);
    for (_, t) in &entries {
        match &t.data {
            StateData::F32(v) => v
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            StateData::I64(v) => v
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            StateData::F64(v) => v
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
        }
    }
    debug_assert_eq!(out.len(), 8 + header.len() + offset);
    Ok(out)
}

/// Appends `s` as a JSON string literal, escaped as `serde_json` does.
fn json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::safetensors::tensor::View;
    use std::borrow::Cow;
    use std::fs;
    use std::path::PathBuf;

    fn sample() -> StateDict {
        let mut sd = StateDict::new();
        sd.insert("1.weight", StateTensor::f32(&[1, 2], vec![1.5, -2.0]));
        sd.insert("0.num_batches_tracked", StateTensor::i64_scalar(3));
        sd.insert(
            "lr",
            StateTensor {
                shape: vec![1],
                data: StateData::F64(vec![0.25]),
            },
        );
        sd
    }

    /// A fresh empty folder under the system temp dir.
    fn temp_dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("backprop-st-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    // Python (safetensors 0.8.0, torch 2.15):
    // >>> sd = OrderedDict([('1.weight', torch.tensor([[1.5, -2.0]])), ('0.num_batches_tracked', torch.tensor(3)),
    // ...                   ('lr', torch.tensor([0.25], dtype=torch.float64))])
    // >>> safetensors.torch.save(sd, metadata={'format': 'pt'}).hex()
    const PYTORCH_BYTES: &str = "e0000000000000007b225f5f6d657461646174615f5f223a7b22666f726d6174223a227074227d2c22302e6e756d5f626174636865735f747261636b6564223a7b226474797065223a22493634222c227368617065223a5b5d2c22646174615f6f666673657473223a5b302c385d7d2c226c72223a7b226474797065223a22463634222c227368617065223a5b315d2c22646174615f6f666673657473223a5b382c31365d7d2c22312e776569676874223a7b226474797065223a22463332222c227368617065223a5b312c325d2c22646174615f6f666673657473223a5b31362c32345d7d7d200300000000000000000000000000d03f0000c03f000000c0";

    #[test]
    fn writes_the_same_bytes_as_pytorch_and_reads_them_back() {
        let meta = BTreeMap::from([("format".to_string(), "pt".to_string())]);
        let bytes = to_bytes(&sample(), Some(&meta)).unwrap();
        assert_eq!(bytes, hex(PYTORCH_BYTES));
        let (sd, m) = from_bytes(&hex(PYTORCH_BYTES)).unwrap();
        assert_eq!(m, meta);
        assert_eq!(
            sd.keys().collect::<Vec<_>>(),
            ["0.num_batches_tracked", "1.weight", "lr"],
            "sorted by name"
        );
        for (k, v) in sample().iter() {
            assert_eq!(sd.get(k), Some(v), "{k}");
        }
    }

    /// Our writer against the crate's own, where its output is deterministic.
    struct Raw(Dtype, Vec<usize>, Vec<u8>);
    impl View for &Raw {
        fn dtype(&self) -> Dtype {
            self.0
        }
        fn shape(&self) -> &[usize] {
            &self.1
        }
        fn data(&self) -> Cow<'_, [u8]> {
            Cow::Borrowed(&self.2)
        }
        fn data_len(&self) -> usize {
            self.2.len()
        }
    }

    #[test]
    fn matches_the_crates_writer() {
        let mut sd = StateDict::new();
        sd.insert("b\"odd\\name\n", StateTensor::f32(&[2], vec![1.0, 2.0]));
        sd.insert("a", StateTensor::f32(&[0], vec![]));
        let raws: Vec<(String, Raw)> = sd
            .iter()
            .map(|(k, t)| {
                let bytes = t
                    .as_f32()
                    .unwrap()
                    .iter()
                    .flat_map(|v| v.to_le_bytes())
                    .collect();
                (k.to_string(), Raw(Dtype::F32, t.shape.clone(), bytes))
            })
            .collect();
        let theirs =
            ::safetensors::tensor::serialize(raws.iter().map(|(k, r)| (k.as_str(), r)), None)
                .unwrap();
        assert_eq!(to_bytes(&sd, None).unwrap(), theirs);
        assert_eq!(
            from_bytes(&theirs).unwrap().0.get("b\"odd\\name\n"),
            sd.get("b\"odd\\name\n")
        );
        // An empty state dict is `{}` padded to 8 bytes.
        assert_eq!(
            to_bytes(&StateDict::new(), None).unwrap(),
            b"\x08\0\0\0\0\0\0\0{}      "
        );
    }

    #[test]
    fn save_load_round_trip_and_replace() {
        let dir = temp_dir("roundtrip");
        let path = dir.join("m.safetensors");
        let meta = BTreeMap::from([
            ("epoch".to_string(), "3".to_string()),
            ("arch".to_string(), "mlp".to_string()),
        ]);
        save(&sample(), &path, Some(&meta)).unwrap();
        let (sd, m) = load(&path).unwrap();
        assert_eq!(m, meta);
        assert_eq!(sd.len(), 3);
        assert_eq!(sd.get("lr").unwrap().scalar_value(), Some(0.25));
        // Saving again replaces the file; no temporary file is left behind.
        let mut other = StateDict::new();
        other.insert("w", StateTensor::f32(&[], vec![7.0]));
        save(&other, &path, None).unwrap();
        assert_eq!(load(&path).unwrap().0, other);
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["m.safetensors"]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn failed_save_leaves_no_file() {
        let dir = temp_dir("nodir");
        let path = dir.join("missing").join("m.safetensors");
        let e = save(&sample(), &path, None).unwrap_err();
        assert!(matches!(e, Error::Io { .. }), "{e}");
        assert!(!dir.join("missing").exists());
        // A bad entry fails before anything is written.
        let mut bad = StateDict::new();
        bad.insert(
            "x",
            StateTensor {
                shape: vec![3],
                data: StateData::F32(vec![1.0]),
            },
        );
        let path = dir.join("bad.safetensors");
        let e = save(&bad, &path, None).unwrap_err();
        assert!(
            e.to_string()
                .contains("tensor `x` has shape [3] but 1 values"),
            "{e}"
        );
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 0);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn huge_claimed_header_is_rejected_before_allocating() {
        let mut bytes = (1u64 << 40).to_le_bytes().to_vec();
        bytes.extend_from_slice(b"{}      ");
        let e = from_bytes(&bytes).unwrap_err();
        assert_eq!(
            e.to_string(),
            "<bytes>: header length 1099511627776 exceeds the 8 bytes that follow it (truncated or not a safetensors file)"
        );
        let dir = temp_dir("huge");
        let path = dir.join("huge.safetensors");
        fs::write(&path, &bytes).unwrap();
        let e = load(&path).unwrap_err();
        assert!(
            e.to_string()
                .contains("header length 1099511627776 exceeds"),
            "{e}"
        );
        fs::write(&path, b"abc").unwrap();
        assert!(load(&path).unwrap_err().to_string().contains("too small"));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn truncated_and_corrupt_files_are_errors() {
        let good = hex(PYTORCH_BYTES);
        let e = from_bytes(&good[..good.len() - 3]).unwrap_err();
        assert!(matches!(&e, Error::Safetensors { .. }), "{e}");
        assert!(e.to_string().contains("invalid safetensors data"), "{e}");
        let e = from_bytes(&good[..100]).unwrap_err();
        assert!(e.to_string().contains("header length 224 exceeds"), "{e}");
        let mut corrupt = good.clone();
        corrupt[8] = b'[';
        assert!(from_bytes(&corrupt)
            .unwrap_err()
            .to_string()
            .contains("invalid safetensors data"));
        let e = load(Path::new("/nonexistent/backprop/m.safetensors")).unwrap_err();
        assert!(matches!(e, Error::Io { .. }), "{e}");
    }

    #[test]
    fn unsupported_dtype_names_the_tensor() {
        let raw = Raw(Dtype::F16, vec![2], vec![0, 60, 0, 60]);
        let bytes = ::safetensors::tensor::serialize([("half.weight", &raw)], None).unwrap();
        let e = from_bytes(&bytes).unwrap_err();
        assert!(
            e.to_string().contains("tensor `half.weight` has dtype F16"),
            "{e}"
        );
    }

    /// Random byte edits of a model's file: reading never panics, what reads back loads into
    /// the model or is refused, and what loads runs (the stable-Rust side of `fuzz/`).
    #[test]
    fn mutated_files_never_panic() {
        use crate::data::test_util::mutate;
        use crate::nn::{Mlp, MlpConfig, Module};
        use crate::rng::Generator;
        let model = || {
            Mlp::new(&MlpConfig {
                batch_norm: true,
                ..MlpConfig::new(&[2, 3, 2])
            })
        };
        let meta = BTreeMap::from([("format".to_string(), "pt".to_string())]);
        let seeds = [
            to_bytes(&model().state_dict(), Some(&meta)).unwrap(),
            to_bytes(&model().state_dict(), None).unwrap(),
            hex(PYTORCH_BYTES),
        ];
        let mut g = Generator::new(23);
        let (mut read, mut loaded) = (0, 0);
        for i in 0..3000 {
            let bytes = mutate(&seeds[i % seeds.len()], &mut g, 1 + i % 3);
            let (state, _) = match from_bytes(&bytes) {
                Ok(r) => r,
                Err(e) => {
                    assert!(!e.to_string().contains('\n'), "{e}");
                    continue;
                }
            };
            read += 1;
            let mut m = model();
            match m.load_state_dict(&state) {
                Ok(()) => {
                    loaded += 1;
                    m.eval();
                    let y = crate::no_grad(|| m.forward(&crate::Tensor::ones(&[3, 2])));
                    assert_eq!(y.shape(), vec![3, 2]);
                }
                Err(e) => assert!(!e.to_string().contains('\n'), "{e}"),
            }
        }
        // Flipped value bits keep a file valid: some mutants must get all the way through.
        assert!(read > 100 && loaded > 50, "read {read}, loaded {loaded}");
    }

    #[test]
    fn reserved_name_is_rejected() {
        let mut sd = StateDict::new();
        sd.insert("__metadata__", StateTensor::f32(&[1], vec![0.0]));
        assert!(to_bytes(&sd, None).is_err());
    }
}
