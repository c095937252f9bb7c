//! The page's 2-D datasets, every point in (or near) the square [-6, 6]²: four classification
//! sets in the manner of TF Playground's (xor, circle, two gaussians, spiral) plus two moons, a
//! regression plane, and the points of an uploaded CSV. Each set is drawn from a
//! [`Generator`] seeded by the experiment, so a seed gives the same points everywhere.
//!
//! Classification labels are 0 and 1; the plane's targets lie in about [-1, 1].

use backprop::rng::Generator;
use std::f32::consts::PI;

/// Which dataset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DatasetKind {
    /// Label 1 where `x1·x2 > 0`.
    Xor,
    /// A disc (label 1) inside a ring (label 0).
    Circle,
    /// Two gaussian blobs.
    Gauss,
    /// Two interleaved spirals.
    Spiral,
    /// Two interleaved half circles.
    Moons,
    /// Regression: the target rises along `x1 + x2`.
    Plane,
    /// The points of an uploaded CSV (the page holds them; a URL cannot).
    Csv,
}

impl DatasetKind {
    /// Every dataset, in the page's order.
    pub const ALL: [DatasetKind; 7] = [
        DatasetKind::Xor,
        DatasetKind::Circle,
        DatasetKind::Gauss,
        DatasetKind::Spiral,
        DatasetKind::Moons,
        DatasetKind::Plane,
        DatasetKind::Csv,
    ];

    /// The name in URLs.
    pub fn name(self) -> &'static str {
        match self {
            DatasetKind::Xor => "xor",
            DatasetKind::Circle => "circle",
            DatasetKind::Gauss => "gauss",
            DatasetKind::Spiral => "spiral",
            DatasetKind::Moons => "moons",
            DatasetKind::Plane => "plane",
            DatasetKind::Csv => "csv",
        }
    }

    /// Parses a name from [`DatasetKind::name`].
    pub fn parse(s: &str) -> Result<DatasetKind, String> {
        Self::ALL
            .into_iter()
            .find(|d| d.name() == s)
            .ok_or_else(|| {
                format!(
                    "dataset: unknown {s:?} (expected one of {})",
                    Self::ALL.map(|d| d.name()).join(", ")
                )
            })
    }

    /// Whether the targets are numbers rather than classes.
    pub fn is_regression(self) -> bool {
        self == DatasetKind::Plane
    }
}

/// Points and their targets.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Points {
    /// `(x1, x2)` of each point.
    pub x: Vec<[f32; 2]>,
    /// The label (0 or 1) or regression target of each point.
    pub y: Vec<f32>,
}

impl Points {
    fn push(&mut self, x1: f32, x2: f32, y: f32) {
        self.x.push([x1, x2]);
        self.y.push(y);
    }

    /// The number of points.
    pub fn len(&self) -> usize {
        self.y.len()
    }

    /// Whether there are no points.
    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }

    /// Whether every target is 0 or 1.
    pub fn is_binary(&self) -> bool {
        self.y.iter().all(|&y| y == 0.0 || y == 1.0)
    }

    /// Reads a CSV of three numeric columns (x1, x2, target) with a header row, and scales
    /// each feature column linearly onto [-6, 6] (the page's plane). Errors name the line.
    pub fn from_csv(text: &str) -> Result<Points, String> {
        let mut pts = Points::default();
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty());
        let (_, header) = lines.next().ok_or("CSV: the file is empty")?;
        if header.split(',').count() != 3 {
            return Err(format!(
                "CSV line 1: expected a header of 3 columns (x1, x2, target), got {:?}",
                header.trim()
            ));
        }
        for (i, line) in lines {
            let cells: Vec<&str> = line.split(',').map(str::trim).collect();
            if cells.len() != 3 {
                return Err(format!(
                    "CSV line {}: expected 3 values, got {}",
                    i + 1,
                    cells.len()
                ));
            }
            let mut v = [0f32; 3];
            for (j, c) in cells.iter().enumerate() {
                v[j] = c
                    .parse::<f32>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .ok_or_else(|| format!("CSV line {}: {c:?} is not a finite number", i + 1))?;
            }
            pts.push(v[0], v[1], v[2]);
            if pts.len() > crate::experiment::MAX_POINTS {
                return Err(format!(
                    "CSV: more than {} rows, the most the page draws",
                    crate::experiment::MAX_POINTS
                ));
            }
        }
        if pts.len() < 4 {
            return Err(format!("CSV: needs at least 4 rows, got {}", pts.len()));
        }
        for col in 0..2 {
            let lo = pts.x.iter().map(|p| p[col]).fold(f32::INFINITY, f32::min);
            let hi = pts
                .x
                .iter()
                .map(|p| p[col])
                .fold(f32::NEG_INFINITY, f32::max);
            let span = hi - lo;
            for p in &mut pts.x {
                p[col] = if span > 0.0 {
                    -6.0 + 12.0 * (p[col] - lo) / span
                } else {
                    0.0
                };
            }
        }
        Ok(pts)
    }
}

