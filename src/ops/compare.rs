//! Elementwise comparisons `eq ne gt ge lt le`, against a tensor (with broadcasting) or a
//! scalar (`eq_scalar` ...).
//!
//! PyTorch returns `bool` tensors; ours has one dtype, so a comparison gives `1.0` where it holds
//! and `0.0` elsewhere. The result never requires grad (comparisons are piecewise constant), and
//! its mean is the fraction of elements where it holds, which is how accuracy is computed:
//!
//! ```
//! use backprop::Tensor;
//! let logits = Tensor::from_slice(&[2.0, 0.1, 0.3, 0.9, 0.2, 0.1], &[3, 2]);
//! let target = Tensor::from_slice(&[0.0, 1.0, 1.0], &[3]);
//! let accuracy = logits.argmax(1).eq(&target).mean().item();
//! assert_eq!(accuracy, 2.0 / 3.0);
//! ```
//!
//! Comparisons with NaN follow IEEE 754, as in PyTorch: all are false except `ne`.

use crate::tensor::{Array, Tensor};

/// `1.0` if `b` holds, else `0.0`.
fn indicator(b: bool) -> f32 {
    if b {
        1.0
    } else {
        0.0
    }
}

impl Tensor {
    #[track_caller]
    fn compare(&self, other: &Tensor, op: &str, f: fn(f32, f32) -> bool) -> Tensor {
        let out = self
            .array()
            .broadcast_zip(&other.array(), op, |a, b| indicator(f(a, b)));
        Tensor::from_array(out)
    }

    fn compare_scalar(&self, s: f32, f: fn(f32, f32) -> bool) -> Tensor {
        let out: Array = self.array().map(|a| indicator(f(a, s)));
        Tensor::from_array(out)
    }

    /// `1.0` where `self == other`, else `0.0`, with broadcasting, as `torch.eq`. Does not
    /// require grad.
    ///
    /// # Examples
    /// ```
    /// use backprop::Tensor;
    /// let pred = Tensor::from_slice(&[1.0, 2.0, 0.0], &[3]);
    /// let target = Tensor::from_slice(&[1.0, 0.0, 0.0], &[3]);
    /// assert_eq!(pred.eq(&target).to_vec(), vec![1.0, 0.0, 1.0]);
    /// assert_eq!(pred.eq(&target).mean().item(), 2.0 / 3.0); // accuracy
    /// ```
    ///
    /// # Panics
    /// Panics if the shapes do not broadcast.
    #[track_caller]
    pub fn eq(&self, other: &Tensor) -> Tensor {
        self.compare(other, "eq", |a, b| a == b)
    }

    /// `1.0` where `self != other` (and where either is NaN), else `0.0`, with broadcasting, as
    /// `torch.ne`. Does not require grad. Its mean is the error rate.
    ///
    /// # Panics
    /// Panics if the shapes do not broadcast.
    #[track_caller]
    pub fn ne(&self, other: &Tensor) -> Tensor {
        self.compare(other, "ne", |a, b| a != b)
    }

    /// `1.0` where `self > other`, else `0.0`, with broadcasting, as `torch.gt`. Does not
    /// require grad.
    ///
    /// # Panics
    /// Panics if the shapes do not broadcast.
    #[track_caller]
    pub fn gt(&self, other: &Tensor) -> Tensor {
        self.compare(other, "gt", |a, b| a > b)
    }

    /// `1.0` where `self >= other`, else `0.0`, with broadcasting, as `torch.ge`. Does not
    /// require grad.
    ///
    /// # Panics
    /// Panics if the shapes do not broadcast.
    #[track_caller]
    pub fn ge(&self, other: &Tensor) -> Tensor {
        self.compare(other, "ge", |a, b| a >= b)
    }

    /// `1.0` where `self < other`, else `0.0`, with broadcasting, as `torch.lt`. Does not
    /// require grad.
    ///
    /// # Panics
    /// Panics if the shapes do not broadcast.
    #[track_caller]
    pub fn lt(&self, other: &Tensor) -> Tensor {
        self.compare(other, "lt", |a, b| a < b)
    }

    /// `1.0` where `self <= other`, else `0.0`, with broadcasting, as `torch.le`. Does not
    /// require grad.
    ///
    /// # Panics
    /// Panics if the shapes do not broadcast.
    #[track_caller]
    pub fn le(&self, other: &Tensor) -> Tensor {
        self.compare(other, "le", |a, b| a <= b)
    }

    /// `1.0` where `self == s`, else `0.0`, as `torch.eq(x, s)`. Does not require grad.
    ///
    /// # Examples
    /// ```
    /// use backprop::Tensor;
    /// // Fraction of predictions that are class 2:
    /// let pred = Tensor::from_slice(&[2.0, 1.0, 2.0, 0.0], &[4]);
    /// assert_eq!(pred.eq_scalar(2.0).mean().item(), 0.5);
    /// ```
    pub fn eq_scalar(&self, s: f32) -> Tensor {
        self.compare_scalar(s, |a, b| a == b)
    }

    /// `1.0` where `self != s` (or is NaN), else `0.0`, as `torch.ne(x, s)`. Does not require grad.
    pub fn ne_scalar(&self, s: f32) -> Tensor {
        self.compare_scalar(s, |a, b| a != b)
    }

