//! The report's fixtures stand for a real run, so they name the models a real default run
//! measures: the registry's, in its order. (`report/` may not import the registry, so the
//! fixture keeps the names as a list and this test holds the list equal to the registry.)

use esbench::metrics::fixture::{fabricate_results, FIXTURE_MODELS};
use esbench::models;

#[test]
fn fixture_models_are_the_registrys_default_run() {
    let registry: Vec<&str> = models::default_run().iter().map(|m| m.name).collect();
    // A build without the async-std feature has one model fewer; the fixture still has it.
    let fixture: Vec<&str> = FIXTURE_MODELS
        .iter()
        .copied()
        .filter(|m| cfg!(feature = "async-std-model") || *m != "async-std")
        .collect();
    assert_eq!(fixture, registry);
    let fabricated: Vec<String> = fabricate_results(1)
        .models
        .into_iter()
        .map(|m| m.name)
        .collect();
    assert_eq!(fabricated, FIXTURE_MODELS);
}
