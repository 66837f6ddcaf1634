//! Views of trace rows as typed column structs.

/// Implements `Borrow`/`BorrowMut` from a row slice to the `#[repr(C)]` column struct `$name`,
/// and the constant `$width` with its number of columns. `$name<T>` must be made of `T`,
/// arrays of `T` and other such column structs only, so that it has the layout of
/// `[T; $width]`.
macro_rules! impl_columns {
    ($name:ident, $width:ident) => {
        pub const $width: usize = core::mem::size_of::<$name<u8>>();

        impl<T> core::borrow::Borrow<$name<T>> for [T] {
            fn borrow(&self) -> &$name<T> {
                assert_eq!(self.len(), $width, concat!("a row of ", stringify!($name)));
                // SAFETY: `$name<T>` is `repr(C)` and made of `$width` values of `T` (see the
                // macro's contract), so it has the size and alignment of `[T; $width]`.
                unsafe { &*self.as_ptr().cast::<$name<T>>() }
            }
        }

        impl<T> core::borrow::BorrowMut<$name<T>> for [T] {
            fn borrow_mut(&mut self) -> &mut $name<T> {
                assert_eq!(self.len(), $width, concat!("a row of ", stringify!($name)));
                // SAFETY: as for `Borrow`.
                unsafe { &mut *self.as_mut_ptr().cast::<$name<T>>() }
            }
        }
    };
}

pub(crate) use impl_columns;
