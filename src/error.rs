//! The crate's error type, used where backprop meets the outside world.
//!
//! Tensor math that is wrong by construction (mismatched shapes, a bad axis) panics with a message
//! naming the op and the shapes, as `ndarray` does: such a bug is in the calling code, and `?` on
//! every arithmetic line would hide the math. Everything that reads or checks outside input —
//! files, configs, state dicts, user-chosen hyperparameters — returns [`Result`] instead.

use std::path::PathBuf;

/// Everything that can go wrong at a boundary of the library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An I/O operation on `path` failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A file's contents could not be parsed; `location` names the file and, where known,
    /// the row, column or key.
    #[error("{location}: {message}")]
    Parse {
        /// `file`, `file:line` or `file:line:column`.
        location: String,
        /// What is wrong there.
        message: String,
    },
    /// A state dict lacks a name the model expects.
    #[error("load_state_dict: missing key `{0}`")]
    MissingKey(String),
    /// A state dict holds a name the model does not have.
    #[error("load_state_dict: unexpected key `{0}`")]
    UnexpectedKey(String),
    /// A state-dict entry has the wrong shape or dtype.
    #[error("load_state_dict: `{key}` has {found}, the model expects {expected}")]
    StateMismatch {
        /// The entry's name.
        key: String,
        /// What the model expects (shape and dtype).
        expected: String,
        /// What the state dict holds.
        found: String,
    },
    /// A hyperparameter or option is out of range (PyTorch's wording, e.g. "Invalid learning rate: -1").
    #[error("{0}")]
    InvalidArgument(String),
    /// A safetensors file could not be read or written.
    #[error("{path}: {message}")]
    Safetensors {
        /// The file.
        path: String,
        /// What is wrong with it.
        message: String,
    },
    /// A picture could not be drawn (feature `viz`): the plotting backend's message.
    #[error("plot: {0}")]
    Plot(String),
}

/// `Result` with the crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Wraps an I/O error with the path it happened on.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// A parse error at `location` (`file`, `file:line`, ...).
    pub fn parse(location: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Parse {
            location: location.into(),
            message: message.into(),
        }
    }

    /// An invalid-argument error.
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::InvalidArgument(message.into())
    }
}
