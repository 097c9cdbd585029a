//! The codec's hot paths do not allocate per frame: the bridge runs them 40 times a second
//! per board under every model, and allocation noise would blur the comparison.

use esbench::protocol::command::{Command, CommandDecoder};
use esbench::protocol::frame::{encode_frame, FrameDecoder, RawFrame};
use esbench::protocol::normalise::{normalise, Orientation, TempUnits};
use esbench::protocol::poll::render_poll;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

/// Counts allocations made by the current thread only, so the test harness's own threads
/// do not disturb the count.
struct Counting;

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.with(|c| c.get())
}

#[test]
fn decoding_normalising_and_answering_polls_do_not_allocate() {
    let mut stream = Vec::new();
    for i in 0..1000 {
        let mut f = RawFrame {
            values: [
                1, 1, 0, 1, 430, 973, 17, 0, 1023, -1, 3, 17, 21, 157, 376, 8,
            ],
        };
        f.set_seq(i);
        encode_frame(&f, &mut stream);
        if i % 50 == 0 {
            stream.extend_from_slice(b"noise\xff\r\n");
        }
    }
    let mut decoder = FrameDecoder::new();
    let mut body = Vec::with_capacity(4096);
    let mut last_seq = 0;

    let before = allocations();
    for chunk in stream.chunks(7) {
        decoder.feed(chunk, |f| {
            last_seq = f.seq();
            let s = normalise(&f, Orientation::JoystickOnRight, TempUnits::Fahrenheit);
            body.clear();
            render_poll(Some(&s), None, &mut body);
        });
    }
    let after = allocations();

    assert_eq!(last_seq, 999);
    assert_eq!(decoder.stats().frames, 1000);
    assert_eq!(decoder.stats().rejected_lines, 20);
    assert_eq!(after - before, 0, "allocations while decoding 1000 frames");
    // The counter does see allocations on this thread.
    let v = std::hint::black_box(vec![0u8; 10]);
    assert!(allocations() > after && v.len() == 10);
}

#[test]
fn command_decoding_and_encoding_into_a_reused_buffer_do_not_allocate() {
    let mut out = Vec::with_capacity(64);
    let mut decoder = CommandDecoder::new();
    let mut n = 0;
    let before = allocations();
    for i in 0..1000u32 {
        out.clear();
        Command::Red((i % 256) as u8).encode(&mut out);
        Command::BoardLed(i % 2 == 0).encode(&mut out);
        Command::Start.encode(&mut out);
        decoder.feed(&out, |_| n += 1);
    }
    let after = allocations();
    assert_eq!(n, 3000);
    assert_eq!(after - before, 0);
}
