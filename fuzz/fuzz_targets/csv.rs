//! CSV text → `Dataset`, with the last column as the target and with a named one; and the same
//! text as a table (`read_table`: header or none, delimiter detected, text and gaps). Nothing
//! may panic; what is read is rectangular, and numbers are finite or missing (NaN).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for target in [None, Some("b")] {
        if let Ok(ds) = backprop::data::parse_csv(data, "fuzz.csv", target) {
            let n = ds.len();
            assert!(n > 0);
            assert_eq!(ds.x.shape(), &[n, ds.feature_names.len()]);
            assert_eq!(ds.y.shape(), &[n]);
            assert!(ds.x.data().iter().chain(ds.y.data()).all(|v| v.is_finite()));
        }
    }
    for header in [None, Some(false)] {
        let options = backprop::data::TableOptions {
            header,
            ..Default::default()
        };
        if let Ok(t) = backprop::data::parse_table(data, "fuzz.csv", &options) {
            let n = t.n_rows();
            assert!(n > 0);
            assert_eq!(t.names.len(), t.columns.len());
            for c in &t.columns {
                match c {
                    backprop::data::Column::Numbers(v) => {
                        assert_eq!(v.len(), n);
                        assert!(v.iter().all(|x| x.is_finite() || x.is_nan()));
                    }
                    backprop::data::Column::Text(v) => assert_eq!(v.len(), n),
                }
            }
        }
    }
});
