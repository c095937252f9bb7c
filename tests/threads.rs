//! A trained model serves predictions from several threads at once: modules are `Send + Sync`,
//! a `&model` is shared across `std::thread::scope`, and every thread gets exactly the
//! single-threaded result. Each thread predicts under `no_grad` (a thread-local switch, as in
//! PyTorch), so no graph is recorded; in eval mode nothing in the model is written.

mod common;
use backprop::data::{self, DataLoader};
use backprop::nn::{CrossEntropyLoss, Mlp, MlpConfig, Module};
use backprop::optim::{Adam, AdamConfig};
use backprop::rng::Generator;
use backprop::train::{train_epoch, StepOptions};
use backprop::{manual_seed, no_grad, Array, Tensor};

// Compile-time: what a prediction service shares must be Send + Sync.
const _: () = {
    const fn send_sync<T: Send + Sync + ?Sized>() {}
    send_sync::<Mlp>();
    send_sync::<dyn Module>();
    send_sync::<Tensor>();
    send_sync::<Array>();
};

/// An Mlp with BatchNorm1d and Dropout, trained for two epochs on the digits, in eval mode.
fn trained_model() -> (Mlp, data::Dataset) {
    let _global = common::global_state();
    manual_seed(11);
    let digits = data::digits();
    let mut model = Mlp::new(&MlpConfig {
        batch_norm: true,
        dropout: 0.2,
        ..MlpConfig::new(&[64, 32, 10])
    });
    let mut opt = Adam::new(model.parameters(), AdamConfig::default()).unwrap();
    let criterion = CrossEntropyLoss::new();
    let loader = DataLoader::new(&digits, 64, true);
    let mut generator = Generator::new(5);
    for _ in 0..2 {
        train_epoch(
            &model,
            &|o, t| criterion.forward(o, t),
            &mut opt,
            &loader,
            &mut generator,
            &StepOptions::default(),
            &mut |_, _| {},
        );
    }
    model.eval();
    (model, digits)
}

/// Rows `start..start + n` of `x` as a tensor.
fn rows(x: &Array, start: usize, n: usize) -> Tensor {
    let f = x.shape()[1];
    Tensor::from_slice(&x.data()[start * f..(start + n) * f], &[n, f])
}

fn bits(t: &Tensor) -> Vec<u32> {
    t.to_vec().iter().map(|v| v.to_bits()).collect()
}

#[test]
fn eight_threads_predict_exactly_as_one() {
    let (model, digits) = trained_model();
    let x = &digits.x;
    let n = x.shape()[0];
    // Batches of different sizes (1 row, 100 rows, all rows), single-threaded first.
    let batches = [(0, 1), (17, 100), (0, n), (n - 33, 33)];
    let expected: Vec<Vec<u32>> = batches
        .iter()
        .map(|&(s, k)| no_grad(|| bits(&model.forward(&rows(x, s, k)))))
        .collect();
    let state_before = backprop::io::safetensors::to_bytes(&model.state_dict(), None).unwrap();

    let model = &model;
    let results: Vec<Vec<Vec<u32>>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|t| {
                let expected = &expected;
                s.spawn(move || {
                    let mut seen = Vec::new();
                    // Each thread walks the batches in its own order, many times over, so the
                    // threads overlap on the same weights.
                    for round in 0..10 {
                        for b in 0..batches.len() {
                            let i = (b + t + round) % batches.len();
                            let (start, k) = batches[i];
                            let y = no_grad(|| model.forward(&rows(x, start, k)));
                            assert!(!y.requires_grad(), "no graph under no_grad");
                            assert_eq!(bits(&y), expected[i], "thread {t}, batch {i}");
                            if round == 0 {
                                seen.push(bits(&y));
                            }
                        }
                    }
                    seen
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(results.len(), 8);
    // Nothing in the model changed: eval-mode BatchNorm1d reads its running statistics only.
    assert_eq!(
        backprop::io::safetensors::to_bytes(&model.state_dict(), None).unwrap(),
        state_before
    );
    // And the model is still a good one (so the outputs compared above are meaningful).
    let logits = no_grad(|| model.forward(&rows(x, 0, n)));
    let correct = logits
        .to_vec()
        .chunks(10)
        .zip(digits.y.data())
        .filter(|(row, &label)| {
            let best = (0..10).max_by(|&a, &b| row[a].total_cmp(&row[b])).unwrap();
            best as f32 == label
        })
        .count();
    assert!(correct * 10 > n * 8, "training accuracy {correct}/{n}");
}

#[test]
fn threads_that_forget_no_grad_still_agree() {
    // Without no_grad each forward records a graph on its own thread (the parameters require
    // grad): wasteful, but shared weights are only read, so the results are the same.
    let (model, digits) = trained_model();
    let x = rows(&digits.x, 0, 256);
    let expected = no_grad(|| bits(&model.forward(&x)));
    let model = &model;
    let x = &x;
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                for _ in 0..5 {
                    let y = model.forward(x);
                    assert!(y.requires_grad());
                    assert_eq!(bits(&y), expected);
                }
            });
        }
    });
    // no_grad is per thread: turning it on in one thread leaves the others recording.
    no_grad(|| {
        std::thread::scope(|s| {
            s.spawn(|| assert!(model.forward(x).requires_grad()));
        });
        assert!(!model.forward(x).requires_grad());
    });
}
