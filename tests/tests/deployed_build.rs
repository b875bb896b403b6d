//! What `sam build` builds: it runs `cargo lambda build --bin <function>`
//! from the workspace root, which resolves features over the workspace's
//! default members. Those must be the five functions alone; with the whole
//! workspace, the CLI's and the tests' SQLite was linked into every
//! deployed bootstrap (13.6 MB instead of 8).

use std::process::{Command, Output};

use integration_tests::repo_path;

fn rusqlite_in_tree(selection: &[&str]) -> Output {
    Command::new(env!("CARGO"))
        .args(["tree", "--locked", "--offline", "-e", "normal", "-i", "rusqlite", "--depth", "0"])
        .args(selection)
        .current_dir(repo_path(""))
        .output()
        .expect("cargo tree runs")
}

#[test]
fn the_default_members_resolve_without_sqlite() {
    let deployed = rusqlite_in_tree(&[]);
    let said = String::from_utf8_lossy(&deployed.stderr);
    assert!(
        said.contains("`rusqlite` did not match any packages"),
        "rusqlite in the deployed build:\n{}{said}",
        String::from_utf8_lossy(&deployed.stdout)
    );
    // The workspace as a whole does have it: the question is a real one.
    let whole = rusqlite_in_tree(&["--workspace"]);
    assert!(
        String::from_utf8_lossy(&whole.stdout).starts_with("rusqlite v"),
        "{}",
        String::from_utf8_lossy(&whole.stderr)
    );
}
