//! The practitioner's path, in code: scikit-learn's handwritten digits (1797 8×8 images),
//! a stratified 80/20 split, features standardized on the training set, an MLP 64-128-64-10 with
//! ReLU, Adam (lr 1e-3) on cross-entropy in shuffled mini-batches of 32 for 30 epochs; the
//! epoch's training loss and the test accuracy after each epoch, then the test confusion matrix.
//!
//! ```text
//! cargo run --release --example digits
//! ```
//!
//! `tests/digits_example.rs` includes this file and runs [`run_digits`].

use backprop::data::{self, DataLoader, Standardizer};
use backprop::nn::{CrossEntropyLoss, Mlp, MlpConfig, Module};
use backprop::optim::{Adam, AdamConfig};
use backprop::rng::Generator;
use backprop::train::{evaluate, train_epoch, Evaluation, StepOptions};
use backprop::{manual_seed, Tensor};

/// Seeds the split, the shuffling and the initial weights.
pub const SEED: u64 = 0;
/// Training epochs.
pub const EPOCHS: usize = 30;

/// Trains on digits for `epochs` epochs; after each, `on_epoch(epoch, train_loss, test_eval)`
/// gets the epoch (0-based), the mean of its step losses and the test-set evaluation. Returns
/// the last evaluation. `seed` drives the split, the shuffling and the initial weights.
///
/// # Errors
/// As [`data::stratified_split`] (not for the built-in digits).
pub fn run_digits(
    epochs: usize,
    seed: u64,
    mut on_epoch: impl FnMut(usize, f64, &Evaluation),
) -> backprop::Result<Evaluation> {
    // Data: stratified split, then standardize with the training set's statistics only.
    let ds = data::digits();
    let n_classes = ds.n_classes();
    let mut generator = Generator::new(seed);
    let (train, test) = data::stratified_split(&ds, 0.2, &mut generator)?;
    let scaler = Standardizer::fit(&train.x);
    let x = scaler.transform(&train.x);
    let train = train.with_x(x);
    let x = scaler.transform(&test.x);
    let test = test.with_x(x);

    // Model, loss, optimizer.
    manual_seed(seed);
    let mut model = Mlp::new(&MlpConfig::new(&[64, 128, 64, 10]));
    let criterion = CrossEntropyLoss::new();
    let loss_fn = |output: &Tensor, target: &Tensor| criterion.forward(output, target);
    let config = AdamConfig {
        lr: 1e-3,
        ..Default::default()
    };
    let mut optimizer = Adam::new(model.parameters(), config)?;
    let loader = DataLoader::new(&train, 32, true);

    let mut last = None;
    for epoch in 0..epochs {
        model.train();
        let train_loss = train_epoch(
            &model,
            &loss_fn,
            &mut optimizer,
            &loader,
            &mut generator,
            &StepOptions::default(),
            &mut |_, _| {},
        );
        let eval = evaluate(&mut model, &loss_fn, &test.x, &test.y, n_classes);
        on_epoch(epoch, train_loss, &eval);
        last = Some(eval);
    }
    last.ok_or_else(|| backprop::Error::invalid("run_digits: needs at least one epoch"))
}

fn main() -> backprop::Result<()> {
    let eval = run_digits(EPOCHS, SEED, |epoch, train_loss, eval| {
        println!(
            "Epoch [{:>2}/{EPOCHS}], Loss: {train_loss:.4}, Test loss: {:.4}, Test accuracy: {:.4}",
            epoch + 1,
            eval.loss,
            eval.accuracy().unwrap_or(f64::NAN),
        );
    })?;
    if let Some(confusion) = &eval.confusion {
        println!("\nConfusion matrix (test set):\n{confusion}");
    }
    Ok(())
}
