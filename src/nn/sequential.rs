//! [`Sequential`] and [`ModuleList`]: one container type, [`Container`], that owns a list of
//! modules named `"0"`, `"1"`, … and runs them in order. The two differ only in how they print
//! (PyTorch's `ModuleList` also folds repeated children into `(0-2): 3 x ReLU()`).

use super::module::{add_indent, unique_tensors, Module};
use super::{Linear, ReLU};
use crate::tensor::Tensor;
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Index, IndexMut};

/// What distinguishes [`Sequential`] from [`ModuleList`]; implemented by the two marker types.
pub trait ContainerKind: Send + Sync + 'static {
    /// The name printed as the header (`"Sequential"`).
    const NAME: &'static str;
    /// Whether consecutive identical children print as one `(i-j): n x child` line.
    const FOLD_REPEATS: bool;
}

/// Marker for [`Sequential`].
#[derive(Clone, Copy, Debug, Default)]
pub struct SequentialKind;

impl ContainerKind for SequentialKind {
    const NAME: &'static str = "Sequential";
    const FOLD_REPEATS: bool = false;
}

/// Marker for [`ModuleList`].
#[derive(Clone, Copy, Debug, Default)]
pub struct ModuleListKind;

impl ContainerKind for ModuleListKind {
    const NAME: &'static str = "ModuleList";
    const FOLD_REPEATS: bool = true;
}

/// An ordered list of modules whose `forward` feeds each one's output to the next. Use it as
/// [`Sequential`] or [`ModuleList`].
///
/// Children are named by position, activations included, so `Linear, ReLU, Linear` holds
/// `0.weight`, `0.bias`, `2.weight`, `2.bias`, as PyTorch's.
pub struct Container<K: ContainerKind> {
    modules: Vec<Box<dyn Module>>,
    training: bool,
    kind: PhantomData<K>,
}

/// A chain of modules run in order, as `torch.nn.Sequential`.
///
/// # Examples
/// ```
/// use backprop::nn::{Linear, Module, ReLU, Sequential};
/// use backprop::Tensor;
/// let model = Sequential::new().add(Linear::new(2, 8)).add(ReLU).add(Linear::new(8, 1));
/// assert_eq!(model.forward(&Tensor::zeros(&[4, 2])).shape(), vec![4, 1]);
/// assert_eq!(model.named_parameters()[2].0, "2.weight");
/// assert_eq!(model.len(), 3);
/// ```
pub type Sequential = Container<SequentialKind>;

/// A list of modules, as `torch.nn.ModuleList`, for building a model in a loop.
///
/// It differs from [`Sequential`] only in its printed form. Unlike PyTorch's, it also has a
/// `forward` (the children in order), which is what a loop over the layers computes anyway.
///
/// # Examples
/// ```
/// use backprop::nn::{Linear, Module, ModuleList, ReLU};
/// let mut layers = ModuleList::new();
/// for (i, o) in [(2, 4), (4, 4)] {
///     layers.push(Linear::new(i, o));
///     layers.push(ReLU);
/// }
/// assert_eq!(layers.len(), 4);
/// assert!(layers.to_string().starts_with("ModuleList(\n  (0): Linear(in_features=2"));
/// ```
pub type ModuleList = Container<ModuleListKind>;

impl<K: ContainerKind> Container<K> {
    /// An empty container.
    pub fn new() -> Self {
        Container {
            modules: Vec::new(),
            training: true,
            kind: PhantomData,
        }
    }

    /// A container of these modules, in order.
    pub fn from_modules(modules: Vec<Box<dyn Module>>) -> Self {
        Container {
            modules,
            ..Self::new()
        }
    }

    /// Appends `module` and returns the container, for building in one expression.
    // `add` reads as building a list (as candle's `seq().add(..)`); `+` would not.
    #[allow(clippy::should_implement_trait)]
    #[must_use]
    pub fn add(mut self, module: impl Module) -> Self {
        self.push(module);
        self
    }

    /// [`Container::add`] for an already boxed module.
    #[must_use]
    pub fn add_boxed(mut self, module: Box<dyn Module>) -> Self {
        self.push_boxed(module);
        self
    }

    /// Appends `module`, as `append`.
    pub fn push(&mut self, module: impl Module) {
        self.push_boxed(Box::new(module));
    }

    /// Appends an already boxed module.
    pub fn push_boxed(&mut self, module: Box<dyn Module>) {
        self.modules.push(module);
    }

    /// The number of children.
    pub fn len(&self) -> usize {
        self.modules.len()
    }

    /// Whether there are no children.
    pub fn is_empty(&self) -> bool {
        self.modules.is_empty()
    }

    /// The child at `index`, if any.
    pub fn get(&self, index: usize) -> Option<&dyn Module> {
        self.modules.get(index).map(|m| m.as_ref())
    }

    /// The child at `index`, mutably, if any.
    pub fn get_mut(&mut self, index: usize) -> Option<&mut (dyn Module + 'static)> {
        self.modules.get_mut(index).map(|m| m.as_mut())
    }

