//! Matrix products: `mm`, batched `bmm`, `matmul` (PyTorch's rules for 1-D, 2-D and batched
//! operands), `dot`, and `linear` (`x·Wᵀ + b`, fused so no transpose is ever copied).

use crate::autograd::Backward;
use crate::tensor::{gemm, Array, MatRef, Tensor};
use crate::tensor::{gemm_ex, same_device, Init};

impl Tensor {
    /// Matrix product of two 2-D tensors `[n, k] · [k, m] = [n, m]`, as `torch.mm`.
    ///
    /// # Panics
    /// Panics if either operand is not 2-D or the inner dims differ.
    #[track_caller]
    pub fn mm(&self, other: &Tensor) -> Tensor {
        let (a, b) = (self.array(), other.array());
        assert!(
            a.ndim() == 2 && b.ndim() == 2,
            "mm: expected 2-D operands, got {:?} and {:?}",
            a.shape(),
            b.shape()
        );
        assert_eq!(
            a.shape()[1],
            b.shape()[0],
            "mm: lhs {:?} and rhs {:?} have mismatched inner dims",
            a.shape(),
            b.shape()
        );
        let out = mm_array(&a, false, &b, false);
        drop((a, b));
        Tensor::from_op(out, &[self, other], MmBackward)
    }

    /// Batched matrix product `[B, n, k] · [B, k, m] = [B, n, m]`, as `torch.bmm`.
    ///
    /// # Panics
    /// Panics if the operands are not 3-D or their batch or inner dims differ.
    #[track_caller]
    pub fn bmm(&self, other: &Tensor) -> Tensor {
        let (a, b) = (self.array(), other.array());
        assert!(
            a.ndim() == 3
                && b.ndim() == 3
                && a.shape()[0] == b.shape()[0]
                && a.shape()[2] == b.shape()[1],
            "bmm: lhs {:?} and rhs {:?} have mismatched batch or inner dims",
            a.shape(),
            b.shape()
        );
        let out = bmm_array(&a, false, &b, false);
        drop((a, b));
        Tensor::from_op(out, &[self, other], BmmBackward)
    }

    /// Matrix product with PyTorch's `matmul` rules: 1-D·1-D is a dot product, a 1-D operand
    /// is treated as a row (left) or column (right) vector and that dim removed afterwards,
    /// 2-D·2-D is `mm`, and 3-D operands (a batch dim; a 2-D operand is shared across the batch)
    /// use `bmm`.
    ///
    /// # Panics
    /// Panics if the inner dims differ or an operand has more than 3 dims.
    #[track_caller]
    pub fn matmul(&self, other: &Tensor) -> Tensor {
        let (sa, sb) = (self.shape(), other.shape());
        match (sa.len(), sb.len()) {
            (1, 1) => self.dot(other),
            (2, 2) => self.mm(other),
            (1, 2) => self.reshape_to(&[1, sa[0]]).mm(other).reshape_to(&[sb[1]]),
            (2, 1) => self.mm(&other.reshape_to(&[sb[0], 1])).reshape_to(&[sa[0]]),
            (3, 3) => self.bmm(other),
            (3, 2) => {
                // [B, n, k] · [k, m]: fold the batch into rows.
                assert_eq!(
                    sa[2], sb[0],
                    "matmul: lhs {sa:?} and rhs {sb:?} have mismatched inner dims"
                );
                self.reshape_to(&[sa[0] * sa[1], sa[2]])
                    .mm(other)
                    .reshape_to(&[sa[0], sa[1], sb[1]])
            }
            (2, 3) => {
                let a = self.reshape_to(&[1, sa[0], sa[1]]).expand_batch(sb[0]);
                a.bmm(other)
            }
            (3, 1) => self
                .matmul(&other.reshape_to(&[sb[0], 1]))
                .reshape_to(&[sa[0], sa[1]]),
            (1, 3) => self
                .reshape_to(&[1, sa[0]])
                .matmul(other)
                .reshape_to(&[sb[0], sb[2]]),
            _ => panic!("matmul: unsupported operand shapes {sa:?} and {sb:?} (at most 3 dims)"),
        }
    }

