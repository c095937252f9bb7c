//! `examples/digits.rs` end to end: the practitioner's path (stratified split, standardization,
//! MLP 64-128-64-10, Adam, cross-entropy, mini-batches, 30 epochs) reaches at least 97% test
//! accuracy on the digits (99.4% with the example's seed).

#[allow(dead_code)] // the example's `main` and what only it uses
#[path = "../examples/digits.rs"]
mod digits;

#[test]
fn digits_example_reaches_97_percent_test_accuracy() {
    let mut losses = Vec::new();
    let mut accuracies = Vec::new();
    let eval = digits::run_digits(digits::EPOCHS, digits::SEED, |_, loss, eval| {
        losses.push(loss);
        accuracies.push(eval.accuracy().unwrap());
    })
    .unwrap();
    assert_eq!(losses.len(), digits::EPOCHS);
    let accuracy = eval.accuracy().unwrap();
    assert!(
        accuracy >= 0.97,
        "test accuracy {accuracy} after {} epochs; per epoch: {accuracies:?}",
        digits::EPOCHS
    );
    assert!(
        losses.last().unwrap() < &(losses[0] / 10.0),
        "the training loss should fall by 10x: {losses:?}"
    );
    let confusion = eval.confusion.unwrap();
    let total: usize = confusion.counts.iter().flatten().sum();
    assert_eq!(
        total, 360,
        "the test split holds 20% of 1797 rows, rounded up"
    );
}
