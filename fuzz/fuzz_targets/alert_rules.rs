//! The alert rule parsers on any text, JSON (the API's `PUT /alerts/rules`) and TOML (the
//! config file's `[alerts]`): a valid rule set or an error, never a panic; an accepted set
//! validates and reads back the same after writing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use perfkit_alerting::RuleSet;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for parsed in [RuleSet::from_json(text), RuleSet::from_toml(text)] {
        let Ok(set) = parsed else { continue };
        assert!(set.validate().is_ok());
        if let Ok(json) = set.to_json() {
            assert_eq!(RuleSet::from_json(&json).ok().as_ref(), Some(&set), "json round trip");
        }
    }
});