/// `n` points of dataset `kind` with `noise` (0 to 50, percent), drawn from `generator`.
/// [`DatasetKind::Csv`] gives no points (its points come from the upload).
pub fn generate(kind: DatasetKind, n: usize, noise: u32, generator: &mut Generator) -> Points {
    let g = generator;
    let noise = noise as f32 / 100.0;
    let mut pts = Points::default();
    match kind {
        DatasetKind::Xor => {
            // Kept a little away from the axes, where the label flips.
            let away = |v: f32| if v >= 0.0 { v + 0.3 } else { v - 0.3 };
            for _ in 0..n {
                let x1 = away(g.uniform(-5.0, 5.0));
                let x2 = away(g.uniform(-5.0, 5.0));
                let label = f32::from(x1 * x2 >= 0.0);
                let j1 = g.uniform(-5.0, 5.0) * noise;
                let j2 = g.uniform(-5.0, 5.0) * noise;
                pts.push(x1 + j1, x2 + j2, label);
            }
        }
        DatasetKind::Circle => {
            for i in 0..n {
                let inside = i < n / 2;
                let r = if inside {
                    g.uniform(0.0, 2.5)
                } else {
                    g.uniform(3.5, 5.0)
                };
                let t = g.uniform(0.0, 2.0 * PI);
                let j1 = g.uniform(-5.0, 5.0) * noise;
                let j2 = g.uniform(-5.0, 5.0) * noise;
                pts.push(r * t.sin() + j1, r * t.cos() + j2, f32::from(inside));
            }
        }
        DatasetKind::Gauss => {
            let std = 0.5 + 3.5 * noise / 0.5;
            for i in 0..n {
                let one = i < n / 2;
                let c = if one { 2.0 } else { -2.0 };
                pts.push(g.normal(c, std), g.normal(c, std), f32::from(one));
            }
        }
        DatasetKind::Spiral => {
            let half = n / 2;
            for (arm, delta, label) in [(0, 0.0, 1.0), (1, PI, 0.0)] {
                let count = if arm == 0 { half } else { n - half };
                for i in 0..count {
                    let r = i as f32 / count.max(1) as f32 * 5.0;
                    let t = 1.75 * i as f32 / count.max(1) as f32 * 2.0 * PI + delta;
                    let j1 = g.uniform(-1.0, 1.0) * noise;
                    let j2 = g.uniform(-1.0, 1.0) * noise;
                    pts.push(r * t.sin() + j1, r * t.cos() + j2, label);
                }
            }
        }
        DatasetKind::Moons => {
            for i in 0..n {
                let upper = i < n / 2;
                let t = g.uniform(0.0, PI);
                let (u, v) = if upper {
                    (t.cos() - 0.5, t.sin() - 0.25)
                } else {
                    (0.5 - t.cos(), 0.25 - t.sin())
                };
                let j1 = g.normal(0.0, 1.0) * noise;
                let j2 = g.normal(0.0, 1.0) * noise;
                pts.push(3.5 * u + j1, 3.5 * v + j2, f32::from(upper));
            }
        }
        DatasetKind::Plane => {
            for _ in 0..n {
                let x1 = g.uniform(-6.0, 6.0);
                let x2 = g.uniform(-6.0, 6.0);
                let y = (x1 + x2) / 12.0 + g.uniform(-1.0, 1.0) * noise;
                pts.push(x1, x2, y);
            }
        }
        DatasetKind::Csv => {}
    }
    pts
}

