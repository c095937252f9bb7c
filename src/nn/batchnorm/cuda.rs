//! Batch norm on a GPU: the same two modes as `functional.rs`, with the kernels of
//! `backend/cuda/nn.rs` (statistics and gradient sums in double precision, one thread per
//! channel walking its values in the CPU's order).

use crate::autograd::Backward;
use crate::backend::cuda::{self, BatchNormGrads};
use crate::tensor::{Array, Tensor};
use cudarc::driver::CudaSlice;

fn arrays<'a>(
    w: Option<&'a Tensor>,
    b: Option<&'a Tensor>,
) -> (
    Option<std::sync::RwLockReadGuard<'a, Array>>,
    Option<std::sync::RwLockReadGuard<'a, Array>>,
) {
    (w.map(|w| w.array()), b.map(|b| b.array()))
}

/// Training mode: the output and the batch's `f64` mean and biased variance (on the GPU).
pub(super) fn train(
    x: &Tensor,
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    eps: f64,
) -> (Tensor, CudaSlice<f64>, CudaSlice<f64>) {
    let (wa, ba) = arrays(weight, bias);
    let (y, grads, mean, var) = {
        let xa = x.array();
        cuda::batch_norm_train(&xa, wa.as_deref(), ba.as_deref(), eps)
    };
    drop((wa, ba));
    let op = CudaBatchNormBackward {
        grads,
        train: true,
        has_weight: weight.is_some(),
        has_bias: bias.is_some(),
    };
    let inputs: Vec<&Tensor> = std::iter::once(x).chain(weight).chain(bias).collect();
    (Tensor::from_op(y, &inputs, op), mean, var)
}

/// Eval mode with the running statistics.
pub(super) fn eval(
    x: &Tensor,
    rm: &Tensor,
    rv: &Tensor,
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    eps: f64,
) -> Tensor {
    let (wa, ba) = arrays(weight, bias);
    let (y, grads) = {
        let (xa, rma, rva) = (x.array(), rm.array(), rv.array());
        cuda::batch_norm_eval(&xa, &rma, &rva, wa.as_deref(), ba.as_deref(), eps)
    };
    drop((wa, ba));
    let op = CudaBatchNormBackward {
        grads,
        train: false,
        has_weight: weight.is_some(),
        has_bias: bias.is_some(),
    };
    let inputs: Vec<&Tensor> = std::iter::once(x).chain(weight).chain(bias).collect();
    Tensor::from_op(y, &inputs, op)
}

/// The running-statistics update on the device.
pub(super) fn update_running(
    rm: &Tensor,
    rv: &Tensor,
    mean: &CudaSlice<f64>,
    var: &CudaSlice<f64>,
    factor: f64,
    unbias: f64,
) {
    let (mut rma, mut rva) = (rm.array_mut(), rv.array_mut());
    cuda::batch_norm_running(&mut rma, &mut rva, mean, var, factor, unbias);
}

/// As `BatchNormBackward` / `BatchNormEvalBackward` in `functional.rs`.
struct CudaBatchNormBackward {
    grads: BatchNormGrads,
    train: bool,
    has_weight: bool,
    has_bias: bool,
}

impl Backward for CudaBatchNormBackward {
    fn name(&self) -> &'static str {
        "NativeBatchNormBackward0"
    }

    fn backward(&self, inputs: &[Tensor], _: &Array, grad: &Array) -> Vec<Option<Array>> {
        let x = inputs[0].array();
        let w = self.has_weight.then(|| inputs[1].array());
        let want_dw = self.has_weight && inputs[1].requires_grad();
        let b_index = 1 + self.has_weight as usize;
        let want_db = self.has_bias && inputs[b_index].requires_grad();
        let (dx, dw, db) = self.grads.backward(
            &x,
            grad,
            w.as_deref(),
            self.train,
            inputs[0].requires_grad(),
            want_dw,
            want_db,
        );
        let mut out = vec![dx];
        if self.has_weight {
            out.push(dw);
        }
        if self.has_bias {
            out.push(db);
        }
        out
    }
}
