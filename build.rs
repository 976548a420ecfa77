// Records the versions of the crates that produce ppdl's numbers, from Cargo.lock, so every run folder
// can say exactly what computed it.
fn main() {
    println!("cargo:rerun-if-changed=Cargo.lock");
    let wanted = ["dfdx", "gemm", "rand", "rand_chacha", "ratatui", "plotters", "indicatif", "safetensors"];
    let lock = std::fs::read_to_string("Cargo.lock").unwrap_or_default();
    let mut found = Vec::new();
    let mut name: Option<String> = None;
    for line in lock.lines() {
        if let Some(n) = line.strip_prefix("name = ") {
            name = Some(n.trim_matches('"').to_string());
        } else if let Some(v) = line.strip_prefix("version = ") {
            if let Some(n) = name.take() {
                if wanted.contains(&n.as_str()) && !found.iter().any(|(k, _): &(String, String)| *k == n) {
                    found.push((n, v.trim_matches('"').to_string()));
                }
            }
        }
    }
    let rustc = std::process::Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.split_whitespace().nth(1).unwrap_or("unknown").to_string())
        .unwrap_or_else(|| "unknown".into());
    found.push(("rustc".into(), rustc));
    let joined: Vec<String> = found.iter().map(|(k, v)| format!("{k}={v}")).collect();
    println!("cargo:rustc-env=PPDL_CRATE_VERSIONS={}", joined.join(","));
}
