//! The snapshot byte format: every `Space::Data` pair, in key order.
//!
//! `MAGIC (8) | count (u64 BE) | { key_len (u64 BE) | key | value_len (u64 BE) | value }*`.
//! Decoding checks every length against the remaining bytes and rejects trailing bytes.

use std::io;

use crate::engine::Pair;

const MAGIC: &[u8; 8] = b"CFRSNAP1";

/// Encode `pairs` (already in key order).
pub fn encode(pairs: &[Pair]) -> Vec<u8> {
    let size: usize = pairs.iter().map(|(k, v)| 16 + k.len() + v.len()).sum();
    let mut out = Vec::with_capacity(MAGIC.len() + 8 + size);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(pairs.len() as u64).to_be_bytes());
    for (key, value) in pairs {
        out.extend_from_slice(&(key.len() as u64).to_be_bytes());
        out.extend_from_slice(key);
        out.extend_from_slice(&(value.len() as u64).to_be_bytes());
        out.extend_from_slice(value);
    }
    out
}

/// Decode bytes made by [`encode`].
pub fn decode(bytes: &[u8]) -> io::Result<Vec<Pair>> {
    let mut reader = Reader { rest: bytes };
    if reader.take(MAGIC.len())? != MAGIC {
        return Err(invalid("not a Coffer snapshot"));
    }
    let count = reader.u64()?;
    let mut pairs = Vec::new();
    for _ in 0..count {
        let key = reader.chunk()?;
        let value = reader.chunk()?;
        pairs.push((key, value));
    }
    if !reader.rest.is_empty() {
        return Err(invalid("trailing bytes after the last pair"));
    }
    Ok(pairs)
}

fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("snapshot: {msg}"))
}

struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> io::Result<&'a [u8]> {
        if n > self.rest.len() {
            return Err(invalid("truncated"));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn u64(&mut self) -> io::Result<u64> {
        let bytes = self.take(8)?;
        let array: [u8; 8] = bytes.try_into().map_err(|_| invalid("truncated"))?;
        Ok(u64::from_be_bytes(array))
    }

    fn chunk(&mut self) -> io::Result<Vec<u8>> {
        let len = usize::try_from(self.u64()?).map_err(|_| invalid("length overflows"))?;
        Ok(self.take(len)?.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejects_damage() {
        let pairs = vec![
            (b"a".to_vec(), b"1".to_vec()),
            (b"b/c".to_vec(), Vec::new()),
        ];
        let bytes = encode(&pairs);
        assert_eq!(decode(&bytes).unwrap(), pairs);
        assert_eq!(decode(&encode(&[])).unwrap(), Vec::<Pair>::new());
        assert!(decode(&bytes[..bytes.len() - 1]).is_err(), "truncated");
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode(&longer).is_err(), "trailing");
        assert!(decode(b"NOTSNAP!\0\0\0\0\0\0\0\0").is_err(), "magic");
        let mut huge = MAGIC.to_vec();
        huge.extend_from_slice(&1u64.to_be_bytes());
        huge.extend_from_slice(&u64::MAX.to_be_bytes());
        assert!(decode(&huge).is_err(), "absurd length");
    }
}
