//! The functions the page calls, as plain C-ABI exports (no bindings generator): the page
//! copies a string into memory from [`pg_alloc`], calls a function, then reads its answer,
//! bytes at [`pg_out_ptr`] (length [`pg_out_len`]) or floats at [`pg_floats_ptr`] (length
//! [`pg_floats_len`]). A function that can fail returns 0 on success and 1 on failure, with
//! the one-line error as its answer.

use crate::datasets::Points;
use crate::experiment::Experiment;
use crate::session::Session;
use std::cell::RefCell;

#[derive(Default)]
struct State {
    session: Option<Session>,
    uploaded: Option<Points>,
    out: Vec<u8>,
    floats: Vec<f32>,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

fn with<R>(f: impl FnOnce(&mut State) -> R) -> R {
    STATE.with(|s| f(&mut s.borrow_mut()))
}

/// The `len` bytes the page wrote at `ptr` (from [`pg_alloc`]).
///
/// # Safety
/// `ptr..ptr + len` must be memory from [`pg_alloc`].
unsafe fn input(ptr: *const u8, len: usize) -> Vec<u8> {
    if ptr.is_null() || len == 0 {
        return Vec::new();
    }
    std::slice::from_raw_parts(ptr, len).to_vec()
}

fn answer(st: &mut State, r: Result<Vec<u8>, String>) -> i32 {
    match r {
        Ok(bytes) => {
            st.out = bytes;
            0
        }
        Err(e) => {
            st.out = e.into_bytes();
            1
        }
    }
}

fn session(st: &mut State) -> Result<&mut Session, String> {
    st.session
        .as_mut()
        .ok_or_else(|| "no session: call pg_create first".to_string())
}

/// `len` bytes for the page to write into.
#[no_mangle]
pub extern "C" fn pg_alloc(len: usize) -> *mut u8 {
    let mut v = Vec::<u8>::with_capacity(len.max(1));
    let p = v.as_mut_ptr();
    std::mem::forget(v);
    p
}

/// Frees memory from [`pg_alloc`].
///
/// # Safety
/// `ptr` and `len` must be as [`pg_alloc`] gave and took them.
#[no_mangle]
pub unsafe extern "C" fn pg_free(ptr: *mut u8, len: usize) {
    if !ptr.is_null() {
        drop(Vec::from_raw_parts(ptr, 0, len.max(1)));
    }
}

/// The last answer's bytes.
#[no_mangle]
pub extern "C" fn pg_out_ptr() -> *const u8 {
    with(|s| s.out.as_ptr())
}

/// The last answer's length in bytes.
#[no_mangle]
pub extern "C" fn pg_out_len() -> usize {
    with(|s| s.out.len())
}

/// The last float answer.
#[no_mangle]
pub extern "C" fn pg_floats_ptr() -> *const f32 {
    with(|s| s.floats.as_ptr())
}

/// The last float answer's length.
#[no_mangle]
pub extern "C" fn pg_floats_len() -> usize {
    with(|s| s.floats.len())
}

/// Starts a session from a URL query; the answer is the experiment's full query.
///
/// # Safety
/// See [`input`].
#[no_mangle]
pub unsafe extern "C" fn pg_create(ptr: *const u8, len: usize) -> i32 {
    let query = String::from_utf8_lossy(&input(ptr, len)).into_owned();
    with(|st| {
        let r = Experiment::parse(&query).and_then(|e| {
            let q = e.to_query();
            Session::new(e, st.uploaded.as_ref()).map(|s| (s, q))
        });
        let r = r.map(|(s, q)| {
            st.session = Some(s);
            q.into_bytes()
        });
        answer(st, r)
    })
}

/// Reads an uploaded CSV (x1, x2, target) for dataset `csv`; the answer is the row count.
///
/// # Safety
/// See [`input`].
#[no_mangle]
pub unsafe extern "C" fn pg_upload_csv(ptr: *const u8, len: usize) -> i32 {
    let text = String::from_utf8_lossy(&input(ptr, len)).into_owned();
    with(|st| {
        let r = Points::from_csv(&text).map(|p| {
            let n = p.len();
            st.uploaded = Some(p);
            n.to_string().into_bytes()
        });
        answer(st, r)
    })
}

/// Runs `n` steps; returns the last step's loss (NaN without a session).
#[no_mangle]
pub extern "C" fn pg_step(n: usize) -> f32 {
    with(|st| st.session.as_mut().map_or(f32::NAN, |s| s.steps_n(n)))
}

/// Runs to the end of the epoch; returns the last step's loss.
#[no_mangle]
pub extern "C" fn pg_epoch() -> f32 {
    with(|st| st.session.as_mut().map_or(f32::NAN, |s| s.run_epoch()))
}

/// The state JSON (history from epoch `from` on).
#[no_mangle]
pub extern "C" fn pg_state(from: usize) -> i32 {
    with(|st| {
        let r = session(st).map(|s| s.state_json(from).into_bytes());
        answer(st, r)
    })
}

/// The points JSON.
#[no_mangle]
pub extern "C" fn pg_points() -> i32 {
    with(|st| {
        let r = session(st).map(|s| s.points_json().into_bytes());
        answer(st, r)
    })
}

/// Every neuron's heatmap over a `res × res` grid, as floats.
#[no_mangle]
pub extern "C" fn pg_heatmaps(res: usize) -> i32 {
    with(|st| {
        let r = session(st).map(|s| s.heatmaps(res));
        match r {
            Ok(v) => {
                st.floats = v;
                0
            }
            Err(e) => answer(st, Err(e)),
        }
    })
}

/// The model's outputs on the training (`test = 0`) or test points, as floats.
#[no_mangle]
pub extern "C" fn pg_outputs(test: i32) -> i32 {
    with(|st| {
        let r = session(st).map(|s| s.outputs(test != 0));
        match r {
            Ok(v) => {
                st.floats = v;
                0
            }
            Err(e) => answer(st, Err(e)),
        }
    })
}

/// The backward pass of training point `index`, as JSON.
#[no_mangle]
pub extern "C" fn pg_backward(index: usize) -> i32 {
    with(|st| {
        let r = session(st).and_then(|s| s.backward_view(index).map(|b| b.to_json().into_bytes()));
        answer(st, r)
    })
}

/// The CLI's TOML for the session so far.
#[no_mangle]
pub extern "C" fn pg_toml() -> i32 {
    with(|st| {
        let r = session(st).map(|s| {
            s.experiment()
                .to_toml("train.csv", "test.csv", s.epoch())
                .into_bytes()
        });
        answer(st, r)
    })
}

/// The training (`test = 0`) or test points as the TOML's CSV.
#[no_mangle]
pub extern "C" fn pg_csv(test: i32) -> i32 {
    with(|st| {
        let r = session(st).map(|s| s.csv(test != 0).into_bytes());
        answer(st, r)
    })
}

/// The weights as `model.safetensors`.
#[no_mangle]
pub extern "C" fn pg_safetensors() -> i32 {
    with(|st| {
        let r = session(st).and_then(|s| s.safetensors());
        answer(st, r)
    })
}

/// Loads a `model.safetensors` into the session's model.
///
/// # Safety
/// See [`input`].
#[no_mangle]
pub unsafe extern "C" fn pg_load_safetensors(ptr: *const u8, len: usize) -> i32 {
    let bytes = input(ptr, len);
    with(|st| {
        let r = session(st).and_then(|s| s.load_safetensors(&bytes).map(|()| Vec::new()));
        answer(st, r)
    })
}
