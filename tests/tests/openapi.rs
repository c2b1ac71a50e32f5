//! The committed `openapi.yaml` is exactly what the code generates.

#[test]
fn openapi_yaml_matches_the_code() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi.yaml");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    let generated = cloudcx_auth::openapi::yaml().expect("spec");
    assert!(committed == generated, "openapi.yaml is stale: run `make openapi` and commit the result");
}

#[test]
fn every_operation_documents_its_errors_as_problem_json() {
    let spec = serde_json::to_value(cloudcx_auth::openapi::spec()).unwrap();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            assert!(!responses.is_empty(), "{method} {path}");
            // The SSO callback answers every outcome with a redirect, never an error.
            let redirects_only = responses.keys().all(|s| s.starts_with('3'));
            if path.starts_with("/api/") && !redirects_only {
                let errors: Vec<_> = responses.keys().filter(|s| s.starts_with('4') || s.starts_with('5')).collect();
                assert!(!errors.is_empty(), "{method} {path} documents no error");
                for code in errors {
                    assert!(
                        responses[code]["content"].get("application/problem+json").is_some(),
                        "{method} {path} {code} is not problem+json"
                    );
                }
            }
            if path.starts_with("/api/v1/me") || path.starts_with("/api/v1/admin") {
                assert!(op.get("security").is_some(), "{method} {path} has no bearer security");
            }
        }
    }
}