    /// The children in order.
    pub fn iter(&self) -> impl Iterator<Item = &dyn Module> {
        self.modules.iter().map(|m| m.as_ref())
    }

    /// The children in order, mutably.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut (dyn Module + 'static)> {
        self.modules.iter_mut().map(|m| m.as_mut())
    }

    /// Consumes the container, returning its children.
    pub fn into_modules(self) -> Vec<Box<dyn Module>> {
        self.modules
    }
}

impl<K: ContainerKind> Default for Container<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: ContainerKind> Module for Container<K> {
    /// Runs the children in order; an empty container returns its input.
    ///
    /// Under [`no_grad`](crate::no_grad), a [`Linear`] followed by a [`ReLU`] on a 2-D input
    /// runs as one fused op ([`Tensor::linear_relu_no_grad`]), with the same result.
    fn forward(&self, x: &Tensor) -> Tensor {
        let fuse = !crate::autograd::is_grad_enabled();
        let mut x = x.clone();
        let mut i = 0;
        while let Some(m) = self.modules.get(i) {
            if fuse {
                let next_is_relu = self
                    .modules
                    .get(i + 1)
                    .is_some_and(|n| n.downcast_ref::<ReLU>().is_some());
                if let (true, Some(linear)) = (next_is_relu, m.downcast_ref::<Linear>()) {
                    if let Some(y) = linear.forward_relu_no_grad(&x) {
                        x = y;
                        i += 2;
                        continue;
                    }
                }
            }
            x = m.forward(&x);
            i += 1;
        }
        x
    }

    fn children(&self) -> Vec<(String, &dyn Module)> {
        self.modules
            .iter()
            .enumerate()
            .map(|(i, m)| (i.to_string(), m.as_ref()))
            .collect()
    }

    fn children_mut(&mut self) -> Vec<(String, &mut dyn Module)> {
        self.modules
            .iter_mut()
            .enumerate()
            .map(|(i, m)| (i.to_string(), m.as_mut() as &mut dyn Module))
            .collect()
    }

    fn parameters(&self) -> Vec<Tensor> {
        unique_tensors(self.modules.iter().flat_map(|m| m.parameters()))
    }

    fn set_training(&mut self, training: bool) {
        self.training = training;
        for m in &mut self.modules {
            m.set_training(training);
        }
    }

    fn is_training(&self) -> bool {
        self.training
    }

    fn type_name(&self) -> &'static str {
        K::NAME
    }

    fn fmt_repr(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.modules.is_empty() {
            return write!(f, "{}()", K::NAME);
        }
        let reprs: Vec<String> = self.modules.iter().map(|m| m.repr()).collect();
        // Runs of equal reprs: (start, end, repr). Sequential keeps one run per child.
        let mut runs: Vec<(usize, usize, &str)> = Vec::new();
        for (i, r) in reprs.iter().enumerate() {
            match runs.last_mut() {
                Some(last) if K::FOLD_REPEATS && last.2 == r => last.1 = i,
                _ => runs.push((i, i, r)),
            }
        }
        writeln!(f, "{}(", K::NAME)?;
        for (start, end, r) in runs {
            let line = if start == end {
                format!("({start}): {r}")
            } else {
                format!("({start}-{end}): {} x {r}", end - start + 1)
            };
            writeln!(f, "  {}", add_indent(&line, 2))?;
        }
        f.write_str(")")
    }
}

impl<K: ContainerKind> Index<usize> for Container<K> {
    type Output = dyn Module;

    /// # Panics
    /// Panics if `index` is out of range.
    #[track_caller]
    fn index(&self, index: usize) -> &Self::Output {
        let n = self.modules.len();
        match self.modules.get(index) {
            Some(m) => m.as_ref(),
            None => panic!("{}: index {index} is out of range (length {n})", K::NAME),
        }
    }
}

impl<K: ContainerKind> IndexMut<usize> for Container<K> {
    /// # Panics
    /// Panics if `index` is out of range.
    #[track_caller]
    fn index_mut(&mut self, index: usize) -> &mut Self::Output {
        let n = self.modules.len();
        match self.modules.get_mut(index) {
            Some(m) => m.as_mut(),
            None => panic!("{}: index {index} is out of range (length {n})", K::NAME),
        }
    }
}

impl<K: ContainerKind> FromIterator<Box<dyn Module>> for Container<K> {
    fn from_iter<I: IntoIterator<Item = Box<dyn Module>>>(iter: I) -> Self {
        Self::from_modules(iter.into_iter().collect())
    }
}

impl<K: ContainerKind> fmt::Display for Container<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_repr(f)
    }
}

