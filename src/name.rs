//! [`Name`]: identifiers in decisions (owner, rule, pool, policy), cheap to
//! copy into every decision.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An identifier such as an owner, rule or pool id.
///
/// Ids up to 23 bytes are stored inline, so putting one into a decision is a
/// plain copy (no allocation, no reference count); longer ids are shared.
/// Dereferences to `&str` (without re-checking it: the text was checked
/// once, when the name was made), compares with strings, serializes as a
/// string.
///
/// ```
/// use leadroute::decision::Name;
/// let n = Name::from("us-enterprise");
/// assert_eq!(n, "us-enterprise");
/// assert_eq!(n.len(), 13);
/// assert_eq!(serde_json::to_string(&n).unwrap(), "\"us-enterprise\"");
/// ```
// `smol_str` is the representation: 24 bytes, inline up to 23, an
// `Arc<str>` beyond, and a `&str` view that does not re-validate UTF-8 (the
// core forbids the unsafe code that needs).
#[derive(Clone)]
pub struct Name(smol_str::SmolStr);

impl Name {
    /// The id as `&str`.
    #[inline]
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl From<&str> for Name {
    fn from(s: &str) -> Self {
        Name(smol_str::SmolStr::new(s))
    }
}

impl From<String> for Name {
    fn from(s: String) -> Self {
        Name::from(s.as_str())
    }
}

impl Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for Name {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}
impl Eq for Name {}

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}
impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl Hash for Name {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl Serialize for Name {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Ok(Name::from(&*s))
    }
}

/// A fast hasher (FxHash) for the compiled policy's lookup tables. Their keys
/// come from the policy, not from requests, so flooding resistance is not
/// needed there, and evaluation does several lookups per lead.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            if let Some(dst) = word.get_mut(..chunk.len()) {
                dst.copy_from_slice(chunk);
            }
            self.add(u64::from_le_bytes(word));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

/// `HashMap` with [`FxHasher`].
pub(crate) type FxMap<K, V> =
    std::collections::HashMap<K, V, std::hash::BuildHasherDefault<FxHasher>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_names_behave_alike() {
        let short = Name::from("ana");
        let long = Name::from("a-very-long-rule-identifier-beyond-inline");
        assert!(!short.0.is_heap_allocated());
        assert!(long.0.is_heap_allocated());
        // Cloning a long name shares it.
        assert_eq!(long.clone().as_ptr(), long.as_ptr());
        for (n, s) in [
            (&short, "ana"),
            (&long, "a-very-long-rule-identifier-beyond-inline"),
        ] {
            assert_eq!(n.as_str(), s);
            assert_eq!(*n, s);
            let json = serde_json::to_string(n).unwrap();
            assert_eq!(serde_json::from_str::<Name>(&json).unwrap(), *n);
        }
        let exactly = "x".repeat(23);
        assert!(!Name::from(exactly.as_str()).0.is_heap_allocated());
        assert_eq!(Name::from(exactly.as_str()).as_str(), exactly);
        assert_eq!(Name::from("é".repeat(11)).as_str(), "é".repeat(11));
    }

    #[test]
    fn fx_maps_find_what_they_hold() {
        let mut m: FxMap<Box<str>, u32> = FxMap::default();
        for i in 0..1000 {
            m.insert(format!("key-{i}").into_boxed_str(), i);
        }
        assert!((0..1000).all(|i| m.get(format!("key-{i}").as_str()) == Some(&i)));
    }
}
