//! `Dims`: an array's shape, held inline up to four dims.

use std::fmt;
use std::ops::{Deref, DerefMut};

/// How many dims are held without allocating: every tensor of an MLP has at most this many.
const INLINE: usize = 4;

/// An array's shape. Up to four dims live inline, so making a small array allocates only its
/// elements (a small network's training step makes dozens of arrays); more go on the heap.
/// Reads as a `[usize]`.
#[derive(Clone)]
pub(crate) enum Dims {
    /// `dims[..len]`; the rest is unused.
    Inline {
        len: u8,
        dims: [usize; INLINE],
    },
    Heap(Vec<usize>),
}

impl Dims {
    pub(crate) fn new(shape: &[usize]) -> Dims {
        if shape.len() <= INLINE {
            let mut dims = [0; INLINE];
            dims[..shape.len()].copy_from_slice(shape);
            Dims::Inline {
                len: shape.len() as u8,
                dims,
            }
        } else {
            Dims::Heap(shape.to_vec())
        }
    }
}

impl From<Vec<usize>> for Dims {
    fn from(shape: Vec<usize>) -> Dims {
        if shape.len() <= INLINE {
            Dims::new(&shape)
        } else {
            Dims::Heap(shape)
        }
    }
}

impl FromIterator<usize> for Dims {
    fn from_iter<I: IntoIterator<Item = usize>>(iter: I) -> Dims {
        let mut iter = iter.into_iter();
        let mut dims = [0; INLINE];
        let mut len = 0;
        for d in iter.by_ref() {
            if len == INLINE {
                let mut v = dims.to_vec();
                v.push(d);
                v.extend(iter);
                return Dims::Heap(v);
            }
            dims[len] = d;
            len += 1;
        }
        Dims::Inline {
            len: len as u8,
            dims,
        }
    }
}

impl Deref for Dims {
    type Target = [usize];
    fn deref(&self) -> &[usize] {
        match self {
            Dims::Inline { len, dims } => &dims[..*len as usize],
            Dims::Heap(v) => v,
        }
    }
}

impl DerefMut for Dims {
    fn deref_mut(&mut self) -> &mut [usize] {
        match self {
            Dims::Inline { len, dims } => &mut dims[..*len as usize],
            Dims::Heap(v) => v,
        }
    }
}

impl PartialEq for Dims {
    fn eq(&self, other: &Dims) -> bool {
        **self == **other
    }
}

impl fmt::Debug for Dims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::Dims;

    #[test]
    fn short_and_long_shapes_read_back_the_same() {
        let shapes: [&[usize]; 4] = [&[], &[3], &[2, 3, 4, 5], &[1, 2, 3, 4, 5, 6]];
        for s in shapes {
            assert_eq!(&*Dims::new(s), s);
            assert_eq!(&*Dims::from(s.to_vec()), s);
            assert_eq!(&*s.iter().copied().collect::<Dims>(), s);
            assert_eq!(format!("{:?}", Dims::new(s)), format!("{s:?}"));
        }
        assert!(matches!(Dims::new(&[1, 2, 3, 4]), Dims::Inline { .. }));
        assert!(matches!(Dims::new(&[1, 2, 3, 4, 5]), Dims::Heap(_)));
        // Equal by value, however held.
        assert_eq!(Dims::Heap(vec![2, 3]), Dims::new(&[2, 3]));
        assert_ne!(Dims::new(&[2, 3]), Dims::new(&[2, 3, 1]));
        let mut d = Dims::new(&[2, 3]);
        d.swap(0, 1);
        assert_eq!(&*d, &[3, 2]);
    }
}
