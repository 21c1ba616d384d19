//! `sqlx::migrate!` embeds each migration with `include_str!`, so edits are seen, but a *new*
//! file in `migrations/` would not be until something else rebuilt this crate.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
