//! [`PerLane`]: one value for each lane, indexed by [`Lane`] rather than by a bare position.

use std::ops::{Index, IndexMut};

use super::Lane;

/// One `T` per lane, kept in [`Lane::ALL`] order (high, normal, low).
///
/// Indexing by [`Lane`] instead of by `0..3` means a fourth lane is one change in [`Lane`], and a
/// lane's value can never be read from another lane's slot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct PerLane<T>([T; 3]);

impl<T> PerLane<T> {
    /// Each lane's value from `f(lane)`.
    pub fn from_fn(f: impl FnMut(Lane) -> T) -> Self {
        PerLane(Lane::ALL.map(f))
    }

    /// The same value in every lane.
    pub fn splat(value: T) -> Self
    where
        T: Clone,
    {
        PerLane::from_fn(|_| value.clone())
    }

    /// Each lane's value through `f`.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> PerLane<U> {
        PerLane(self.0.map(f))
    }

    /// Borrows each lane's value.
    pub fn each_ref(&self) -> PerLane<&T> {
        PerLane(self.0.each_ref())
    }

    /// `(lane, &value)` in [`Lane::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (Lane, &T)> {
        Lane::ALL.into_iter().zip(&self.0)
    }

    /// `(lane, &mut value)` in [`Lane::ALL`] order.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (Lane, &mut T)> {
        Lane::ALL.into_iter().zip(&mut self.0)
    }

    /// The values in [`Lane::ALL`] order.
    pub fn values(&self) -> impl Iterator<Item = &T> {
        self.0.iter()
    }

    /// The values as an array in [`Lane::ALL`] order, e.g. to destructure
    /// `let [high, normal, low] = depths.into_array();`.
    pub fn into_array(self) -> [T; 3] {
        self.0
    }
}

/// From values in [`Lane::ALL`] order (high, normal, low).
impl<T> From<[T; 3]> for PerLane<T> {
    fn from(values: [T; 3]) -> Self {
        PerLane(values)
    }
}

impl<T> Index<Lane> for PerLane<T> {
    type Output = T;
    fn index(&self, lane: Lane) -> &T {
        &self.0[lane.index()]
    }
}

impl<T> IndexMut<Lane> for PerLane<T> {
    fn index_mut(&mut self, lane: Lane) -> &mut T {
        &mut self.0[lane.index()]
    }
}

/// `(lane, value)` in [`Lane::ALL`] order.
impl<T> IntoIterator for PerLane<T> {
    type Item = (Lane, T);
    type IntoIter = std::iter::Zip<std::array::IntoIter<Lane, 3>, std::array::IntoIter<T, 3>>;
    fn into_iter(self) -> Self::IntoIter {
        Lane::ALL.into_iter().zip(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lanes_value_is_found_under_that_lane() {
        let mut names = PerLane::from_fn(Lane::as_str);
        assert_eq!(names[Lane::Normal], "normal");
        names[Lane::Low] = "bulk";
        let pairs: Vec<(Lane, &str)> = names.into_iter().collect();
        assert_eq!(
            pairs,
            [
                (Lane::High, "high"),
                (Lane::Normal, "normal"),
                (Lane::Low, "bulk")
            ]
        );
    }

    #[test]
    fn map_and_iteration_keep_the_lane_order() {
        let lengths = PerLane::from(["a", "bb", "ccc"]).map(str::len);
        assert_eq!(lengths, PerLane::from([1, 2, 3]));
        assert_eq!(lengths.values().sum::<usize>(), 6);
        for (lane, len) in lengths.iter() {
            assert_eq!(*len, lane.index() + 1);
        }
        assert_eq!(PerLane::splat(7).into_array(), [7, 7, 7]);
    }
}
