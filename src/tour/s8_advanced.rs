//! Section 8, "Advanced Topics and Best Practices": initialisation, regularisation, a
//! learning-rate schedule and gradient clipping.

use super::{print_predictions, say, xor};
use crate::nn::{init, Linear, MSELoss, Mlp, MlpConfig, Module};
use crate::optim::{clip_grad_norm, Adam, AdamConfig, LRScheduler, Optimizer, StepLR};
use crate::{manual_seed, no_grad, Result};
use std::io::Write;
use std::path::Path;

/// The tutorial's `AdvancedMLP(2, [32, 16], 1)` — each hidden layer `Linear, ReLU,
/// BatchNorm1d, Dropout(0.5)` — with Xavier-uniform weights and biases 0.01 set through
/// `model.apply(init_weights)`, trained on XOR with `MSELoss`, `Adam(lr=0.01,
/// weight_decay=1e-5)` (L2 regularisation), `StepLR(step_size=500, gamma=0.1)` and gradient
/// clipping at norm 1.0, for 2000 epochs; prints the loss every 200 epochs (before that
/// epoch's update), then the eval-mode predictions (BatchNorm's running statistics, no
/// dropout).
///
/// # Errors
/// An error writing to `out`.
pub fn section_8(out: &mut dyn Write, _dir: &Path) -> Result<()> {
    manual_seed(42);
    let (x, y) = xor();

    // Initialize the model. `nn::Mlp` builds the tutorial's AdvancedMLP layer for layer:
    // Linear, ReLU, BatchNorm1d, Dropout(0.5) per hidden layer, then the output Linear.
    let mut advanced_mlp = Mlp::new(&MlpConfig {
        batch_norm: true,
        dropout: 0.5,
        ..MlpConfig::new(&[2, 32, 16, 1])
    });

    // Initialize weights using Xavier initialization: `apply` calls the closure on every
    // module, and `downcast_mut` picks out the Linear layers (`type(m) == nn.Linear`).
    advanced_mlp.apply(&mut |m| {
        if let Some(linear) = m.downcast_mut::<Linear>() {
            init::xavier_uniform(&linear.weight, 1.0);
            if let Some(bias) = &linear.bias {
                init::constant(bias, 0.01);
            }
        }
    });

    // Define loss function and optimizer (weight_decay: L2 regularization)
    let criterion = MSELoss::new();
    let params = advanced_mlp.parameters();
    let mut optimizer = Adam::new(
        params.clone(),
        AdamConfig {
            lr: 0.01,
            weight_decay: 1e-5,
            ..Default::default()
        },
    )?;

    // Learning rate scheduler
    let mut scheduler = StepLR::new(&mut optimizer, 500, 0.1)?;

    // Training loop
    let num_epochs = 2000;
    for epoch in 0..num_epochs {
        advanced_mlp.train();
        let outputs = advanced_mlp.forward(&x);
        let loss = criterion.forward(&outputs, &y);

        optimizer.zero_grad();
        loss.backward();

        // Gradient clipping (the L2 norm over all parameters)
        clip_grad_norm(&params, 1.0, 2.0);

        optimizer.step();
        scheduler.step(&mut optimizer);

        if (epoch + 1) % 200 == 0 {
            say!(
                out,
                "Epoch [{}/{num_epochs}], Loss: {:.4}",
                epoch + 1,
                loss.item()
            );
        }
    }

    // Test the model
    advanced_mlp.eval();
    let predictions = no_grad(|| advanced_mlp.forward(&x));
    print_predictions(out, &x, &y, &predictions)
}
