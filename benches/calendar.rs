//! Placeholder; the next-elapse benchmark follows in its own commit.
fn main() {}
