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

/// The route table (`routes::API_ROUTES`, from which `routes::configure` registers every API
/// route) and the OpenAPI document name the same operations: a route added without its
/// `#[utoipa::path]` in `openapi.rs`, or a documented operation that nothing serves, fails here.
/// `/docs`, the Swagger UI, `/api-docs/openapi.json` and the SPA fallback are outside both.
#[test]
fn every_route_is_documented_and_every_documented_route_exists() {
    use std::collections::BTreeSet;

    let table: Vec<(String, String)> =
        cloudcx_auth::routes::API_ROUTES.iter().map(|(m, p)| (m.to_lowercase(), p.to_string())).collect();
    let served: BTreeSet<(String, String)> = table.iter().cloned().collect();
    assert_eq!(served.len(), table.len(), "the route table names an operation twice");

    let spec = serde_json::to_value(cloudcx_auth::openapi::spec()).unwrap();
    let documented: BTreeSet<(String, String)> = spec["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| item.as_object().unwrap().keys().map(move |m| (m.clone(), path.clone())))
        // A path item may also hold `parameters`, `summary`…: only operations count.
        .filter(|(m, _)| ["get", "put", "post", "delete", "options", "head", "patch", "trace"].contains(&m.as_str()))
        .collect();

    let undocumented: Vec<_> = served.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(undocumented.is_empty(), "served but not in the OpenAPI document: {undocumented:?}");
    assert!(unserved.is_empty(), "in the OpenAPI document but not served: {unserved:?}");
}

/// Operation ids name the web app's generated types: two handlers of one name in different
/// modules (`passkeys::list`, `trusted_devices::list`) would give two operations one id.
#[test]
fn every_operation_id_is_unique() {
    let spec = serde_json::to_value(cloudcx_auth::openapi::spec()).unwrap();
    let mut seen = std::collections::BTreeMap::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if let Some(id) = op.get("operationId").and_then(|v| v.as_str()) {
                if let Some(first) = seen.insert(id.to_string(), format!("{method} {path}")) {
                    panic!("operationId {id} names both {first} and {method} {path}");
                }
            }
        }
    }
}
