//! The computation graph behind a tensor, as torchviz's `make_dot`: Graphviz DOT text, and the
//! same graph drawn in-process with a small layered layout (no `dot` binary needed).
//!
//! The graph is read through [`Tensor::op_name`] and [`Tensor::op_inputs`]. `backward()` frees
//! it, so draw it before calling `backward()` (PyTorch keeps the node names after backward;
//! here only the output's own op would be left).

use super::canvas::{self, Area, DrawResult, Figure};
use crate::tensor::Tensor;
use crate::Result;
use plotters::prelude::*;
use std::collections::HashMap;
use std::path::Path;

/// What a node stands for; the fill colours are torchviz's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// The tensor the graph was drawn for (`darkolivegreen1`).
    Output,
    /// An op, named by its backward function (`lightgrey`).
    Op,
    /// Where a leaf's gradient is accumulated (`lightgrey`).
    AccumulateGrad,
    /// A leaf tensor that requires grad, with its name and shape (`lightblue`).
    Leaf,
}

impl Kind {
    fn dot_color(self) -> &'static str {
        match self {
            Kind::Output => "darkolivegreen1",
            Kind::Op | Kind::AccumulateGrad => "lightgrey",
            Kind::Leaf => "lightblue",
        }
    }

    fn rgb(self) -> RGBColor {
        match self {
            Kind::Output => RGBColor(202, 255, 112),
            Kind::Op | Kind::AccumulateGrad => RGBColor(211, 211, 211),
            Kind::Leaf => RGBColor(173, 216, 230),
        }
    }
}

struct Node {
    label: String,
    kind: Kind,
}

/// Nodes and edges (from → to, toward the output), in discovery order from the output.
struct Graph {
    nodes: Vec<Node>,
    edges: Vec<(usize, usize)>,
}

/// `(3)`, `(2, 4)`, `()`: a shape as torchviz prints it.
fn shape_str(shape: &[usize]) -> String {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    format!("({})", dims.join(", "))
}

impl Graph {
    /// Walks the graph of `root` iteratively (a deep graph must not overflow the stack).
    fn build(root: &Tensor, params: &[(&str, &Tensor)]) -> Graph {
        let names: HashMap<usize, &str> = params.iter().map(|(n, t)| (t.id(), *n)).collect();
        let var_label = |t: &Tensor| {
            let name = names.get(&t.id()).copied().unwrap_or("");
            format!("{name}\n{}", shape_str(&t.shape()))
        };
        let mut g = Graph {
            nodes: Vec::new(),
            edges: Vec::new(),
        };
        let add = |g: &mut Graph, label: String, kind: Kind| {
            g.nodes.push(Node { label, kind });
            g.nodes.len() - 1
        };
        // The output tensor itself, then the op that made it (if any).
        let out = add(&mut g, var_label(root), Kind::Output);
        let mut ops: HashMap<usize, usize> = HashMap::new();
        let mut leaves: HashMap<usize, usize> = HashMap::new();
        let mut stack: Vec<Tensor> = Vec::new();
        if let Some(name) = root.op_name() {
            let n = add(&mut g, name.to_string(), Kind::Op);
            g.edges.push((n, out));
            ops.insert(root.id(), n);
            stack.push(root.clone());
        }
        while let Some(t) = stack.pop() {
            let target = ops[&t.id()];
            for input in t.op_inputs() {
                let source = if let Some(name) = input.op_name() {
                    match ops.get(&input.id()) {
                        Some(&n) => n,
                        None => {
                            let n = add(&mut g, name.to_string(), Kind::Op);
                            ops.insert(input.id(), n);
                            stack.push(input.clone());
                            n
                        }
                    }
                } else if input.requires_grad() {
                    match leaves.get(&input.id()) {
                        Some(&n) => n,
                        None => {
                            let acc = add(&mut g, "AccumulateGrad".into(), Kind::AccumulateGrad);
                            let leaf = add(&mut g, var_label(&input), Kind::Leaf);
                            g.edges.push((leaf, acc));
                            leaves.insert(input.id(), acc);
                            acc
                        }
                    }
                } else {
                    // No gradient flows into a constant: PyTorch's next_functions holds None.
                    continue;
                };
                g.edges.push((source, target));
            }
        }
        g
    }