    /// Dot product of two 1-D tensors of equal length, as `torch.dot`.
    ///
    /// # Panics
    /// Panics if the operands are not 1-D of equal length.
    #[track_caller]
    pub fn dot(&self, other: &Tensor) -> Tensor {
        let (sa, sb) = (self.shape(), other.shape());
        assert!(
            sa.len() == 1 && sb.len() == 1 && sa == sb,
            "dot: expected 1-D operands of equal length, got {sa:?} and {sb:?}"
        );
        self.mul(other).sum()
    }

    /// `[B·…]` repeat of a `[1, n, k]` tensor along its batch dim (gradient sums back).
    fn expand_batch(&self, b: usize) -> Tensor {
        let shape = self.shape();
        self.mul(&Tensor::ones(&[b, shape[1], shape[2]]))
    }

    /// `x · Wᵀ + b` for `x: [N, in]`, `weight: [out, in]`, `bias: [out]`, as `F.linear`.
    ///
    /// One fused op: the transpose is read through strides, and the backward pass computes
    /// `dx = g·W`, `dW = gᵀ·x`, `db = Σ g` with no copies.
    ///
    /// # Panics
    /// Panics if `x` is not 2-D or the shapes disagree.
    #[track_caller]
    pub fn linear(&self, weight: &Tensor, bias: Option<&Tensor>) -> Tensor {
        let out = self.linear_array(weight, bias, false);
        match bias {
            Some(b) => Tensor::from_op(out, &[self, weight, b], LinearBackward),
            None => Tensor::from_op(out, &[self, weight], LinearBackward),
        }
    }

    /// `relu(x·Wᵀ + b)` with grad mode off (no graph is recorded), as
    /// `F.relu(F.linear(x, W, b))`: each thread applies the ReLU to its block of the output as
    /// soon as its product is done, while the block is in cache, instead of in a second pass.
    /// `Sequential` uses it for a `Linear` followed by a `ReLU` under
    /// [`no_grad`](crate::no_grad).
    ///
    /// # Panics
    /// As [`Tensor::linear`]; also if grad mode is on.
    #[track_caller]
    pub fn linear_relu_no_grad(&self, weight: &Tensor, bias: Option<&Tensor>) -> Tensor {
        assert!(
            !crate::autograd::is_grad_enabled(),
            "linear_relu_no_grad: grad mode is on (use linear(...).relu() to record a graph)"
        );
        Tensor::from_array(self.linear_array(weight, bias, true))
    }

    /// The value of `x·Wᵀ + b`, with `relu` passed through a ReLU.
    #[track_caller]
    fn linear_array(&self, weight: &Tensor, bias: Option<&Tensor>, relu: bool) -> Array {
        let (x, w) = (self.array(), weight.array());
        assert!(
            x.ndim() == 2 && w.ndim() == 2 && x.shape()[1] == w.shape()[1],
            "linear: input {:?} and weight {:?} have mismatched shapes (weight is [out, in])",
            x.shape(),
            w.shape()
        );
        let (n, k, m) = (x.shape()[0], x.shape()[1], w.shape()[0]);
        let b = bias.map(|b| b.array());
        same_device("linear", &x, &w);
        if let Some(b) = &b {
            same_device("linear", &x, b);
        }
        #[cfg(feature = "cuda")]
        if x.device().is_cuda() {
            let out = crate::backend::cuda::mm(&x, false, &w, true, b.as_deref());
            return if relu {
                out.unary(crate::UnaryOp::Relu)
            } else {
                out
            };
        }
        if let Some(b) = &b {
            assert_eq!(
                b.shape(),
                &[m],
                "linear: bias {:?} does not match weight {:?}",
                b.shape(),
                w.shape()
            );
        }
        // Written in full by the product (each block filled with the bias first, if any).
        let mut out = Array::for_overwrite(&[n, m]);
        let init = match &b {
            Some(b) => Init::Bias(b.data()),
            None => Init::Zero,
        };
        gemm_ex(
            n,
            m,
            k,
            out.data_mut(),
            MatRef::new(x.data(), k, false),
            MatRef::new(w.data(), k, true),
            init,
            relu,
        );
        out
    }
}

