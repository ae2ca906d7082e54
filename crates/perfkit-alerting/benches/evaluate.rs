//! Placeholder until the evaluate benchmark lands.
fn main() {}
