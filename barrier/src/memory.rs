//! [`MemPhysical`]: a `Physical` over a sorted in-memory map, for tests and `storage "inmem"`.

use std::collections::BTreeMap;
use std::ops::Bound;

use parking_lot::RwLock;

use crate::physical::{list_children, Physical, PhysicalError};

/// An in-memory [`Physical`]: a `BTreeMap` behind a lock. Never fails.
#[derive(Debug, Default)]
pub struct MemPhysical {
    map: RwLock<BTreeMap<String, Vec<u8>>>,
}

impl MemPhysical {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every entry, sorted by key: for tests that scan the raw stored bytes.
    pub fn dump(&self) -> Vec<(String, Vec<u8>)> {
        let map = self.map.read();
        map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }
}

#[async_trait::async_trait]
impl Physical for MemPhysical {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, PhysicalError> {
        Ok(self.map.read().get(key).cloned())
    }

    async fn put(&self, key: &str, value: Vec<u8>) -> Result<(), PhysicalError> {
        self.map.write().insert(key.to_string(), value);
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), PhysicalError> {
        self.map.write().remove(key);
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, PhysicalError> {
        let map = self.map.read();
        let from = (Bound::Included(prefix), Bound::Unbounded);
        let keys = map
            .range::<str, _>(from)
            .map(|(k, _)| k.as_str())
            .take_while(|k| k.starts_with(prefix));
        Ok(list_children(prefix, keys))
    }
}

#[cfg(test)]
mod tests {
    use super::MemPhysical;
    use crate::conformance::run_physical_suite;
    use crate::physical::Physical;

    #[tokio::test]
    async fn mem_physical_passes_conformance_suite() {
        run_physical_suite(&MemPhysical::new()).await;
    }

    #[tokio::test]
    async fn dump_is_sorted_raw_bytes() {
        let p = MemPhysical::new();
        p.put("b", vec![2]).await.unwrap();
        p.put("a", vec![1]).await.unwrap();
        assert_eq!(p.dump(), [("a".into(), vec![1]), ("b".into(), vec![2])]);
    }
}