    fn dot(&self) -> String {
        let mut s = String::from("digraph {\n\tgraph [size=\"12,12\"]\n");
        s.push_str("\tnode [align=left fontname=monospace fontsize=10 height=0.2 ranksep=0.1 shape=box style=filled]\n");
        for (i, n) in self.nodes.iter().enumerate() {
            let label = n
                .label
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            s.push_str(&format!(
                "\t{i} [label=\"{label}\" fillcolor={}]\n",
                n.kind.dot_color()
            ));
        }
        for (a, b) in &self.edges {
            s.push_str(&format!("\t{a} -> {b}\n"));
        }
        s.push_str("}\n");
        s
    }
}

/// Writes the computation graph of `root` as Graphviz DOT text, as torchviz's
/// `make_dot(root, params=dict(params))`: one box per op named by its backward function
/// (`MulBackward0`), an `AccumulateGrad` box for each leaf that requires grad, fed by a box with
/// the leaf's name from `params` and its shape (`x\n(3)`), the output's box at the end, and
/// edges pointing toward the output. Inputs that need no gradient are left out, as PyTorch does.
/// Node ids are small integers in discovery order, so the text is the same on every run.
///
/// Call it before `backward()`, which frees the graph.
///
/// # Examples
/// ```
/// use backprop::Tensor;
/// let x = Tensor::from_slice(&[1.0, 2.0, 3.0], &[3]).set_requires_grad(true);
/// let y = Tensor::from_slice(&[4.0, 5.0, 6.0], &[3]).set_requires_grad(true);
/// let out = (&x * &y).mean();
/// let dot = backprop::viz::graph_dot(&out, &[("x", &x), ("y", &y)]);
/// assert!(dot.contains("MeanBackward0") && dot.contains("MulBackward0"));
/// assert!(dot.contains(r#"label="x\n(3)""#));
/// ```
pub fn graph_dot(root: &Tensor, params: &[(&str, &Tensor)]) -> String {
    Graph::build(root, params).dot()
}

/// A node's place in the drawing.
#[derive(Clone, Copy, Debug, Default)]
struct Placed {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
}

const FONT: f64 = 13.0;
const LINE: f64 = 17.0;
const GAP_X: f64 = 28.0;
const GAP_Y: f64 = 46.0;
const MARGIN: f64 = 24.0;

/// A layered layout: each node's layer is its longest distance to the output (so every edge
/// points down, toward the output at the bottom), and each layer is ordered by the mean
/// position of its neighbours to keep edges short and uncrossed.
struct Layout {
    placed: Vec<Placed>,
    size: (u32, u32),
}

