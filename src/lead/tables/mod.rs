//! Static lookup tables built ahead of time from the reference data in
//! `src/lead/data/` (see `SOURCES.md` there).
//!
//! Every table is a read-only open-addressing hash table laid out by the
//! generator (`generate.rs`, a test): no table is built at run time, so a
//! `Normalizer` or `Geo` costs nothing to create or clone, and a lookup is one
//! FNV-1a hash of the key plus, on average, fewer than two key comparisons.
//! Keys are stored once, in sorted order, each followed by `\n`.

#[rustfmt::skip]
#[allow(clippy::unreadable_literal)]
mod generated;
#[cfg(test)]
mod generate;

pub(crate) use generated::*;

/// A generated hash table from string keys to `V` (`()` for a set).
#[derive(Debug)]
pub(crate) struct Table<V: 'static> {
    /// Every key followed by `\n`, in sorted order.
    keys: &'static str,
    /// The byte offset in `keys` where key `i` starts.
    starts: &'static [u32],
    /// The value of key `i` (empty for a set).
    values: &'static [V],
    /// A power-of-two number of slots: 0 is empty, else the key's index + 1.
    /// A key is in the first empty-or-matching slot from `hash & (len - 1)`.
    slots: &'static [u16],
}

/// A sorted list of short ASCII strings, each padded with spaces to `width`
/// bytes in one string (no pointer per item to relocate).
#[derive(Debug)]
pub(crate) struct FixedList {
    width: usize,
    items: &'static str,
}

impl FixedList {
    /// Item number `index`.
    pub(crate) fn get(&self, index: usize) -> Option<&'static str> {
        let start = index.checked_mul(self.width)?;
        self.items
            .get(start..start.checked_add(self.width)?)
            .map(str::trim_end)
    }

    /// The number of items.
    pub(crate) fn len(&self) -> usize {
        self.items.len().checked_div(self.width).unwrap_or(0)
    }

    /// Whether `item` is in the list (binary search).
    pub(crate) fn contains(&self, item: &str) -> bool {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.get(mid).map(|m| m.cmp(item)) {
                Some(std::cmp::Ordering::Less) => lo = mid + 1,
                Some(std::cmp::Ordering::Greater) => hi = mid,
                Some(std::cmp::Ordering::Equal) => return true,
                None => return false,
            }
        }
        false
    }
}

/// FNV-1a, 32 bits: short keys, no seed (the tables are fixed).
pub(crate) fn hash(key: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for &b in key {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

impl<V: Copy> Table<V> {
    /// The index of `key`, if it is in the table.
    fn find(&self, key: &str) -> Option<usize> {
        let len = self.slots.len();
        if len == 0 {
            return None;
        }
        let mask = len - 1;
        let mut at = hash(key.as_bytes()) as usize & mask;
        // At most `len` probes: the generator leaves a third of the slots empty.
        for _ in 0..len {
            let slot = usize::from(*self.slots.get(at)?);
            if slot == 0 {
                return None;
            }
            let index = slot - 1;
            if self.key(index) == Some(key) {
                return Some(index);
            }
            at = (at + 1) & mask;
        }
        None
    }

    /// Key number `index` (in sorted order).
    pub(crate) fn key(&self, index: usize) -> Option<&'static str> {
        let start = *self.starts.get(index)? as usize;
        // The key ends where the next one starts, less its `\n` (the last
        // ends with the text): no search for the separator, which was most
        // of the cost of a lookup.
        let end = match self.starts.get(index + 1) {
            Some(&next) => (next as usize).checked_sub(1)?,
            None => self.keys.len().checked_sub(1)?,
        };
        self.keys.get(start..end)
    }

    /// The value stored for `key`.
    pub(crate) fn get(&self, key: &str) -> Option<V> {
        self.find(key).and_then(|i| self.values.get(i).copied())
    }

    /// Whether `key` is in the table.
    pub(crate) fn contains(&self, key: &str) -> bool {
        self.find(key).is_some()
    }

    /// The number of keys.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.starts.len()
    }

    /// Every key, in sorted order.
    #[cfg(test)]
    pub(crate) fn keys(&self) -> impl Iterator<Item = &'static str> {
        self.keys.split_terminator('\n')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_found_with_its_value() {
        for (i, key) in COUNTRY_NAMES.keys().enumerate() {
            assert_eq!(COUNTRY_NAMES.find(key), Some(i), "{key}");
        }
        assert_eq!(COUNTRY_NAMES.len(), COUNTRY_NAMES.keys().count());
        for key in DISPOSABLE_DOMAINS.keys() {
            assert!(DISPOSABLE_DOMAINS.contains(key), "{key}");
        }
        for key in FREE_DOMAINS.keys() {
            assert!(FREE_DOMAINS.contains(key), "{key}");
        }
        for key in REGION_NAMES.keys() {
            assert!(REGION_NAMES.get(key).is_some(), "{key}");
        }
        for key in LEGAL_FORMS.keys() {
            assert!(LEGAL_FORMS.get(key).is_some(), "{key}");
        }
    }

    #[test]
    fn fixed_lists_are_sorted_and_searchable() {
        for list in [&REGION_CODES, &REGION_COUNTRIES] {
            let items: Vec<&str> = (0..list.len()).filter_map(|i| list.get(i)).collect();
            assert_eq!(items.len(), list.len());
            assert!(items.windows(2).all(|w| w[0] < w[1]), "sorted and unique");
            for item in &items {
                assert!(list.contains(item), "{item}");
            }
            assert!(!list.contains("") && !list.contains("ZZ-ZZZ") && !list.contains("AAAA"));
        }
        assert_eq!(REGION_CODES.get(REGION_CODES.len()), None);
    }

    #[test]
    fn missing_keys_are_not_found() {
        for key in [
            "",
            "\n",
            "atlantis",
            "germany\n",
            "x",
            "gmail.com\nyahoo.com",
        ] {
            assert_eq!(COUNTRY_NAMES.get(key), None, "{key:?}");
            assert!(!FREE_DOMAINS.contains(key), "{key:?}");
        }
    }
}
