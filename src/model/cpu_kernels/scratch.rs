//! Recycled `f32` buffers for the CPU kernels' per-step temporaries (patch matrices, copies of
//! inputs, outputs before they are copied into a tensor). A fresh `vec![0.0; n]` of a few megabytes
//! costs a full memset per step (about 5% of a small CNN's training step); these buffers are
//! overwritten completely by their users, so reusing old contents is safe and skips that.

use std::sync::Mutex;

/// At most this many floats (256 MiB) are kept for reuse; beyond it the smallest buffers are freed.
const KEPT_FLOATS: usize = 64 << 20;

static FREE: Mutex<Vec<Vec<f32>>> = Mutex::new(Vec::new());

/// A buffer of `len` floats with arbitrary (initialised) contents, returned to the pool on drop.
pub(crate) struct Scratch {
    buf: Vec<f32>,
    len: usize,
}

impl Scratch {
    /// A buffer of `len` elements: the smallest free one that is large enough, else a new one.
    pub fn take(len: usize) -> Self {
        if len == 0 {
            return Scratch { buf: Vec::new(), len };
        }
        let reused = {
            let mut free = FREE.lock().unwrap_or_else(|e| e.into_inner());
            let best = free.iter().enumerate().filter(|(_, v)| v.len() >= len).min_by_key(|(_, v)| v.len());
            best.map(|(i, _)| i).map(|i| free.swap_remove(i))
        };
        Scratch { buf: reused.unwrap_or_else(|| vec![0.0; len]), len }
    }
}

impl std::ops::Deref for Scratch {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        &self.buf[..self.len]
    }
}

impl std::ops::DerefMut for Scratch {
    fn deref_mut(&mut self) -> &mut [f32] {
        &mut self.buf[..self.len]
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let buf = std::mem::take(&mut self.buf);
        if buf.is_empty() {
            return;
        }
        let mut free = FREE.lock().unwrap_or_else(|e| e.into_inner());
        free.push(buf);
        // Over budget: free the smallest first (the large ones are the expensive ones to recreate).
        free.sort_unstable_by_key(|b| std::cmp::Reverse(b.len()));
        let mut kept = 0;
        free.retain(|b| {
            kept += b.len();
            kept <= KEPT_FLOATS
        });
    }
}
