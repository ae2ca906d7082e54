//! The config sections' parsers on any text: `[service]` (perfkit::ServiceConfig) and
//! `[optimizer]` (OptimizerConfig) from TOML as the config file holds them, and the optimizer
//! config from JSON as `PUT /optimization/config` sends it. Each is a value or an error, never
//! a panic, and validating whatever parsed never panics either. (The server's own file layer
//! is a binary's code: its property test mutates whole files.)
#![no_main]

use libfuzzer_sys::fuzz_target;
use perfkit::ServiceConfig;
use perfkit::optimizer::OptimizerConfig;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(service) = toml::from_str::<ServiceConfig>(text) {
        let _ = service.validate();
    }
    if let Ok(optimizer) = toml::from_str::<OptimizerConfig>(text) {
        let _ = optimizer.validate();
    }
    if let Ok(optimizer) = serde_json::from_str::<OptimizerConfig>(text) {
        if optimizer.validate().is_ok() {
            let written = serde_json::to_string(&optimizer).expect("a valid config serializes");
            let read: OptimizerConfig = serde_json::from_str(&written).expect("and reads back");
            assert_eq!(read, optimizer);
        }
    }
});
