//! Documentation-only modules.

pub mod for_pytorch_users;
