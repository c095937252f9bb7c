//! Optimizers and learning-rate schedulers, as `torch.optim` and `torch.optim.lr_scheduler`.
