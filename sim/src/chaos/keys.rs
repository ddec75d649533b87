//! Which keys the clients use. The linearizability search takes at most
//! [`crate::check::MAX_OPS_PER_KEY`] operations per key, so each key retires after a budget of
//! operations and a fresh key takes its place.

use std::cell::RefCell;
use std::rc::Rc;

/// Operations one key receives before it retires (below the search's limit).
const OPS_PER_KEY: usize = 40;

/// The live keys and how many operations each has had.
#[derive(Clone)]
pub struct KeyPool {
    inner: Rc<RefCell<Pool>>,
}

struct Pool {
    live: Vec<(String, usize)>,
    next: usize,
}

impl KeyPool {
    /// `width` keys live at a time.
    pub fn new(width: usize) -> KeyPool {
        let live = (0..width).map(|i| (format!("k{i}"), 0)).collect();
        KeyPool {
            inner: Rc::new(RefCell::new(Pool { live, next: width })),
        }
    }

    /// The key in slot `slot` (modulo the width), counted as used once.
    pub fn take(&self, slot: usize) -> String {
        let mut pool = self.inner.borrow_mut();
        let width = pool.live.len();
        let next = pool.next;
        let entry = &mut pool.live[slot % width];
        if entry.1 >= OPS_PER_KEY {
            *entry = (format!("k{next}"), 0);
            pool.next += 1;
        }
        let entry = &mut pool.live[slot % width];
        entry.1 += 1;
        entry.0.clone()
    }
}