fn layout(g: &Graph) -> Layout {
    let n = g.nodes.len();
    // Longest distance to the output, in reverse topological order (Kahn's algorithm on the
    // edges reversed): node 0 is the output, with distance 0.
    let mut out_deg = vec![0usize; n];
    let mut preds: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut succs: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &(a, b) in &g.edges {
        out_deg[a] += 1;
        preds[b].push(a);
        succs[a].push(b);
    }
    let mut depth = vec![0usize; n];
    let mut ready: Vec<usize> = (0..n).filter(|&i| out_deg[i] == 0).collect();
    while let Some(v) = ready.pop() {
        for &p in &preds[v] {
            depth[p] = depth[p].max(depth[v] + 1);
            out_deg[p] -= 1;
            if out_deg[p] == 0 {
                ready.push(p);
            }
        }
    }
    let levels = depth.iter().copied().max().unwrap_or(0) + 1;
    let mut rows: Vec<Vec<usize>> = vec![Vec::new(); levels];
    for (i, &d) in depth.iter().enumerate() {
        rows[d].push(i);
    }
    // Barycentre sweeps: up (order by consumers below), down (by producers above), up again.
    let mut pos = vec![0.0f64; n];
    let set_pos = |rows: &Vec<Vec<usize>>, pos: &mut Vec<f64>| {
        for row in rows {
            for (k, &v) in row.iter().enumerate() {
                pos[v] = (k as f64 + 0.5) / row.len() as f64;
            }
        }
    };
    set_pos(&rows, &mut pos);
    let mean = |vs: &[usize], pos: &[f64], own: f64| {
        if vs.is_empty() {
            own
        } else {
            vs.iter().map(|&v| pos[v]).sum::<f64>() / vs.len() as f64
        }
    };
    for sweep in 0..3 {
        let order: Vec<usize> = if sweep % 2 == 0 {
            (1..levels).collect()
        } else {
            (0..levels.saturating_sub(1)).rev().collect()
        };
        for d in order {
            let neighbours = if sweep % 2 == 0 { &succs } else { &preds };
            let mut keyed: Vec<(f64, usize)> = rows[d]
                .iter()
                .map(|&v| (mean(&neighbours[v], &pos, pos[v]), v))
                .collect();
            keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
            rows[d] = keyed.into_iter().map(|(_, v)| v).collect();
            for (k, &v) in rows[d].iter().enumerate() {
                pos[v] = (k as f64 + 0.5) / rows[d].len() as f64;
            }
        }
    }
    // Box sizes from the text, then rows centred, the output row at the bottom.
    let mut placed = vec![Placed::default(); n];
    for (i, node) in g.nodes.iter().enumerate() {
        let lines: Vec<&str> = node.label.split('\n').collect();
        let w = lines
            .iter()
            .map(|l| canvas::text_size(l, FONT).0)
            .max()
            .unwrap_or(0) as f64;
        placed[i].w = w.max(24.0) + 20.0;
        placed[i].h = lines.len() as f64 * LINE + 12.0;
    }
    let row_width: Vec<f64> = rows
        .iter()
        .map(|row| {
            row.iter().map(|&v| placed[v].w).sum::<f64>()
                + GAP_X * row.len().saturating_sub(1) as f64
        })
        .collect();
    let width = row_width.iter().copied().fold(0.0, f64::max) + 2.0 * MARGIN;
    let row_h: Vec<f64> = rows
        .iter()
        .map(|r| r.iter().map(|&v| placed[v].h).fold(0.0, f64::max))
        .collect();
    let mut y = MARGIN;
    for d in (0..levels).rev() {
        let mut x = (width - row_width[d]) / 2.0;
        for &v in &rows[d] {
            placed[v].x = x;
            placed[v].y = y + (row_h[d] - placed[v].h) / 2.0;
            x += placed[v].w + GAP_X;
        }
        y += row_h[d] + GAP_Y;
    }
    let height = y - GAP_Y + MARGIN;
    Layout {
        placed,
        size: (width.ceil() as u32, height.ceil() as u32),
    }
}

struct GraphFigure {
    graph: Graph,
    layout: Layout,
}

impl Figure for GraphFigure {
    fn size(&self) -> (u32, u32) {
        self.layout.size
    }

