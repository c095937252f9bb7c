//! backprop for PyTorch users: what each `torch` name is called here.
//!
//! Concepts keep PyTorch's names; mechanics follow Rust's conventions (no trailing `_` for
//! in-place functions — search the docs for the torch spelling, e.g. `clip_grad_norm_`, and the
//! alias finds ours).
//!
//! | PyTorch | backprop |
//! |---|---|
//! | `torch.manual_seed(42)` | [`manual_seed(42)`](crate::manual_seed) |
//! | `torch.tensor([[1., 2.]])` | [`Tensor::from_slice(&[1., 2.], &[1, 2])`](crate::Tensor::from_slice) |
//! | `torch.zeros / ones / full / arange / eye` | [`Tensor::zeros`](crate::Tensor::zeros), [`ones`](crate::Tensor::ones), [`full`](crate::Tensor::full), [`arange`](crate::Tensor::arange), [`eye`](crate::Tensor::eye) |
//! | `torch.rand / randn` | [`Tensor::rand`](crate::Tensor::rand), [`Tensor::randn`](crate::Tensor::randn); own stream: [`rng::Generator`](crate::rng::Generator) with `rand_with` / `randn_with` |
//! | `torch.device("cuda:0")`, `torch.cuda.is_available()` | [`"cuda:0".parse::<Device>()`](crate::Device), [`Device::cuda(0)`](crate::Device::cuda) (checked), [`Device::cuda_is_available()`](crate::Device::cuda_is_available) |
//! | `x.to(device)`, `x.device`, `model.to(device)` | [`x.to(&device)`](crate::Tensor::to), [`x.device()`](crate::Tensor::device), [`model.to(&device)`](crate::nn::Module::to) |
//! | `torch.backends.cuda.matmul.allow_tf32 = True`, `torch.cuda.synchronize()` | [`device.set_tf32(true)`](crate::Device::set_tf32), [`device.synchronize()`](crate::Device::synchronize) |
//! | `x.requires_grad_(True)` | [`x.set_requires_grad(true)`](crate::Tensor::set_requires_grad) |
//! | `x.grad` | [`x.grad()`](crate::Tensor::grad) (`Option<Tensor>`) |
//! | `x.detach()`, `x.is_leaf`, `x.retain_grad()` | [`detach`](crate::Tensor::detach), [`is_leaf`](crate::Tensor::is_leaf), [`retain_grad`](crate::Tensor::retain_grad) |
//! | `loss.backward()` / `y.backward(g, retain_graph=True)` | [`backward`](crate::Tensor::backward) / [`backward_with(g, true)`](crate::Tensor::backward_with) |
//! | `with torch.no_grad():` | [`no_grad(\|\| ...)`](crate::no_grad) |
//! | `x.register_hook(fn)` | [`register_hook`](crate::Tensor::register_hook) |
//! | `torch.autograd.gradcheck` | [`gradcheck`](crate::gradcheck) |
//! | `torch.autograd.set_detect_anomaly(True)` | [`set_anomaly_detection(true)`](crate::set_anomaly_detection) |
//! | `torch.autograd.Function` | implement [`autograd::Backward`](crate::autograd::Backward), then [`Tensor::from_op`](crate::Tensor::from_op) |
//! | `a @ b`, `torch.mm`, `torch.bmm`, `torch.dot` | [`matmul`](crate::Tensor::matmul), [`mm`](crate::Tensor::mm), [`bmm`](crate::Tensor::bmm), [`dot`](crate::Tensor::dot) |
//! | `x.sum(dim, keepdim)`, `x.mean(1)`, `x.max(0)` | [`sum_dim`](crate::Tensor::sum_dim), [`mean_dim`](crate::Tensor::mean_dim), [`max_dim`](crate::Tensor::max_dim) (values, indices) |
//! | `x.t()`, `x.transpose(0, 1)`, `x.reshape(2, -1)`, `x.view` | [`t`](crate::Tensor::t), [`transpose`](crate::Tensor::transpose), [`reshape(&[2, -1])`](crate::Tensor::reshape) |
//! | `x[idx]` (rows of a batch) | [`index_select(0, &idx)`](crate::Tensor::index_select), [`narrow`](crate::Tensor::narrow) |
//! | `torch.cat / stack` | [`Tensor::cat`](crate::Tensor::cat), [`Tensor::stack`](crate::Tensor::stack) |
//! | `x.item()`, `x.tolist()` | [`item`](crate::Tensor::item), [`to_vec`](crate::Tensor::to_vec) |
//! | `(pred == y).float().mean()` | [`pred.eq(&y).mean()`](crate::Tensor::eq) |
//! | `F.relu`, `torch.sigmoid`, `F.gelu`, `F.softmax(x, 1)` | [`relu`](crate::Tensor::relu), [`sigmoid`](crate::Tensor::sigmoid), [`gelu`](crate::Tensor::gelu), [`softmax(1)`](crate::Tensor::softmax) |
//! | `F.linear(x, w, b)` | [`x.linear(&w, Some(&b))`](crate::Tensor::linear) |
//! | `nn.Module` | the [`nn::Module`](crate::nn::Module) trait: `forward`, `children`; the rest is provided |
//! | `model.parameters()`, `named_parameters()`, `state_dict()`, `load_state_dict(sd)` | same names on [`Module`](crate::nn::Module) |
//! | `model.train()`, `model.eval()`, `model.apply(fn)`, `print(model)` | same names; `println!("{model}")` |
//! | `nn.Linear, nn.ReLU, nn.BatchNorm1d, nn.Dropout, nn.Sequential, nn.ModuleList` | [`nn::Linear`](crate::nn::Linear), [`nn::ReLU`](crate::nn::ReLU), [`nn::BatchNorm1d`](crate::nn::BatchNorm1d), [`nn::Dropout`](crate::nn::Dropout), [`nn::Sequential`](crate::nn::Sequential), [`nn::ModuleList`](crate::nn::ModuleList) |
//! | `isinstance(m, nn.Linear)` inside `apply` | [`m.downcast_mut::<Linear>()`](crate::nn::Module) |
//! | `nn.init.xavier_uniform_(w)` | [`nn::init::xavier_uniform(&w, 1.0)`](crate::nn::init::xavier_uniform) |
//! | `nn.MSELoss()`, `nn.CrossEntropyLoss()`, `F.cross_entropy(...)` | [`nn::MSELoss`](crate::nn::MSELoss), [`nn::CrossEntropyLoss`](crate::nn::CrossEntropyLoss), [`nn::cross_entropy`](crate::nn::cross_entropy) |
//! | `optim.Adam(model.parameters(), lr=0.01)` | [`Adam::new(model.parameters(), AdamConfig { lr: 0.01, ..Default::default() })`](crate::optim::Adam) |
//! | `optimizer.zero_grad(); optimizer.step()` | same names on [`Optimizer`](crate::optim::Optimizer) |
//! | `lr_scheduler.StepLR(opt, 500, 0.1)`, `scheduler.step()` | [`StepLR::new(&mut opt, 500, 0.1)`](crate::optim::StepLR), `scheduler.step(&mut opt)` (the scheduler borrows the optimizer at call time) |
//! | `nn.utils.clip_grad_norm_(params, 1.0)` | [`optim::clip_grad_norm(&params, 1.0, 2.0)`](crate::optim::clip_grad_norm) |
//! | `safetensors.torch.save_file(model.state_dict(), p)` / `load_file` | [`io::safetensors::save`](crate::io::safetensors::save) / [`load`](crate::io::safetensors::load) |
//! | `torch.utils.data.DataLoader(ds, batch_size, shuffle)` | [`data::DataLoader`](crate::data::DataLoader) |
//!
//! ## Deliberate differences
//! - Tensors are `f32` only; class indices (targets, `argmax`) are stored as whole-number `f32`.
//! - Shape errors panic with the op and both shapes (PyTorch raises); file and config errors
//!   return [`Result`](crate::Result).
//! - Second-order gradients (`create_graph=True`) are not supported: backward rules work on
//!   plain arrays and build no graph.
//! - Random numbers come from ChaCha8, not PyTorch's Mersenne Twister: the same seed gives
//!   different numbers than PyTorch, so tests compare against PyTorch from weights PyTorch wrote.
