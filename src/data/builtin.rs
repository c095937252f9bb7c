//! Datasets built into the library: `xor`, and scikit-learn's `digits` and `iris` (embedded CSV
//! copies; origin and licence in `data/README.md` at the repository root).

use super::{parse_csv, Dataset};
use crate::Array;

/// The names [`by_name`] knows.
pub const BUILTIN_NAMES: [&str; 3] = ["xor", "digits", "iris"];

const DIGITS_CSV: &str = include_str!("../../data/digits.csv");
const IRIS_CSV: &str = include_str!("../../data/iris.csv");

/// XOR: features `[[0, 0], [0, 1], [1, 0], [1, 1]]` (named `x0`, `x1`), targets `[0, 1, 1, 0]`
/// (class indices, target `y`).
pub fn xor() -> Dataset {
    Dataset::new(
        Array::new(&[4, 2], vec![0., 0., 0., 1., 1., 0., 1., 1.]),
        Array::new(&[4], vec![0., 1., 1., 0.]),
        vec!["x0".into(), "x1".into()],
        "y",
    )
}

/// scikit-learn's handwritten digits (`load_digits`): 1797 rows of 64 pixel features `p0..p63`
/// (8×8 images in row-major order, values `0..=16`), target `label` in `0..10`.
pub fn digits() -> Dataset {
    embedded(DIGITS_CSV, "digits.csv")
}

/// Fisher's iris (scikit-learn's `load_iris`): 150 rows of 4 features (`sepal_length_cm`,
/// `sepal_width_cm`, `petal_length_cm`, `petal_width_cm`), target `label` in `0..3`
/// (setosa, versicolor, virginica; 50 each).
pub fn iris() -> Dataset {
    embedded(IRIS_CSV, "iris.csv")
}

/// The built-in dataset called `name` (`"xor"`, `"digits"` or `"iris"`), if there is one.
///
/// # Examples
/// ```
/// let ds = backprop::data::by_name("digits").unwrap();
/// assert_eq!((ds.len(), ds.n_features(), ds.n_classes()), (1797, 64, Some(10)));
/// assert!(backprop::data::by_name("mnist").is_none());
/// ```
pub fn by_name(name: &str) -> Option<Dataset> {
    match name {
        "xor" => Some(xor()),
        "digits" => Some(digits()),
        "iris" => Some(iris()),
        _ => None,
    }
}

fn embedded(text: &str, name: &str) -> Dataset {
    // The files are part of the crate and tested below, so a failure here is a build defect.
    parse_csv(text.as_bytes(), name, None)
        .unwrap_or_else(|e| panic!("embedded dataset is corrupt: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xor_is_the_contract_table() {
        let ds = xor();
        assert_eq!(ds.x.data(), &[0., 0., 0., 1., 1., 0., 1., 1.]);
        assert_eq!(ds.y.data(), &[0., 1., 1., 0.]);
        assert_eq!(ds.n_classes(), Some(2));
    }

    #[test]
    fn digits_matches_its_readme() {
        let ds = digits();
        assert_eq!(ds.x.shape(), &[1797, 64]);
        assert_eq!(ds.feature_names.first().map(String::as_str), Some("p0"));
        assert_eq!(ds.feature_names.last().map(String::as_str), Some("p63"));
        assert_eq!(ds.target_name, "label");
        assert_eq!(
            ds.class_counts().unwrap(),
            vec![178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
        );
        assert!(ds
            .x
            .data()
            .iter()
            .all(|&v| (0.0..=16.0).contains(&v) && v.fract() == 0.0));
        // First row of sklearn's load_digits().data.
        assert_eq!(&ds.x.data()[..8], &[0., 0., 5., 13., 9., 1., 0., 0.]);
        // p0, p32 and p39 are zero in every row.
        for col in [0, 32, 39] {
            assert!((0..1797).all(|r| ds.x.data()[r * 64 + col] == 0.0));
        }
    }

    #[test]
    fn iris_matches_its_readme() {
        let ds = iris();
        assert_eq!(ds.x.shape(), &[150, 4]);
        assert_eq!(
            ds.feature_names,
            [
                "sepal_length_cm",
                "sepal_width_cm",
                "petal_length_cm",
                "petal_width_cm"
            ]
        );
        assert_eq!(ds.class_counts().unwrap(), vec![50, 50, 50]);
        assert_eq!(&ds.x.data()[..4], &[5.1, 3.5, 1.4, 0.2]);
    }

    #[test]
    fn by_name_knows_each_builtin() {
        for name in BUILTIN_NAMES {
            assert!(by_name(name).is_some(), "{name}");
        }
        assert!(by_name("Digits").is_none());
    }
}