    fn draw<DB: DrawingBackend>(&self, area: &Area<DB>) -> DrawResult<DB> {
        let p = &self.layout.placed;
        let edge = RGBColor(60, 60, 60);
        // Where each edge leaves its source and enters its target: spread along the box's
        // bottom or top in the order of the other ends, so arrows into one box stay apart.
        let centre = |v: usize| p[v].x + p[v].w / 2.0;
        let spread = |ends: &mut Vec<(f64, usize)>, node: usize, at: &mut Vec<f64>| {
            ends.sort_by(|a, b| a.0.total_cmp(&b.0));
            let m = ends.len() as f64;
            for (k, &(_, e)) in ends.iter().enumerate() {
                let f = if m <= 1.0 {
                    0.5
                } else {
                    0.3 + 0.4 * k as f64 / (m - 1.0)
                };
                at[e] = p[node].x + p[node].w * f;
            }
        };
        let edges = &self.graph.edges;
        let (mut start_x, mut end_x) = (vec![0.0; edges.len()], vec![0.0; edges.len()]);
        for v in 0..p.len() {
            let mut outs: Vec<(f64, usize)> = (0..edges.len())
                .filter(|&e| edges[e].0 == v)
                .map(|e| (centre(edges[e].1), e))
                .collect();
            spread(&mut outs, v, &mut start_x);
            let mut ins: Vec<(f64, usize)> = (0..edges.len())
                .filter(|&e| edges[e].1 == v)
                .map(|e| (centre(edges[e].0), e))
                .collect();
            spread(&mut ins, v, &mut end_x);
        }
        for (e, &(a, b)) in edges.iter().enumerate() {
            let (from, to) = (p[a], p[b]);
            let (x0, y0) = (start_x[e], from.y + from.h);
            let (x1, y1) = (end_x[e], to.y);
            area.draw(&PathElement::new(
                vec![(x0 as i32, y0 as i32), (x1 as i32, (y1 - 4.0) as i32)],
                edge.stroke_width(1),
            ))?;
            // The arrowhead: a small triangle pointing along the edge, its tip on the box.
            let (dx, dy) = (x1 - x0, y1 - y0);
            let len = (dx * dx + dy * dy).sqrt().max(1e-9);
            let (ux, uy) = (dx / len, dy / len);
            let (bx, by) = (x1 - ux * 10.0, y1 - uy * 10.0);
            let tri = vec![
                (x1 as i32, y1 as i32),
                ((bx - uy * 4.5) as i32, (by + ux * 4.5) as i32),
                ((bx + uy * 4.5) as i32, (by - ux * 4.5) as i32),
            ];
            area.draw(&Polygon::new(tri, edge.filled()))?;
        }
        for (node, b) in self.graph.nodes.iter().zip(p) {
            let corners = [
                (b.x as i32, b.y as i32),
                ((b.x + b.w) as i32, (b.y + b.h) as i32),
            ];
            area.draw(&Rectangle::new(corners, node.kind.rgb().filled()))?;
            area.draw(&Rectangle::new(corners, BLACK.stroke_width(1)))?;
            let lines: Vec<&str> = node.label.split('\n').collect();
            let top = b.y + b.h / 2.0 - (lines.len() as f64 - 1.0) * LINE / 2.0;
            for (k, line) in lines.iter().enumerate() {
                if line.is_empty() {
                    continue;
                }
                area.draw(&Text::new(
                    line.to_string(),
                    ((b.x + b.w / 2.0) as i32, (top + k as f64 * LINE) as i32),
                    canvas::centered(FONT),
                ))?;
            }
        }
        Ok(())
    }
}

