//! Structs that read only from maps (JSON objects, TOML tables), never from sequences.
//!
//! serde's derived `Deserialize` for a struct accepts a sequence of its fields in order as
//! well as a map, and with `#[serde(default)]` on the struct an empty sequence is a valid
//! value: `[]` reads as the default config. For a config that an API replaces whole, that
//! turns a stray `[]` into "reset everything". [`MapOnly`] wraps a deserializer so that a
//! derived struct sees only maps; [`maps_only!`](crate::maps_only) writes the impls.
//!
//! ```
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
//! #[serde(remote = "Self", default)]
//! struct Limits {
//!     max: u32,
//! }
//! perfkit_core::maps_only!(Limits);
//!
//! assert_eq!(serde_json::from_str::<Limits>(r#"{"max": 3}"#).unwrap(), Limits { max: 3 });
//! assert_eq!(serde_json::from_str::<Limits>("{}").unwrap(), Limits::default());
//! let error = serde_json::from_str::<Limits>("[]").unwrap_err().to_string();
//! assert!(error.contains("invalid type: sequence"), "{error}");
//! assert_eq!(serde_json::to_string(&Limits { max: 3 }).unwrap(), r#"{"max":3}"#);
//! ```

use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::{Deserializer, forward_to_deserialize_any};

/// A deserializer that hands its visitor maps only: whatever is asked of it, it reads a map
/// from the wrapped deserializer, and anything else there is an "invalid type" error.
///
/// Give it to a struct's derived `Deserialize` (see [`maps_only!`](crate::maps_only)); it is
/// not meant for other types.
#[derive(Debug)]
pub struct MapOnly<D>(pub D);

impl<'de, D: Deserializer<'de>> Deserializer<'de> for MapOnly<D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_map(MapVisitor(visitor))
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_map(MapVisitor(visitor))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_struct(name, fields, MapVisitor(visitor))
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct enum identifier
        ignored_any
    }
}

/// Passes maps to the struct's own visitor; every other input falls to `Visitor`'s defaults,
/// which refuse it as an invalid type.
struct MapVisitor<V>(V);

impl<'de, V: Visitor<'de>> Visitor<'de> for MapVisitor<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.expecting(f)?;
        f.write_str(" written as a map of field names to values")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.0.visit_map(map)
    }
}

/// Gives each named struct `Serialize` and `Deserialize` impls that read only from maps.
///
/// The struct derives `Serialize` and `Deserialize` with `#[serde(remote = "Self")]`, which
/// makes the derived code inherent functions; this macro then writes the trait impls around
/// them, handing the derived `deserialize` a [`MapOnly`]. `maps_only!(deserialize: T)` is the
/// same for a struct that derives only `Deserialize`.
///
/// `T::deserialize(d)` names the derived inherent function, which reads sequences too: call
/// the trait's (`<T as Deserialize>::deserialize(d)`, `serde_json::from_str`, ...) instead.
#[macro_export]
macro_rules! maps_only {
    (deserialize: $($name:ty),+ $(,)?) => {
        $(
            impl<'de> $crate::__serde::Deserialize<'de> for $name {
                fn deserialize<D: $crate::__serde::Deserializer<'de>>(
                    deserializer: D,
                ) -> ::core::result::Result<Self, D::Error> {
                    <$name>::deserialize($crate::map_only::MapOnly(deserializer))
                }
            }
        )+
    };
    ($($name:ty),+ $(,)?) => {
        $crate::maps_only!(deserialize: $($name),+);
        $(
            impl $crate::__serde::Serialize for $name {
                fn serialize<S: $crate::__serde::Serializer>(
                    &self,
                    serializer: S,
                ) -> ::core::result::Result<S::Ok, S::Error> {
                    <$name>::serialize(self, serializer)
                }
            }
        )+
    };
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(remote = "Self", rename_all = "camelCase", default, deny_unknown_fields)]
    struct Settings {
        dry_run: bool,
        limit: u32,
        inner: Inner,
    }

    impl Default for Settings {
        fn default() -> Self {
            Settings { dry_run: false, limit: 7, inner: Inner { on: true } }
        }
    }

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(remote = "Self")]
    struct Inner {
        on: bool,
    }

    impl Serialize for Inner {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeStruct;
            let mut state = serializer.serialize_struct("Inner", 1)?;
            state.serialize_field("on", &self.on)?;
            state.end()
        }
    }

    crate::maps_only!(Settings);
    crate::maps_only!(deserialize: Inner);

    fn refusal(json: &str) -> String {
        serde_json::from_str::<Settings>(json).unwrap_err().to_string()
    }

    #[test]
    fn reads_objects_as_before() {
        let read: Settings =
            serde_json::from_str(r#"{"dryRun": true, "inner": {"on": false}}"#).unwrap();
        assert_eq!(read, Settings { dry_run: true, limit: 7, inner: Inner { on: false } });
        assert_eq!(serde_json::from_str::<Settings>("{}").unwrap(), Settings::default());
        assert!(refusal(r#"{"dryrun": true}"#).contains("unknown field `dryrun`"));
    }

    #[test]
    fn refuses_sequences_where_derive_alone_would_read_defaults() {
        let empty = refusal("[]");
        assert!(empty.contains("invalid type: sequence"), "{empty}");
        assert!(empty.contains("written as a map of field names to values"), "{empty}");
        assert!(refusal("[true, 3, {\"on\": true}]").contains("invalid type: sequence"));
        assert!(refusal(r#"{"inner": [false]}"#).contains("invalid type: sequence"));
        assert!(refusal("3").contains("invalid type: integer"));
        assert!(refusal("null").contains("invalid type: null"));
    }

    #[test]
    fn writes_as_derived() {
        let json = serde_json::to_string(&Settings::default()).unwrap();
        assert_eq!(json, r#"{"dryRun":false,"limit":7,"inner":{"on":true}}"#);
    }

    #[test]
    fn toml_arrays_are_refused_too() {
        #[derive(Debug, Deserialize)]
        struct File {
            #[allow(dead_code)]
            settings: Settings,
        }
        let error = toml::from_str::<File>("settings = []").unwrap_err().to_string();
        assert!(error.contains("invalid type: sequence"), "{error}");
        let ok: File = toml::from_str("[settings]\nlimit = 2").unwrap();
        assert_eq!(ok.settings.limit, 2);
    }
}