/// `op(a)·op(b)` for 2-D arrays, where `op` transposes when asked.
pub(crate) fn mm_array(a: &Array, ta: bool, b: &Array, tb: bool) -> Array {
    let (ar, ac) = (a.shape()[0], a.shape()[1]);
    let (br, bc) = (b.shape()[0], b.shape()[1]);
    let (n, k) = if ta { (ac, ar) } else { (ar, ac) };
    let m = if tb { br } else { bc };
    same_device("mm", a, b);
    #[cfg(feature = "cuda")]
    if a.device().is_cuda() {
        return crate::backend::cuda::mm(a, ta, b, tb, None);
    }
    // The product (accumulate = false) writes every element.
    let mut out = Array::for_overwrite(&[n, m]);
    gemm(
        n,
        m,
        k,
        out.data_mut(),
        MatRef::new(a.data(), ac, ta),
        MatRef::new(b.data(), bc, tb),
        false,
    );
    out
}

fn bmm_array(a: &Array, ta: bool, b: &Array, tb: bool) -> Array {
    let batch = a.shape()[0];
    let (ar, ac) = (a.shape()[1], a.shape()[2]);
    let (br, bc) = (b.shape()[1], b.shape()[2]);
    let (n, k) = if ta { (ac, ar) } else { (ar, ac) };
    let m = if tb { br } else { bc };
    let mut out = Array::zeros(&[batch, n, m]);
    for i in 0..batch {
        let ad = &a.data()[i * ar * ac..(i + 1) * ar * ac];
        let bd = &b.data()[i * br * bc..(i + 1) * br * bc];
        let od = &mut out.data_mut()[i * n * m..(i + 1) * n * m];
        gemm(
            n,
            m,
            k,
            od,
            MatRef::new(ad, ac, ta),
            MatRef::new(bd, bc, tb),
            false,
        );
    }
    out
}

/// d(A·B)/dA = G·Bᵀ, d(A·B)/dB = Aᵀ·G.
struct MmBackward;
impl Backward for MmBackward {
    fn name(&self) -> &'static str {
        "MmBackward0"
    }
    fn backward(&self, inputs: &[Tensor], _: &Array, grad: &Array) -> Vec<Option<Array>> {
        let (a, b) = (inputs[0].array(), inputs[1].array());
        vec![
            inputs[0]
                .requires_grad()
                .then(|| mm_array(grad, false, &b, true)),
            inputs[1]
                .requires_grad()
                .then(|| mm_array(&a, true, grad, false)),
        ]
    }
}

/// Per batch: dA = G·Bᵀ, dB = Aᵀ·G.
struct BmmBackward;
impl Backward for BmmBackward {
    fn name(&self) -> &'static str {
        "BmmBackward0"
    }
    fn backward(&self, inputs: &[Tensor], _: &Array, grad: &Array) -> Vec<Option<Array>> {
        let (a, b) = (inputs[0].array(), inputs[1].array());
        vec![
            inputs[0]
                .requires_grad()
                .then(|| bmm_array(grad, false, &b, true)),
            inputs[1]
                .requires_grad()
                .then(|| bmm_array(&a, true, grad, false)),
        ]
    }
}