/// Draws the computation graph of `root` (the graph of [`graph_dot`]) to an SVG or PNG file,
/// with its own layered layout: inputs at the top, the output at the bottom, arrows toward the
/// output. No Graphviz is needed. The format follows the extension.
///
/// Call it before `backward()`, which frees the graph.
///
/// # Errors
/// As [`plot_curves`](super::plot_curves).
pub fn render_graph(root: &Tensor, params: &[(&str, &Tensor)], path: &Path) -> Result<()> {
    let graph = Graph::build(root, params);
    let layout = layout(&graph);
    canvas::save(&GraphFigure { graph, layout }, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::viz::testing::{assert_png, assert_svg, svg_texts, temp};

    fn tutorial_graph() -> (Tensor, Tensor, Tensor) {
        let x = Tensor::from_slice(&[1.0, 2.0, 3.0], &[3]).set_requires_grad(true);
        let y = Tensor::from_slice(&[4.0, 5.0, 6.0], &[3]).set_requires_grad(true);
        let out = (&x * &y).mean();
        (x, y, out)
    }

    #[test]
    fn dot_matches_make_dot_on_the_tutorial_graph() {
        let (x, y, out) = tutorial_graph();
        let dot = graph_dot(&out, &[("x", &x), ("y", &y)]);
        assert!(dot.starts_with("digraph {"), "{dot}");
        for want in [
            "0 [label=\"\\n()\" fillcolor=darkolivegreen1]",
            "1 [label=\"MeanBackward0\" fillcolor=lightgrey]",
            "2 [label=\"MulBackward0\" fillcolor=lightgrey]",
            "label=\"x\\n(3)\" fillcolor=lightblue",
            "label=\"y\\n(3)\" fillcolor=lightblue",
            "1 -> 0",
            "2 -> 1",
        ] {
            assert!(dot.contains(want), "missing {want:?} in\n{dot}");
        }
        assert_eq!(dot.matches("AccumulateGrad").count(), 2);
        // 7 nodes: output, mean, mul, 2 × (AccumulateGrad, leaf); 6 edges.
        assert_eq!(dot.matches("fillcolor").count(), 7);
        assert_eq!(dot.matches("->").count(), 6);
        // The same graph gives the same text.
        assert_eq!(dot, graph_dot(&out, &[("x", &x), ("y", &y)]));
    }

    #[test]
    fn constants_are_left_out_and_reuse_is_shared() {
        let x = Tensor::from_slice(&[1.0, 2.0], &[2]).set_requires_grad(true);
        let c = Tensor::from_slice(&[3.0, 4.0], &[2]);
        let out = (&(&x * &c) + &x).sum();
        let dot = graph_dot(&out, &[("x", &x)]);
        assert_eq!(dot.matches("AccumulateGrad").count(), 1, "{dot}");
        assert_eq!(dot.matches("lightblue").count(), 1, "{dot}");
        for op in ["SumBackward0", "AddBackward0", "MulBackward0"] {
            assert!(dot.contains(op), "{dot}");
        }
        // x feeds both the Mul and the Add: two edges leave its AccumulateGrad.
        let acc = dot
            .lines()
            .find(|l| l.contains("AccumulateGrad"))
            .and_then(|l| l.trim().split(' ').next())
            .unwrap()
            .to_string();
        assert_eq!(dot.matches(&format!("\t{acc} -> ")).count(), 2, "{dot}");
    }

    #[test]
    fn layout_puts_inputs_above_the_output() {
        let (x, y, out) = tutorial_graph();
        let g = Graph::build(&out, &[("x", &x), ("y", &y)]);
        let l = layout(&g);
        for &(a, b) in &g.edges {
            assert!(l.placed[a].y < l.placed[b].y, "edge {a}->{b} points up");
        }
        // Boxes in one row do not overlap.
        for i in 0..g.nodes.len() {
            for j in i + 1..g.nodes.len() {
                let (p, q) = (l.placed[i], l.placed[j]);
                if (p.y - q.y).abs() < 1.0 {
                    assert!(p.x + p.w <= q.x || q.x + q.w <= p.x, "{i} and {j} overlap");
                }
            }
        }
    }

    #[test]
    fn rendered_graph_has_the_op_names() {
        let (x, y, out) = tutorial_graph();
        let p = temp("graph.svg");
        render_graph(&out, &[("x", &x), ("y", &y)], &p).unwrap();
        let svg = std::fs::read_to_string(&p).unwrap();
        assert_svg(
            &svg,
            &["MeanBackward0", "MulBackward0", "AccumulateGrad", "(3)"],
        );
        let texts = svg_texts(&svg);
        assert!(texts.iter().any(|t| t == "x") && texts.iter().any(|t| t == "y"));
        let q = temp("graph.png");
        render_graph(&out, &[("x", &x), ("y", &y)], &q).unwrap();
        let a = std::fs::read(&q).unwrap();
        let g = Graph::build(&out, &[("x", &x), ("y", &y)]);
        assert_png(&a, layout(&g).size);
        let z = (&x + &y).sum();
        render_graph(&z, &[("x", &x), ("y", &y)], &q).unwrap();
        assert_ne!(a, std::fs::read(&q).unwrap());
        for f in [p, q] {
            std::fs::remove_file(f).unwrap();
        }
    }

    #[test]
    fn after_backward_only_the_output_op_is_left() {
        let (x, y, out) = tutorial_graph();
        out.backward();
        let dot = graph_dot(&out, &[("x", &x), ("y", &y)]);
        assert!(dot.contains("MeanBackward0") && !dot.contains("MulBackward0"));
    }
}