impl<K: ContainerKind> fmt::Debug for Container<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_repr(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_grad_forward_fuses_linear_relu_with_the_same_result() {
        use crate::nn::{Linear, ReLU};
        let _global = crate::testing::global_state();
        crate::manual_seed(3);
        let model = Sequential::new()
            .add(Linear::new(20, 30))
            .add(ReLU)
            .add(Linear::new(30, 5))
            .add(ReLU);
        let x = crate::testing::randn(&[9, 20]);
        let with_graph = model.forward(&x);
        assert!(with_graph.requires_grad());
        let fused = crate::no_grad(|| model.forward(&x));
        assert!(!fused.requires_grad());
        assert_eq!(with_graph.to_vec(), fused.to_vec());
        // 1-D input: not fused, same result as the module-by-module path.
        let v = crate::testing::randn(&[20]);
        assert_eq!(
            crate::no_grad(|| model.forward(&v)).to_vec(),
            model.forward(&v).to_vec()
        );
    }
    use crate::nn::{BatchNorm1d, Dropout, Linear, ReLU, Sigmoid};

    // Python (torch 2.15):
    // >>> print(nn.Sequential(nn.ReLU(), nn.ReLU(), nn.Linear(2, 2),
    // ...                     nn.Sequential(nn.BatchNorm1d(3), nn.Dropout())))
    // Sequential(
    //   (0): ReLU()
    //   (1): ReLU()
    //   (2): Linear(in_features=2, out_features=2, bias=True)
    //   (3): Sequential(
    //     (0): BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
    //     (1): Dropout(p=0.5, inplace=False)
    //   )
    // )
    // >>> print(nn.ModuleList([nn.ReLU(), nn.ReLU(), nn.Linear(2, 2)]))
    // ModuleList(
    //   (0-1): 2 x ReLU()
    //   (2): Linear(in_features=2, out_features=2, bias=True)
    // )
    // >>> print(nn.ModuleList(), nn.Sequential())
    // ModuleList() Sequential()
    #[test]
    fn display_matches_pytorch() {
        let s = Sequential::new()
            .add(ReLU)
            .add(ReLU)
            .add(Linear::new(2, 2))
            .add(
                Sequential::new()
                    .add(BatchNorm1d::new(3))
                    .add(Dropout::new(0.5)),
            );
        assert_eq!(
            s.to_string(),
            "Sequential(\n  (0): ReLU()\n  (1): ReLU()\n  (2): Linear(in_features=2, out_features=2, bias=True)\n  \
             (3): Sequential(\n    (0): BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=True, bias=True, \
             track_running_stats=True)\n    (1): Dropout(p=0.5, inplace=False)\n  )\n)"
        );
        let l = ModuleList::new().add(ReLU).add(ReLU).add(Linear::new(2, 2));
        assert_eq!(
            l.to_string(),
            "ModuleList(\n  (0-1): 2 x ReLU()\n  (2): Linear(in_features=2, out_features=2, bias=True)\n)"
        );
        assert_eq!(ModuleList::new().to_string(), "ModuleList()");
        assert_eq!(Sequential::new().to_string(), "Sequential()");
    }

    #[test]
    fn names_indexing_and_forward_chain() {
        let mut s = Sequential::new()
            .add(Linear::new(3, 4))
            .add(ReLU)
            .add(Linear::new(4, 2))
            .add(Sigmoid);
        let names: Vec<String> = s.named_parameters().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["0.weight", "0.bias", "2.weight", "2.bias"]);
        assert_eq!(s.len(), 4);
        assert!(!s.is_empty() && s.get(4).is_none());
        assert!(s[1].is::<ReLU>());
        assert_eq!(s.iter().count(), 4);
        let x = Tensor::randn(&[5, 3]);
        let by_hand = s[3].forward(&s[2].forward(&s[1].forward(&s[0].forward(&x))));
        assert_eq!(s.forward(&x).to_vec(), by_hand.to_vec());
        // Replace the first layer's weight through IndexMut + downcast.
        s[0].downcast_mut::<Linear>().unwrap().weight =
            Tensor::zeros(&[4, 3]).set_requires_grad(true);
        assert_eq!(s.iter_mut().filter(|m| m.is::<Linear>()).count(), 2);
        assert_eq!(s.forward(&x).shape(), vec![5, 2]);
        let empty = Sequential::new();
        assert_eq!(empty.forward(&x).id(), x.id());
    }

    #[test]
    fn train_and_eval_reach_nested_children() {
        let mut s = Sequential::new()
            .add(Dropout::new(0.5))
            .add(ModuleList::new().add(BatchNorm1d::new(2)));
        assert!(s.is_training());
        s.eval();
        assert!(!s.is_training() && !s[0].is_training() && !s[1].is_training());
        let inner = s[1].downcast_ref::<ModuleList>().unwrap();
        assert!(!inner[0].is_training());
        s.train();
        assert!(s[1].downcast_ref::<ModuleList>().unwrap()[0].is_training());
    }

    #[test]
    #[should_panic(expected = "Sequential: index 3 is out of range (length 1)")]
    fn index_out_of_range_panics() {
        let s = Sequential::new().add(ReLU);
        let _ = &s[3];
    }

    #[test]
    fn from_iterator_of_boxes() {
        let l: ModuleList = (0..3).map(|_| Box::new(ReLU) as Box<dyn Module>).collect();
        assert_eq!(l.to_string(), "ModuleList(\n  (0-2): 3 x ReLU()\n)");
    }
}