    /// `1.0` where `self > s`, else `0.0`, as `torch.gt(x, s)`. Does not require grad.
    ///
    /// # Examples
    /// ```
    /// use backprop::Tensor;
    /// // Binary accuracy from logits: predict 1 where the logit is positive.
    /// let logits = Tensor::from_slice(&[2.0, -1.0, 0.5, -0.2], &[4]);
    /// let target = Tensor::from_slice(&[1.0, 0.0, 0.0, 0.0], &[4]);
    /// assert_eq!(logits.gt_scalar(0.0).eq(&target).mean().item(), 0.75);
    /// ```
    pub fn gt_scalar(&self, s: f32) -> Tensor {
        self.compare_scalar(s, |a, b| a > b)
    }

    /// `1.0` where `self >= s`, else `0.0`, as `torch.ge(x, s)`. Does not require grad.
    pub fn ge_scalar(&self, s: f32) -> Tensor {
        self.compare_scalar(s, |a, b| a >= b)
    }

    /// `1.0` where `self < s`, else `0.0`, as `torch.lt(x, s)`. Does not require grad.
    pub fn lt_scalar(&self, s: f32) -> Tensor {
        self.compare_scalar(s, |a, b| a < b)
    }

    /// `1.0` where `self <= s`, else `0.0`, as `torch.le(x, s)`. Does not require grad.
    pub fn le_scalar(&self, s: f32) -> Tensor {
        self.compare_scalar(s, |a, b| a <= b)
    }
}

#[cfg(test)]
mod tests {
    use crate::Tensor;

    fn pair() -> (Tensor, Tensor) {
        let a = Tensor::from_slice(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
        let b = Tensor::from_slice(&[2.0, 2.0, 2.0, 5.0], &[2, 2]);
        (a, b)
    }

    #[test]
    fn tensor_comparisons() {
        let (a, b) = pair();
        assert_eq!(a.eq(&b).to_vec(), vec![0., 1., 0., 0.]);
        assert_eq!(a.ne(&b).to_vec(), vec![1., 0., 1., 1.]);
        assert_eq!(a.gt(&b).to_vec(), vec![0., 0., 1., 0.]);
        assert_eq!(a.ge(&b).to_vec(), vec![0., 1., 1., 0.]);
        assert_eq!(a.lt(&b).to_vec(), vec![1., 0., 0., 1.]);
        assert_eq!(a.le(&b).to_vec(), vec![1., 1., 0., 1.]);
        assert_eq!(a.eq(&b).shape(), vec![2, 2]);
    }

    #[test]
    fn scalar_comparisons() {
        let (a, _) = pair();
        assert_eq!(a.eq_scalar(2.0).to_vec(), vec![0., 1., 0., 0.]);
        assert_eq!(a.ne_scalar(2.0).to_vec(), vec![1., 0., 1., 1.]);
        assert_eq!(a.gt_scalar(2.0).to_vec(), vec![0., 0., 1., 1.]);
        assert_eq!(a.ge_scalar(2.0).to_vec(), vec![0., 1., 1., 1.]);
        assert_eq!(a.lt_scalar(2.0).to_vec(), vec![1., 0., 0., 0.]);
        assert_eq!(a.le_scalar(2.0).to_vec(), vec![1., 1., 0., 0.]);
    }

    #[test]
    fn comparisons_broadcast() {
        // [2, 1] against [3] gives [2, 3].
        let col = Tensor::from_slice(&[1.0, 2.0], &[2, 1]);
        let row = Tensor::from_slice(&[0.0, 1.0, 2.0], &[3]);
        let g = col.gt(&row);
        assert_eq!(g.shape(), vec![2, 3]);
        assert_eq!(g.to_vec(), vec![1., 0., 0., 1., 1., 0.]);
        assert_eq!(row.le(&Tensor::scalar(1.0)).to_vec(), vec![1., 1., 0.]);
    }

    #[test]
    fn nan_compares_unequal() {
        let a = Tensor::from_slice(&[f32::NAN, 1.0], &[2]);
        let b = Tensor::from_slice(&[f32::NAN, 1.0], &[2]);
        assert_eq!(a.eq(&b).to_vec(), vec![0., 1.]);
        assert_eq!(a.ne(&b).to_vec(), vec![1., 0.]);
        assert_eq!(a.ge(&b).to_vec(), vec![0., 1.]);
        assert_eq!(a.le_scalar(f32::NAN).to_vec(), vec![0., 0.]);
        assert_eq!(a.ne_scalar(f32::NAN).to_vec(), vec![1., 1.]);
    }

    #[test]
    fn results_do_not_require_grad() {
        let x = Tensor::from_slice(&[1.0, -1.0], &[2]).set_requires_grad(true);
        let y = Tensor::zeros(&[2]).set_requires_grad(true);
        for c in [x.gt(&y), x.eq_scalar(1.0), x.le(&y)] {
            assert!(!c.requires_grad() && c.is_leaf());
        }
        // Using a mask in arithmetic sends gradient only through the other operand.
        let masked = &x * &x.gt_scalar(0.0);
        masked.sum().backward();
        assert_eq!(x.grad().unwrap().to_vec(), vec![1.0, 0.0]);
    }

    #[test]
    fn accuracy_from_logits() {
        let logits = Tensor::from_slice(&[0.1, 0.7, 0.2, 0.9, 0.05, 0.05, 0.2, 0.3, 0.5], &[3, 3]);
        let target = Tensor::from_slice(&[1.0, 0.0, 1.0], &[3]);
        assert_eq!(logits.argmax(1).eq(&target).mean().item(), 2.0 / 3.0);
    }

    #[test]
    #[should_panic(expected = "gt: shapes [2] and [3] cannot be broadcast together")]
    fn mismatched_shapes_panic() {
        Tensor::zeros(&[2]).gt(&Tensor::zeros(&[3]));
    }
}
