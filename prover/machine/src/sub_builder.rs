//! Running an AIR written for a whole row on a range of columns of a wider row, so that an
//! existing AIR (Plonky3's Poseidon2) can sit inside a table that adds its own columns and bus
//! interactions around it.

use core::ops::Range;

use p3_air::{AirBuilder, WindowAccess};

/// A window that shows only `range` of another window's columns.
#[derive(Clone, Debug)]
pub struct SubWindow<W> {
    inner: W,
    range: Range<usize>,
}

impl<T, W: WindowAccess<T>> WindowAccess<T> for SubWindow<W> {
    fn current_slice(&self) -> &[T] {
        &self.inner.current_slice()[self.range.clone()]
    }

    fn next_slice(&self) -> &[T] {
        &self.inner.next_slice()[self.range.clone()]
    }
}

/// A builder whose main trace is `range` of `inner`'s; everything else is `inner`'s.
pub struct SubBuilder<'a, AB> {
    inner: &'a mut AB,
    range: Range<usize>,
}

impl<'a, AB: AirBuilder> SubBuilder<'a, AB> {
    pub fn new(inner: &'a mut AB, range: Range<usize>) -> Self {
        Self { inner, range }
    }
}

impl<AB: AirBuilder> AirBuilder for SubBuilder<'_, AB> {
    type F = AB::F;
    type Expr = AB::Expr;
    type Var = AB::Var;
    type PreprocessedWindow = AB::PreprocessedWindow;
    type MainWindow = SubWindow<AB::MainWindow>;
    type PublicVar = AB::PublicVar;
    type PeriodicVar = AB::PeriodicVar;

    fn main(&self) -> Self::MainWindow {
        SubWindow {
            inner: self.inner.main(),
            range: self.range.clone(),
        }
    }

    fn preprocessed(&self) -> &Self::PreprocessedWindow {
        self.inner.preprocessed()
    }

    fn is_first_row(&self) -> Self::Expr {
        self.inner.is_first_row()
    }

    fn is_last_row(&self) -> Self::Expr {
        self.inner.is_last_row()
    }

    fn is_transition(&self) -> Self::Expr {
        self.inner.is_transition()
    }

    fn assert_zero<I: Into<Self::Expr>>(&mut self, x: I) {
        self.inner.assert_zero(x);
    }

    fn public_values(&self) -> &[Self::PublicVar] {
        self.inner.public_values()
    }

    fn periodic_values(&self) -> &[Self::PeriodicVar] {
        self.inner.periodic_values()
    }
}