/// Splits `pts` into train and test sets: a permutation drawn from `generator`, the first
/// `train_percent` percent (at least one point in each set) for training.
pub fn split(pts: &Points, train_percent: u32, generator: &mut Generator) -> (Points, Points) {
    let n = pts.len();
    let order = generator.randperm(n);
    let n_train =
        ((n * train_percent as usize + 50) / 100).clamp(1.min(n), n.saturating_sub(1).max(1));
    let mut train = Points::default();
    let mut test = Points::default();
    for (k, &i) in order.iter().enumerate() {
        let set = if k < n_train { &mut train } else { &mut test };
        set.push(pts.x[i][0], pts.x[i][1], pts.y[i]);
    }
    (train, test)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_points_other_seed_other_points() {
        for kind in DatasetKind::ALL {
            if kind == DatasetKind::Csv {
                continue;
            }
            let a = generate(kind, 100, 10, &mut Generator::new(3));
            let b = generate(kind, 100, 10, &mut Generator::new(3));
            let c = generate(kind, 100, 10, &mut Generator::new(4));
            assert_eq!(a, b, "{kind:?}");
            assert_ne!(a, c, "{kind:?}");
            assert_eq!(a.len(), 100, "{kind:?}");
            for p in &a.x {
                assert!(p[0].abs() < 9.0 && p[1].abs() < 9.0, "{kind:?} {p:?}");
            }
        }
    }

    #[test]
    fn classification_sets_are_balanced_and_binary() {
        for kind in [
            DatasetKind::Xor,
            DatasetKind::Circle,
            DatasetKind::Gauss,
            DatasetKind::Spiral,
            DatasetKind::Moons,
        ] {
            let p = generate(kind, 200, 0, &mut Generator::new(1));
            assert!(p.is_binary(), "{kind:?}");
            let ones = p.y.iter().filter(|&&y| y == 1.0).count();
            assert!((60..=140).contains(&ones), "{kind:?}: {ones} ones of 200");
        }
    }

    #[test]
    fn xor_without_noise_is_labelled_by_quadrant() {
        let p = generate(DatasetKind::Xor, 50, 0, &mut Generator::new(2));
        for (x, &y) in p.x.iter().zip(&p.y) {
            assert_eq!(y == 1.0, x[0] * x[1] > 0.0, "{x:?} {y}");
        }
    }

    #[test]
    fn plane_is_a_regression_of_x1_plus_x2() {
        let p = generate(DatasetKind::Plane, 50, 0, &mut Generator::new(2));
        for (x, &y) in p.x.iter().zip(&p.y) {
            assert!((y - (x[0] + x[1]) / 12.0).abs() < 1e-6);
        }
        assert!(!p.is_binary());
    }

    #[test]
    fn split_keeps_every_point_once() {
        let p = generate(DatasetKind::Circle, 101, 0, &mut Generator::new(5));
        let (tr, te) = split(&p, 70, &mut Generator::new(6));
        assert_eq!(tr.len(), 71);
        assert_eq!(te.len(), 30);
        let mut all: Vec<[f32; 2]> = tr.x.iter().chain(&te.x).copied().collect();
        let mut want = p.x.clone();
        let key = |a: &[f32; 2]| (a[0].to_bits(), a[1].to_bits());
        all.sort_by_key(key);
        want.sort_by_key(key);
        assert_eq!(all, want);
    }

    #[test]
    fn csv_upload_is_scaled_and_checked() {
        let p = Points::from_csv("a,b,c\n0,10,1\n5,20,0\n10,30,1\n2,15,0\n").unwrap();
        assert_eq!(p.x[0], [-6.0, -6.0]);
        assert_eq!(p.x[2], [6.0, 6.0]);
        assert!(p.is_binary());
        for (text, want) in [
            ("", "empty"),
            ("a,b\n1,2\n", "line 1: expected a header of 3 columns"),
            (
                "a,b,c\n1,2,3\n1,x,3\n",
                "line 3: \"x\" is not a finite number",
            ),
            ("a,b,c\n1,2\n", "line 2: expected 3 values"),
            ("a,b,c\n1,2,3\n", "at least 4 rows"),
        ] {
            let err = Points::from_csv(text).unwrap_err();
            assert!(err.contains(want), "{text:?}: {err}");
        }
    }
}
