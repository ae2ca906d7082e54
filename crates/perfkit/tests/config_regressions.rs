//! Every crash input `cargo xtask fuzz` kept for the `config_toml` target (in
//! `fuzz/regressions/config_toml/`) parses and validates without a panic now.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use perfkit::ServiceConfig;
use perfkit::optimizer::OptimizerConfig;

#[test]
fn fuzz_regressions_replay() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/regressions/config_toml");
    let mut replayed = 0;
    for entry in std::fs::read_dir(dir).into_iter().flatten() {
        let input = std::fs::read(entry.unwrap().path()).unwrap();
        let text = String::from_utf8_lossy(&input);
        if let Ok(service) = toml::from_str::<ServiceConfig>(&text) {
            let _ = service.validate();
        }
        for optimizer in [
            toml::from_str::<OptimizerConfig>(&text).ok(),
            serde_json::from_str::<OptimizerConfig>(&text).ok(),
        ]
        .into_iter()
        .flatten()
        {
            let _ = optimizer.validate();
        }
        replayed += 1;
    }
    // The corpus entries are valid inputs: they must parse, so this test notices a broken parser.
    let seeds =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/config_toml");
    let service = std::fs::read_to_string(seeds.join("service.toml")).unwrap();
    toml::from_str::<ServiceConfig>(&service).unwrap().validate().unwrap();
    let optimizer = std::fs::read_to_string(seeds.join("optimizer.json")).unwrap();
    serde_json::from_str::<OptimizerConfig>(&optimizer).unwrap().validate().unwrap();
    println!("replayed {replayed} kept crash inputs");
}