/// y = x·Wᵀ + b: dx = G·W, dW = Gᵀ·x, db = Σₙ G.
struct LinearBackward;
impl Backward for LinearBackward {
    fn name(&self) -> &'static str {
        "AddmmBackward0"
    }
    fn backward(&self, inputs: &[Tensor], _: &Array, grad: &Array) -> Vec<Option<Array>> {
        let (x, w) = (inputs[0].array(), inputs[1].array());
        let dx = inputs[0]
            .requires_grad()
            .then(|| mm_array(grad, false, &w, false));
        let dw = inputs[1]
            .requires_grad()
            .then(|| mm_array(grad, true, &x, false));
        let mut out = Vec::with_capacity(inputs.len());
        out.extend([dx, dw]);
        if let Some(b) = inputs.get(2) {
            out.push(b.requires_grad().then(|| grad.sum_to(&[grad.shape()[1]])));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{check_grad, randn};
    use crate::Tensor;

    #[test]
    fn mm_forward_and_gradcheck() {
        let a = Tensor::from_slice(&[1., 2., 3., 4., 5., 6.], &[2, 3]);
        let b = Tensor::from_slice(&[1., 0., 0., 1., 1., 1.], &[3, 2]);
        assert_eq!(a.mm(&b).to_vec(), vec![4., 5., 10., 11.]);
        check_grad(|t| t[0].mm(&t[1]), &[randn(&[3, 4]), randn(&[4, 2])]);
    }

    #[test]
    fn matmul_shapes_gradcheck() {
        check_grad(|t| t[0].matmul(&t[1]), &[randn(&[4]), randn(&[4])]);
        check_grad(|t| t[0].matmul(&t[1]), &[randn(&[3]), randn(&[3, 2])]);
        check_grad(|t| t[0].matmul(&t[1]), &[randn(&[2, 3]), randn(&[3])]);
        check_grad(
            |t| t[0].matmul(&t[1]),
            &[randn(&[2, 3, 4]), randn(&[2, 4, 5])],
        );
        check_grad(|t| t[0].matmul(&t[1]), &[randn(&[2, 3, 4]), randn(&[4, 5])]);
        check_grad(|t| t[0].matmul(&t[1]), &[randn(&[3, 4]), randn(&[2, 4, 5])]);
        assert_eq!(randn(&[2, 3, 4]).matmul(&randn(&[4])).shape(), vec![2, 3]);
    }

    #[test]
    fn linear_gradcheck_and_matches_mm() {
        let (x, w, b) = (randn(&[5, 3]), randn(&[4, 3]), randn(&[4]));
        check_grad(
            |t| t[0].linear(&t[1], Some(&t[2])),
            &[x.clone(), w.clone(), b.clone()],
        );
        check_grad(|t| t[0].linear(&t[1], None), &[x.clone(), w.clone()]);
        let fused = x.linear(&w, Some(&b)).to_vec();
        let plain = (&x.mm(&w.t()) + &b).to_vec();
        for (f, p) in fused.iter().zip(&plain) {
            assert!((f - p).abs() < 1e-5);
        }
    }

    #[test]
    fn large_products_use_threads_and_stay_correct() {
        // 128·128·128 = 2²¹ multiply-adds: above the threading threshold.
        let a = Tensor::ones(&[128, 128]);
        let b = Tensor::full(&[128, 128], 0.5);
        assert!(a.mm(&b).to_vec().iter().all(|&v| v == 64.0));
    }

    #[test]
    fn fused_linear_relu_equals_linear_then_relu_bit_for_bit() {
        // Small, threaded (above 2²⁰ multiply-adds), with k above the 512 piece, and k = 0.
        for &(n, k, m) in &[(3, 5, 4), (300, 784, 64), (1000, 600, 40), (7, 0, 3)] {
            let mut x = randn(&[n, k]).to_vec();
            if !x.is_empty() {
                x[0] = f32::NAN;
            }
            let x = Tensor::from_vec(x, &[n, k]);
            let (w, b) = (randn(&[m, k]), randn(&[m]));
            for bias in [Some(&b), None] {
                let want = x.linear(&w, bias).relu().to_vec();
                let got = crate::no_grad(|| x.linear_relu_no_grad(&w, bias)).to_vec();
                assert!(
                    want.iter()
                        .zip(&got)
                        .all(|(a, b)| a.to_bits() == b.to_bits()),
                    "{n}×{k}×{m}, bias {}",
                    bias.is_some()
                );
            }
        }
    }

    #[test]
    #[should_panic(expected = "grad mode is on")]
    fn fused_linear_relu_refuses_to_drop_a_graph() {
        let w = randn(&[2, 3]).set_requires_grad(true);
        randn(&[4, 3]).linear_relu_no_grad(&w, None);
    }

    #[test]
    #[should_panic(expected = "mm: lhs [2, 3] and rhs [2, 3] have mismatched inner dims")]
    fn mm_mismatch_names_shapes() {
        Tensor::zeros(&[2, 3]).mm(&Tensor::zeros(&[2, 3]));
    }
}
