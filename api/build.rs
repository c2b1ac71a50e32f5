//! Rebuilds when a migration changes: `embed_migrations!` reads the SQL at compile time, and
//! cargo does not otherwise know that the crate depends on those files.

fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
